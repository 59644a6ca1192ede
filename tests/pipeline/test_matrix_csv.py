"""pca/matrix.csv is one standard (RFC 4180) CSV file that pandas and Python's csv module read
back exactly, whatever the file names and labels hold: quotes, commas, newlines, spaces at the
ends, semicolons, backslashes, unicode."""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from fruits.steps.reduce_step import ReduceArgs, run_reduce

pytestmark = pytest.mark.slow

NAMES = ['q",c.jpg', "a,b.jpg", "new\nline.jpg", "dos\r\nline.jpg", "cr\ronly.jpg", " leading.jpg", "trailing .jpg",
         "semi;colon.jpg", "é中😀.jpg", "back\\slash.jpg", "tab\tx.jpg", '"quoted".jpg', "#hash.jpg", "plain.jpg"]
LABELS = ['Lemon "Meyer"', "Kiwi, green", "Pomme é"]


@pytest.fixture(scope="module")
def awkward_run(spark, tmp_path_factory):
    """A step-1 output whose paths and labels hold every awkward character, then step 2 on it."""
    rng = np.random.default_rng(5)
    rows = []
    for index, name in enumerate(NAMES * 3):
        label = LABELS[index % len(LABELS)]
        rows.append((f"s3://bucket/images/{label}/{index}-{name}", label, rng.normal(size=6).astype(np.float32).tolist()))
    output = tmp_path_factory.mktemp("awkward-csv") / "run"
    spark.createDataFrame(rows, "path string, label string, features array<float>").repartition(3) \
        .write.parquet(str(output / "features"))
    summary = {"images_uri": "s3://bucket/images/", "images": len(rows), "rejected": 0, "rejected_by_reason": {},
               "weights": {"source": "test"}, "duration_seconds": 1.0, "versions": {}, "settings": {}}
    (output / "extract_summary.json").write_text(json.dumps(summary))
    manifest = run_reduce(spark, ReduceArgs(output=str(output), k=3))
    expected = spark.read.parquet(str(output / "pca" / "matrix.parquet")).toPandas()
    return output, manifest, expected, rows


def test_the_matrix_is_one_csv_file_and_the_manifest_says_where(awkward_run):
    output, manifest, _, _ = awkward_run
    assert (output / "pca" / "matrix.csv").is_file()
    assert manifest["outputs"]["matrix_csv"] == str(output / "pca" / "matrix.csv")
    assert sorted(path.name for path in (output / "pca").iterdir() if not path.name.startswith(".")) == \
        ["explained_variance.csv", "matrix.csv", "matrix.parquet", "model", "plots"]  # no parts folder, no staging left


def test_pandas_reads_back_every_path_label_and_number_exactly(awkward_run):
    output, _, expected, rows = awkward_run
    read = pd.read_csv(output / "pca" / "matrix.csv", keep_default_na=False, float_precision="round_trip")
    assert list(read.columns) == ["path", "label", "pc_1", "pc_2", "pc_3"]
    assert sorted(read["path"]) == sorted(path for path, _, _ in rows)
    merged = read.merge(expected, on="path", suffixes=("", "_parquet"), validate="one_to_one")
    assert len(merged) == len(rows)
    assert (merged["label"] == merged["label_parquet"]).all()
    for column in ("pc_1", "pc_2", "pc_3"):
        assert (merged[column] == merged[f"{column}_parquet"]).all()


def test_pythons_csv_module_reads_back_every_row_exactly(awkward_run):
    output, _, expected, rows = awkward_run
    with (output / "pca" / "matrix.csv").open(newline="", encoding="utf-8") as handle:
        read = list(csv.reader(handle))
    assert read[0] == ["path", "label", "pc_1", "pc_2", "pc_3"]
    by_path = {row.path: row for row in expected.itertuples()}
    assert len(read) == len(rows) + 1 and {row[0] for row in read[1:]} == set(by_path)
    for path, label, *components in read[1:]:
        assert label == by_path[path].label
        assert [float(value) for value in components] == [by_path[path].pc_1, by_path[path].pc_2, by_path[path].pc_3]


def test_quotes_are_doubled_as_rfc_4180_says_not_backslash_escaped(awkward_run):
    output, _, _, _ = awkward_run
    text = (output / "pca" / "matrix.csv").read_bytes().decode("utf-8")
    assert '"Lemon ""Meyer"""' in text and '\\"' not in text
