"""A feature-store append whose Parquet write fails (here: the device fills up in Spark's tasks)
removes its batch's files at once: they were never committed (invisible), and on a full device
they held its last space until the vacuum, days later (fruits.steps.featurize_with_store.VACUUM_AGE)."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from fruits.feature_store import append
from fruits.feature_store_records import feature_key


WEIGHTS = hashlib.sha256(b"weights").hexdigest()


@pytest.mark.slow
def test_an_append_that_fills_the_device_leaves_no_batch_files(spark, small_device):  # small_device: a 64 KiB tmpfs (conftest)
    key = feature_key(WEIGHTS)
    values = np.random.default_rng(3).standard_normal((100, key.feature_size)).astype(np.float32)  # 500 KiB, incompressible
    rows = [(hashlib.sha256(f"image {i}".encode()).hexdigest(), vector.tolist()) for i, vector in enumerate(values)]
    features = spark.createDataFrame(rows, "content_sha256 string, features array<float>")
    with pytest.raises(Exception, match="No space left on device"):
        append(spark, str(small_device), key, features, "run-1")
    store = small_device / key.id
    assert (store / "key.json").is_file()
    assert list((store / "batches").iterdir()) == []
    assert not (store / "commits").exists()
