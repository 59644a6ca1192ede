"""The feature store: features kept between runs, keyed by each image's content hash under a
key of everything that changes a feature (fruits.feature_store_records), so that a run featurizes
only the images no earlier run has seen, and a renamed or copied image is featurized once.

Usage (DataFrames in and out; the caller's session, none built here; ROOT a folder, s3:// or s3a://):
    key = feature_key(weights_sha256)
    store = open_store(spark, ROOT, key)                      # refuses a store it cannot write, early
    images = images.withColumn("content_sha256", content_sha256())        # of the `content` bytes
    todo = unstored(spark, ROOT, key, images)                # one row per hash not stored yet
    flagged = with_stored_flag(spark, ROOT, key, images)     # or: every row, and `stored` (boolean)
    append(spark, ROOT, key, featurized_todo, batch_name=run_id)   # -> how many were not stored yet
    features = images.join(read(spark, ROOT, key), "content_sha256")     # stored and new, one row per hash
    purge(spark, ROOT, key, keep=images.select("content_sha256"))       # erases every other hash: -> count
    vacuum(spark, ROOT, key, older_than=timedelta(days=7))  # files of killed appends -> batch names

Layout, through Hadoop's FileSystem (fruits.storage), so one code path serves a folder and S3:
    ROOT/KEYID/key.json                       the key's fields, for a person; checked by every call
    ROOT/KEYID/batches/BATCH/part-*.parquet   content_sha256 string, features array<float>
    ROOT/KEYID/commits/BATCH.json             {"batch", "files", "rows", "order", "replaces"}, written last
    ROOT/KEYID/index/TIME-BATCH.parquet       path, size, stamp -> content_sha256 (fruits.content_index)
    ROOT/weights/FILE_SHA256.json             a weights file's arrays fingerprint (fruits.weights_fingerprints)
A batch name is the caller's name (a run id) and a random token: two runs never share one.

What a reader sees, at each moment (readers read only the files that a commit names):
  an append writes its Parquet files    nothing of them. Killed here: files without a commit,
                                        invisible for good; vacuum removes them once older than its age
                                        (a write that fails, e.g. on a full device, removes them at once)
  the append writes its commit          the whole batch, from the next listing on. The commit is one
                                        small file written whole: locally a staged file renamed over it
                                        (atomic: a killed write leaves only a hidden `_staging-` file,
                                        never read); on S3, which has no rename, one object that appears
                                        whole when its upload (the copy of the staged object) completes,
                                        and S3 lists it at once (strong read-after-write consistency)
                                        (docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html
                                        #ConsistencyModel: reads and lists are strongly consistent,
                                        updates are atomic per key and never across keys: hence one
                                        commit object per batch, written last)
  two appends at once                   two batches, two commits: no file shared, none renamed over
                                        another. A hash both featurized is stored twice and read once:
                                        the row of the earliest commit (by its `order`), whatever
                                        Spark's partitioning, so a read is stable
  purge rewrites batch B to B'          B' holds B's kept rows; its commit names B in `replaces`, and
                                        from then on readers read B' instead of B: the erased rows are
                                        gone from every later read at once. Then B's commit is removed,
                                        then B's files. Killed in between: the next purge or vacuum
                                        finishes it. No file is ever rewritten in place
  a read that listed before a purge     may find B's files gone while it opens them: it lists again
                                        (3 attempts). A DataFrame is lazy: persist what you read
                                        before long work if a purge may run meanwhile
Only key.json may be written by two runs at once, with the same bytes. Run one purge at a time:
two at once keep every row either keeps. On a versioned bucket a deleted object stays as a
noncurrent version until the bucket's lifecycle rule expires it: the erasure is complete then.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

from py4j.protocol import Py4JError
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.content_index import INDEX
from fruits.feature_store_records import (BATCHES, COMMITS, KEY_FILE, Commit, FeatureKey, StagedBatch, StoreChanged, checked_store,
                                          commit_uri, folder_entries, list_commits, listed_again_if_changed,
                                          uncommitted_batches, visible, write_commit, write_key)
from fruits.layout import validate_run_id
from fruits.literal_paths import literal_path
from fruits.options import require_writable_folder
from fruits.settings import is_remote
from fruits.storage import Storage, join_uri

SCHEMA = "content_sha256 string, features array<float>"
# At most ~100 MB of 1280 floats per Parquet file; Spark's adaptive execution already merges the
# de-duplicating shuffle's output into ~64 MB partitions, so an append writes few files.
ROWS_PER_FILE = 20_000
BROADCAST_HASHES = 500_000  # stored hashes sent whole to each executor (~100 bytes each) rather than shuffled
HASH = r"^[0-9a-f]{64}$"


def content_sha256(content: str = "content") -> Column:
    """The SHA-256 (64 lowercase hex digits) of a binary column: the image's identity in the store."""
    return F.sha2(F.col(content), 256)


