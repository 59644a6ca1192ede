"""Step 1: images -> MobileNetV2 features, written under the run's output prefix:
`features/` (Parquet: path, label, size, modification_time, content_sha256, features array<float>),
`rejected/` (Parquet: path, label, reason) and `extract_summary.json`.

Usage: `run_extract(spark, ExtractArgs(images=..., output=..., weights=..., store=StoreOptions(root=...)))`,
or `spark-submit jobs/extract_features.py --images URI --output URI --weights URI|imagenet
[--feature-store URI [--full-recompute] [--purge]]`. With a feature store, only the images it
lacks are featurized (fruits.steps.featurize_with_store); the summary's `feature_store` says how
many were featurized now and how many came from the store, under which key.
A re-run replaces all three outputs whole, after removing the run's manifest.json (the run is
then visibly incomplete until step 2 ends: see fruits.steps.run_folder); an input without
images writes nothing.
"""
from __future__ import annotations

import argparse
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.errors import FruitsError
from fruits.feature_store_records import feature_key
from fruits.features import InferenceSettings
from fruits.images import DEFAULT_MAX_FILE_BYTES, list_input, listing_rejections, unread_files
from fruits.input_files import refuse_look_alike_labels
from fruits.layout import EXTRACT_SUMMARY as SUMMARY, FEATURES, REJECTED, validate_run_id
from fruits.options import MAX_ARROW_BATCH, add_inference_arguments, bounded_int, require_writable_folder
from fruits.session import partitions_for
from fruits.settings import is_remote
from fruits.step_clock import StepClock
from fruits.steps.extract_summary import build_extract_summary, reason_category
from fruits.steps.featurize_with_store import StoreOptions, featurize_images
from fruits.steps.run_folder import MANIFEST, refuse_overlap
from fruits.storage import Storage, join_uri, no_space_left
from fruits.versions import package_versions
from fruits.weights import fetch_weights, for_engine
from fruits.weights_fingerprints import KnownWeights


@dataclass
class ExtractArgs:
    images: str
    output: str
    weights: str
    run_id: str = "local"
    images_per_partition: int = 128
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    k: int | None = None  # the PCA's k when known (run-local): more than the images is refused before extracting
    store: StoreOptions = field(default_factory=StoreOptions)  # no store by default: every image featurized


def inference_settings(args: argparse.Namespace) -> InferenceSettings:
    return InferenceSettings(batch_size=args.batch_size, tf_threads=args.tf_threads, max_pixels=args.max_pixels, engine=args.engine,
                             tensorflow_notices=not getattr(args, "quiet", False))


def parse_args(argv: list[str] | None = None) -> tuple[ExtractArgs, int]:
    """The job's command line -> (ExtractArgs, arrow batch size)."""
    parser = argparse.ArgumentParser(prog="extract_features.py", description="Images -> MobileNetV2 features (Parquet).")
    parser.add_argument("--images", required=True, help="folder or s3:// prefix with one sub-folder per fruit")
    parser.add_argument("--output", required=True, help="the run's output prefix")
    parser.add_argument("--weights", required=True, help="MobileNetV2 no-top .h5 (local or s3://), or 'imagenet'")
    parser.add_argument("--run-id", type=validate_run_id, default="local")
    parser.add_argument("--arrow-batch-size", type=bounded_int(MAX_ARROW_BATCH, "Spark's setting is a Java int"), default=256,
                        help="rows per Arrow batch (default 256)")  # as run-local's: Spark refused more only once started
    store = parser.add_argument_group("feature store")
    store.add_argument("--feature-store", help="this dataset's feature store (folder or s3:// URI): images it has "
                       "featurized before are read from it, the others featurized and added (default: no store)")
    # --no-...: the state machine passes each choice as one argument, always (fruits.cloud.execution_input).
    store.add_argument("--full-recompute", action=argparse.BooleanOptionalAction, default=False,
                       help="featurize every image, stored or not (new ones are still added)")
    store.add_argument("--purge", action=argparse.BooleanOptionalAction, default=False,
                       help="then erase from the store the features of every image not in this input (right to erasure)")
    add_inference_arguments(parser)
    args = parser.parse_args(argv)
    if args.feature_store is None and (args.full_recompute or args.purge):
        parser.error("--full-recompute and --purge need --feature-store")
    return ExtractArgs(
        images=args.images, output=args.output, weights=args.weights, run_id=args.run_id,
        images_per_partition=args.images_per_partition, inference=inference_settings(args),
        max_file_bytes=args.max_file_bytes,
        store=StoreOptions(root=args.feature_store, full_recompute=args.full_recompute, purge=args.purge),
    ), args.arrow_batch_size


