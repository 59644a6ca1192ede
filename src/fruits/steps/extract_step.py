"""Step 1: images -> MobileNetV2 features, written under the run's output prefix:
`features/` (Parquet: path, label, size, modification_time, features array<float>),
`rejected/` (Parquet: path, label, reason) and `extract_summary.json`.

Usage: `run_extract(spark, ExtractArgs(images=..., output=..., weights=...))`, or
`spark-submit jobs/extract_features.py --images URI --output URI --weights URI|imagenet`.
A re-run replaces all three outputs whole; an input without images writes nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.decode import DEFAULT_MAX_PIXELS
from fruits.errors import FruitsError
from fruits.features import InferenceSettings, extract_features
from fruits.images import DEFAULT_MAX_FILE_BYTES, REJECTED_COLUMNS, read_image_files, split_by_listing
from fruits.checksums import sha256_of_file
from fruits.model import KERAS_IMAGENET, load_weights, sha256_of_arrays
from fruits.settings import is_remote
from fruits.storage import Storage, join_uri
from fruits.versions import package_versions

FEATURES, REJECTED, SUMMARY = "features", "rejected", "extract_summary.json"
EXAMPLES_KEPT = 10


@dataclass
class ExtractArgs:
    images: str
    output: str
    weights: str
    run_id: str = "local"
    images_per_partition: int = 128
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Tuning options shared by the job and `fruits run-local`."""
    group = parser.add_argument_group("inference tuning")
    group.add_argument("--batch-size", type=positive_int, default=32, help="images per predict_on_batch call (default 32)")
    group.add_argument("--tf-threads", type=positive_int, default=1, help="TensorFlow threads per Python worker (default 1: one worker per core)")
    group.add_argument("--images-per-partition", type=positive_int, default=128, help="images per Spark task (default 128)")
    group.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, help="larger images are rejected (default 100,000,000)")
    group.add_argument("--max-file-bytes", type=positive_int, default=DEFAULT_MAX_FILE_BYTES, help="larger files are rejected unread (default 50 MiB)")


def inference_settings(args: argparse.Namespace) -> InferenceSettings:
    return InferenceSettings(batch_size=args.batch_size, tf_threads=args.tf_threads, max_pixels=args.max_pixels)


def parse_args(argv: list[str] | None = None) -> tuple[ExtractArgs, int]:
    """The job's command line -> (ExtractArgs, arrow batch size)."""
    parser = argparse.ArgumentParser(prog="extract_features.py", description="Images -> MobileNetV2 features (Parquet).")
    parser.add_argument("--images", required=True, help="folder or s3:// prefix with one sub-folder per fruit")
    parser.add_argument("--output", required=True, help="the run's output prefix")
    parser.add_argument("--weights", required=True, help="MobileNetV2 no-top .h5 (local or s3://), or 'imagenet'")
    parser.add_argument("--run-id", default="local")
    parser.add_argument("--arrow-batch-size", type=positive_int, default=256, help="rows per Arrow batch (default 256)")
    add_inference_arguments(parser)
    args = parser.parse_args(argv)
    return ExtractArgs(
        images=args.images, output=args.output, weights=args.weights, run_id=args.run_id,
        images_per_partition=args.images_per_partition, inference=inference_settings(args),
        max_file_bytes=args.max_file_bytes,
    ), args.arrow_batch_size


def fetch_weights(storage: Storage, source: str) -> tuple[list, dict]:
    """Loads the weights on the driver; returns (arrays, {"source", "sha256"})."""
    if source == KERAS_IMAGENET:
        try:
            arrays = load_weights(KERAS_IMAGENET)
        except Exception as error:  # network errors surface as several exception types
            raise FruitsError(f"could not get Keras's imagenet weights (they are downloaded, which needs internet): "
                              f"{error}. Pass --weights FILE.h5 instead") from None
        return arrays, {"source": KERAS_IMAGENET, "sha256_of_arrays": sha256_of_arrays(arrays)}
    with tempfile.TemporaryDirectory(prefix="fruits-weights-") as folder:
        local = source
        if is_remote(source) or source.startswith("file:"):
            local = os.path.join(folder, os.path.basename(source))
            storage.copy_to_local(source, local)
        if not os.path.isfile(local):
            raise FruitsError(f"weights file not found: {source}")
        try:
            arrays = load_weights(local)
        except Exception as error:  # Keras raises many types for a wrong or corrupt file
            raise FruitsError(f"cannot load MobileNetV2 weights from {source}: {error}") from None
        return arrays, {"source": source, "sha256": sha256_of_file(local)}


