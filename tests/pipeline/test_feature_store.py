"""The feature store (fruits.feature_store) on synthetic features, in-process: what is appended
reads back bit for bit, once per content hash, whatever the interleaving of two appends; an
interrupted append or purge leaves a readable store; a read of several commits moves no features
between tasks; every field that changes a feature gives another store; a purge leaves no trace
of the removed hashes on disk. One test runs the same on s3a:// against the moto server (slow: a
Spark of its own with the S3A jars)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fruits import decode, feature_store, feature_store_records
from fruits.errors import FruitsError
from fruits.feature_store import (append, commit_batch, content_sha256, purge, read, stage_batch, unstored,
                                  vacuum)
from fruits.content_index import Indexed, write_index
from fruits.feature_store_records import FeatureKey, feature_key, list_commits
from fruits.storage import Storage

from .store_checks import assert_same_bits, hashes_on_disk

SIZE = 16  # features per row in these tests: small, the store does not care
SCHEMA = "content_sha256 string, features array<float>"
WEIGHTS = hashlib.sha256(b"weights").hexdigest()


@pytest.fixture
def key() -> FeatureKey:
    return dataclasses.replace(feature_key(WEIGHTS), feature_size=SIZE)


def hash_of(number: int) -> str:
    return hashlib.sha256(f"image {number}".encode()).hexdigest()


def synthetic(numbers, seed: int = 0, size: int = SIZE) -> dict[str, np.ndarray]:
    """content hash -> float32 features, with the values that catch a lossy round trip: -0.0,
    subnormals, the largest float32, and digits a float64 detour would change."""
    values = np.random.default_rng(seed).standard_normal((len(numbers), size)).astype(np.float32)
    values[0, :4] = [-0.0, np.float32(1e-45), np.finfo(np.float32).max, np.float32(0.1)]
    return {hash_of(number): vector for number, vector in zip(numbers, values)}


def frame(spark, features: dict[str, np.ndarray]):
    return spark.createDataFrame([(digest, vector.tolist()) for digest, vector in features.items()], SCHEMA)


def collected(df) -> dict[str, np.ndarray]:
    rows = df.collect()
    found = {row.content_sha256: np.array(row.features, dtype=np.float32) for row in rows}
    assert len(found) == len(rows), "a content hash read more than once"
    return found


def rows_on_disk(root: Path) -> int:
    return sum(pq.read_metadata(path).num_rows for path in root.rglob("*.parquet"))


def store_folder(root: Path, key: FeatureKey) -> Path:
    return root / key.id


def test_an_empty_store_reads_as_no_rows(spark, key, tmp_path):
    stored = read(spark, str(tmp_path / "store"), key)
    assert stored.count() == 0
    assert [(field.name, field.dataType.simpleString()) for field in stored.schema] == [
        ("content_sha256", "string"), ("features", "array<float>")]
    assert not (tmp_path / "store").exists()  # reading creates nothing


def test_appended_features_read_back_bit_for_bit(spark, key, tmp_path):
    features = synthetic(range(200))
    assert append(spark, str(tmp_path), key, frame(spark, features), "run-1") == 200
    assert_same_bits(collected(read(spark, str(tmp_path), key)), features)
    commits = list((store_folder(tmp_path, key) / "commits").glob("*.json"))
    assert len(commits) == 1 and json.loads(commits[0].read_text())["rows"] == 200


def test_real_sized_features_read_back_bit_for_bit(spark, tmp_path):
    key = feature_key(WEIGHTS)
    features = synthetic(range(20), size=key.feature_size)
    assert append(spark, str(tmp_path), key, frame(spark, features), "run-1") == 20
    assert_same_bits(collected(read(spark, str(tmp_path), key)), features)


def test_appending_stored_hashes_again_writes_nothing(spark, key, tmp_path):
    first = synthetic(range(50))
    append(spark, str(tmp_path), key, frame(spark, first), "run-1")
    assert append(spark, str(tmp_path), key, frame(spark, first), "run-2") == 0
    store = store_folder(tmp_path, key)
    assert len(list((store / "commits").glob("*.json"))) == 1 and len(list((store / "batches").iterdir())) == 1

    more = synthetic(range(40, 60), seed=1)  # 10 stored already (other values: the stored ones stay)
    assert append(spark, str(tmp_path), key, frame(spark, more), "run-3") == 10
    expected = {**more, **first}
    assert_same_bits(collected(read(spark, str(tmp_path), key)), expected)


def test_a_copied_image_is_featurized_and_stored_once(spark, key, tmp_path):
    photo, other = b"\xff\xd8 the bytes of a photo", b"\xff\xd8 another photo"
    images = spark.createDataFrame([("file:/in/Kiwi/a.jpg", photo), ("file:/in/Kiwi/copy of a.jpg", photo),
                                    ("file:/in/Apple/b.jpg", other)], "path string, content binary")
    images = images.withColumn("content_sha256", content_sha256())
    assert {row.path: row.content_sha256 for row in images.collect()} == {
        "file:/in/Kiwi/a.jpg": hashlib.sha256(photo).hexdigest(), "file:/in/Kiwi/copy of a.jpg": hashlib.sha256(photo).hexdigest(),
        "file:/in/Apple/b.jpg": hashlib.sha256(other).hexdigest()}

    to_featurize = unstored(spark, str(tmp_path), key, images)
    assert sorted(row.content_sha256 for row in to_featurize.collect()) == sorted({hashlib.sha256(photo).hexdigest(),
                                                                                  hashlib.sha256(other).hexdigest()})
    features = {row.content_sha256: np.full(SIZE, len(row.content), np.float32) for row in to_featurize.collect()}
    assert append(spark, str(tmp_path), key, frame(spark, features), "run-1") == 2

    assert unstored(spark, str(tmp_path), key, images).count() == 0  # nothing left to featurize
    by_path = {row.path: row.features for row in images.join(read(spark, str(tmp_path), key), "content_sha256").collect()}
    assert len(by_path) == 3 and by_path["file:/in/Kiwi/a.jpg"] == by_path["file:/in/Kiwi/copy of a.jpg"]


def test_a_copy_within_one_append_is_written_once(spark, key, tmp_path):
    features = synthetic(range(5))
    doubled = frame(spark, features).unionByName(frame(spark, features))
    assert append(spark, str(tmp_path), key, doubled, "run-1") == 5
    assert rows_on_disk(tmp_path) == 5


def test_two_appends_committed_in_interleaved_order_read_each_hash_once(spark, key, tmp_path):
    first, second = synthetic(range(100), seed=1), synthetic(range(50, 150), seed=2)  # 50 hashes in both
    staged_first = stage_batch(spark, str(tmp_path), key, frame(spark, first), "run-a")
    staged_second = stage_batch(spark, str(tmp_path), key, frame(spark, second), "run-b")
    assert (staged_first.rows, staged_second.rows) == (100, 100)  # neither saw the other's rows
    assert read(spark, str(tmp_path), key).count() == 0  # staged is not committed
    commit_batch(spark, staged_second)
    commit_batch(spark, staged_first)

    # Both hold the 50 shared hashes; the batch committed first is the one read, every time
    # (equal in practice, but the choice must not depend on how Spark partitions the read).
    expected = {**first, **second}
    assert_same_bits(collected(read(spark, str(tmp_path), key)), expected)
    assert_same_bits(collected(read(spark, str(tmp_path), key).repartition(7)), expected)


def shuffled_columns(spark, plan) -> set[tuple[str, str]]:
    """(name, type) of the columns that some shuffle moves between tasks in the plan of the
    DataFrame that `plan()` returns (built with adaptive execution off, so that its plan is the
    whole one before it runs). An aggregate's buffer has names of its own: check the types."""
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        pending, moved = [plan()._jdf.queryExecution().executedPlan()], set()
        while pending:
            node = pending.pop()
            if node.nodeName() == "Exchange":  # a shuffle (a broadcast is "BroadcastExchange")
                output = node.output()
                moved |= {(output.apply(i).name(), output.apply(i).dataType().typeName()) for i in range(output.size())}
            children = node.children()
            pending += [children.apply(i) for i in range(children.size())]
        return moved
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", previous)


