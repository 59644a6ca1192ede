"""`fruits run-local`: both pipeline steps, in sequence, on an embedded Spark (`local[*]`) or any
Spark master, with a progress display and a short summary at the end. No cloud involved.

Usage: `fruits run-local` (the shared sample and weights), or
`fruits run-local --images FOLDER --weights FILE.h5 --output DIR --k 50 --master spark://...`.
The id of a complete run is refused before any work unless `--replace` is given. Settings and
paths are checked before Spark starts; Ctrl-C or SIGTERM ends the run (status 130) and removes its staging folders,
as does a failure; those of killed runs are removed by the next run in the same --output.
Features are kept between runs in a feature store beside the runs, one per images folder name
(OUTPUT/feature-store/NAME/, or `--feature-store DIR`): a run featurizes only the images it lacks
(`--full-recompute`: all of them); `--purge` erases the features of images no longer in the input.
"""
from __future__ import annotations

import argparse
import logging
import os
import posixpath
import signal
import sys
import time
from pathlib import Path

from fruits.commands.store_report import store_counts
from fruits.errors import FruitsError
from fruits.jvm_lost_quietly import lose_the_jvm_plainly
from fruits.layout import LOCAL_FEATURE_STORE, new_run_id, validate_run_id
from fruits.options import (
    MAX_ARROW_BATCH, add_inference_arguments, add_pca_arguments, bounded_int, path_argument, positive_int, require_writable_folder, spark_master)
from fruits.settings import IMAGES_ENV, WEIGHTS_ENV, is_remote, local_folder, resolve_images, resolve_weights

DEFAULT_OUTPUT = "output"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run-local",
        help="run the whole pipeline on an embedded Spark (no cloud)",
        description="Extract MobileNetV2 features from the images, reduce them with PCA and write the "
        "matrix, on an embedded Spark. Outputs go to OUTPUT/RUN_ID/.",
    )
    parser.add_argument("--images", type=path_argument, help=f"folder (or s3:// URI) with one sub-folder per fruit; default ${IMAGES_ENV}, "
                        "else ../shared/data/fruits-360-sample")
    parser.add_argument("--weights", type=path_argument, help=f"MobileNetV2 no-top weights (.h5) or 'imagenet' (download); default ${WEIGHTS_ENV}, "
                        "else ../shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5")
    parser.add_argument("--output", type=path_argument, default=DEFAULT_OUTPUT, help="parent folder of the run's outputs (default ./output)")
    parser.add_argument("--run-id", type=validate_run_id, help="name of the run's output folder: letters, digits, '-', '_' "
                        "(default: a new run id)")
    parser.add_argument("--replace", action="store_true", help="run again under the id of a complete run, replacing its outputs")
    parser.add_argument("--master", type=spark_master, default="local[*]", help="Spark master (default local[*], the embedded Spark)")
    parser.add_argument("--arrow-batch-size", type=bounded_int(MAX_ARROW_BATCH, "Spark's setting is a Java int"), default=256, help="rows per Arrow batch (default 256)")
    parser.add_argument("--conf", action="append", default=[], type=spark_conf, metavar="KEY=VALUE",
                        help="extra Spark setting, repeatable (e.g. --conf spark.executor.memory=2g)")
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    store = parser.add_argument_group("feature store (features kept between runs, by each image's content)")
    store.add_argument("--feature-store", type=path_argument, metavar="DIR", help=f"this dataset's store (default OUTPUT/{LOCAL_FEATURE_STORE}/NAME, "
                       "NAME the images folder's name: one store per dataset, so that --purge keeps only this input's)")
    store.add_argument("--full-recompute", action="store_true", help="featurize every image, stored or not (new ones are still kept)")
    store.add_argument("--purge", action="store_true", help="erase from the store the features of every image no longer in "
                       "the input (the right to erasure: delete the photo, then run with --purge)")
    add_inference_arguments(parser)
    add_pca_arguments(parser)
    parser.set_defaults(handler=run_local)


