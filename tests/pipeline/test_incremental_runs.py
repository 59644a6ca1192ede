"""Step 1 with a feature store (fruits.steps.featurize_with_store), in-process on real images and
weights: a run featurizes only what the store lacks and still gives a full run's features bit for
bit (and the same PCA matrix); a renamed or copied image is not featurized again; each field of
the key starts a new, empty store; --full-recompute featurizes everything; --purge erases the
features of a deleted image from the files; a run killed while appending leaves a readable store
and the next run right; stored features that do not meet the images one to one fail the run."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from fruits import decode
from fruits.errors import FruitsError
from fruits.feature_store import read
from fruits.feature_store_records import FeatureKey
from fruits.features import InferenceSettings
from fruits.steps import featurize_with_store
from fruits.steps.extract_step import ExtractArgs, run_extract
from fruits.steps.featurize_with_store import StoreOptions
from fruits.steps.reduce_step import ReduceArgs, run_reduce

from .images import copy_subset
from .store_checks import assert_same_bits, hashes_on_disk

CLASSES, FIRST, ADDED = 3, 3, 1  # per class: 9 images in the first run, 3 more in the second


def extract(spark, images: Path, output: Path, weights: Path, store: Path | None, **options) -> dict:
    inference = options.pop("inference", InferenceSettings())
    return run_extract(spark, ExtractArgs(images=str(images), output=str(output), weights=str(weights), run_id=output.name,
                                          inference=inference, store=StoreOptions(root=str(store) if store else None, **options)))


def features_by_image(output: Path) -> dict[str, np.ndarray]:
    """label/name -> the run's features, as float32 (their bits are compared)."""
    table = pq.read_table(output / "features").to_pydict()
    return {"/".join(path.split("/")[-2:]): np.array(vector, dtype=np.float32) for path, vector in zip(table["path"], table["features"])}


def key_folders(store: Path) -> list[str]:
    """The store's key folders (beside them, `weights/`: fruits.weights_fingerprints)."""
    return sorted(entry.name for entry in store.iterdir() if entry.is_dir() and entry.name != "weights")


@pytest.fixture(scope="module")
def grown_sample(sample_images, tmp_path_factory) -> tuple[Path, Path]:
    """(first: 3 images of 3 classes, grown: the same 9 and 1 more per class)."""
    grown = copy_subset(sample_images, tmp_path_factory.mktemp("grown"), per_class=FIRST + ADDED, classes=CLASSES)
    first = tmp_path_factory.mktemp("first")
    for label in sorted(p for p in grown.iterdir()):
        (first / label.name).mkdir()
        for image in sorted(label.iterdir())[:FIRST]:
            shutil.copy(image, first / label.name / image.name)
    return first, grown


@pytest.fixture(scope="module")
def seeded(spark, grown_sample, weights_file, tmp_path_factory) -> tuple[Path, dict, Path]:
    """A store after one run on the first 9 images, that run's summary and output (copy the store to change it)."""
    work = tmp_path_factory.mktemp("seeded")
    summary = extract(spark, grown_sample[0], work / "run-1", weights_file, work / "store")
    return work / "store", summary, work / "run-1"


@pytest.fixture
def store(seeded, tmp_path) -> Path:
    shutil.copytree(seeded[0], tmp_path / "store")
    return tmp_path / "store"


def test_the_first_run_featurizes_every_image_and_stores_them(seeded):
    store, summary, _ = seeded
    report = summary["feature_store"]
    assert (report["featurized_now"], report["from_store"], report["stored_now"]) == (9, 0, 9)
    assert report["mode"] == "incremental" and report["batch"].startswith("run-1-")
    assert report["root"] == f"file:{store}" and key_folders(store) == [report["key_id"]]
    assert report["key"]["input_size"] == 224 and report["key"]["preprocessing_version"] == decode.PREPROCESSING_VERSION
    assert report["key"]["pillow_version"] == metadata.version("pillow")
    assert json.loads((store / report["key_id"] / "key.json").read_text())["id"] == report["key_id"]
    # The model ran once per image: the persisted frames are not computed again by later actions.
    workers = summary["timings"]["workers"]
    assert workers["images_decoded"] == 9 and workers["inference_seconds"] > 0 and workers["model_build_seconds"] >= 0
    assert {"listing", "weights", "opening the images", "opening the store", "reading the index", "hashing", "featurizing",
            "assembling", "writing", "store upkeep"} <= set(summary["timings"]["phases"])