def test_a_read_of_several_commits_shuffles_hashes_never_features(spark, key, tmp_path):
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(10), seed=1)), "run-a")
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(5, 15), seed=2)), "run-b")
    assert len(collected(read(spark, str(tmp_path), key))) == 15
    moved = shuffled_columns(spark, lambda: read(spark, str(tmp_path), key))
    assert ("content_sha256", "string") in moved  # the earliest commit is found on the hashes alone,
    assert not [name for name, kind in moved if kind == "array"]  # not on the features


def test_two_threads_appending_at_once_leave_each_row_once(spark, key, tmp_path):
    features = synthetic(range(150))
    parts = [dict(list(features.items())[:100]), dict(list(features.items())[50:])]
    start, written, failures = threading.Barrier(2), [], []

    def run(name, part):
        start.wait()
        try:
            written.append(append(spark, str(tmp_path), key, frame(spark, part), name))
        except Exception as error:  # reported below: a thread's exception would be lost
            failures.append(error)

    threads = [threading.Thread(target=run, args=(f"run-{index}", part)) for index, part in enumerate(parts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures and len(written) == 2
    assert_same_bits(collected(read(spark, str(tmp_path), key)), features)


def test_an_interrupted_append_is_invisible_and_does_not_break_reads(spark, key, tmp_path):
    committed = synthetic(range(30))
    append(spark, str(tmp_path), key, frame(spark, committed), "run-1")
    interrupted = synthetic(range(30, 60), seed=3)
    stage_batch(spark, str(tmp_path), key, frame(spark, interrupted), "run-2")  # killed before its commit
    store = store_folder(tmp_path, key)
    crashed = store / "batches" / "run-3-0badf00d"  # killed while Spark was writing its files
    crashed.mkdir()
    (crashed / "part-00000-1234.snappy.parquet").write_bytes(b"PAR1 truncat")
    # What a process killed inside Storage.write_text leaves: the staged commit, half written.
    (store / "commits" / "_staging-run-3-0badf00d.json-1a2b3c4d").write_text('{"batch": "run-3-0ba')

    assert_same_bits(collected(read(spark, str(tmp_path), key)), committed)
    assert append(spark, str(tmp_path), key, frame(spark, interrupted), "run-2") == 30  # the retry writes them
    assert_same_bits(collected(read(spark, str(tmp_path), key)), {**committed, **interrupted})


@pytest.mark.parametrize("checksum_kept", [True, False])
def test_a_corrupt_commit_is_one_clear_error(spark, key, tmp_path, checksum_kept):
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(3))), "run-1")
    (commit,) = (store_folder(tmp_path, key) / "commits").glob("*.json")
    commit.write_text('{"batch": "elsewhere"}')  # by hand: Hadoop's checksum beside it no longer matches
    if not checksum_kept:  # as on S3, which has no checksum file: the content is checked
        (commit.parent / f".{commit.name}.crc").unlink()
    with pytest.raises(FruitsError, match=f"corrupt commit in the feature store: .*{commit.name}"):
        read(spark, str(tmp_path), key)


