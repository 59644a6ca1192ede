"""The layout of the platform's bucket and of a run's folder, and run ids: one contract between
Terraform (the storage module's `prefixes` output), the CLI, the rehearsal, the jobs and the tests.

Usage:
    layout = platform.layout                      # the platform's `prefixes` output (fruits.cloud.platform)
    layout.images_prefix("fruits-360")            # "images/fruits-360/"
    layout.artifacts_prefix(digest)               # "artifacts/3f9a1c2b7d40/", holding PACKAGE_FILE, EXTRACT_JOB, ...
    layout.wheelhouse_prefix(target, lock_digest) # "artifacts/wheelhouse/TARGET/LOCKHASH/"
    layout.run_prefix(run_id)                     # "results/RUN/", holding FEATURES, ..., MANIFEST
    layout.feature_store_prefix(images_prefix)    # "feature-store/fruits-360/": that dataset's feature store
    run_id = new_run_id(); parser.add_argument("--run-id", type=validate_run_id)   # a bad id exits 2
    parser.add_argument("--dataset", type=dataset_name)
BucketLayout.from_prefixes(dict) raises a ValueError saying which prefix is wrong: the rule is the
one the Terraform modules validate. DEFAULT_LAYOUT is the storage module's (a test keeps them
equal), for a platform file that has no `prefixes` output only.
Imports only the standard library: the jobs import it on EMR from the package zip.
"""
from __future__ import annotations

import argparse
import re
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timezone

# --- the bucket: one prefix per kind of object --------------------------------------------------
DEFAULT_PREFIXES = {"images": "images/", "artifacts": "artifacts/", "results": "results/", "logs": "logs/", "tmp": "tmp/",
                    "notebooks": "jupyter/", "feature_store": "feature-store/"}
EMR_LOGS_FOLDER = "emr/"  # EMR's cluster logs, under the logs prefix (terraform/modules/pipeline)
WHEELHOUSE_FOLDER = "wheelhouse/"  # under the artifacts prefix: wheelhouse/TARGET/LOCKHASH/, once per lock

# --- what `fruits stage` puts under ARTIFACTS/HASH/: the package zip, and the checkout's files at the same paths
PACKAGE_FILE = "fruits.zip"
EXTRACT_JOB = "jobs/extract_features.py"
REDUCE_JOB = "jobs/reduce_dimensions.py"
BOOTSTRAP_SCRIPT = "bootstrap/install-python-deps.sh"
REQUIREMENTS_LOCK = "requirements/cluster.lock"
WEIGHTS_FOLDER = "weights/"
STAGED_MARKER = "STAGED.json"  # written last: the prefix is complete

# --- a run's folder: OUTPUT/RUN/ locally, RESULTS/RUN/ in the bucket ------------------------------
FEATURES, REJECTED, EXTRACT_SUMMARY = "features", "rejected", "extract_summary.json"
PCA_FOLDER = "pca"
MATRIX_CSV, MATRIX_PARQUET, MODEL, EXPLAINED_VARIANCE, PLOTS = "matrix.csv", "matrix.parquet", "model", "explained_variance.csv", "plots"
MANIFEST = "manifest.json"  # written last: the run is complete
RUN_ENTRIES = frozenset({FEATURES, REJECTED, EXTRACT_SUMMARY, PCA_FOLDER, MANIFEST})
# Beside the run folders of `fruits run-local`: OUTPUT/feature-store/NAME/, one store per images folder name.
LOCAL_FEATURE_STORE = "feature-store"

