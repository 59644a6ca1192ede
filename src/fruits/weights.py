"""The MobileNetV2 weights, got once on the driver (to be broadcast), with the fingerprint the
run's summary records: a file's SHA-256, or for Keras's `imagenet` download (no file) the
SHA-256 of the arrays.

Usage: `arrays, info = fetch_weights(Storage(spark), "s3://.../x.h5" | "/path/x.h5" | "imagenet")`
-> info {"source", "sha256"} or {"source", "sha256_of_arrays"}; a FruitsError says what is wrong
(no file, a file Keras cannot load, no internet for the download). `storage` is only used to
copy a remote or `file:` URI to a local file, so it may be None for a local path or `imagenet`.
"""
from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

from fruits.checksums import sha256_of_file
from fruits.errors import FruitsError
from fruits.model import load_weights, sha256_of_arrays
from fruits.settings import KERAS_IMAGENET, is_remote

if TYPE_CHECKING:
    from fruits.storage import Storage

__all__ = ["fetch_weights", "sha256_of_arrays"]


def fetch_weights(storage: Storage | None, source: str) -> tuple[list, dict]:
    """Loads the weights on the driver; returns (arrays, {"source", "sha256"} or {"source", "sha256_of_arrays"})."""
    if source == KERAS_IMAGENET:
        try:
            arrays = load_weights(KERAS_IMAGENET)
        except Exception as error:  # network errors surface as several exception types
            raise FruitsError(f"could not get Keras's imagenet weights (they are downloaded, which needs internet): "
                              f"{error}. Pass --weights FILE.h5 instead") from None
        return arrays, {"source": KERAS_IMAGENET, "sha256_of_arrays": sha256_of_arrays(arrays)}
    with tempfile.TemporaryDirectory(prefix="fruits-weights-") as folder:
        local = source
        if is_remote(source) or source.startswith("file:"):
            local = os.path.join(folder, os.path.basename(source))
            storage.copy_to_local(source, local)
        if not os.path.isfile(local):
            raise FruitsError(f"weights file not found: {source}")
        try:
            arrays = load_weights(local)
        except Exception as error:  # Keras raises many types for a wrong or corrupt file
            raise FruitsError(f"cannot load MobileNetV2 weights from {source}: {error}") from None
        return arrays, {"source": source, "sha256": sha256_of_file(local)}