@pytest.mark.parametrize("edit", [
    {"replaces": ["../../.."]},            # the vacuum removed what a purge replaced: here the folder of every store
    {"files": ["../../../other-dataset/precious.parquet"]},
    {"batch": "commits/BATCH"},             # still ends the commit's own name
    {"rows": 1e400},                        # JSON's infinity: int() raised OverflowError, a traceback
    {"rows": -1},
], ids=["replaces-outside", "file-outside", "batch-with-a-slash", "rows-infinite", "rows-negative"])
def test_a_hand_edited_commit_is_refused_and_nothing_outside_the_store_is_touched(spark, key, tmp_path, edit):
    root = tmp_path / "stores" / "dataset"
    sibling = tmp_path / "stores" / "other-dataset"
    sibling.mkdir(parents=True)
    (sibling / "precious.parquet").write_bytes(b"another dataset's file")
    append(spark, str(root), key, frame(spark, synthetic(range(3))), "run-1")
    (commit,) = (store_folder(root, key) / "commits").glob("*.json")
    record = {**json.loads(commit.read_text()), **edit}
    if record["batch"] == "commits/BATCH":
        record["batch"] = f"commits/{commit.stem}"
    (commit.parent / f".{commit.name}.crc").unlink()
    commit.write_text(json.dumps(record))
    with pytest.raises(FruitsError, match=f"corrupt commit in the feature store: .*{commit.name}"):
        vacuum(spark, str(root), key, older_than=timedelta(days=3))
    with pytest.raises(FruitsError, match="corrupt commit in the feature store"):
        read(spark, str(root), key).count()
    assert (sibling / "precious.parquet").read_bytes() == b"another dataset's file"