def reason_category(reason: str) -> str:
    return reason.split(":", 1)[0]


def run_extract(spark: SparkSession, args: ExtractArgs, progress=None) -> dict:
    """Runs step 1 and returns its summary (also written as extract_summary.json)."""
    started = time.monotonic()
    storage = Storage(spark)
    _phase(progress, "Listing images")
    files = read_image_files(spark, args.images)
    images, listing_rejects = split_by_listing(files, args.max_file_bytes)
    files_found = files.select("path").count()
    if files_found == 0:
        raise FruitsError(f"no files under {args.images}: nothing to do, nothing written")
    image_count = images.count()
    if image_count == 0:
        raise FruitsError(f"no .jpg, .jpeg or .png images among the {files_found} files under {args.images}: nothing written")

    _phase(progress, "Loading and broadcasting the weights")
    arrays, weights_info = fetch_weights(storage, args.weights)
    broadcast = spark.sparkContext.broadcast(arrays)
    partitions = max(spark.sparkContext.defaultParallelism, math.ceil(image_count / args.images_per_partition))

    _phase(progress, f"Extracting features from {image_count} images")
    results = extract_features(images.repartition(partitions), broadcast, args.inference).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        features = results.where(F.col("error").isNull()).drop("error")
        rejected = results.where(F.col("error").isNotNull()).select("path", "label", F.col("error").alias("reason"))
        rejected = rejected.unionByName(listing_rejects.select(*REJECTED_COLUMNS))
        rejected_rows = rejected.collect()  # runs the model on every image (results are cached); rejects are few
        featurized = files_found - len(rejected_rows)
        if featurized == 0:
            examples = "; ".join(f"{row.path}: {row.reason}" for row in rejected_rows[:3])
            raise FruitsError(f"none of the {image_count} images could be read ({examples}): nothing written")
        _phase(progress, "Writing features")
        summary = {
            "run_id": args.run_id,
            "images_uri": args.images,
            "files_found": files_found,
            "images": files_found,
            "featurized": featurized,
            "rejected": len(rejected_rows),
            "rejected_by_reason": dict(Counter(reason_category(row.reason) for row in rejected_rows)),
            "rejected_examples": [{"path": row.path, "reason": row.reason} for row in rejected_rows[:EXAMPLES_KEPT]],
            "weights": weights_info,
            "settings": {**asdict(args.inference), "partitions": partitions, "images_per_partition": args.images_per_partition},
            "versions": package_versions(spark),
        }
        _write_outputs(spark, storage, args.output, features, rejected_rows, summary, started)
    finally:
        results.unpersist()
        broadcast.unpersist()
    return summary


def _write_outputs(spark, storage: Storage, output: str, features: DataFrame, rejected_rows, summary: dict, started: float) -> None:
    """Stages every output, then moves them into place, so a failure leaves the old ones whole."""
    staged_features = Storage.staging_uri(join_uri(output, FEATURES))
    features.write.parquet(staged_features)
    staged_rejected = Storage.staging_uri(join_uri(output, REJECTED))
    spark.createDataFrame(rejected_rows, schema="path string, label string, reason string").coalesce(1).write.parquet(staged_rejected)
    storage.replace(staged_features, join_uri(output, FEATURES))
    storage.replace(staged_rejected, join_uri(output, REJECTED))
    summary["duration_seconds"] = round(time.monotonic() - started, 1)
    storage.write_text(join_uri(output, SUMMARY), json.dumps(summary, indent=2))


def _phase(progress, label: str) -> None:
    if progress is not None:
        progress.phase(label)
