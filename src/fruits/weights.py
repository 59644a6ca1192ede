"""The MobileNetV2 weights, got once on the driver (to be broadcast), with the fingerprint the
run's summary records: a file's SHA-256, or for Keras's `imagenet` download (no file) the
SHA-256 of the arrays.

Usage: `weights = fetch_weights(Storage(spark), "s3://.../x.h5" | "/path/x.h5" | "imagenet", known)`
-> Weights(value to broadcast, info, sha256_of_arrays); info, the summary's record: {"source",
"sha256" (a file's) or "sha256_of_arrays" (the download's), "loaded_on_driver"}. A FruitsError says what is wrong (no file, a file Keras cannot load, no
internet for the download). `known` (fruits.weights_fingerprints.KnownWeights, or None): when it
knows the file, the file is not loaded here (no TensorFlow in this process) and its bytes are
broadcast; otherwise Keras loads it, its arrays are broadcast, and `known` learns it.
Then `for_engine(weights, inference.engine, inference.input_size, known)` is what to broadcast:
the weights as fetched for Keras's workers, an ONNX graph for ONNX Runtime's.
`storage` is only used to copy a remote or `file:` URI to a local file, so it may be None for a
local path or `imagenet`.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fruits.errors import FruitsError
from fruits.features import KERAS
from fruits.model import WeightsFile, build_model, import_tensorflow, load_network, sha256_of_arrays
from fruits.onnx_graph import OnnxGraph, UnsupportedNetwork, onnx_graph
from fruits.settings import KERAS_IMAGENET, is_remote
from fruits.weights_fingerprints import Known, keras_suffix

if TYPE_CHECKING:
    from fruits.storage import Storage
    from fruits.weights_fingerprints import KnownWeights

__all__ = ["Weights", "fetch_weights", "for_engine", "sha256_of_arrays"]


@dataclass(frozen=True)
class Weights:
    value: list | WeightsFile = field(repr=False)  # what the workers build their model from
    info: dict                                      # the summary's record
    sha256_of_arrays: str                           # the feature store key's fingerprint
    network: object = field(default=None, repr=False, compare=False)  # Keras's, when loaded here (224 input)


def fetch_weights(storage: Storage | None, source: str, known: KnownWeights | None = None,
                  notices: bool = True) -> Weights:
    """See the module docstring; `notices`: TensorFlow's start-up notices, if it is imported."""
    if source == KERAS_IMAGENET:
        try:
            network = _load(KERAS_IMAGENET, notices)
        except Exception as error:  # network errors surface as several exception types
            raise FruitsError(f"could not get Keras's imagenet weights (they are downloaded, which needs internet): "
                              f"{error}. Pass --weights FILE.h5 instead") from None
        arrays = network.get_weights()
        fingerprint = sha256_of_arrays(arrays)
        return Weights(arrays, {"source": KERAS_IMAGENET, "sha256_of_arrays": fingerprint, "loaded_on_driver": True},
                       fingerprint, network)
    with tempfile.TemporaryDirectory(prefix="fruits-weights-") as folder:
        # Read once: the bytes hashed are the bytes broadcast or loaded, whatever happens to the source meanwhile.
        name = os.path.basename(source)
        local = os.path.join(folder, name if name not in ("", ".", "..") else "weights")  # never outside `folder`
        if is_remote(source) or source.startswith("file:"):
            storage.copy_to_local(source, local)
            source_file = local
        else:
            source_file = source
        if not os.path.isfile(source_file):
            raise FruitsError(f"weights file not found: {source}")
        with open(source_file, "rb") as handle:
            data = handle.read()
        info = {"source": source, "sha256": hashlib.sha256(data).hexdigest()}
        remembered = known.entry(info["sha256"]) if known is not None else None
        if remembered is not None:
            return Weights(WeightsFile(remembered.suffix, data), {**info, "loaded_on_driver": False}, remembered.arrays_sha256)
        suffix = keras_suffix(name)
        loaded = os.path.join(folder, "weights" + suffix) if suffix else local  # a plain name for Keras; an unknown suffix is Keras's to name
        if loaded != source_file:
            with open(loaded, "wb") as handle:
                handle.write(data)
        try:
            network = _load(loaded, notices)
        except Exception as error:  # Keras raises many types for a wrong or corrupt file
            raise FruitsError(f"cannot load MobileNetV2 weights from {source}: {error}") from None
        arrays = network.get_weights()
        fingerprint = sha256_of_arrays(arrays)
        if known is not None and suffix is not None:
            known.remember(info["sha256"], Known(fingerprint, suffix))
        return Weights(arrays, {**info, "loaded_on_driver": True}, fingerprint, network)


def _load(source: str, notices: bool):
    import_tensorflow(notices)  # first, so that its start-up notices can be dropped
    return load_network(source)


def for_engine(weights: Weights, engine: str, input_size: int, known: KnownWeights | None = None,
               notices: bool = True) -> list | WeightsFile | OnnxGraph:
    """What to broadcast for `engine` (fruits.features.ENGINES): Keras's workers get the weights
    as fetched; ONNX Runtime's get the network as an ONNX graph, built here once (0.3 s) from the
    arrays, or taken from `known` when the store kept the graph of this file (then TensorFlow is
    not imported here either)."""
    if engine == KERAS:
        return weights.value
    file_sha256 = weights.info.get("sha256")
    remembered = known.graph(file_sha256, input_size) if known is not None and file_sha256 else None
    if remembered is not None:
        return OnnxGraph(remembered)
    if isinstance(weights.value, WeightsFile):
        import_tensorflow(notices)
    loaded = weights.network if weights.network is not None and weights.network.input_shape[1] == input_size else None
    try:
        graph = onnx_graph(loaded if loaded is not None else build_model(weights.value, input_size))
    except UnsupportedNetwork as error:
        raise FruitsError(f"cannot run these weights with ONNX Runtime: {error}") from None
    if known is not None and file_sha256:
        known.remember_graph(file_sha256, input_size, graph)
    return OnnxGraph(graph)