@pytest.mark.parametrize("field, value", [
    ("weights_sha256", hashlib.sha256(b"other weights").hexdigest()), ("input_size", 192),
    ("preprocessing_version", 99), ("pillow_version", "0.0.1"), ("tensorflow_version", "0.0.1"),
    ("keras_version", "0.0.1"), ("model", "another network"), ("feature_size", SIZE + 1), ("inference_batch_size", 7),
])
def test_each_field_that_changes_features_gives_another_store(spark, key, tmp_path, field, value):
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(10))), "run-1")
    changed = dataclasses.replace(key, **{field: value})
    assert changed.id != key.id
    assert read(spark, str(tmp_path), changed).count() == 0
    assert read(spark, str(tmp_path), key).count() == 10


def test_the_key_follows_the_weights_input_size_preprocessing_pillow_and_engine(monkeypatch):
    base = feature_key(WEIGHTS)
    assert (base.input_size, base.preprocessing_version, base.feature_size) == (decode.IMAGE_SIZE, decode.PREPROCESSING_VERSION, 1280)
    from importlib import metadata
    assert base.pillow_version == metadata.version("pillow") and base.keras_version == metadata.version("keras")

    ids = {base.id, feature_key(hashlib.sha256(b"retrained").hexdigest()).id, feature_key(WEIGHTS, input_size=160).id,
           feature_key(WEIGHTS, inference_batch_size=64).id, feature_key(WEIGHTS, engine="keras").id}
    monkeypatch.setattr(decode, "PREPROCESSING_VERSION", decode.PREPROCESSING_VERSION + 1)
    ids.add(feature_key(WEIGHTS).id)
    monkeypatch.undo()
    real_version = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name.lower() == "pillow" else real_version(name))
    ids.add(feature_key(WEIGHTS).id)
    monkeypatch.undo()
    monkeypatch.setattr(metadata, "version", lambda name: "99.0" if name.lower() == "onnxruntime" else real_version(name))
    ids.add(feature_key(WEIGHTS).id)
    assert feature_key(WEIGHTS, engine="keras").id in ids  # Keras's key does not follow ONNX Runtime's version
    monkeypatch.undo()
    monkeypatch.setattr(feature_store_records, "GRAPH_VERSION", feature_store_records.GRAPH_VERSION + 1)
    ids.add(feature_key(WEIGHTS).id)
    assert len(ids) == 9


def test_a_key_is_refused_when_a_field_cannot_be_right():
    with pytest.raises(ValueError, match="weights_sha256"):
        feature_key("not a hash")
    with pytest.raises(ValueError, match="input_size"):
        feature_key(WEIGHTS, input_size=0)
    with pytest.raises(ValueError, match="unknown inference engine 'tflite'"):
        feature_key(WEIGHTS, engine="tflite")


def test_the_key_is_kept_readable_beside_the_data_and_checked(spark, key, tmp_path):
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(3))), "run-1")
    written = json.loads((store_folder(tmp_path, key) / "key.json").read_text())
    assert written == {"id": key.id, **dataclasses.asdict(key)}
    assert key.id == hashlib.sha256(key.canonical_json().encode()).hexdigest()[:len(key.id)]

    (store_folder(tmp_path, key) / "key.json").write_text(json.dumps({**written, "input_size": 1}))
    (store_folder(tmp_path, key) / ".key.json.crc").unlink()  # else Hadoop's checksum catches it first
    with pytest.raises(FruitsError, match="holds features of another key"):
        read(spark, str(tmp_path), key)


