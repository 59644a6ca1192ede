"""The nearest-centroid check: the held-out split depends only on the path below the images root,
so the same images give the same split from a local folder, file:, s3:// or s3a://; a class with
no training images is reported as not scored instead of getting a meaningless score."""
from __future__ import annotations

import numpy as np
import pytest

from pyspark.sql import functions as F

from fruits.quality import is_test, nearest_centroid_accuracy

pytestmark = pytest.mark.slow


def matrix_under(spark, root: str, names: list[tuple[str, str]], points: dict[str, list[float]] | None = None):
    """A projected matrix (path, label, pc) for `names` = [(label, file name)] below `root`."""
    rng = np.random.default_rng(0)
    rows = []
    for label, name in names:
        centre = (points or {}).get(label, [0.0, 0.0])
        rows.append((f"{root}/{label}/{name}", label, (np.array(centre) + rng.normal(scale=0.1, size=2)).tolist()))
    return spark.createDataFrame(rows, "path string, label string, pc array<double>")


NAMES = [(label, f"{label.lower()}_{index}.jpg") for label in ("Apple", "Kiwi", "Lemon") for index in range(60)]
CENTRES = {"Apple": [0.0, 0.0], "Kiwi": [5.0, 0.0], "Lemon": [0.0, 5.0]}


def test_the_same_images_give_the_same_split_wherever_they_are_stored(spark):
    roots = {"/data/sample": "file:/data/sample", "file:///data/sample/": "file:/data/sample",
             "s3://bucket/images/fruits-360/": "s3://bucket/images/fruits-360",
             "s3a://other-bucket/x/": "s3a://other-bucket/x"}
    checks = [nearest_centroid_accuracy(matrix_under(spark, listed, NAMES, CENTRES), images_root=given)
              for given, listed in roots.items()]
    splits = {(check["train_images"], check["test_images"], tuple(sorted((label, c["test_images"]) for label, c in check["by_class"].items())))
              for check in checks}
    assert len(splits) == 1, splits
    assert checks[0]["test_images"] == held_out_count(spark, [f"{label}/{name}" for label, name in NAMES])  # about 20 %


def test_the_split_follows_the_path_below_the_root_not_the_root(spark):
    """Two layouts of the same relative paths must split alike, and a different relative path
    must be able to change the split (the key is not a constant)."""
    here = nearest_centroid_accuracy(matrix_under(spark, "file:/tmp/a", NAMES, CENTRES), images_root="/tmp/a")
    there = nearest_centroid_accuracy(matrix_under(spark, "s3://b/very/deep/prefix", NAMES, CENTRES), images_root="s3://b/very/deep/prefix/")
    renamed = [(label, "x" + name) for label, name in NAMES]
    other = nearest_centroid_accuracy(matrix_under(spark, "file:/tmp/a", renamed, CENTRES), images_root="/tmp/a")
    assert here["by_class"] == there["by_class"]
    assert other["by_class"] != here["by_class"]


def held_out_count(spark, relative_paths: list[str], test_percent: int = 20) -> int:
    """How many of these paths below the images root the split's own rule holds out."""
    paths = spark.createDataFrame([(path,) for path in relative_paths], "relative string")
    return paths.where(is_test(test_percent, F.col("relative"))).count()


def held_out_name(spark, label: str) -> str:
    """A file name under `label` that the split holds out (the split's own rule, on the relative path)."""
    candidates = spark.createDataFrame([(f"{label}/{label.lower()}_{index}.jpg",) for index in range(200)], "relative string")
    return candidates.where(is_test(20, F.col("relative"))).first().relative.split("/")[1]


def test_a_class_without_training_images_is_listed_as_not_scored(spark):
    """One image of Durian, held out: there is no Durian centroid to be near, so scoring it would
    give a meaningless 0 %. It is listed with the reason instead, and the accuracy is over the rest."""
    lone = held_out_name(spark, "Durian")
    check = nearest_centroid_accuracy(matrix_under(spark, "file:/img", NAMES + [("Durian", lone)], CENTRES), images_root="/img")
    assert "Durian" not in check["by_class"] and sorted(check["by_class"]) == ["Apple", "Kiwi", "Lemon"]
    assert check["not_scored"] == {"Durian": {"test_images": 1, "reason": "no training images (all held out)"}}
    assert check["accuracy"] == 1.0  # the three separated fruits, all right
    assert check["test_images"] == sum(counts["test_images"] for counts in check["by_class"].values())


def test_a_single_trained_class_is_not_scored(spark):
    check = nearest_centroid_accuracy(matrix_under(spark, "file:/img", [("Durian", f"durian_{index}.jpg") for index in range(40)]),
                                      images_root="/img")
    assert check["accuracy"] is None and check["by_class"] == {}
    assert check["not_scored"]["Durian"]["reason"] == "the only class with training images (one centroid cannot be wrong)"
