"""A quick check that the features mean something: nearest-centroid classification of the PCA
features on a held-out split (about `test_percent` % of images, chosen by a hash of the path, so
the split is the same on every run).

Usage: `check = nearest_centroid_accuracy(matrix)` on project()'s output -> dict with
"accuracy", "by_class" ({label: {"test_images", "correct", "accuracy"}}), and the split sizes.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.stat import Summarizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def is_test(test_percent: int):
    return (F.abs(F.xxhash64("path")) % 100) < test_percent


def nearest_centroid_accuracy(matrix: DataFrame, test_percent: int = 20) -> dict:
    """Centroids per label from the training rows, in Spark; each test row takes the closest."""
    train, test = matrix.where(~is_test(test_percent)), matrix.where(is_test(test_percent))
    centroid_rows = (
        train.groupBy("label").agg(vector_to_array(Summarizer.mean(array_to_vector("pc"))).alias("centroid")).collect()
    )
    labels = [row.label for row in centroid_rows]
    centroids = np.array([row.centroid for row in centroid_rows])

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            points = np.stack(batch["pc"].to_numpy()) if len(batch) else np.zeros((0, centroids.shape[1]))
            distances = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
            predicted = [labels[i] for i in distances.argmin(axis=1)]
            yield pd.DataFrame({"label": batch["label"], "correct": batch["label"].to_numpy() == np.array(predicted, dtype=object)})

    if not labels:
        return {"accuracy": None, "by_class": {}, "train_images": 0, "test_images": test.count(), "method": "nearest centroid"}
    scored = test.select("label", "pc").mapInPandas(predict, "label string, correct boolean")
    per_class = scored.groupBy("label").agg(F.count("*").alias("n"), F.sum(F.col("correct").cast("int")).alias("correct")).collect()
    tested = sum(row.n for row in per_class)
    correct = sum(row.correct for row in per_class)
    return {
        "method": f"nearest centroid on the PCA features, {test_percent}% held out by hash of the path",
        "accuracy": round(correct / tested, 4) if tested else None,
        "train_images": train.count(),
        "test_images": tested,
        "by_class": {
            row.label: {"test_images": row.n, "correct": row.correct, "accuracy": round(row.correct / row.n, 4)}
            for row in sorted(per_class, key=lambda r: r.label)
        },
    }