def test_purge_removes_exactly_the_rows_not_kept_and_their_files(spark, key, tmp_path):
    batches = [synthetic(range(start, start + 40), seed=start) for start in (0, 40, 80, 120)]
    for index, features in enumerate(batches):
        append(spark, str(tmp_path), key, frame(spark, features), f"run-{index}")
    everything = {digest: vector for features in batches for digest, vector in features.items()}
    store = store_folder(tmp_path, key)
    untouched = {path.name for path in (store / "batches").iterdir() if hashes_on_disk(path) == set(batches[3])}
    # Erased: one image of batch 0, two of batch 1, the whole of batch 2; batch 3 stays as it is.
    erased = {hash_of(5), hash_of(41), hash_of(42)} | set(batches[2])
    kept = {digest: vector for digest, vector in everything.items() if digest not in erased}
    keep = spark.createDataFrame([(digest,) for digest in kept], "content_sha256 string")

    assert purge(spark, str(tmp_path), key, keep) == 43
    assert_same_bits(collected(read(spark, str(tmp_path), key)), kept)
    assert hashes_on_disk(tmp_path) == set(kept)  # no file, committed or not, still holds an erased hash
    assert untouched <= {path.name for path in (store / "batches").iterdir()}
    assert purge(spark, str(tmp_path), key, keep) == 0


def test_purge_erases_under_every_key_of_the_root_and_their_indexes(spark, key, tmp_path):
    # Other weights or a new lock change the key, not the photos: the older key's store holds the
    # same photos' features, and its index names their files. It used to be left whole.
    older = dataclasses.replace(key, weights_sha256=hashlib.sha256(b"older weights").hexdigest())
    append(spark, str(tmp_path), older, frame(spark, synthetic(range(10))), "run-old")
    photos = {f"file:/photos/kiwi/{n}.jpg": Indexed(100 + n, "stamp", hash_of(n), n) for n in range(10)}
    write_index(Storage(spark), str(store_folder(tmp_path, older)), photos, "run-old")
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(8))), "run-new")
    keep = spark.createDataFrame([(hash_of(n),) for n in range(5)], "content_sha256 string")

    assert purge(spark, str(tmp_path), key, keep) == 5  # 5, 6, 7 under both keys, 8 and 9 under the older one only
    assert hashes_on_disk(tmp_path) == {hash_of(n) for n in range(5)}  # no Parquet file, features or index, holds another
    assert not (store_folder(tmp_path, older) / "index").exists()
    assert collected(read(spark, str(tmp_path), older)).keys() == {hash_of(n) for n in range(5)}  # still a readable store


