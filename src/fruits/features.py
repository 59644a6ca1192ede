"""MobileNetV2 features for a DataFrame of images, with the weights broadcast once to the
executors and inference batched in an iterator pandas UDF (Databricks' "Distributed model
inference using TensorFlow Keras" technique).

Usage: `bc = spark.sparkContext.broadcast(load_weights(file))`;
`extract_features(images, bc, InferenceSettings())` -> path, label, size, modification_time,
features (array<float>, null when rejected), error (the reason, null when fine).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from pyspark import Broadcast
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fruits.decode import DEFAULT_MAX_PIXELS, ImageRejected, decode_image

RESULT_TYPE = "features array<float>, error string"

# One model per Python worker process, reused by every task that worker runs (Spark reuses
# workers by default). A worker holds one Broadcast object per broadcast variable, so the
# cache is keyed by that object: a new run's weights build a new model.
_worker_model: list = [None, None]  # [broadcast, model]


@dataclass(frozen=True)
class InferenceSettings:
    """How inference runs on each worker: images per `predict_on_batch` call, TensorFlow threads
    per Python worker (one worker per core, so 1 is usually best), the decode size limit, and
    whether TensorFlow's start-up notices are printed (each worker prints them: off for --quiet)."""

    batch_size: int = 32
    tf_threads: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS
    tensorflow_notices: bool = True


def worker_model(weights: Broadcast, settings: InferenceSettings):
    """The model for this worker, built from the broadcast weights on first use."""
    if _worker_model[0] is not weights:
        from fruits.model import build_model, configure_tensorflow

        configure_tensorflow(settings.tf_threads, notices=settings.tensorflow_notices)
        _worker_model[:] = [weights, build_model(weights.value)]
    return _worker_model[1]


def featurize_contents(model, contents: pd.Series, settings: InferenceSettings) -> pd.DataFrame:
    """One Arrow batch of file contents -> DataFrame(features, error), row for row."""
    from fruits.model import featurize

    decoded, errors = [], [None] * len(contents)
    for row, data in enumerate(contents):
        try:
            decoded.append((row, decode_image(data, max_pixels=settings.max_pixels)))
        except ImageRejected as rejection:
            errors[row] = str(rejection)
    features: list[np.ndarray | None] = [None] * len(contents)
    if decoded:
        vectors = featurize(model, np.stack([pixels for _, pixels in decoded]), settings.batch_size)
        for (row, _), vector in zip(decoded, vectors):
            if np.all(np.isfinite(vector)):
                features[row] = vector
            else:
                errors[row] = "model output is not finite (NaN or infinity): check the weights"
    return pd.DataFrame({"features": features, "error": errors})


def featurize_udf(weights: Broadcast, settings: InferenceSettings):
    """The iterator pandas UDF: the worker's model is fetched once per task, not per batch."""

    @F.pandas_udf(RESULT_TYPE)
    def featurize_images(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        model = worker_model(weights, settings)
        for contents in batches:
            yield featurize_contents(model, contents, settings)

    return featurize_images


def extract_features(images: DataFrame, weights: Broadcast, settings: InferenceSettings = InferenceSettings()) -> DataFrame:
    """Adds `features` and `error` to each image row and drops the raw bytes."""
    result = featurize_udf(weights, settings)("content")
    return images.select(
        "path", "label", "size", "modification_time",
        result["features"].alias("features"), result["error"].alias("error"),
    )