def test_an_incremental_run_equals_a_full_run_exactly(spark, grown_sample, weights_file, store, tmp_path):
    incremental = extract(spark, grown_sample[1], tmp_path / "incremental", weights_file, store)
    assert (incremental["feature_store"]["featurized_now"], incremental["feature_store"]["from_store"]) == (3, 9)
    assert (incremental["images"], incremental["featurized"]) == (12, 12)
    assert incremental["timings"]["workers"]["images_decoded"] == 3  # only the new ones went through the model
    full = extract(spark, grown_sample[1], tmp_path / "full", weights_file, tmp_path / "empty-store")
    assert (full["feature_store"]["featurized_now"], full["feature_store"]["from_store"]) == (12, 0)
    assert_same_bits(features_by_image(tmp_path / "incremental"), features_by_image(tmp_path / "full"))

    matrices = {}
    for name in ("incremental", "full"):
        manifest = run_reduce(spark, ReduceArgs(output=str(tmp_path / name), k=4))
        assert manifest["feature_store"]["featurized_now"] == (3 if name == "incremental" else 12)
        table = pq.read_table(tmp_path / name / "pca" / "matrix.parquet").to_pandas()
        matrices[name] = table.assign(image=table["path"].str.split("/").str[-2:].str.join("/")).set_index("image").sort_index()
    # The features above are equal bit for bit; the PCA of equal features is equal to the last few
    # bits only: Spark's tree aggregation adds the partitions' sums in the order its tasks end, which
    # no input fixes (measured here: at most 1.4e-14 apart on values near 10).
    assert matrices["incremental"].index.equals(matrices["full"].index)
    np.testing.assert_allclose(matrices["incremental"].filter(like="pc_").to_numpy(),
                               matrices["full"].filter(like="pc_").to_numpy(), rtol=1e-12, atol=1e-12)


