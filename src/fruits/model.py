"""MobileNetV2 (alpha 1.0, 224x224, no top, global average pooling: 1280 features per image).

Usage on the driver: `weights = load_weights(local_path_or_"imagenet")` (a list of arrays to
broadcast) and `sha256_of_arrays(weights)` (their fingerprint, the feature store's key), or,
without TensorFlow, `WeightsFile(".weights.h5", file_bytes)` of a file Keras is known to load; on
a worker: `model = build_model(weights)` (or `build_model(weights, input_size=160)`: the same
weights fit any input size), then `featurize(model, pixels)`; `build_model(OnnxGraph(bytes))` gives
an ONNX Runtime session instead (fruits.onnx_graph: no TensorFlow imported), used the same way.
`import_tensorflow(notices=False)` first keeps TensorFlow's start-up notices (oneDNN, absl's
"before InitializeLog" warning) off stderr; its warnings and errors still get through.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import tempfile
from contextlib import contextmanager

import numpy as np

from fruits.decode import IMAGE_SIZE
from fruits.onnx_graph import OnnxGraph, OnnxModel
from fruits.settings import KERAS_IMAGENET

FEATURE_SIZE = 1280
# Images per predict_on_batch call. Measured here with one TensorFlow thread, as each worker runs
# (benchmarks/inference_batch_size.py): 8 gives 1.13x the images/s of 32, 16 1.06x, 64 0.96x; and
# each Spark task pads its last call to this size (featurize), which with 32 wasted ~12 % of the
# calls on tasks of ~128 images, against ~3 % with 8.
INFERENCE_BATCH_SIZE = 8


# absl's log line prefix: severity letter, MMDD, time (before absl is initialised: 00:00:<epoch
# seconds>), thread id, file:line]
ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ ]+:\d+\] ")
ABSL_PRE_INIT = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
CPU_NOTICE_SECOND_LINE = "To enable the following instructions:"


def import_tensorflow(notices: bool = True):
    """TensorFlow, imported once per process. TF_CPP_MIN_LOG_LEVEL does not reach the notices
    printed while it loads (oneDNN's, through absl), so without `notices` its stderr is captured
    during the import and given back without them."""
    if notices or "tensorflow" in sys.modules:
        import tensorflow as tf
        return tf
    with _start_up_notices_dropped():
        import tensorflow as tf
    return tf


def without_start_up_notices(text: str) -> str:
    """`text` without absl's pre-initialisation warning and INFO records (and the second line of
    the CPU-instructions notice); warnings, errors and anything else are kept."""
    kept, after_info = [], False
    for line in text.split("\n"):
        record = ABSL_LINE.match(line)
        is_info = record is not None and record.group(1) == "I"
        if not (is_info or line == ABSL_PRE_INIT or (after_info and line.startswith(CPU_NOTICE_SECOND_LINE))):
            kept.append(line)
        after_info = is_info
    return "\n".join(kept)


@contextmanager
def _start_up_notices_dropped():
    """The C++ libraries write to file descriptor 2 directly, so that is what is captured."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = without_start_up_notices(captured.read().decode("utf-8", "replace"))
            if text.strip():
                sys.stderr.write(text)
                sys.stderr.flush()


def configure_tensorflow(threads: int, notices: bool = True) -> None:
    """Quiet TF's C++ logs and cap its thread pools; call before TF builds anything."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf = import_tensorflow(notices)

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TF already initialised in this process: its pools are set for good


def new_network(weights: str | None = None, input_size: int = IMAGE_SIZE):
    """A fresh Keras MobileNetV2 feature extractor; `weights` is None or "imagenet"."""
    import keras

    return keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 3), alpha=1.0, include_top=False, weights=weights, pooling="avg"
    )


def load_weights(source: str) -> list[np.ndarray]:
    """Weights as arrays, from a local Keras `.weights.h5`/`.h5` file or Keras's `imagenet` download."""
    return load_network(source).get_weights()


def load_network(source: str):
    """The network with the weights of `source` (as load_weights): building one takes about 1 s
    here, so the driver converts this one to ONNX rather than a second (fruits.weights)."""
    if source == KERAS_IMAGENET:
        return new_network(KERAS_IMAGENET)
    network = new_network()
    network.load_weights(source)
    return network


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A weights file's bytes, to broadcast instead of its arrays when the driver need not load
    it (fruits.weights_fingerprints): `suffix` is the name ending Keras loaded it under."""

    suffix: str
    data: bytes = dataclasses.field(repr=False)


def build_model(weights: list[np.ndarray] | WeightsFile | OnnxGraph, input_size: int = IMAGE_SIZE, threads: int = 1):
    """The network with the given (e.g. broadcast) weights, for images of input_size x input_size:
    Keras's, or for an OnnxGraph (built for one input size) an ONNX Runtime session with `threads`."""
    if isinstance(weights, OnnxGraph):
        return OnnxModel(weights.data, threads)
    network = new_network(input_size=input_size)
    if isinstance(weights, WeightsFile):  # Keras loads files by name: a private folder, a fixed name
        with tempfile.TemporaryDirectory(prefix="fruits-weights-") as folder:
            path = os.path.join(folder, "weights" + weights.suffix)
            with open(path, "wb") as handle:
                handle.write(weights.data)
            network.load_weights(path)
    else:
        network.set_weights(weights)
    return network


# Black images after every Keras chunk, so that no image of the chunk is ever the batch's last
# (fruits.model.featurize says why; fruits.feature_store_records.KERAS_ENGINE names it in the key).
KERAS_PADDING = 1


def featurize(model, pixels: np.ndarray, batch_size: int = INFERENCE_BATCH_SIZE) -> np.ndarray:
    """(n, size, size, 3) RGB values 0..255 -> (n, 1280) float32, in chunks of `batch_size`.
    Every call gets the same batch shape, the chunk padded with black images whose outputs are
    dropped: TensorFlow's CPU kernels give other bits for another batch shape. Keras also gets one
    black image after every chunk (KERAS_PADDING): its matrix kernels treat the last few rows of a
    batch apart, which on some CPUs gave the last image of a full chunk other bits than the same
    image elsewhere (measured on an AMD EPYC: 894 of 1,280 values, up to 2.3e-6). So an image's
    features are the same in any call, which lets a run reuse stored features and still equal a
    full run exactly. `model`: a Keras network, or an OnnxModel (which preprocesses in its graph:
    no Keras imported; its kernels were measured free of it, so it gets no extra image)."""
    if len(pixels) == 0:
        return np.zeros((0, FEATURE_SIZE), dtype=np.float32)
    onnx = isinstance(model, OnnxModel)
    shape = batch_size if onnx else batch_size + KERAS_PADDING
    chunks = []
    for start in range(0, len(pixels), batch_size):
        chunk = pixels[start : start + batch_size]
        real = len(chunk)
        if real < shape:
            chunk = np.concatenate([chunk, np.zeros((shape - real, *chunk.shape[1:]), dtype=chunk.dtype)])
        if onnx:
            outputs = model.predict(chunk)
        else:
            from keras.applications.mobilenet_v2 import preprocess_input

            outputs = np.asarray(model.predict_on_batch(preprocess_input(chunk.copy())))
        chunks.append(outputs[:real])
    return np.concatenate(chunks).astype(np.float32)


def sha256_of_arrays(weights: list[np.ndarray]) -> str:
    """A fingerprint of the weights themselves, whatever file (or Keras's download) they came
    from: a file saved again with the same weights keeps it."""
    digest = hashlib.sha256()
    for array in weights:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