# --- run ids: a run's folder name and its Step Functions execution names --------------------------
# docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: an execution name
# is 1-80 characters, unique per state machine for 90 days (a finished execution's too), and
# CloudWatch Logs needs it to hold only 0-9, A-Z, a-z, '-' and '_'. A run started again under
# its id gets the execution name RUN__2, RUN__3, ... (fruits.cloud.executions): so a run id never
# holds '__' and leaves room for the start number.
MAX_EXECUTION_NAME_LENGTH = 80
START_SEPARATOR = "__"
MAX_RUN_ID_LENGTH = MAX_EXECUTION_NAME_LENGTH - len(START_SEPARATOR) - 6  # up to 999,999 starts of one id
# Those characters, first one alphanumeric: no dots or slashes, so an id is one folder; no
# leading '-' or '_', so it is neither taken for an option nor hidden from Spark's readers.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,%d}" % (MAX_RUN_ID_LENGTH - 1))
PREFIX = re.compile(r"([^/]+/)+")  # Terraform's rule (modules/iam, modules/pipeline): plain folders, each with its "/"


class InvalidName(argparse.ArgumentTypeError, ValueError):
    """A bad run id or dataset name. argparse shows its message (exit 2); as a ValueError, a
    builder's caller can report it in one line."""


def plain_folders(text: str) -> bool:
    """`text` is folder names joined by "/": none empty, none "." or ".." (Hadoop would resolve them)."""
    return all(part not in ("", ".", "..") for part in text.split("/"))


@dataclass(frozen=True)
class BucketLayout:
    images: str
    artifacts: str
    results: str
    logs: str
    tmp: str
    notebooks: str  # EMR JupyterHub's S3 persistence: jupyter/USER/, a path EMR does not let us choose
    feature_store: str  # features kept between runs, one store per dataset (fruits.feature_store); never expires

    @classmethod
    def from_prefixes(cls, prefixes) -> "BucketLayout":
        """The layout of a `prefixes` output (name -> prefix), checked; ValueError says what is wrong."""
        if not isinstance(prefixes, dict):
            raise ValueError(f"not a map of the {', '.join(DEFAULT_PREFIXES)} prefixes")
        for name in DEFAULT_PREFIXES:
            if name not in prefixes:
                raise ValueError(f"it lacks the {name} prefix")
            prefix = prefixes[name]
            if not isinstance(prefix, str):
                raise ValueError(f"the {name} prefix is not text: {prefix!r}")
            if PREFIX.fullmatch(prefix) is None or not plain_folders(prefix[:-1]):
                raise ValueError(f"the {name} prefix {prefix!r} must end in '/', with no leading '/' and no empty, '.' or '..' folder")
        for name in DEFAULT_PREFIXES:  # e.g. results under images: a run would write among the photos, and list its own outputs
            for other in DEFAULT_PREFIXES:
                if other != name and prefixes[other].startswith(prefixes[name]):
                    raise ValueError(f"the {name} prefix {prefixes[name]!r} holds the {other} prefix {prefixes[other]!r}: "
                                     "each must be a folder of its own")
        return cls(**{name: prefixes[name] for name in DEFAULT_PREFIXES})

    def as_dict(self) -> dict[str, str]:
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def images_prefix(self, dataset: str) -> str:
        return f"{self.images}{dataset_name(dataset)}/"

    def artifacts_prefix(self, digest: str) -> str:
        return f"{self.artifacts}{digest}/"

    def wheelhouse_prefix(self, target: str, lock_digest: str) -> str:
        return f"{self.artifacts}{WHEELHOUSE_FOLDER}{target}/{lock_digest}/"

    def run_prefix(self, run_id: str) -> str:
        return f"{self.results}{validate_run_id(run_id)}/"

    def feature_store_prefix(self, images_prefix: str) -> str:
        """The store of the images under `images_prefix`: the same folders below the feature_store
        prefix ("images/fruits-360/" -> "feature-store/fruits-360/"). One store per dataset, so that
        a purge, which keeps only the features of the run's input, never erases another dataset's."""
        if not images_prefix.startswith(self.images):
            raise ValueError(f"images prefix {images_prefix!r} is not under the images prefix {self.images!r}")
        return f"{self.feature_store}{images_prefix.removeprefix(self.images)}"

    @property
    def emr_logs_prefix(self) -> str:
        return f"{self.logs}{EMR_LOGS_FOLDER}"

    def notebook_key(self, user: str, name: str) -> str:
        return f"{self.notebooks}{user}/{name}"


