"""`fruits stage` refuses a weights file the clusters could not load as MobileNetV2 1.0 no-top,
before the wheelhouse and before any upload: otherwise the bucket gets it and the first run fails
on EMR after the cluster's start, the paid part (the extract step loads it with Keras)."""
from __future__ import annotations

import shutil
import zipfile

import h5py
import numpy as np
import pytest

from fruits.cloud.weights_check import MOBILENET_V2_NO_TOP_SHAPES, require_mobilenet_v2_weights
from fruits.errors import FruitsError
from tests.cloud.conftest import BUCKET


def small_hdf5(path):
    with h5py.File(path, "w") as weights:
        weights["layers/dense/vars/0"] = np.zeros((4, 2), dtype=np.float32)
    return path


def keras_archive(path, member_source=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        if member_source is not None:
            archive.write(member_source, "model.weights.h5")
    return path


BAD_WEIGHTS = {
    "text named .h5": (lambda folder: (folder / "w.h5").write_text("not weights") and folder / "w.h5", "is not an HDF5 file"),
    "empty file": (lambda folder: (folder / "w.h5").write_bytes(b"") or folder / "w.h5", "is not an HDF5 file"),
    "HDF5 of another network": (lambda folder: small_hdf5(folder / "w.weights.h5"), "lacks 260 of the network's 260"),
    "a JPEG named .hdf5": (lambda folder: (folder / "w.hdf5").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100)) and folder / "w.hdf5",
                           "is not an HDF5 file"),
    "no Keras suffix": (lambda folder: shutil.copyfile(small_hdf5(folder / "w.h5"), folder / "w.bin"), "only from a name ending in"),
    ".keras without its weights": (lambda folder: keras_archive(folder / "m.keras"), "is not a .keras archive with model.weights.h5"),
    ".keras that is no zip": (lambda folder: small_hdf5(folder / "m.keras"), "is not a .keras archive"),
}


@pytest.mark.parametrize("case", BAD_WEIGHTS)
def test_a_file_that_is_not_mobilenet_v2_weights_is_refused_with_what_it_is(case, tmp_path):
    make, message = BAD_WEIGHTS[case]
    with pytest.raises(FruitsError, match=message) as refused:
        require_mobilenet_v2_weights(make(tmp_path))
    assert "\n" not in str(refused.value) and "MobileNetV2 1.0 no-top" in str(refused.value)


def test_the_networks_weights_are_accepted_in_each_format_keras_loads(weights_file, tmp_path):
    require_mobilenet_v2_weights(weights_file)
    require_mobilenet_v2_weights(weights_file.with_name("mobilenet_v2_1.0_224_imagenet_top.weights.h5"))  # Keras ignores the classifier
    require_mobilenet_v2_weights(keras_archive(tmp_path / "model.keras", weights_file))
    assert sum(MOBILENET_V2_NO_TOP_SHAPES.values()) == 260
    assert sum(int(np.prod(shape)) * count for shape, count in MOBILENET_V2_NO_TOP_SHAPES.items()) == 2_257_984  # Keras's count


def test_stage_refuses_them_before_any_upload(fruits, moto, tmp_path):
    weights = tmp_path / "weights.h5"
    weights.write_text("<html>403 Forbidden</html>")  # what a failed download saves
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    before = artifact_keys(moto)
    result = fruits("stage", "--weights", str(weights), "--wheelhouse", str(empty))
    assert result.returncode == 1 and "is not an HDF5 file Keras can read" in result.stderr, result.stderr
    assert artifact_keys(moto) == before


def artifact_keys(moto) -> set[str]:
    pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="artifacts/")
    return {item["Key"] for page in pages for item in page.get("Contents", [])}
