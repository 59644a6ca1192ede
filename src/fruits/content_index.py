"""The feature store's index of file versions: each image's path, size and listing stamp
(fruits.input_files.InputFile.stamp) -> its content hash, so that a run reads and hashes only the
images that are new or changed since a run indexed them. On S3 that is a GET saved per unchanged
image; here, 5 of a nothing-new run's 17 s (benchmarks/incremental_run.py).

Usage (driver; `store` is fruits.feature_store.open_store's folder):
    index, note = read_index(storage, store)          # {} and why, when there is none or it is unreadable
    unchanged, to_read = split_listing(listing, index)  # index rows of unchanged files; a Listing of the others
    ... check that the unchanged rows' hashes are still stored, read and hash the others ...
    write_index(storage, store, rows, batch_name, purge=purge)   # after the run: its snapshot

Layout: STORE/index/TIME-BATCH.parquet, one snapshot per run, written whole by the driver (a
staged file moved into place locally; one object on S3), so a reader sees a snapshot whole or not
at all. A reader takes the newest by name; a writer then removes the older ones. A snapshot found
gone or unreadable is a cache miss: every image is read, as on a first run. A snapshot holds the
images of its run's input only (so a run on another folder with the same store finds no index
for it), one row per image path, as the driver's listing does: it is as large as the listing.

When "unchanged" is wrong: a local file is rewritten in place and both its mtime and ctime kept
(ctime cannot be set: this takes a clock change; a file moved over the path or a retargeted
symlink changes the inode, which the stamp holds); an object is uploaded again with the same size
within the same second (S3 keeps modification times to the second). `--full-recompute` reads
and hashes every image whatever the index says.
A purge removes, with the older snapshots, the staged files of killed writes; otherwise the
store's vacuum removes those once they are days old.
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JJavaError

from fruits.errors import FruitsError
from fruits.input_files import Listing
from fruits.layout import validate_run_id
from fruits.storage import Storage, join_uri

INDEX = "index"
SUFFIX = ".parquet"
SCHEMA = pa.schema([("path", pa.string()), ("size", pa.int64()), ("stamp", pa.string()),
                    ("content_sha256", pa.string()), ("modified_micros", pa.int64())])
HASH = re.compile(r"[0-9a-f]{64}")


class Indexed(NamedTuple):
    size: int
    stamp: str
    content_sha256: str
    modified_micros: int  # the file's modification time as Spark read it (the outputs' modification_time)


class Unchanged(NamedTuple):
    path: str
    label: str
    size: int
    modified_micros: int
    content_sha256: str


def read_index(storage: Storage, store: str) -> tuple[dict[str, Indexed], str | None]:
    """The newest snapshot as {path: Indexed}, and None; or {} and why there is none to use."""
    snapshots = _snapshots(storage, store)
    if not snapshots:
        return {}, "no index yet"
    newest = snapshots[-1]
    try:
        table = pq.read_table(io.BytesIO(storage.read_bytes(newest)), schema=SCHEMA)
    except FruitsError as error:  # removed by a newer run's write since the listing
        return {}, f"index snapshot gone while read, every image read ({error})"
    except Py4JJavaError as error:  # a local file changed behind Hadoop's back fails its checksum
        return {}, f"index snapshot unreadable, every image read: {newest} ({error.java_exception.getMessage()})"
    except (pa.ArrowException, OSError, ValueError) as error:
        return {}, f"index snapshot unreadable, every image read: {newest} ({error})"
    index = {}
    for path, size, stamp, content, micros in zip(*(table.column(name).to_pylist() for name in SCHEMA.names)):
        if path and stamp and size is not None and micros is not None and content and HASH.fullmatch(content):
            index[path] = Indexed(size, stamp, content, micros)
    return index, None


def split_listing(listing: Listing, index: dict[str, Indexed]) -> tuple[list[Unchanged], Listing]:
    """(the accepted files that the index knows in this version, a Listing of the other accepted
    files: same root, no rejects). A file without a stamp is always read."""
    unchanged, to_read = [], Listing(listing.root)
    for file in listing.accepted:
        path = listing.path_of(file.relative)
        known = index.get(path)
        if file.stamp and known is not None and (known.size, known.stamp) == (file.size, file.stamp):
            unchanged.append(Unchanged(path, file.label, file.size, known.modified_micros, known.content_sha256))
        else:
            to_read.accepted.append(file)
    return unchanged, to_read


def index_rows(listing: Listing, hashes: dict[str, tuple[str, int]]) -> dict[str, Indexed]:
    """The run's rows: each accepted file with a stamp whose (content_sha256, modified_micros) the
    run knows (`hashes`, by path: the images featurized or read from the store, not the rejected)."""
    rows = {}
    for file in listing.accepted:
        path = listing.path_of(file.relative)
        if file.stamp and path in hashes:
            content, micros = hashes[path]
            rows[path] = Indexed(file.size, file.stamp, content, micros)
    return rows


def write_index(storage: Storage, store: str, rows: dict[str, Indexed], batch_name: str, purge: bool = False) -> str:
    """Writes the run's snapshot, `rows` (this run's images only: an older snapshot's rows are not
    carried over, so no snapshot names an image that its run's input did not hold, and a purge
    running meanwhile cannot be undone by it); removes the older snapshots; with `purge`, also
    the staged files of killed writes. Returns the snapshot's URI."""
    validate_run_id(batch_name)
    table = pa.table([list(rows), [row.size for row in rows.values()], [row.stamp for row in rows.values()],
                      [row.content_sha256 for row in rows.values()], [row.modified_micros for row in rows.values()]],
                     schema=SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    name = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{batch_name}{SUFFIX}"
    uri = join_uri(store, INDEX, name)
    storage.write_bytes(uri, buffer.getvalue())
    for older in _snapshots(storage, store):
        if older.rpartition("/")[2] < name:
            storage.delete(older)
    if purge:  # no older row may stay anywhere (the vacuum removes them after days otherwise)
        storage.remove_staging(join_uri(store, INDEX))
    return uri


def _snapshots(storage: Storage, store: str) -> list[str]:
    """The complete snapshots' URIs, oldest first (hidden names are staged or checksum files)."""
    folder = join_uri(store, INDEX)
    if not storage.exists(folder):
        return []
    return [uri for uri in storage.list_files(folder)
            if uri.endswith(SUFFIX) and not uri.rpartition("/")[2].startswith(("_", "."))]
