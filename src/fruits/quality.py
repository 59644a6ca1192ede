"""A quick check that the features mean something: nearest-centroid classification of the PCA
features on a held-out split of about `test_percent` % of the images, chosen by a hash of each
image's path below the images root (`Apple/a.jpg`): the same images split alike on every run and
wherever they are stored (a local folder, file:, s3://, s3a://).

Only classes with training images have a centroid to be near, and one centroid cannot be wrong:
held-out images of a class without training images, or of the only class with some, are not
scored (a meaningless 0 % or 100 %) but listed in "not_scored" with the reason.

Usage: `check = nearest_centroid_accuracy(matrix, images_root="s3://b/images/")` on project()'s
output -> dict with "accuracy" (None if nothing could be scored), "by_class" ({label:
{"test_images", "correct", "accuracy"}}), "not_scored" ({label: {"test_images", "reason"}}) and
the split sizes. Without `images_root` the whole path is hashed (the split then depends on where
the images are).
"""
from __future__ import annotations

import re
from typing import Iterator

import numpy as np
import pandas as pd
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.stat import Summarizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

SCHEME_AND_AUTHORITY = r"^[A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?"  # "s3://bucket", "file://", "file:"
NO_TRAINING = "no training images (all held out)"
ONLY_CLASS = "the only class with training images (one centroid cannot be wrong)"


def path_below(images_root: str | None) -> Column:
    """The `path` column relative to `images_root`, ignoring scheme and bucket; the whole path when
    it is not below the root (or no root is given)."""
    if images_root is None:
        return F.col("path")
    root = re.sub(SCHEME_AND_AUTHORITY, "", images_root).rstrip("/") + "/"
    path = F.regexp_replace("path", SCHEME_AND_AUTHORITY, "")
    return F.when(path.startswith(root), path.substr(len(root) + 1, 1 << 30)).otherwise(F.col("path"))


def is_test(test_percent: int, key: Column | None = None) -> Column:
    """True for held-out rows: the hash of `key` (default: the path) falls below `test_percent` of 100."""
    return (F.abs(F.xxhash64(F.col("path") if key is None else key)) % 100) < test_percent


def nearest_centroid_accuracy(matrix: DataFrame, test_percent: int = 20, images_root: str | None = None) -> dict:
    """Centroids per label from the training rows, in Spark; each scored test row takes the closest."""
    held_out = is_test(test_percent, path_below(images_root))
    train, test = matrix.where(~held_out), matrix.where(held_out)
    centroid_rows = (
        train.groupBy("label").agg(vector_to_array(Summarizer.mean(array_to_vector("pc"))).alias("centroid")).collect()
    )
    labels = [row.label for row in centroid_rows]
    centroids = np.array([row.centroid for row in centroid_rows])
    held_out_counts = {row.label: row["count"] for row in test.groupBy("label").count().collect()}
    if len(labels) < 2:
        reasons = {label: ONLY_CLASS if label in labels else NO_TRAINING for label in held_out_counts}
    else:
        reasons = {label: NO_TRAINING for label in held_out_counts if label not in labels}
    result = {
        "method": f"nearest centroid on the PCA features, {test_percent}% held out by hash of the "
                  + ("path below the images root" if images_root else "whole path"),
        "train_images": train.count(),
        "not_scored": {label: {"test_images": held_out_counts[label], "reason": reasons[label]} for label in sorted(reasons)},
    }
    if len(labels) < 2:
        return {**result, "accuracy": None, "test_images": 0, "by_class": {}}

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            points = np.stack(batch["pc"].to_numpy()) if len(batch) else np.zeros((0, centroids.shape[1]))
            distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
            predicted = [labels[i] for i in distances.argmin(axis=1)]
            yield pd.DataFrame({"label": batch["label"], "correct": batch["label"].to_numpy() == np.array(predicted, dtype=object)})

    scored = test.where(F.col("label").isin(labels)).select("label", "pc").mapInPandas(predict, "label string, correct boolean")
    per_class = scored.groupBy("label").agg(F.count("*").alias("n"), F.sum(F.col("correct").cast("int")).alias("correct")).collect()
    tested = sum(row.n for row in per_class)
    correct = sum(row.correct for row in per_class)
    return {
        **result,
        "accuracy": round(correct / tested, 4) if tested else None,
        "test_images": tested,
        "by_class": {
            row.label: {"test_images": row.n, "correct": row.correct, "accuracy": round(row.correct / row.n, 4)}
            for row in sorted(per_class, key=lambda r: r.label)
        },
    }