DEFAULT_LAYOUT = BucketLayout(**DEFAULT_PREFIXES)


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as `run-20261124T134500Z-3f9a1c`."""
    now = now or datetime.now(timezone.utc)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


SHOWN_ID_LENGTH = MAX_RUN_ID_LENGTH + 8


def shown_id(text: str) -> str:
    """A refused id on one short line: its characters escaped, a long one cut (a 10,000-character id)."""
    return repr(text) if len(text) <= SHOWN_ID_LENGTH else f"{text[:SHOWN_ID_LENGTH]!r}... ({len(text):,} characters)"


def validate_run_id(text: str) -> str:
    """`text` if it is a valid run id, else InvalidName saying what a run id may hold."""
    if RUN_ID.fullmatch(text) is None or START_SEPARATOR in text:
        raise InvalidName(f"run id must be 1-{MAX_RUN_ID_LENGTH} letters, digits, '-' or '_' (never '{START_SEPARATOR}'), "
                          f"starting with a letter or a digit (it names the run's folder and its Step Functions executions), "
                          f"got {shown_id(text)}")
    if text.lower() == LOCAL_FEATURE_STORE:  # also on a file system that ignores case
        raise InvalidName(f"run id {text!r} is reserved: OUTPUT/{LOCAL_FEATURE_STORE}/ holds the feature stores beside the runs")
    return text


# An S3 key is at most 1,024 bytes of UTF-8, its prefixes included
# (docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). A dataset of at most 255 bytes
# leaves room for the prefix and a label and a file name of up to 255 bytes each (a file name's
# limit on common file systems): images/DATASET/LABEL/FILE, and the feature store's keys under
# feature-store/DATASET/, all fit. A longer one could hold no image: `start` said "it is empty".
MAX_DATASET_BYTES = 255


# A dataset's feature store is feature-store/DATASET/, and holds KEYID/ folders (16 hex digits,
# fruits.feature_store_records.ID_LENGTH) and weights/ (fruits.weights_fingerprints.FOLDER): a
# dataset "a/weights" or "a/<16 hex digits>" would put its store inside dataset a's, whose vacuum
# removes what it does not know there as a killed append's files.
STORE_FOLDER = re.compile(r"weights|[0-9a-f]{16}")


def dataset_name(text: str) -> str:
    """`text` if it names a folder under the images prefix (e.g. `fruits-360`, `2026/apples`)."""
    from fruits.input_files import is_utf8, shown

    if not text or text.startswith("/") or not plain_folders(text):
        raise InvalidName(f"dataset must be one or more folder names joined by '/' (none empty, '.' or '..': it is a "
                          f"folder under the images prefix), got {text!r}")
    if not is_utf8(text) or ":" in text or not text.isprintable():
        # S3 keys are UTF-8; the pipeline refuses ':' in a path (Hadoop reads it as a URI scheme), as for images.
        raise InvalidName(f"dataset must be valid UTF-8 without ':' or control characters (it is part of every image's "
                          f"S3 key and of the path Spark reads), got '{shown(text)}'")
    parts = text.split("/")
    inner = next((place for place in range(1, len(parts)) if STORE_FOLDER.fullmatch(parts[place])), None)
    if inner is not None:
        parent = "/".join(parts[:inner])
        raise InvalidName(f"dataset {text!r} could keep its features inside the feature store of dataset {parent!r} "
                          f"(feature-store/{parent}/ names its own folders 'weights' and 16 digits 0-9 or a-f, as {parts[inner]!r}): "
                          f"a folder below the first may not be named so; rename that folder")
    if len(text.encode()) > MAX_DATASET_BYTES:
        raise InvalidName(f"dataset must be at most {MAX_DATASET_BYTES} bytes of UTF-8 (with a label and a file name of up to 255 "
                          f"bytes each, an image's S3 key must fit in 1,024 bytes), got {len(text.encode()):,} bytes")
    return text