def test_an_interrupted_purge_hides_the_erased_rows_and_the_next_one_removes_them(spark, key, tmp_path, monkeypatch):
    features = synthetic(range(20))
    append(spark, str(tmp_path), key, frame(spark, features), "run-1")
    kept = {digest: vector for digest, vector in features.items() if digest != hash_of(3)}
    keep = spark.createDataFrame([(digest,) for digest in kept], "content_sha256 string")

    def killed(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(feature_store, "_remove_batch", killed)  # killed once the rewritten batch is committed
    with pytest.raises(KeyboardInterrupt):
        purge(spark, str(tmp_path), key, keep)
    assert_same_bits(collected(read(spark, str(tmp_path), key)), kept)  # already invisible, not read twice
    assert hash_of(3) in hashes_on_disk(tmp_path)  # but still on disk

    monkeypatch.undo()
    assert purge(spark, str(tmp_path), key, keep) == 0  # nothing left to rewrite; the rest is finished
    assert hashes_on_disk(tmp_path) == set(kept)
    assert_same_bits(collected(read(spark, str(tmp_path), key)), kept)


def test_a_read_that_meets_a_batch_removed_by_a_purge_lists_the_commits_again(spark, key, tmp_path, monkeypatch):
    features = synthetic(range(10))
    append(spark, str(tmp_path), key, frame(spark, features), "run-1")
    stale = list_commits(Storage(spark), store_folder(tmp_path, key).as_posix())  # listed before the purge
    kept = {digest: vector for digest, vector in features.items() if digest != hash_of(0)}
    purge(spark, str(tmp_path), key, spark.createDataFrame([(digest,) for digest in kept], "content_sha256 string"))

    listings = [stale]
    monkeypatch.setattr(feature_store, "list_commits", lambda *args: listings.pop() if listings else list_commits(*args))
    assert_same_bits(collected(read(spark, str(tmp_path), key)), kept)
    assert not listings  # the stale listing was used, and replaced


def test_a_purge_s_vacuum_reaches_the_killed_appends_of_other_keys(spark, key, tmp_path):
    """A killed append under an older key may hold an erased photo's features, and no run of the
    current key vacuumed that store: a purge's vacuum (every_key) does, at the same age."""
    older = dataclasses.replace(key, weights_sha256=hashlib.sha256(b"older weights").hexdigest())
    append(spark, str(tmp_path), older, frame(spark, synthetic(range(3))), "run-old")
    killed = stage_batch(spark, str(tmp_path), older, frame(spark, synthetic(range(3, 6))), "run-killed")  # never committed
    append(spark, str(tmp_path), key, frame(spark, synthetic(range(3))), "run-new")
    later = datetime.now(timezone.utc) + timedelta(hours=2)

    assert vacuum(spark, str(tmp_path), key, older_than=timedelta(hours=1), now=later) == []  # a run without --purge
    assert vacuum(spark, str(tmp_path), key, older_than=timedelta(hours=1), every_key=True) == []  # still young: may be a run's
    assert vacuum(spark, str(tmp_path), key, older_than=timedelta(hours=1), now=later, every_key=True) == [killed.batch]
    assert hashes_on_disk(tmp_path) == {hash_of(n) for n in range(3)}


def test_vacuum_removes_only_uncommitted_batches_older_than_the_age(spark, key, tmp_path):
    committed = synthetic(range(10))
    append(spark, str(tmp_path), key, frame(spark, committed), "run-1")
    staged = stage_batch(spark, str(tmp_path), key, frame(spark, synthetic(range(10, 20))), "run-2")  # never committed
    store = store_folder(tmp_path, key)
    (store / "commits" / f"_staging-{staged.batch}.json-1a2b3c4d").write_text('{"batch"')
    (store / "index").mkdir()
    (store / "index" / "_staging-20261129T000000000000Z-run-2.parquet-1a2b3c4d").write_bytes(b"PAR1")  # a killed index write

    assert vacuum(spark, str(tmp_path), key, older_than=timedelta(hours=1)) == []  # still young: may be a run's
    assert len(list((store / "index").glob("_staging-*"))) == 1
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert vacuum(spark, str(tmp_path), key, older_than=timedelta(hours=1), now=later) == [staged.batch]
    assert hashes_on_disk(tmp_path) == set(committed)
    assert not list((store / "commits").glob("_staging-*")) and not list((store / "index").glob("_staging-*"))
    assert_same_bits(collected(read(spark, str(tmp_path), key)), committed)


def test_rows_that_are_not_features_of_the_key_are_refused_and_leave_nothing(spark, key, tmp_path):
    short = spark.createDataFrame([(hash_of(1), [1.0] * (SIZE - 1))], SCHEMA)
    with pytest.raises(ValueError, match=f"1 of 1 rows have no features or not {SIZE} of them"):
        append(spark, str(tmp_path), key, short, "run-1")
    missing = spark.createDataFrame([(hash_of(1), None)], SCHEMA)
    with pytest.raises(ValueError, match="have no features"):
        append(spark, str(tmp_path), key, missing, "run-1")
    no_hash = spark.createDataFrame([(None, [1.0] * SIZE)], SCHEMA)
    with pytest.raises(ValueError, match="no content hash"):
        append(spark, str(tmp_path), key, no_hash, "run-1")
    assert rows_on_disk(tmp_path) == 0 and not list(store_folder(tmp_path, key).glob("commits/*"))


def test_a_batch_name_must_be_one_plain_name(spark, key, tmp_path):
    with pytest.raises(ValueError, match="run id must be"):
        append(spark, str(tmp_path), key, frame(spark, synthetic(range(2))), "../elsewhere")


S3_STORE = textwrap.dedent("""
    import dataclasses, hashlib, json, sys
    from datetime import datetime, timedelta, timezone
    from fruits.feature_store import append, purge, read, stage_batch, vacuum
    from fruits.feature_store_records import feature_key
    from fruits.s3a import s3a_conf
    from fruits.session import build_session
    endpoint, jars, root = sys.argv[1:4]
    spark = build_session("feature-store-s3", master="local[1]", extra_conf=s3a_conf(endpoint, jars))
    key = dataclasses.replace(feature_key(hashlib.sha256(b"weights").hexdigest()), feature_size=4)
    def rows(numbers):
        return spark.createDataFrame([(hashlib.sha256(str(n).encode()).hexdigest(), [n + 0.1, -0.0, 1e-45, n / 3])
                                      for n in numbers], "content_sha256 string, features array<float>")
    try:
        written = [append(spark, root, key, rows(range(0, 30)), "run-1"), append(spark, root, key, rows(range(20, 40)), "run-2")]
        interrupted = stage_batch(spark, root, key, rows(range(40, 50)), "run-3")  # never committed
        after_appends = {r.content_sha256: r.features for r in read(spark, root, key).collect()}
        keep = spark.createDataFrame([(hashlib.sha256(str(n).encode()).hexdigest(),) for n in range(1, 40)], "content_sha256 string")
        removed = purge(spark, root, key, keep)
        vacuumed = vacuum(spark, root, key, older_than=timedelta(hours=1), now=datetime.now(timezone.utc) + timedelta(hours=2))
        after_purge = {r.content_sha256: r.features for r in read(spark, root, key).collect()}
        print(json.dumps({"key_id": key.id, "written": written, "interrupted": interrupted.batch, "after_appends": after_appends,
                          "removed": removed, "vacuumed": vacuumed, "after_purge": after_purge}))
    finally:
        spark.stop()
""")


@pytest.mark.slow
def test_the_store_works_on_s3a_against_the_emulator(tmp_path):
    from fruits.rehearsal.emulator import MotoServer
    from fruits.s3a import JARS_DIR

    def digest(number):
        return hashlib.sha256(str(number).encode()).hexdigest()

    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="fruits-store", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        # In a process of its own: the S3A jars must be on the JVM's class path from its start.
        result = subprocess.run([sys.executable, "-c", S3_STORE, moto.endpoint, str(JARS_DIR), "s3a://fruits-store/feature-store"],
                                capture_output=True, text=True, timeout=600, env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
        assert result.returncode == 0, result.stderr[-3000:]
        found = json.loads(result.stdout.strip().splitlines()[-1])
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket="fruits-store", Prefix="feature-store/")["Contents"]]
        for parquet in (name for name in keys if name.endswith(".parquet")):
            (tmp_path / parquet.replace("/", "_")).write_bytes(s3.get_object(Bucket="fruits-store", Key=parquet)["Body"].read())
        key_json = json.loads(s3.get_object(Bucket="fruits-store", Key=f"feature-store/{found['key_id']}/key.json")["Body"].read())

    assert found["written"] == [30, 10] and found["interrupted"].startswith("run-3-")
    assert sorted(found["after_appends"]) == sorted(digest(n) for n in range(40))
    assert found["after_appends"][digest(7)] == [np.float32(7.1), -0.0, np.float32(1e-45), np.float32(7 / 3)]
    assert found["removed"] == 1 and found["vacuumed"] == [found["interrupted"]]
    assert sorted(found["after_purge"]) == sorted(digest(n) for n in range(1, 40))
    assert hashes_on_disk(tmp_path) == {digest(n) for n in range(1, 40)}
    assert key_json["id"] == found["key_id"] and key_json["feature_size"] == 4
    assert not [name for name in keys if "_staging" in name or "_temporary" in name]  # no leftover of a write
