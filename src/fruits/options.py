"""The command-line options that several commands share, with their checks, in one place: each
command refuses the same bad value the same way (exit status 2, argparse's message). Imports no
Spark, so `fruits --help` and the cloud commands start fast.

Usage:
    add_pca_arguments(parser)                     # --k, --variance, --standardize (run-local, reduce job)
    add_pca_arguments(parser, standardize=False)  # start, rehearse: the state machine passes k or variance only
    add_inference_arguments(parser)               # --batch-size, --tf-threads, --engine, ... (run-local, extract job)
    parser.add_argument("--per-class", type=positive_int)   # also positive_seconds, spark_master
    require_writable_folder(args.output, "--output")       # FruitsError (exit 1), before Spark starts
"""
from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from pathlib import Path

from fruits.decode import DEFAULT_MAX_PIXELS
from fruits.errors import FruitsError
from fruits.input_files import is_utf8, readable
from fruits.model import FEATURE_SIZE, INFERENCE_BATCH_SIZE
from fruits.settings import local_path, refuse_file_host, refuse_long_names

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024  # the listing's default too (fruits.images; a test keeps them equal)
SPARK_MASTER = re.compile(r"local(\[([1-9][0-9]*|\*)(\s*,\s*[1-9][0-9]*)?\])?|local-cluster\[[1-9][0-9]*,\s*[1-9][0-9]*,\s*[1-9][0-9]*\]"
                          r"|spark://[^\s/]+|yarn|k8s://\S+|mesos://\S+")


MAX_WHOLE_NUMBER = 10**15  # beyond any count here, and within a float's exact integers (prices, ratios)
MAX_SECONDS = 86_400.0  # a day: beyond it a refresh interval is a typo (and time.sleep overflows near 1e10)


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
    if abs(value) > MAX_WHOLE_NUMBER:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_WHOLE_NUMBER:.0e} in size, got {len(str(abs(value)))} digits")
    return value


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def component_count(text: str) -> int:
    """--k: from 1 to the feature count (the PCA cannot give more components than dimensions)."""
    value = whole_number(text)
    if not 1 <= value <= FEATURE_SIZE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {FEATURE_SIZE} (the feature count), got {value}")
    return value


def variance_target(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}") from None
    if not 0.0 < value <= 1.0:  # also false for nan
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most {MAX_SECONDS:,.0f}, got {text[:40]!r}")
    return value


# Each refresh of `fruits watch` reads the execution, its history and the cluster: Step Functions
# and EMR throttle these per account and region (token buckets, shared with the state machine's own
# calls and the console: Step Functions' service-quotas.html, "Quotas related to API action
# throttling"; EMR's emr-service-limits-what-are.html), and a run's states last minutes.
MIN_REFRESH_SECONDS = 1.0


def refresh_seconds(text: str) -> float:
    """--interval of `fruits watch`: positive_seconds, and at least MIN_REFRESH_SECONDS."""
    value = positive_seconds(text)
    if value < MIN_REFRESH_SECONDS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_REFRESH_SECONDS:g} second (each refresh makes several AWS "
                                         f"calls, which AWS throttles per account), got {text[:40]!r}")
    return value


def path_argument(text: str) -> str:
    """A file or folder option (or an s3:// URI): `~` expanded here, as a shell would have, so the
    folder checked is the folder written; an empty value (an unset "$VAR") is refused, not taken
    for the default or the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty value")
    return os.path.expanduser(text)


def bounded_int(maximum: int, why: str):
    """A positive_int at most `maximum`: `type=bounded_int(1024, "...")`."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} ({why}), got {value:,}")
        return value
    return parse


MAX_INFERENCE_BATCH = 1024  # 1,024 images of 224 x 224 x 3 float32 are 588 MiB of network input per worker
MAX_ARROW_BATCH = 2**31 - 1  # Spark's setting is a Java int
# ONNX Runtime and TensorFlow take a C int, and each thread is an OS thread of every Python worker:
# above a C int the workers failed with a TypeError's traceback, after the listing and the weights.
MAX_INFERENCE_THREADS = 1024
# Spark's binaryFile reader fails the whole job on a larger file (its content is one byte array):
# a --max-file-bytes above it let such a file through the listing, and the run ended in a traceback.
MAX_FILE_BYTES = 2**31 - 1


def spark_master(text: str) -> str:
    """The master URLs Spark accepts; anything else would fail only after the JVM has started."""
    if not SPARK_MASTER.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected local, local[N], local[*], local-cluster[N,C,M], spark://HOST:PORT, "
                                         f"yarn, k8s://URL or mesos://URL, got {text!r}")
    return text


def add_pca_arguments(parser: argparse.ArgumentParser, standardize: bool = True) -> None:
    group = parser.add_argument_group("PCA")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--k", type=component_count, help=f"number of components, 1 to {FEATURE_SIZE} "
                        "(default: chosen by --variance)")
    choice.add_argument("--variance", type=variance_target, default=0.95,
                        help="smallest k reaching this explained variance, in (0, 1] (default 0.95)")
    if standardize:
        group.add_argument("--standardize", action="store_true", help="scale features to unit variance before PCA (always centred)")


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("inference tuning")
    group.add_argument("--batch-size", type=bounded_int(MAX_INFERENCE_BATCH, "each image is 588 KiB of network input"), default=INFERENCE_BATCH_SIZE,
                       help=f"images per predict_on_batch call (default {INFERENCE_BATCH_SIZE}; each Spark task pads its last call to it)")
    group.add_argument("--tf-threads", type=bounded_int(MAX_INFERENCE_THREADS, "threads of each Python worker; one worker runs per core"),
                       default=1, help="inference threads per Python worker (default 1: one worker per core)")
    group.add_argument("--engine", choices=("onnxruntime", "keras"), default="onnxruntime",
                       help="what runs the network: ONNX Runtime (default, about twice as fast here; features within 1e-4 of "
                            "Keras's) or Keras's predict_on_batch, the reference")
    group.add_argument("--images-per-partition", type=positive_int, default=128, help="images per Spark task (default 128)")
    group.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, help="larger images are rejected (default 100,000,000)")
    group.add_argument("--max-file-bytes", type=bounded_int(MAX_FILE_BYTES, "Spark reads a file whole into one byte array"),
                       default=DEFAULT_MAX_FILE_BYTES, help="larger files are rejected unread (default 50 MiB)")


def require_writable_folder(location: str, option: str) -> None:
    """Refuses a local folder that cannot be made or written (a file in the way, /proc/x, read-only,
    a link that leads nowhere, a path Spark cannot take) by creating and removing a scratch folder
    in its nearest existing parent: nothing is left."""
    refuse_file_host(location, option)  # Spark gets `location` as it is
    folder = Path(local_path(location)).expanduser().absolute()
    if not is_utf8(str(folder)):
        raise FruitsError(f"{option} {readable(location)}: the path is not valid UTF-8, which Spark cannot take; rename it")
    refuse_long_names(folder, f"{option} {location}")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # exists() follows links: this one is broken or a loop
            raise FruitsError(f"{option} {location}: {existing} is a link that leads nowhere (broken, or a loop)")
        existing = existing.parent
    if not existing.is_dir():
        raise FruitsError(f"{option} {location}: {existing} is a file, not a folder")
    try:
        Path(tempfile.mkdtemp(prefix=".fruits-write-check-", dir=existing)).rmdir()
    except OSError as error:
        raise FruitsError(f"{option} {location}: cannot write in {existing} ({error.strerror})") from None
