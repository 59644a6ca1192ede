"""The training run of fruits.jvm_archive, in its own process (`python -m fruits.jvm_archive_workload`,
with $FRUITS_JVM_ARCHIVE_DUMP set): on a few generated images and features, the Spark work of both
steps without the model (listing and reading the images, hashing, the feature store's writes,
joins and reads, an Arrow pandas UDF, the PCA, Parquet and CSV outputs), so that the JVM loads the
classes a real run loads. Then it stops Spark and waits for its JVM to exit: the dump is complete
when this process ends.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from pyspark import SparkContext
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from fruits.feature_store import append, content_sha256, open_store, read, with_stored_flag
from fruits.feature_store_records import feature_key
from fruits.model import FEATURE_SIZE
from fruits.images import list_input, read_images
from fruits.reduce import fit_pca, project, to_vectors
from fruits.session import build_session


def _features(content: pd.Series) -> pd.Series:
    return content.map(lambda data: np.full(FEATURE_SIZE, len(data) % 7, dtype=np.float32) + np.arange(FEATURE_SIZE, dtype=np.float32))


def run(folder: Path) -> None:
    for label, colour in (("apple", "red"), ("pear", "green")):
        (folder / "images" / label).mkdir(parents=True)
        for number in range(6):
            Image.new("RGB", (32 + number, 32), colour).save(folder / "images" / label / f"{number}.jpg")
    spark = build_session("fruits-jvm-archive", master="local[2]")
    try:
        listing = list_input(spark, str(folder / "images"))
        images = read_images(spark, listing).withColumn("content_sha256", content_sha256())
        featurized = images.select("content_sha256", pandas_udf(_features, "array<float>")("content").alias("features")).persist()
        root, key = str(folder / "store"), feature_key("0" * 64)
        open_store(spark, root, key)
        append(spark, root, key, featurized.orderBy("content_sha256").limit(6), batch_name="training")
        append(spark, root, key, featurized, batch_name="training")  # a second commit: a read then finds each hash's earliest
        flagged = with_stored_flag(spark, root, key, images).join(read(spark, root, key), "content_sha256", "left")
        flagged.select("path", "label", "features").write.parquet(str(folder / "features"))
        vectors = to_vectors(spark.read.parquet(str(folder / "features")).where(F.col("features").isNotNull()))
        fit = fit_pca(vectors, k=2)
        reduced = project(fit, vectors)
        reduced.write.parquet(str(folder / "reduced"))
        reduced.select("label", F.to_json(F.struct("*")).alias("row")).write.csv(str(folder / "reduced-csv"))
    finally:
        spark.stop()
    gateway = SparkContext._gateway
    if gateway is not None and getattr(gateway, "proc", None) is not None:
        gateway.shutdown()
        gateway.proc.stdin.close()  # the JVM exits on its stdin's end, and dumps its classes then
        gateway.proc.wait()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fruits-jvm-archive-") as folder:
        run(Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