def open_store(spark: SparkSession, root: str, key: FeatureKey) -> str:
    """The store's folder for `key`, with its key.json written now: a store that cannot be
    written, or holds another key under this id, is refused before any expensive work."""
    storage = Storage(spark)
    store = checked_store(storage, root, key)
    write_key(storage, store, key)
    if not is_remote(store):  # a store another user's run made may be theirs only: found now, not after featurizing
        folder = Path(store.removeprefix("file:"))
        for part in [folder, *sorted(path for path in folder.iterdir() if path.is_dir())]:
            require_writable_folder(str(part), "--feature-store")
    return store


def read(spark: SparkSession, root: str, key: FeatureKey) -> DataFrame:
    """Every stored row of `key`: content_sha256, features; one row per hash."""
    store = checked_store(Storage(spark), root, key)
    commits, rows = _committed_rows(spark, store)
    if len(commits) <= 1:  # a batch never holds a hash twice
        return rows.select("content_sha256", "features")
    # Each hash's earliest commit, found on the hashes alone: the features are not shuffled.
    earliest = _broadcast_if_few(rows.groupBy("content_sha256").agg(F.min("rank").alias("rank")), commits)
    return rows.join(earliest, ["content_sha256", "rank"], "left_semi").select("content_sha256", "features")


def unstored(spark: SparkSession, root: str, key: FeatureKey, images: DataFrame) -> DataFrame:
    """The rows of `images` whose content_sha256 is not stored, one per hash (those rows are
    shuffled: select the columns featurizing needs)."""
    store = checked_store(Storage(spark), root, key)
    return images.join(_stored_hashes(spark, store), "content_sha256", "left_anti").dropDuplicates(["content_sha256"])


def with_stored_flag(spark: SparkSession, root: str, key: FeatureKey, images: DataFrame) -> DataFrame:
    """Every row of `images` (which has content_sha256) with a boolean `stored`: its hash is
    stored. No row of `images` is shuffled when the stored hashes are few enough to broadcast."""
    store = checked_store(Storage(spark), root, key)
    commits, rows = _committed_rows(spark, store, origin=False)
    hashes = _broadcast_if_few(rows.select("content_sha256").distinct().withColumn("stored", F.lit(True)), commits)
    return images.join(hashes, "content_sha256", "left").withColumn("stored", F.coalesce("stored", F.lit(False)))


def append(spark: SparkSession, root: str, key: FeatureKey, features: DataFrame, batch_name: str) -> int:
    """Stores the rows of `features` (content_sha256, features) whose hash is not stored yet, as
    one committed batch; returns how many were written."""
    staged = stage_batch(spark, root, key, features, batch_name)
    commit_batch(spark, staged)
    return staged.rows


def stage_batch(spark: SparkSession, root: str, key: FeatureKey, features: DataFrame, batch_name: str) -> StagedBatch:
    """append's first half: writes the batch's files, invisible until `commit_batch`. Computes
    `features` once (the files are checked, not the input). Rows that are not features of `key`
    raise ValueError, and their files are removed uncommitted."""
    validate_run_id(batch_name)
    storage = Storage(spark)
    store = checked_store(storage, root, key)
    new = (features.select("content_sha256", F.col("features").cast("array<float>").alias("features"))
           .join(_stored_hashes(spark, store), "content_sha256", "left_anti").dropDuplicates(["content_sha256"]))
    write_key(storage, store, key)
    batch = f"{batch_name}-{secrets.token_hex(4)}"
    folder = join_uri(store, BATCHES, batch)
    try:
        files = _write_batch(storage, new, folder)
    except Exception:  # a failed write (a full device, a failed task): its files, never committed, go now
        _remove_quietly(storage, folder)
        raise
    try:
        rows = _checked_count(_files_rows(spark, folder, files), key)
    except ValueError:
        storage.delete(folder)
        raise
    if rows == 0:
        storage.delete(folder)
        return StagedBatch(store, "", (), 0)
    return StagedBatch(store, batch, files, rows)


def commit_batch(spark: SparkSession, staged: StagedBatch) -> None:
    """append's second half: one small file makes the staged batch visible, whole."""
    if staged.rows:
        order = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        write_commit(Storage(spark), staged.store, Commit(staged.batch, staged.files, staged.rows, order))


