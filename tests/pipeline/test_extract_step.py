"""Step 1 on awkward inputs: bad files become rejects with reasons, inputs without images fail
clearly and write nothing, and a re-run or a failed run never leaves a mixed or partial output."""
from __future__ import annotations

import json
import shutil

import pytest

from fruits.errors import FruitsError
from fruits.steps.extract_step import ExtractArgs, run_extract

from .images import jpeg_bytes, png_with_alpha, solid_png

pytestmark = pytest.mark.slow


def extract(spark, images, output, weights_file, **settings):
    return run_extract(spark, ExtractArgs(images=str(images), output=str(output), weights=str(weights_file), **settings))


@pytest.fixture(scope="module")
def awkward_folder(small_sample, tmp_path_factory):
    """8 good sample images plus one file of every awkward kind, in two label folders."""
    root = tmp_path_factory.mktemp("awkward")
    for label in ("Banana 1", "Kiwi 1"):
        shutil.copytree(small_sample / label, root / label)
    odd = root / "Odd"
    odd.mkdir()
    (odd / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    (odd / "truncated.jpg").write_bytes(jpeg_bytes(200, 200)[:900])
    (odd / "notes.txt").write_text("shopping list")
    (odd / "alpha.png").write_bytes(png_with_alpha())
    (odd / "gray.JPG").write_bytes(jpeg_bytes(90, 70, mode="L"))
    (odd / "huge-photo.jpeg").write_bytes(jpeg_bytes(6000, 4000))
    (odd / "bomb.png").write_bytes(solid_png(20000, 20000))
    return root


def test_awkward_files_are_rejected_with_reasons_and_the_rest_featurized(spark, awkward_folder, weights_file, tmp_path):
    summary = extract(spark, awkward_folder, tmp_path / "run", weights_file)
    features = spark.read.parquet(str(tmp_path / "run" / "features"))
    rejected = {row.path.rsplit("/", 1)[1]: row.reason for row in spark.read.parquet(str(tmp_path / "run" / "rejected")).collect()}

    assert sorted(rejected) == ["bomb.png", "corrupt.jpg", "notes.txt", "truncated.jpg"]
    assert rejected["corrupt.jpg"].startswith("not an image")
    assert rejected["truncated.jpg"].startswith("corrupt or truncated image")
    assert rejected["notes.txt"].startswith("unsupported file type")
    assert rejected["bomb.png"].startswith("image too large: 20000x20000")
    featurized = {"/".join(row.path.split("/")[-2:]): row for row in features.collect()}
    assert {"Odd/alpha.png", "Odd/gray.JPG", "Odd/huge-photo.jpeg"} <= set(featurized)
    assert len(featurized) == 11 and all(len(row.features) == 1280 for row in featurized.values())
    assert featurized["Odd/alpha.png"].label == "Odd" and featurized["Odd/alpha.png"].size > 0
    assert (summary["images"], summary["featurized"], summary["rejected"]) == (15, 11, 4)
    assert json.loads((tmp_path / "run" / "extract_summary.json").read_text())["rejected"] == 4


def test_empty_folder_is_an_error_and_writes_nothing(spark, weights_file, tmp_path):
    (tmp_path / "images" / "Apple").mkdir(parents=True)
    with pytest.raises(FruitsError, match="no files under"):
        extract(spark, tmp_path / "images", tmp_path / "run", weights_file)
    assert not (tmp_path / "run").exists()


def test_folder_without_images_is_an_error_and_writes_nothing(spark, weights_file, tmp_path):
    (tmp_path / "images" / "Apple").mkdir(parents=True)
    (tmp_path / "images" / "Apple" / "readme.txt").write_text("no photos here")
    with pytest.raises(FruitsError, match=r"no \.jpg, \.jpeg or \.png images among the 1 files"):
        extract(spark, tmp_path / "images", tmp_path / "run", weights_file)
    assert not (tmp_path / "run").exists()


def test_only_unreadable_images_is_an_error_and_writes_nothing(spark, weights_file, tmp_path):
    (tmp_path / "images" / "Apple").mkdir(parents=True)
    (tmp_path / "images" / "Apple" / "a.jpg").write_bytes(b"garbage")
    (tmp_path / "images" / "Apple" / "b.jpg").write_bytes(b"more garbage")  # one image alone is refused before reading
    with pytest.raises(FruitsError, match="none of the 2 images could be read"):
        extract(spark, tmp_path / "images", tmp_path / "run", weights_file)
    assert not (tmp_path / "run" / "features").exists()


def test_wrong_path_is_a_clear_error(spark, weights_file, tmp_path):
    with pytest.raises(FruitsError, match="images location not found"):
        extract(spark, tmp_path / "does-not-exist", tmp_path / "run", weights_file)


def test_corrupt_weights_file_is_a_clear_error(spark, small_sample, tmp_path):
    bad_weights = tmp_path / "broken.weights.h5"
    bad_weights.write_bytes(b"not hdf5")
    with pytest.raises(FruitsError, match="cannot load MobileNetV2 weights"):
        extract(spark, small_sample, tmp_path / "run", bad_weights)


def test_rerun_replaces_the_output_whole_and_a_failed_rerun_keeps_it(spark, small_sample, weights_file, tmp_path):
    output = tmp_path / "run"
    extract(spark, small_sample, output, weights_file)
    smaller = tmp_path / "smaller"
    shutil.copytree(small_sample / "Lemon 1", smaller / "Lemon 1")

    extract(spark, smaller, output, weights_file)  # a retried step with other input
    paths = [row.path for row in spark.read.parquet(str(output / "features")).collect()]
    assert len(paths) == 4 and len(set(paths)) == 4  # replaced, not appended
    assert json.loads((output / "extract_summary.json").read_text())["featurized"] == 4

    (tmp_path / "empty").mkdir()
    with pytest.raises(FruitsError):
        extract(spark, tmp_path / "empty", output, weights_file)
    assert spark.read.parquet(str(output / "features")).count() == 4  # the previous output is intact
    assert not [p.name for p in output.iterdir() if p.name.startswith("_staging")]
