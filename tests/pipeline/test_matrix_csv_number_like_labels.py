"""The README's way to read pca/matrix.csv with pandas gives back the labels as they are, also
when every label looks like a number: pandas typed such a column, so the folders `007`, `1e3`
and `-2` came back as 7.0, 1000.0 and -2.0 (measured on a real run-local of those folders with
the README's former `pandas.read_csv(path, keep_default_na=False)`), while Python's csv module
read '007', '1e3', '-2'. A label column of mixed names stayed text, which hid it."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from fruits.steps.reduce_step import ReduceArgs, run_reduce
from tests.conftest import PROJECT_ROOT

LABELS = ["007", "1e3", "-2"]  # all number-like: a column of mixed labels stays text anyway
README_RECIPE = 'pandas.read_csv(path, dtype={"path": str, "label": str}, keep_default_na=False)'


def read_as_the_readme_says(path):
    return pd.read_csv(path, dtype={"path": str, "label": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def matrix_csv(spark, tmp_path_factory):
    rng = np.random.default_rng(7)
    rows = [(f"s3://bucket/images/{label}/{index}.jpg", label, rng.normal(size=5).astype(np.float32).tolist())
            for index in range(12) for label in [LABELS[index % len(LABELS)]]]
    output = tmp_path_factory.mktemp("number-like-labels") / "run"
    spark.createDataFrame(rows, "path string, label string, features array<float>").write.parquet(str(output / "features"))
    summary = {"images_uri": "s3://bucket/images/", "images": len(rows), "rejected": 0, "rejected_by_reason": {},
               "weights": {"source": "test"}, "duration_seconds": 1.0, "versions": {}, "settings": {}}
    (output / "extract_summary.json").write_text(json.dumps(summary))
    run_reduce(spark, ReduceArgs(output=str(output), k=2))
    return output / "pca" / "matrix.csv"


def test_number_like_labels_read_back_as_they_are(matrix_csv):
    with open(matrix_csv, newline="", encoding="utf-8") as handle:
        by_csv = sorted(row["label"] for row in csv.DictReader(handle))
    by_pandas = read_as_the_readme_says(matrix_csv)
    assert sorted(by_pandas["label"]) == by_csv and sorted(set(by_csv)) == sorted(LABELS)
    assert by_pandas["pc_1"].dtype == np.float64  # the numbers stay numbers


def test_the_readme_gives_this_recipe():
    assert README_RECIPE in " ".join((PROJECT_ROOT / "README.md").read_text().split())