def spark_conf(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key.startswith("spark."):
        raise argparse.ArgumentTypeError(f"expected spark.KEY=VALUE, got {text!r}")
    return key, value


def run_local(args: argparse.Namespace) -> int:
    from fruits.steps.run_folder import check_run_folder, holding_run_folder, refuse_overlap, remove_abandoned_staging
    from fruits.storage import join_uri

    images, weights = resolve_images(args.images), resolve_weights(args.weights)
    run_id = args.run_id or new_run_id()
    output_folder = local_folder(args.output, "--output", "run-local")
    output = join_uri(output_folder, run_id)
    if not is_remote(images):  # first: the write check below makes and removes a folder in --output
        refuse_overlap(images, "--images", output, "the run folder", "the run would list its own outputs as photos, "
                       "and a later run the earlier ones'; choose an --output outside the images")
    require_writable_folder(output, "--output")
    check_run_folder(Path(output), run_id, replace=args.replace)
    store = args.feature_store or default_feature_store(output_folder, images)
    if not is_remote(images) and not is_remote(store):
        refuse_overlap(images, "--images", store, "the feature store", "the run would list the store's files as photos; "
                       "choose a --feature-store (or --output) outside the images")
    if not is_remote(store):
        require_writable_folder(store, "--feature-store")
        refuse_overlap(store, "--feature-store", output, "the run folder", "each run replaces its folder's outputs, "
                       "which would erase the store (or the store's upkeep the run); choose a store outside OUTPUT/RUN")
    started = time.monotonic()
    with holding_run_folder(Path(output), run_id, replace=args.replace):  # before Spark starts: a second run is refused at once
        remove_abandoned_staging(Path(output).parent, keep=Path(output))  # killed runs' (run_steps removes this run's own)
        manifest, summary = run_steps(args, run_id, images, weights, output, store)
    print(format_summary(manifest, summary, output, time.monotonic() - started))
    return 0


def run_steps(args: argparse.Namespace, run_id: str, images: str, weights: str, output: str, store: str) -> tuple[dict, dict]:
    """Both steps on the embedded Spark: (the manifest, the extract step's summary)."""
    from fruits.progress import Progress
    from fruits.session import build_session
    from fruits.spark_failures import JVM_LOST, MEMORY_HINT, SPARK_FAILURES, task_failure
    from fruits.steps.extract_step import ExtractArgs, inference_settings, run_extract
    from fruits.steps.featurize_with_store import StoreOptions
    from fruits.steps.reduce_step import ReduceArgs, run_reduce
    from fruits.storage import Storage

    print(f"Run {run_id}: images {images}\n  weights {weights}\n  output {output}\n  feature store {store}", file=sys.stderr)
    spark = build_session(f"fruits-local-{run_id}", master=args.master, arrow_batch_size=args.arrow_batch_size,
                          extra_conf=dict(args.conf))
    storage = Storage(spark)
    interrupt_plainly()
    lose_the_jvm_plainly()
    progress, summary = Progress(spark, enabled=not args.quiet), None
    try:
        storage.remove_staging(output)  # a killed run's leftovers: this process alone writes the folder now
        with progress:
            summary = run_extract(spark, ExtractArgs(
                images=images, output=output, weights=weights, run_id=run_id,
                images_per_partition=args.images_per_partition, inference=inference_settings(args),
                max_file_bytes=args.max_file_bytes, k=args.k,
                store=StoreOptions(root=store, full_recompute=args.full_recompute, purge=args.purge)), progress=progress)
            manifest = run_reduce(spark, ReduceArgs(
                output=output, run_id=run_id, k=args.k, variance=args.variance, standardize=args.standardize),
                progress=progress)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the tasks and their Python workers stop, then the staging goes
        stop_after_failure(spark, storage, output)  # unless the JVM got the signal too: the next run removes it then
        raise
    except SPARK_FAILURES as error:
        # Read now: it asks the JVM, which stops below. The memory hint names step 1's options.
        reason = task_failure(error, memory_hint=MEMORY_HINT if summary is None else "", spark=spark)
        if reason is None:
            raise
        stop_after_failure(spark, storage, output)
        trace = "" if reason.startswith(JVM_LOST) else "Spark's log above has the failed task's trace; "
        raise FruitsError(f"{progress.label or 'The run'} failed: {reason}. {trace}{output} keeps its finished outputs") from None
    except FruitsError:  # e.g. the device filled up during a staged write: its part-written files go too
        stop_after_failure(spark, storage, output)
        raise
    finally:
        stop_quietly(spark)
    return manifest, summary


def stop_after_failure(spark, storage, output: str) -> None:
    """After a failed Spark job or a refusal: Spark stopped, then the run's staging folders removed
    (the outputs they would have replaced stay whole; a full device gets their space back). Not
    if the JVM is gone: nothing to ask then, and the next run removes them (hidden: '_' names)."""
    from py4j.protocol import Py4JError

    try:
        spark.sparkContext.cancelAllJobs()
        spark.stop()
        storage.remove_staging(output)
    except (Py4JError, OSError):  # OSError: py4j's new connection refused
        pass


def stop_quietly(spark) -> None:
    """spark.stop(), which asks a JVM that may have died (killed for memory): then nothing to stop."""
    from py4j.protocol import Py4JError

    try:
        spark.stop()
    except (Py4JError, OSError):  # OSError: py4j's new connection refused
        pass


def default_feature_store(output_parent: str, images: str) -> str:
    """OUTPUT/feature-store/NAME: NAME is the last name of the images folder (or s3:// prefix) that
    Spark reads. A URI's "." and ".." are resolved first, as Hadoop's Path does: taken as it is,
    the NAME of `s3://b/images/fruits/..` was "..", the store OUTPUT itself, and that of
    `.../fruits/.` was ".", the folder of every dataset's store."""
    _, separator, rest = images.partition("://")
    bucket, _, path = rest.partition("/") if separator else ("", "", images)
    name = posixpath.basename(posixpath.normpath("/" + path)) or bucket
    return os.path.join(output_parent, LOCAL_FEATURE_STORE, name if name not in ("", ".", "..") else "images")


def interrupt_plainly() -> None:
    """Ctrl-C raises KeyboardInterrupt in the driver, whatever it is doing. PySpark's own handler
    calls the JVM first, which breaks a call in progress: a Py4JError and its traceback instead.
    py4j closes the interrupted call's connection (the next call opens another) and logs it: not shown."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.getLogger().addFilter(lambda record: record.getMessage() != "KeyboardInterrupt while sending command.")


def format_summary(manifest: dict, summary: dict, output: str, seconds: float) -> str:
    """The short report printed at the end of a run."""
    rejected = ", ".join(f"{count} {reason}" for reason, count in manifest["rejected_by_reason"].items()) or "none"
    accuracy = manifest["accuracy"]
    accuracy_text = f"{accuracy:.1%} on {manifest['accuracy_check']['test_images']} held-out images" if accuracy is not None else "n/a"
    outputs = manifest["outputs"]
    store = store_counts(manifest.get("feature_store"))
    return "\n".join([
        f"Run {manifest['run_id']} done in {seconds:.0f} s",
        f"  images      {manifest['images']} found, {manifest['featurized']} featurized, {manifest['rejected']} rejected ({rejected})",
        *([f"  features    {store}"] if store else []),
        f"  PCA         k = {manifest['k']} components, {manifest['variance_reached']:.1%} of the variance",
        *(f"  warning     {warning}" for warning in manifest.get("warnings", [])),
        f"  check       nearest-centroid accuracy {accuracy_text}",
        f"  matrix      {outputs['matrix_csv']} (CSV), {outputs['matrix_parquet']} (Parquet)",
        f"  manifest    {output}/manifest.json",
    ])
