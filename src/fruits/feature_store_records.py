"""The feature store's records, below its DataFrames (fruits.feature_store is the API): its key
(`key.json`), its commits (`commits/BATCH.json`), and how they are listed, read and written
through Storage, on a folder and on S3 alike.

The key holds every field that changes an image's features, so features computed under one key
are never reused under another. Usage: `key = feature_key(weights_sha256,
inference_batch_size=settings.batch_size)` on the driver (the versions are this process's: the
executors run the same lock); `key.id` names the store's folder, `key.canonical_json()` is what
that id hashes, `dataclasses.asdict(key)` goes in a manifest.

What changes a feature, and why each field is here:
- weights_sha256: the network's weights (the SHA-256 of the weights file, or
  `sha256_of_arrays` for Keras's own download).
- input_size, preprocessing_version: fruits.decode's resize target and its version, bumped
  whenever decoding or resizing changes a pixel.
- pillow_version: the decoder; a new libjpeg or resampling code changes pixels.
- tensorflow_version, keras_version: the kernels and Keras's preprocess_input.
- model, feature_size: the network itself (fruits.model.new_network).
- inference_batch_size: TensorFlow's CPU kernels give other bits for another batch shape
  (measured: up to 4e-6 between an image alone and in a batch of 10); the order and content of
  the batch change nothing, so features are exact functions of the key only when every
  `predict_on_batch` call gets this many images (pad the last chunk), and Keras one more, so that
  no image is the batch's last: the kernels' last rows gave other bits on some CPUs.
- inference_engine: Keras's predict_on_batch, or ONNX Runtime (its version) running the graph
  of fruits.onnx_graph (its GRAPH_VERSION): the two differ by up to 4e-5.
Measured to change nothing: TensorFlow's thread count (1 and 2 give equal bits).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re

from py4j.protocol import Py4JJavaError

from fruits import decode
from fruits.errors import FruitsError
from fruits.features import ENGINES, KERAS, InferenceSettings
from fruits.model import FEATURE_SIZE
from fruits.onnx_graph import GRAPH_VERSION
from fruits.storage import Storage, join_uri, storage_errors
from fruits.versions import package_versions

# Describes fruits.model.new_network; change it with that function.
MODEL = "keras.applications.MobileNetV2(alpha=1.0, include_top=False, pooling='avg', input 0..255 RGB via preprocess_input)"
DEFAULT_INFERENCE_BATCH_SIZE = InferenceSettings.batch_size
KERAS_ENGINE = "keras predict_on_batch, one black image after each chunk"  # fruits.model.KERAS_PADDING
KEY_FILE, BATCHES, COMMITS = "key.json", "batches", "commits"
LISTING_ATTEMPTS = 3
ID_LENGTH = 16  # hex digits of the canonical JSON's SHA-256: 64 bits, and key.json is checked on read
SHA256 = re.compile(r"[0-9a-f]{64}")
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a batch's or a file's name in a commit: never '..', never a '/'


@dataclasses.dataclass(frozen=True)
class FeatureKey:
    weights_sha256: str
    input_size: int
    preprocessing_version: int
    pillow_version: str
    tensorflow_version: str
    keras_version: str
    model: str = MODEL
    feature_size: int = FEATURE_SIZE
    inference_batch_size: int = DEFAULT_INFERENCE_BATCH_SIZE
    inference_engine: str = KERAS_ENGINE

    def __post_init__(self):
        if SHA256.fullmatch(self.weights_sha256) is None:
            raise ValueError(f"weights_sha256 must be 64 lowercase hex digits, got {self.weights_sha256!r}")
        for name in ("input_size", "preprocessing_version", "feature_size", "inference_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    def canonical_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @property
    def id(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()[:ID_LENGTH]

    def readable_json(self) -> str:
        """key.json: the id and every field, for a person and for the check on read."""
        return json.dumps({"id": self.id, **dataclasses.asdict(self)}, indent=2, sort_keys=True) + "\n"


def feature_key(weights_sha256: str, input_size: int = decode.IMAGE_SIZE,
                inference_batch_size: int = DEFAULT_INFERENCE_BATCH_SIZE, engine: str = InferenceSettings.engine) -> FeatureKey:
    """The key of features computed here now with these weights, by `engine` (fruits.features.ENGINES)."""
    versions = package_versions()
    if engine not in ENGINES:
        raise ValueError(f"unknown inference engine {engine!r}: expected one of {', '.join(ENGINES)}")
    engine_field = KERAS_ENGINE if engine == KERAS else (
        f"onnxruntime {versions.get('onnxruntime', 'not installed')}, fruits.onnx_graph v{GRAPH_VERSION}")
    return FeatureKey(
        weights_sha256=weights_sha256, input_size=input_size, preprocessing_version=decode.PREPROCESSING_VERSION,
        pillow_version=versions.get("pillow", "not installed"),
        tensorflow_version=versions.get("tensorflow-cpu", versions.get("tensorflow", "not installed")),
        keras_version=versions.get("keras", "not installed"), inference_batch_size=inference_batch_size,
        inference_engine=engine_field,
    )


def check_key(text: str, key: FeatureKey, uri: str) -> None:
    """Refuses a store whose key.json is not `key`'s (an id collision, or a hand-edited file)."""
    try:
        written = json.loads(text)
    except ValueError:
        written = None
    expected = json.loads(key.readable_json())
    if written != expected:
        differing = sorted(name for name in expected if not isinstance(written, dict) or written.get(name) != expected[name])
        raise FruitsError(f"{uri} holds features of another key (differing: {', '.join(differing)}): "
                          "the folder was altered or its id collides; move it away to start this key afresh")