def test_a_renamed_or_copied_image_is_not_featurized_again(spark, grown_sample, weights_file, seeded, store, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(grown_sample[0], images)
    first_label, second_label = sorted(p.name for p in images.iterdir())[:2]
    renamed = sorted((images / first_label).iterdir())[0]
    renamed.rename(renamed.with_name("renamed.jpg"))
    copied = sorted((images / second_label).iterdir())[0]
    shutil.copy(copied, images / first_label / "copy-from-another-fruit.jpg")

    summary = extract(spark, images, tmp_path / "run-2", weights_file, store)
    assert (summary["feature_store"]["featurized_now"], summary["feature_store"]["from_store"]) == (0, 10)
    assert summary["feature_store"]["stored_now"] == 0 and summary["feature_store"]["batch"] is None
    # Nothing to featurize: no image went through a worker, and no worker built the model.
    assert summary["timings"]["workers"] == {"model_build_seconds": 0.0, "decode_seconds": 0.0, "inference_seconds": 0.0,
                                             "images_decoded": 0}
    before, after = features_by_image(seeded[2]), features_by_image(tmp_path / "run-2")
    assert np.array_equal(after[f"{first_label}/renamed.jpg"].view(np.uint32), before[f"{first_label}/{renamed.name}"].view(np.uint32))
    assert np.array_equal(after[f"{first_label}/copy-from-another-fruit.jpg"].view(np.uint32),
                          after[f"{second_label}/{copied.name}"].view(np.uint32))


def test_a_copy_inside_one_run_is_featurized_once(spark, grown_sample, weights_file, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(grown_sample[0], images)
    label = sorted(p.name for p in images.iterdir())[0]
    original = sorted((images / label).iterdir())[0]
    shutil.copy(original, images / label / "again.jpg")
    summary = extract(spark, images, tmp_path / "run", weights_file, tmp_path / "store")
    assert (summary["featurized"], summary["feature_store"]["featurized_now"], summary["feature_store"]["stored_now"]) == (10, 9, 9)
    features = features_by_image(tmp_path / "run")
    assert np.array_equal(features[f"{label}/again.jpg"].view(np.uint32), features[f"{label}/{original.name}"].view(np.uint32))


def resaved_weights(weights_file: Path, folder: Path, change: bool) -> Path:
    """The weights saved again by Keras (other file bytes), the same arrays or one value changed."""
    from fruits.model import build_model, load_weights

    arrays = load_weights(str(weights_file))
    if change:
        arrays[-1] = arrays[-1] + np.float32(1e-3)
    target = folder / ("changed.weights.h5" if change else "resaved.weights.h5")
    build_model(arrays).save_weights(str(target))
    assert hashlib.sha256(target.read_bytes()).digest() != hashlib.sha256(weights_file.read_bytes()).digest()
    return target


@pytest.mark.parametrize("change", ["weights", "input size", "preprocessing version", "pillow version"])
def test_each_change_of_the_key_starts_a_new_empty_store(spark, grown_sample, weights_file, store, tmp_path, monkeypatch, change):
    weights, inference = weights_file, InferenceSettings()
    if change == "weights":
        weights = resaved_weights(weights_file, tmp_path, change=True)
    elif change == "input size":
        inference = InferenceSettings(input_size=160)
    elif change == "preprocessing version":
        monkeypatch.setattr(decode, "PREPROCESSING_VERSION", decode.PREPROCESSING_VERSION + 1)
    else:
        real_version = metadata.version
        monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name.lower() == "pillow" else real_version(name))
    before = key_folders(store)

    summary = extract(spark, grown_sample[0], tmp_path / "run", weights, store, inference=inference)
    report = summary["feature_store"]
    assert (report["featurized_now"], report["from_store"], report["stored_now"]) == (9, 0, 9)
    assert report["key_id"] not in before and key_folders(store) == sorted([*before, report["key_id"]])
    assert read(spark, str(store), FeatureKey(**report["key"])).count() == 9


def test_weights_saved_again_unchanged_keep_the_store(spark, grown_sample, weights_file, store, tmp_path):
    summary = extract(spark, grown_sample[0], tmp_path / "run", resaved_weights(weights_file, tmp_path, change=False), store)
    assert (summary["feature_store"]["featurized_now"], summary["feature_store"]["from_store"]) == (0, 9)


def test_full_recompute_featurizes_every_image_and_gives_the_stored_bits(spark, grown_sample, weights_file, seeded, store, tmp_path):
    summary = extract(spark, grown_sample[1], tmp_path / "run", weights_file, store, full_recompute=True)
    report = summary["feature_store"]
    assert (report["mode"], report["featurized_now"], report["from_store"], report["stored_now"]) == ("full recompute", 12, 0, 3)
    assert (report["images_read"], report["unchanged_not_read"], report["index"]) == (12, 0, "not used (full recompute)")
    stored = {row.content_sha256: np.array(row.features, dtype=np.float32)
              for row in read(spark, str(store), FeatureKey(**report["key"])).collect()}
    table = pq.read_table(tmp_path / "run" / "features").to_pydict()
    recomputed = {digest: np.array(vector, dtype=np.float32) for digest, vector in zip(table["content_sha256"], table["features"])}
    assert_same_bits(recomputed, stored)


def test_purge_after_deleting_an_image_erases_its_features_from_the_files(spark, grown_sample, weights_file, store, tmp_path):
    images = tmp_path / "images"
    shutil.copytree(grown_sample[0], images)
    deleted = sorted(images.rglob("*.jpg"))[4]
    erased = hashlib.sha256(deleted.read_bytes()).hexdigest()
    kept = {hashlib.sha256(path.read_bytes()).hexdigest() for path in images.rglob("*.jpg") if path != deleted}
    assert erased in hashes_on_disk(store)
    deleted.unlink()

    kept_without_purge = extract(spark, images, tmp_path / "run-2", weights_file, store)
    assert kept_without_purge["feature_store"]["purged"] is None and erased in hashes_on_disk(store)
    summary = extract(spark, images, tmp_path / "run-3", weights_file, store, purge=True)
    assert summary["feature_store"]["purged"] == 1 and summary["feature_store"]["from_store"] == 8
    assert hashes_on_disk(store) == kept  # no file, committed or not, holds the erased image's features
    assert "/".join(deleted.parts[-2:]) not in features_by_image(tmp_path / "run-3")


def test_a_run_killed_while_appending_leaves_a_readable_store_and_the_next_run_right(spark, grown_sample, weights_file, store,
                                                                                 tmp_path, monkeypatch):
    def killed(*args):
        raise KeyboardInterrupt  # the batch's files are written, its commit is not
    monkeypatch.setattr(featurize_with_store, "commit_batch", killed)
    with pytest.raises(KeyboardInterrupt):
        extract(spark, grown_sample[1], tmp_path / "killed", weights_file, store)
    monkeypatch.undo()
    assert len(hashes_on_disk(store)) == 12  # the new images' features are on disk, uncommitted

    summary = extract(spark, grown_sample[1], tmp_path / "next", weights_file, store)
    report = summary["feature_store"]
    assert (report["featurized_now"], report["from_store"], report["stored_now"]) == (3, 9, 3)
    full = extract(spark, grown_sample[1], tmp_path / "full", weights_file, None)
    assert full["feature_store"] is None
    assert_same_bits(features_by_image(tmp_path / "next"), features_by_image(tmp_path / "full"))


@pytest.mark.parametrize("change, message", [
    ("one stored row gone", "the features of 1 images went missing from the feature store"),
    ("one stored row twice", "1 images met more than one feature row"),
])
def test_stored_features_that_do_not_match_the_images_one_to_one_fail_the_run_with_nothing_written(
        spark, grown_sample, weights_file, seeded, store, tmp_path, monkeypatch, change, message):
    stored = featurize_with_store.read
    first = min(pq.read_table(seeded[2] / "features").column("content_sha256").to_pylist())  # stored by the first run

    def changed(*args):  # as if a purge, or a broken store, changed the rows under the run
        rows = stored(*args)
        if change == "one stored row gone":
            return rows.where(F.col("content_sha256") != F.lit(first))
        return rows.unionByName(rows.where(F.col("content_sha256") == F.lit(first)))
    monkeypatch.setattr(featurize_with_store, "read", changed)
    with pytest.raises(FruitsError, match=message):
        extract(spark, grown_sample[1], tmp_path / "run-2", weights_file, store)
    assert not (tmp_path / "run-2" / "features").exists()