def check_output_writable(storage: Storage, output: str) -> None:
    """Refuses an output that cannot be written now rather than after the extraction. A local one
    is tried in Python; on S3 a small marker is written and removed: a handful of requests."""
    if not is_remote(output):
        require_writable_folder(output, "--output")
        return
    marker = join_uri(output, f"_write-check-{secrets.token_hex(4)}")
    try:
        storage.write_text(marker, "written and removed by the extract step, to check that it can write here\n")
        storage.delete(marker)
    except FruitsError as error:
        raise FruitsError(f"cannot write to the output {output}: {error}") from None
    except Py4JJavaError as error:
        raise FruitsError(f"cannot write to the output {output}: {error.java_exception.getMessage()}") from None


def refuse_overlapping_locations(args: ExtractArgs) -> None:
    """Refuses images, output and feature store of which one holds another: the step replaces its
    output folders whole (photos under them would be erased) and would list its own files as photos.
    `fruits run-local` checks the same before Spark starts; this is the spark-submit job's check."""
    refuse_overlap(args.images, "--images", args.output, "--output", "the step replaces its outputs whole, which "
                   "would erase the photos under them, and would list its own files as photos: nothing written")
    if args.store.root is not None:
        refuse_overlap(args.images, "--images", args.store.root, "--feature-store", "the step would list the store's "
                       "files as photos: nothing written")
        refuse_overlap(args.store.root, "--feature-store", args.output, "--output", "the step replaces its outputs "
                       "whole, which would erase the store: nothing written")


# Rows per shuffle partition of the step's joins and writes (a row: an image's path, label and
# 1,280 features, about 5 KiB). Spark's default, 200 partitions whatever the size, cost a third of
# a run on 5,107 images here (benchmarks/incremental_run.py: 29.9 s -> 19.5 s with nothing new),
# since AQE does not coalesce the partitions of persisted DataFrames.
ROWS_PER_SHUFFLE_PARTITION = 1000


def size_shuffles(spark: SparkSession, image_count: int) -> None:
    """spark.sql.shuffle.partitions for `image_count` images, unless the user set it (--conf)."""
    if spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):
        return
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions_for(spark, image_count, ROWS_PER_SHUFFLE_PARTITION)))


# What Spark counts a file's opening as, in bytes, when it packs files into read tasks. Its 4 MiB
# default puts 32 photos of a few KiB in a task (34 read tasks for 1,000 photos here); at 1 MiB a
# task reads up to 128, as many as a model task holds (images_per_partition), and the first run of
# the step on 1,000 images took 21.1 s instead of 23.0 s (benchmarks/extraction_and_pca.py).
FILE_OPEN_COST = 1024 * 1024
OPEN_COST_SETTING = "spark.sql.files.openCostInBytes"


def size_file_reads(spark: SparkSession) -> None:
    """spark.sql.files.openCostInBytes for small photos, unless the user set it (--conf)."""
    if not spark.sparkContext.getConf().contains(OPEN_COST_SETTING):
        spark.conf.set(OPEN_COST_SETTING, str(FILE_OPEN_COST))


def run_extract(spark: SparkSession, args: ExtractArgs, progress=None) -> dict:
    """Runs step 1 and returns its summary (also written as extract_summary.json)."""
    with no_space_left(args.output + (f" or the feature store {args.store.root}" if args.store.root else "")):
        return _run_extract(spark, args, progress)