def purge(spark: SparkSession, root: str, key: FeatureKey, keep: DataFrame) -> int:
    """The right to erasure: removes every stored hash not in `keep` (a content_sha256 column),
    rows and files, from `key`'s store and from every other key's under `root` (features made with
    other weights or versions: a new lock changes the key, not the photos); their index snapshots,
    which name the photos' files, go too. Returns how many hashes were removed. Also finishes an
    interrupted purge."""
    storage = Storage(spark)
    stores = _key_stores(spark, storage, root, key, every_key=True)
    kept = keep.select("content_sha256").where(F.col("content_sha256").isNotNull()).distinct().persist()
    try:
        removed = set()
        for store in stores:
            removed |= _purge_store(spark, storage, store, kept)
        for store in stores[1:]:  # an index is a cache: that key's next run hashes its files again
            storage.delete(join_uri(store, INDEX))
    finally:
        kept.unpersist()
    return len(removed)


def _key_stores(spark: SparkSession, storage: Storage, root: str, key: FeatureKey, every_key: bool) -> list[str]:
    """`key`'s store under `root`, then with `every_key` the other keys' (each folder holding a key file), by name."""
    others = [join_uri(root, name) for name, _ in sorted(folder_entries(spark, root)) if name != key.id] if every_key else []
    return [checked_store(storage, root, key), *(store for store in others if storage.exists(join_uri(store, KEY_FILE)))]


def _purge_store(spark: SparkSession, storage: Storage, store: str, kept: DataFrame) -> set[str]:
    """purge in one key's store; returns the hashes it removed."""
    _finish_replacements(storage, store, _all_commits(spark, store))
    commits, rows = _committed_rows(spark, store)
    erased = rows.select("content_sha256", "batch").join(kept, "content_sha256", "left_anti").persist()
    try:
        removed = {row.content_sha256 for row in erased.select("content_sha256").distinct().collect()}
        affected = {row.batch for row in erased.select("batch").distinct().collect()}
    finally:
        erased.unpersist()
    for commit in commits:
        if commit.batch in affected:
            _rewrite_without_erased(spark, storage, store, commit, kept)
    return removed


def vacuum(spark: SparkSession, root: str, key: FeatureKey, older_than: timedelta, now: datetime | None = None,
           every_key: bool = False) -> list[str]:
    """Removes the batches that have no commit and no file newer than `older_than` (files of killed
    appends and purges), and stale staged commits and index snapshots; returns the batch names
    removed. The age must exceed the longest append: a batch still being written has no commit either.
    `every_key` (a purge's): in the other keys' stores under `root` too, whose killed appends may hold
    an erased photo's features and which no run of the current key would ever clean."""
    storage = Storage(spark)
    cutoff = ((now or datetime.now(timezone.utc)) - older_than).timestamp() * 1000
    stores = _key_stores(spark, storage, root, key, every_key)
    return [name for store in stores for name in _vacuum_store(spark, storage, store, cutoff)]


def _vacuum_store(spark: SparkSession, storage: Storage, store: str, cutoff: float) -> list[str]:
    commits = _all_commits(spark, store)
    _finish_replacements(storage, store, commits)
    removed = sorted(name for name, modified in uncommitted_batches(spark, store, {commit.batch for commit in commits})
                     if modified < cutoff)
    for name in removed:
        storage.delete(join_uri(store, BATCHES, name))
    for folder in (COMMITS, INDEX):  # staged commits and index snapshots of killed writes
        for name, modified in folder_entries(spark, join_uri(store, folder)):
            if name.startswith("_staging-") and modified < cutoff:
                storage.delete(join_uri(store, folder, name))
    return removed


def _committed_rows(spark: SparkSession, store: str, origin: bool = True) -> tuple[list[Commit], DataFrame]:
    """The visible commits and their rows as written (content_sha256, features, and with `origin`
    batch and rank: the commit's place, earliest first), a hash possibly in several batches."""
    def listed_and_opened():
        commits = visible(list_commits(Storage(spark), store))
        return commits, _rows_of(spark, store, commits, origin)
    return listed_again_if_changed(store, listed_and_opened)


def _all_commits(spark: SparkSession, store: str) -> list[Commit]:
    return listed_again_if_changed(store, lambda: list_commits(Storage(spark), store))


def _stored_hashes(spark: SparkSession, store: str) -> DataFrame:
    """The stored content hashes (a hash possibly twice), broadcast when small enough: a join
    with them then moves none of the other side's rows."""
    commits, rows = _committed_rows(spark, store, origin=False)
    return _broadcast_if_few(rows.select("content_sha256"), commits)


