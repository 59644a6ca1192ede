"""Lists the input images with Spark's `binaryFile` source (recursively, local or `s3://`).

Usage: `files = read_image_files(spark, location)` -> path, label, size, modification_time,
content (read lazily); `images, rejected = split_by_listing(files, max_file_bytes)` keeps JPEG
and PNG files within the size limit and sends the rest to `rejected` with a reason.
"""
from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.errors import FruitsError
from fruits.settings import IMAGE_SUFFIXES
from fruits.storage import storage_errors

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
REJECTED_COLUMNS = ("path", "label", "reason")


def read_image_files(spark: SparkSession, location: str) -> DataFrame:
    """Every file under `location` with its label (the parent folder's name)."""
    try:
        with storage_errors(location):
            files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(location)
    except AnalysisException as error:
        if "PATH_NOT_FOUND" in str(error) or "Path does not exist" in str(error):
            raise FruitsError(f"images location not found: {location}") from None
        raise
    return files.select(
        "path",
        F.element_at(F.split("path", "/"), -2).alias("label"),
        F.col("length").alias("size"),
        F.col("modificationTime").alias("modification_time"),
        "content",
    )


def split_by_listing(files: DataFrame, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[DataFrame, DataFrame]:
    """(images to decode, files rejected without reading them: wrong type or too big)."""
    lower_path = F.lower("path")
    is_image = F.lit(False)
    for suffix in IMAGE_SUFFIXES:
        is_image = is_image | lower_path.endswith(suffix)
    reason = (
        F.when(~is_image, F.lit("unsupported file type (expected .jpg, .jpeg or .png)"))
        .when(F.col("size") > max_file_bytes, F.format_string(f"file too large: %d bytes (limit {max_file_bytes:,})", "size"))
    )
    listed = files.withColumn("reason", reason)
    images = listed.where(F.col("reason").isNull()).drop("reason")
    rejected = listed.where(F.col("reason").isNotNull()).select(*REJECTED_COLUMNS)
    return images, rejected
