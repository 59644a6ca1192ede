"""Refuses, before `fruits stage` uploads anything, a weights file the clusters' Keras could not
load as MobileNetV2 (alpha 1.0, no top): not HDF5 (nor a .keras archive holding one), or without
the network's arrays. Reads only the file's index with h5py (no TensorFlow: about 0.1 s), so
fruits.cloud.artifacts.plan_artifacts (stage, start, demo-start) calls it before it hashes the file.

Usage: `require_mobilenet_v2_weights(Path("weights.h5"))` -> None, or FruitsError naming what is wrong.
"""
from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

from fruits.errors import FruitsError
from fruits.settings import KERAS_WEIGHTS_SUFFIXES, keras_suffix

KERAS_ARCHIVE_WEIGHTS = "model.weights.h5"  # the member of a .keras archive that holds the arrays (Keras 3's format)
# The shape of every array of MobileNetV2 1.0 no-top (Keras's), with its count: 260 arrays, 2,257,984 values.
# A file may hold more (Keras loads the top weights' file too, and ignores the classifier).
MOBILENET_V2_NO_TOP_SHAPES = Counter({
    (1, 1, 16, 96): 1, (1, 1, 24, 144): 2, (1, 1, 32, 16): 1, (1, 1, 32, 192): 3, (1, 1, 64, 384): 4, (1, 1, 96, 24): 1,
    (1, 1, 96, 576): 3, (1, 1, 144, 24): 1, (1, 1, 144, 32): 1, (1, 1, 160, 960): 3, (1, 1, 192, 32): 2, (1, 1, 192, 64): 1,
    (1, 1, 320, 1280): 1, (1, 1, 384, 64): 3, (1, 1, 384, 96): 1, (1, 1, 576, 96): 2, (1, 1, 576, 160): 1,
    (1, 1, 960, 160): 2, (1, 1, 960, 320): 1, (3, 3, 3, 32): 1, (3, 3, 32, 1): 1, (3, 3, 96, 1): 1, (3, 3, 144, 1): 2,
    (3, 3, 192, 1): 3, (3, 3, 384, 1): 4, (3, 3, 576, 1): 3, (3, 3, 960, 1): 3, (16,): 4, (24,): 8, (32,): 20, (64,): 16,
    (96,): 20, (144,): 16, (160,): 12, (192,): 24, (320,): 4, (384,): 32, (576,): 24, (960,): 24, (1280,): 4})
# The largest model.weights.h5 a .keras archive may hold: it is unpacked into memory, and a 2 MB
# archive of 2 GiB of zeros took 4.1 GiB (the size an archive declares bounds nothing: a member
# that lies about it is inflated whole before its CRC fails). MobileNetV2's no-top weights are
# 9 MB, with the classifier 14 MB.
MAX_ARCHIVE_WEIGHTS_BYTES = 256 * 1024 * 1024
EXPECTED = "MobileNetV2 1.0 no-top weights (Keras's .weights.h5, e.g. ../shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5)"


def require_mobilenet_v2_weights(path: Path) -> None:
    import h5py

    if not path.is_file():
        raise FruitsError(f"weights file not found: {path}")
    suffix = keras_suffix(path.name)
    if suffix is None:
        raise FruitsError(f"--weights {path}: Keras loads weights only from a name ending in {', '.join(KERAS_WEIGHTS_SUFFIXES)}; expected {EXPECTED}")
    try:
        source = _archive_member(path) if suffix == ".keras" else path
        with h5py.File(source, "r") as weights:
            shapes = _array_shapes(weights, h5py.Dataset)
    except OSError as error:  # h5py's "file signature not found", a truncated file, a folder
        raise FruitsError(f"--weights {path} is not an HDF5 file Keras can read ({error}); expected {EXPECTED}") from None
    missing = MOBILENET_V2_NO_TOP_SHAPES - shapes
    if missing:
        raise FruitsError(f"--weights {path} is not {EXPECTED}: it holds {sum(shapes.values())} arrays and lacks "
                          f"{sum(missing.values())} of the network's 260 (e.g. one of shape {next(iter(missing))})")


def _archive_member(path: Path) -> io.BytesIO:
    unpacked = io.BytesIO()
    try:
        with zipfile.ZipFile(path) as archive, archive.open(KERAS_ARCHIVE_WEIGHTS) as member:
            while chunk := member.read(1 << 20):  # by chunks: one read() inflates the whole member, whatever its size says
                unpacked.write(chunk)
                if unpacked.tell() > MAX_ARCHIVE_WEIGHTS_BYTES:
                    raise FruitsError(f"--weights {path}: its {KERAS_ARCHIVE_WEIGHTS} unpacks to more than "
                                      f"{MAX_ARCHIVE_WEIGHTS_BYTES // 2**20} MiB, more than any MobileNetV2's weights take; expected {EXPECTED}")
        unpacked.seek(0)
        return unpacked
    except (zipfile.BadZipFile, KeyError) as error:
        raise FruitsError(f"--weights {path} is not a .keras archive with {KERAS_ARCHIVE_WEIGHTS} ({error}); expected {EXPECTED}") from None


def _array_shapes(weights, dataset_type) -> Counter:
    shapes: Counter = Counter()
    weights.visititems(lambda _, item: shapes.update([item.shape]) if isinstance(item, dataset_type) else None)
    return shapes