def _broadcast_if_few(hashes: DataFrame, commits: list[Commit]) -> DataFrame:
    """`hashes` (one small row per stored hash at most), marked to be broadcast when the commits
    hold few enough rows: a join with them then moves none of the other side's rows."""
    return F.broadcast(hashes) if sum(commit.rows for commit in commits) <= BROADCAST_HASHES else hashes


def _rows_of(spark: SparkSession, store: str, commits: list[Commit], origin: bool = True) -> DataFrame:
    if not commits:
        return spark.createDataFrame([], f"{SCHEMA}, batch string, rank int" if origin else SCHEMA)
    files = [literal_path(join_uri(store, BATCHES, commit.batch, name)) for commit in commits for name in commit.files]
    try:
        rows = spark.read.schema(SCHEMA).parquet(*files)
    except AnalysisException as error:
        if error.getErrorClass() == "PATH_NOT_FOUND":
            raise StoreChanged from None
        raise
    if not origin:
        return rows
    origins = spark.createDataFrame([(name, commit.batch, rank) for rank, commit in enumerate(commits) for name in commit.files],
                                    "file_name string, batch string, rank int")
    return (rows.withColumn("file_name", F.col("_metadata.file_name"))
            .join(F.broadcast(origins), "file_name").drop("file_name"))


def _checked_count(new: DataFrame, key: FeatureKey) -> int:
    """One pass over the rows to store: how many, and refuses any that is not a feature row of `key`."""
    no_hash = F.col("content_sha256").isNull() | ~F.col("content_sha256").rlike(HASH)
    wrong = F.col("features").isNull() | (F.size("features") != key.feature_size)
    counts = new.agg(F.count(F.lit(1)).alias("rows"), F.count(F.when(no_hash, 1)).alias("no_hash"),
                     F.count(F.when(wrong, 1)).alias("wrong")).first()
    if counts.no_hash:
        raise ValueError(f"{counts.no_hash} of {counts.rows} rows have no content hash (64 lowercase hex digits): "
                         "nothing stored")
    if counts.wrong:
        raise ValueError(f"{counts.wrong} of {counts.rows} rows have no features or not {key.feature_size} of them: "
                         "nothing stored")
    return counts.rows


def _write_batch(storage: Storage, rows: DataFrame, folder: str) -> tuple[str, ...]:
    """Writes the batch's Parquet files; returns their names, which its commit will list."""
    rows.write.option("maxRecordsPerFile", ROWS_PER_FILE).parquet(folder)
    return tuple(uri.rpartition("/")[2] for uri in storage.list_files(folder, "part-"))


def _remove_quietly(storage: Storage, folder: str) -> None:
    """Removes `folder` if the JVM still answers; else the vacuum will, once it is old enough."""
    try:
        storage.delete(folder)
    except (Py4JError, OSError):  # OSError: py4j's new connection refused
        pass


def _files_rows(spark: SparkSession, folder: str, files: tuple[str, ...]) -> DataFrame:
    return spark.read.schema(SCHEMA).parquet(*(literal_path(join_uri(folder, name)) for name in files))


def _rewrite_without_erased(spark: SparkSession, storage: Storage, store: str, old: Commit, kept: DataFrame) -> None:
    """B -> B' (B's kept rows; no files when none is kept), committed as replacing B, then B removed."""
    batch = f"purge-{secrets.token_hex(6)}"
    folder = join_uri(store, BATCHES, batch)
    files = _write_batch(storage, _rows_of(spark, store, [old], origin=False).join(kept, "content_sha256", "left_semi"), folder)
    count = _files_rows(spark, folder, files).count()
    if count == 0:
        storage.delete(folder)
        files = ()
    write_commit(storage, store, Commit(batch, files, count, old.order, replaces=(old.batch,)))
    _remove_batch(storage, store, old.batch)
    if not files:  # it only said "B is replaced by nothing", and B is gone
        storage.delete(commit_uri(store, batch))


def _finish_replacements(storage: Storage, store: str, commits: list[Commit]) -> None:
    """What a killed purge left: batches already replaced, and empty replacements."""
    for commit in commits:
        for replaced in commit.replaces:
            _remove_batch(storage, store, replaced)
        if commit.replaces and not commit.files:
            storage.delete(commit_uri(store, commit.batch))


def _remove_batch(storage: Storage, store: str, batch: str) -> None:
    storage.delete(commit_uri(store, batch))  # the commit first: no reader is sent to missing files
    storage.delete(join_uri(store, BATCHES, batch))