def _run_extract(spark: SparkSession, args: ExtractArgs, progress=None) -> dict:
    started = time.monotonic()
    storage = Storage(spark)
    clock = StepClock(spark)  # the summary's `timings`: where the step's seconds went
    refuse_overlapping_locations(args)
    _phase(progress, "Listing images")
    with clock.phase("listing"):
        listing = list_input(spark, args.images, args.max_file_bytes)
    files_found = listing.entries_found  # each one is featurized or rejected with its reason
    if files_found == 0:
        raise FruitsError(f"no files under {args.images}: nothing to do, nothing written")
    image_count = len(listing.accepted)
    if image_count == 0:
        reasons = Counter(reason_category(entry.reason) for entry in listing.rejected)
        raise FruitsError(f"no .jpg, .jpeg or .png images among the {files_found} files under {args.images} "
                          f"({', '.join(f'{count} {reason}' for reason, count in reasons.most_common())}): nothing written")
    refuse_look_alike_labels(listing, args.images)
    if image_count < 2:
        raise FruitsError(f"PCA needs at least 2 images, found {image_count} under {args.images}: nothing written")
    if args.k is not None and args.k > image_count:
        raise FruitsError(f"--k {args.k} is more than the {image_count} images under {args.images} "
                          "(PCA gives at most one component per image): nothing written")
    check_output_writable(storage, args.output)
    # The hidden staging of an earlier attempt, failed or killed: on EMR nothing else removes it (the
    # state machine retries a failed step, which stages under new names; results/ has no expiry).
    # No other attempt is under way: a run's steps run one at a time (`fruits start` refuses a run
    # id while its execution runs; run-local holds its folder).
    storage.remove_staging(args.output)
    size_shuffles(spark, image_count)
    size_file_reads(spark)
    if args.store.root is not None and not is_remote(args.store.root):
        require_writable_folder(args.store.root, "--feature-store")

    _phase(progress, "Loading and broadcasting the weights")
    with clock.phase("weights"):  # the file read and, unless the store knows it, TensorFlow's import and Keras's load
        known = KnownWeights(storage, storage.qualified(args.store.root)) if args.store.root is not None else None
        weights = fetch_weights(storage, args.weights, known, notices=args.inference.tensorflow_notices)
        # The arrays' fingerprint, not the file's: the same weights saved again keep their stored features.
        key = feature_key(weights.sha256_of_arrays, input_size=args.inference.input_size,
                          inference_batch_size=args.inference.batch_size, engine=args.inference.engine)
        broadcast = spark.sparkContext.broadcast(
            for_engine(weights, args.inference.engine, args.inference.input_size, known, notices=args.inference.tensorflow_notices))

    _phase(progress, f"Extracting features from {image_count} images"
           + (" (those the feature store lacks)" if args.store.root and not args.store.full_recompute else ""))
    featurized = featurize_images(spark, listing, broadcast, key, args.inference, args.store,
                                  batch_name=args.run_id, images_per_partition=args.images_per_partition, clock=clock)
    results = featurized.results
    try:
        features = results.where(F.col("error").isNull()).drop("error")
        rejected = results.where(F.col("error").isNotNull()).select("path", "label", F.col("error").alias("reason"))
        with clock.phase("collecting rejects"):
            rejected_rows = rejected.collect()  # from the persisted results; rejects are few
        rejected_rows += listing_rejections(listing) + unread_files(listing, results)
        if len(rejected_rows) == files_found:
            examples = "; ".join(f"{row.path}: {row.reason}" for row in rejected_rows[:3])
            raise FruitsError(f"none of the {image_count} images could be read ({examples}): nothing written")
        _phase(progress, "Writing features")
        summary = build_extract_summary(
            run_id=args.run_id, images_uri=args.images, listing=listing, rejected=rejected_rows, weights=weights.info,
            inference=args.inference, partitions=featurized.partitions, images_per_partition=args.images_per_partition,
            versions=package_versions(spark))
        with clock.phase("writing"):
            _write_outputs(spark, storage, args.output, features, rejected_rows)
        if featurized.report is not None:  # after the outputs: a purge may remove store files they were read from
            _phase(progress, "Erasing the features of images no longer in the input" if args.store.purge
                   else "Tidying the feature store")
        with clock.phase("store upkeep"):
            summary["feature_store"] = featurized.finish()
        summary["timings"] = clock.report()
        summary["duration_seconds"] = round(time.monotonic() - started, 1)
        storage.write_text(join_uri(args.output, SUMMARY), json.dumps(summary, indent=2))  # step 1 is done
    finally:
        featurized.release()
        broadcast.unpersist()
    return summary


def _write_outputs(spark, storage: Storage, output: str, features: DataFrame, rejected_rows) -> None:
    """Stages the features and the rejects, then moves them into place, so a failure leaves the
    old ones whole. The run's manifest and this step's summary go first (the caller writes the
    new summary last): see fruits.steps.run_folder."""
    staged_features = Storage.staging_uri(join_uri(output, FEATURES))
    features.write.parquet(staged_features)
    staged_rejected = Storage.staging_uri(join_uri(output, REJECTED))
    spark.createDataFrame(rejected_rows, schema="path string, label string, reason string").coalesce(1).write.parquet(staged_rejected)
    storage.delete(join_uri(output, MANIFEST))
    storage.delete(join_uri(output, SUMMARY))
    storage.replace(staged_features, join_uri(output, FEATURES))
    storage.replace(staged_rejected, join_uri(output, REJECTED))


def _phase(progress, label: str) -> None:
    if progress is not None:
        progress.phase(label)
