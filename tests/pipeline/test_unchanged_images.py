"""The feature store's index (fruits.content_index) in the extract step, on real images and
weights: a run reads only the files that are new or changed since the last run (a file rewritten
with its size and mtime kept is read again), reads again a file whose features were purged since
(and fails, writing nothing, when indexed files keep being purged at each look-up), takes an
unreadable index for a cache miss, and a purge leaves one snapshot naming only the input and no
staged file of a killed write."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from fruits.content_index import INDEX, Indexed, split_listing
from fruits.errors import FruitsError
from fruits.feature_store import purge
from fruits.feature_store_records import FeatureKey
from fruits.input_files import classify_listed
from fruits.steps import featurize_with_store

from .images import copy_subset
from .store_checks import assert_same_bits
from .test_incremental_runs import extract, features_by_image


@pytest.fixture
def seeded(spark, sample_images, weights_file, tmp_path) -> tuple[Path, Path, dict]:
    """(images: 3 of 3 fruits, their store after one run, that run's summary)."""
    images = copy_subset(sample_images, tmp_path / "images", per_class=3, classes=3)
    summary = extract(spark, images, tmp_path / "run-1", weights_file, tmp_path / "store")
    return images, tmp_path / "store", summary


def snapshots(store: Path, key_id: str) -> list[Path]:
    return sorted(path for path in (store / key_id / INDEX).iterdir() if not path.name.startswith((".", "_")))


def test_a_second_run_reads_only_the_new_and_the_rewritten_images(spark, sample_images, weights_file, seeded, tmp_path):
    images, store, first = seeded
    assert (first["feature_store"]["images_read"], first["feature_store"]["unchanged_not_read"]) == (9, 0)
    label = sorted(path.name for path in images.iterdir())[0]
    new = sorted((sample_images / label).iterdir())[5]
    shutil.copy(new, images / label / "new.jpg")
    # Rewritten in place: another photo's bytes, padded to the old size (a JPEG decoder stops at its
    # end marker), and the old mtime put back: only the ctime tells.
    rewritten = sorted((images / label).iterdir())[0]
    status = rewritten.stat()
    other = next(data for data in (path.read_bytes() for path in sorted((sample_images / label).iterdir())[6:])
                 if len(data) < status.st_size)
    rewritten.write_bytes(other + b"\0" * (status.st_size - len(other)))
    os.utime(rewritten, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert rewritten.stat().st_mtime_ns == status.st_mtime_ns and rewritten.stat().st_size == status.st_size

    second = extract(spark, images, tmp_path / "run-2", weights_file, store)
    report = second["feature_store"]
    assert (report["images_read"], report["unchanged_not_read"]) == (2, 8)
    assert (report["featurized_now"], report["from_store"]) == (2, 8)
    assert second["timings"]["workers"]["images_decoded"] == 2
    full = extract(spark, images, tmp_path / "full", weights_file, None)
    assert_same_bits(features_by_image(tmp_path / "run-2"), features_by_image(tmp_path / "full"))
    table = pq.read_table(tmp_path / "run-2" / "features").to_pydict()
    hashes = dict(zip(table["path"], table["content_sha256"]))
    assert hashes[f"file:{rewritten}"] == hashlib.sha256(rewritten.read_bytes()).hexdigest()
    # The unchanged images' rows, not read, carry what a read gives: the same modification times.
    columns = ["path", "size", "modification_time", "content_sha256"]
    assert (sorted(pq.read_table(tmp_path / "run-2" / "features", columns=columns).to_pylist(), key=lambda row: row["path"])
            == sorted(pq.read_table(tmp_path / "full" / "features", columns=columns).to_pylist(), key=lambda row: row["path"]))
    assert full["feature_store"] is None


def test_an_image_whose_features_were_purged_since_it_was_indexed_is_read_again(spark, weights_file, seeded, tmp_path):
    images, store, first = seeded
    table = pq.read_table(tmp_path / "run-1" / "features").to_pydict()
    kept = spark.createDataFrame([(digest,) for digest in table["content_sha256"][3:]], "content_sha256 string")
    assert purge(spark, str(store), FeatureKey(**first["feature_store"]["key"]), keep=kept) == 3  # the index is not told

    second = extract(spark, images, tmp_path / "run-2", weights_file, store)
    report = second["feature_store"]
    assert (report["images_read"], report["unchanged_not_read"], report["featurized_now"], report["from_store"]) == (3, 6, 3, 6)
    assert_same_bits(features_by_image(tmp_path / "run-2"), features_by_image(tmp_path / "run-1"))


@pytest.mark.parametrize("damage", ["garbage under a valid checksum file", "garbage, checksum file removed"])
def test_an_unreadable_index_is_a_cache_miss(spark, weights_file, seeded, tmp_path, damage):
    images, store, first = seeded
    snapshot, = snapshots(store, first["feature_store"]["key_id"])
    snapshot.write_bytes(b"not parquet")
    if damage != "garbage under a valid checksum file":
        snapshot.with_name(f".{snapshot.name}.crc").unlink()

    second = extract(spark, images, tmp_path / "run-2", weights_file, store)
    report = second["feature_store"]
    assert report["index"].startswith("index snapshot unreadable, every image read")
    assert (report["images_read"], report["unchanged_not_read"], report["featurized_now"]) == (9, 0, 0)
    assert_same_bits(features_by_image(tmp_path / "run-2"), features_by_image(tmp_path / "run-1"))
    assert snapshots(store, first["feature_store"]["key_id"]) != [snapshot]  # the damaged one is replaced


def test_a_purge_leaves_one_snapshot_naming_only_the_input(spark, weights_file, seeded, tmp_path):
    images, store, first = seeded
    deleted = sorted(images.rglob("*.jpg"))[0]
    deleted.unlink()
    key_id = first["feature_store"]["key_id"]
    (store / key_id / INDEX / "_staging-20261129T000000000000Z-run-0.parquet-1a2b3c4d").write_bytes(b"PAR1")  # a killed write
    extract(spark, images, tmp_path / "run-2", weights_file, store, purge=True)
    snapshot, = snapshots(store, key_id)
    assert sorted(pq.read_table(snapshot).column("path").to_pylist()) == sorted(f"file:{path}" for path in images.rglob("*.jpg"))
    assert f"file:{deleted}" not in pq.read_table(snapshot).column("path").to_pylist()
    assert not [path for path in (store / key_id / INDEX).iterdir() if path.name.startswith("_")]


def test_only_a_file_with_the_indexed_size_and_stamp_counts_as_unchanged():
    listing = classify_listed("s3://b/images", [("s3://b/images/Apple/same.jpg", 10, "1700"),
                                                ("s3://b/images/Apple/resized.jpg", 11, "1700"),
                                                ("s3://b/images/Apple/touched.jpg", 10, "1800"),
                                                ("s3://b/images/Apple/no-stamp.jpg", 10, ""),
                                                ("s3://b/images/Apple/new.jpg", 10, "1700")])
    digest = "a" * 64
    index = {f"s3://b/images/Apple/{name}": Indexed(10, "1700" if name != "no-stamp.jpg" else "", digest, 5)
             for name in ("same.jpg", "resized.jpg", "touched.jpg", "no-stamp.jpg")}
    unchanged, to_read = split_listing(listing, index)
    assert [row.path.rpartition("/")[2] for row in unchanged] == ["same.jpg"]
    assert (unchanged[0].content_sha256, unchanged[0].modified_micros, unchanged[0].label) == (digest, 5, "Apple")
    assert sorted(file.relative for file in to_read.accepted) == ["Apple/new.jpg", "Apple/no-stamp.jpg", "Apple/resized.jpg",
                                                                  "Apple/touched.jpg"]


def test_indexed_images_purged_again_at_each_look_up_fail_the_run_with_nothing_written(spark, weights_file, seeded, tmp_path,
                                                                                       monkeypatch):
    images, store, _ = seeded
    flag = featurize_with_store.with_stored_flag

    def one_more_purged(*args):  # as if another run purged one more indexed image before each look-up
        flagged = flag(*args)
        first = flagged.where(F.col("indexed")).agg(F.min("path")).first()[0]
        return flagged.withColumn("stored", F.col("stored") & (F.col("path") != F.lit(first)))
    monkeypatch.setattr(featurize_with_store, "with_stored_flag", one_more_purged)
    with pytest.raises(FruitsError, match=f"lost the features of indexed images {featurize_with_store.INDEX_ATTEMPTS} times"):
        extract(spark, images, tmp_path / "run-2", weights_file, store)
    assert not (tmp_path / "run-2").exists()