@dataclasses.dataclass(frozen=True)
class Commit:
    """commits/BATCH.json: the batch is readable, these are its files. `order` (when its rows were
    first committed) picks the row read among copies of a hash; `replaces` names the batches a
    purge rewrote into this one."""

    batch: str
    files: tuple[str, ...]
    rows: int
    order: str
    replaces: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def parse(cls, text: str, uri: str) -> "Commit":
        try:
            data = json.loads(text)
            commit = cls(batch=data["batch"], files=tuple(data["files"]), rows=int(data["rows"]), order=str(data["order"]),
                         replaces=tuple(data.get("replaces", ())))
        except (ValueError, KeyError, TypeError, OverflowError):
            commit = None
        # Each name is joined below the store's batches/ folder, and what a purge replaced is deleted
        # there: a name that is not one plain name ("../..") would reach outside the store.
        if (commit is None or not uri.endswith(f"/{commit.batch}.json") or commit.rows < 0
                or not all(isinstance(name, str) and PLAIN_NAME.fullmatch(name) for name in (commit.batch, *commit.files, *commit.replaces))):
            raise FruitsError(f"corrupt commit in the feature store: {uri} is not a commit fruits wrote; "
                              "move it away (its batch is then no longer read)")
        return commit


@dataclasses.dataclass(frozen=True)
class StagedBatch:
    """A batch whose files are written and not yet committed (no rows: nothing to commit)."""

    store: str
    batch: str
    files: tuple[str, ...]
    rows: int


class StoreChanged(Exception):
    """A commit or a batch listed a moment ago is gone: a purge replaced it. List again."""


def listed_again_if_changed(store: str, listing):
    """`listing()`, called again (up to LISTING_ATTEMPTS times) while it raises StoreChanged."""
    for _ in range(LISTING_ATTEMPTS):
        try:
            return listing()
        except StoreChanged:
            continue
    raise FruitsError(f"the feature store {store} changed under each of {LISTING_ATTEMPTS} reads, or a commit names "
                      "files that are gone (a vacuum with too short an age?)")


def checked_store(storage: Storage, root: str, key: FeatureKey) -> str:
    """The store's folder for `key` under `root`, refused if its key.json is another key's."""
    store = join_uri(root, key.id)
    key_file = join_uri(store, KEY_FILE)
    if storage.exists(key_file):
        check_key(_read_record(storage, key_file, "key"), key, key_file)
    return store


def write_key(storage: Storage, store: str, key: FeatureKey) -> None:
    key_file = join_uri(store, KEY_FILE)
    if storage.exists(key_file):
        return
    try:
        storage.write_text(key_file, key.readable_json())
    except FruitsError:  # another run wrote it first: fine if it is the same key
        if not storage.exists(key_file):
            raise
        check_key(_read_record(storage, key_file, "key"), key, key_file)


def list_commits(storage: Storage, store: str) -> list[Commit]:
    """Every commit, earliest first (hidden names are staged commits, never complete ones).
    Raises StoreChanged when one is removed while it is read."""
    folder = join_uri(store, COMMITS)
    if not storage.exists(folder):
        return []
    commits = []
    for uri in storage.list_files(folder):
        name = uri.rpartition("/")[2]
        if name.startswith(("_", ".")) or not name.endswith(".json"):
            continue
        try:
            text = _read_record(storage, uri, "commit")
        except FruitsError:
            if storage.exists(uri):
                raise
            raise StoreChanged from None
        commits.append(Commit.parse(text, uri))
    return sorted(commits, key=lambda commit: (commit.order, commit.batch))


def visible(commits: list[Commit]) -> list[Commit]:
    """The commits a reader reads: not replaced by a purge's, and holding files."""
    replaced = {name for commit in commits for name in commit.replaces}
    return [commit for commit in commits if commit.batch not in replaced and commit.files]


def write_commit(storage: Storage, store: str, commit: Commit) -> None:
    """One small file, written whole (Storage stages it, then moves it into place)."""
    storage.write_text(commit_uri(store, commit.batch), commit.to_json())


def commit_uri(store: str, batch: str) -> str:
    return join_uri(store, COMMITS, f"{batch}.json")


def uncommitted_batches(spark, store: str, committed: set[str]) -> list[tuple[str, int]]:
    """(name, latest modification in ms of the folder and its files) of each batch folder that
    has no commit. S3 has no folder times: its files' are what count there."""
    found = []
    for name, modified in folder_entries(spark, join_uri(store, BATCHES)):
        if name not in committed:
            fs, path = _hadoop_path(spark, join_uri(store, BATCHES, name))
            files = fs.listFiles(path, True)
            while files.hasNext():
                modified = max(modified, files.next().getModificationTime())
            found.append((name, modified))
    return found


def folder_entries(spark, folder: str) -> list[tuple[str, int]]:
    """(name, last modified in ms) of each file and folder directly in `folder`."""
    fs, path = _hadoop_path(spark, folder)
    with storage_errors(folder):
        if not fs.exists(path):
            return []
        return [(status.getPath().getName(), status.getModificationTime()) for status in fs.listStatus(path)]


def _hadoop_path(spark, uri: str):
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _read_record(storage: Storage, uri: str, what: str) -> str:
    """key.json or a commit. A local file changed behind Hadoop's back fails its checksum."""
    try:
        return storage.read_text(uri)
    except Py4JJavaError as error:
        name = error.java_exception.getClass().getName()
        if name.endswith("ChecksumException"):
            raise FruitsError(f"corrupt {what} in the feature store: {uri} does not match its "
                              "checksum (changed by hand, or damaged); move it away") from None
        if name.endswith("FileNotFoundException"):  # removed since it was listed
            raise FruitsError(f"not found: {uri}") from None
        raise
