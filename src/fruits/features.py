"""MobileNetV2 features for a DataFrame of images, with the weights broadcast once to the
executors and inference batched in an iterator pandas UDF (Databricks' "Distributed model
inference using TensorFlow Keras" technique).

Usage: `bc = spark.sparkContext.broadcast(load_weights(file))`;
`extract_features(images, bc, InferenceSettings())` -> path, label, size, modification_time,
features (array<float>, null when rejected), error (the reason, null when fine);
`extract_features(todo, bc, settings, keep=("content_sha256",))` keeps other columns instead;
`worker_clock=StepClock(spark).workers` (fruits.step_clock) adds the workers' seconds to it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd
from pyspark import Broadcast
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fruits.decode import DEFAULT_MAX_PIXELS, IMAGE_SIZE, ImageRejected, decode_image
from fruits.model import INFERENCE_BATCH_SIZE

if TYPE_CHECKING:
    from fruits.step_clock import WorkerClock

RESULT_TYPE = "features array<float>, error string"
ONNX_RUNTIME, KERAS = "onnxruntime", "keras"
ENGINES = (ONNX_RUNTIME, KERAS)
IMAGE_COLUMNS = ("path", "label", "size", "modification_time")

# One model per Python worker process, reused by every task that worker runs (Spark reuses
# workers by default). A worker holds one Broadcast object per broadcast variable, so the
# cache is keyed by that object (and the input size): a new run's weights build a new model.
_worker_model: list = [None, None]  # [(broadcast, input size), model]


@dataclass(frozen=True)
class InferenceSettings:
    """How inference runs on each worker: images per `predict_on_batch` call, TensorFlow threads
    per Python worker (one worker per core, so 1 is usually best), the decode size limit,
    whether TensorFlow's start-up notices are printed (each worker prints them: off for --quiet),
    and the side of the square images the network gets (MobileNetV2's ImageNet weights were
    trained on 224; the feature store keys features by it), and the engine that runs the network:
    ONNX Runtime (about twice Keras's speed here) or Keras itself."""

    batch_size: int = INFERENCE_BATCH_SIZE
    tf_threads: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS
    tensorflow_notices: bool = True
    input_size: int = IMAGE_SIZE
    engine: str = ONNX_RUNTIME  # or KERAS: the strict path (fruits.onnx_graph says by how much they differ)


def worker_model(weights: Broadcast, settings: InferenceSettings):
    """The model for this worker, built from the broadcast weights on first use."""
    cached = _worker_model[0]
    if cached is None or cached[0] is not weights or cached[1] != settings.input_size:
        from fruits.model import build_model, configure_tensorflow
        from fruits.onnx_graph import OnnxGraph

        value = weights.value
        if not isinstance(value, OnnxGraph):  # ONNX Runtime's workers never import TensorFlow
            configure_tensorflow(settings.tf_threads, notices=settings.tensorflow_notices)
        _worker_model[:] = [(weights, settings.input_size), build_model(value, settings.input_size, settings.tf_threads)]
    return _worker_model[1]


def featurize_contents(model, contents: pd.Series, settings: InferenceSettings, clock: WorkerClock | None = None) -> pd.DataFrame:
    """One Arrow batch of file contents -> DataFrame(features, error), row for row."""
    from fruits.model import featurize

    started = time.monotonic()
    decoded, errors = [], [None] * len(contents)
    for row, data in enumerate(contents):
        try:
            decoded.append((row, decode_image(data, size=settings.input_size, max_pixels=settings.max_pixels)))
        except ImageRejected as rejection:
            errors[row] = str(rejection)
    features: list[np.ndarray | None] = [None] * len(contents)
    inferring = time.monotonic()
    if decoded:
        vectors = featurize(model, np.stack([pixels for _, pixels in decoded]), settings.batch_size)
        for (row, _), vector in zip(decoded, vectors):
            if np.all(np.isfinite(vector)):
                features[row] = vector
            else:
                errors[row] = "model output is not finite (NaN or infinity): check the weights"
    if clock is not None:
        clock.decode.add(inferring - started)
        clock.inference.add(time.monotonic() - inferring)
        clock.images.add(len(contents))
    return pd.DataFrame({"features": features, "error": errors})


def featurize_udf(weights: Broadcast, settings: InferenceSettings, clock: WorkerClock | None = None):
    """The iterator pandas UDF: the worker's model is fetched once per task, not per batch."""

    @F.pandas_udf(RESULT_TYPE)
    def featurize_images(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        model = None  # built at the first batch: a task with no rows never loads TensorFlow
        for contents in batches:
            if model is None:
                started = time.monotonic()
                model = worker_model(weights, settings)
                if clock is not None:
                    clock.model_build.add(time.monotonic() - started)  # ~0 once the worker has built it
            yield featurize_contents(model, contents, settings, clock)

    return featurize_images


def extract_features(images: DataFrame, weights: Broadcast, settings: InferenceSettings = InferenceSettings(),
                     keep: tuple[str, ...] = IMAGE_COLUMNS, worker_clock: WorkerClock | None = None) -> DataFrame:
    """The `keep` columns of each image row with its `features` and `error` (the raw bytes dropped)."""
    result = featurize_udf(weights, settings, worker_clock)("content")
    return images.select(*keep, result["features"].alias("features"), result["error"].alias("error"))
