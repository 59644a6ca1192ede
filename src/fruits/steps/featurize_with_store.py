"""Step 1's featurizing through the feature store (fruits.feature_store): the model runs only on
the images whose content no earlier run has featurized under the same key; every other image's
features are read from the store. A run on a folder and a run on a bucket take this one path.

Usage (in run_extract, after the listing and the weights):
    reuse = StoreOptions(root="s3://BUCKET/feature-store/DATASET/", full_recompute=False, purge=False)
    featurized = featurize_images(spark, listing, broadcast, key, inference, reuse, batch_name=run_id,
                                  images_per_partition=128)
    featurized.results      # path, label, size, modification_time, content_sha256, features, error (persisted)
    ... write the outputs ...
    featurized.finish()     # --purge, the run's index snapshot, the vacuum; -> the summary's feature_store
    featurized.release()    # in a finally: unpersists
`StoreOptions(root=None)`: no store, every distinct content featurized, nothing kept.

What it does, in order (each image's bytes are read at most once):
1. the store's index (fruits.content_index) names the files unchanged since a run indexed them,
   with their content hash: those are not read. Every other file is read and hashed; then all the
   hashes, read and indexed, are looked up in the store in one Spark job. An indexed file whose
   features were purged since is then read too (one more pass, rare), so a file is not read when
   its features are still stored. The bytes are kept (persisted) only for the images to featurize
   (all of them with full_recompute, which also ignores the index);
2. the model runs once per distinct content among those; the good features are appended to the
   store as one batch (a run killed here leaves files no reader sees: see fruits.feature_store);
3. the run's features: those computed now, and the store's for the other images, joined on the
   hash and persisted before anything is written (a purge by another run may remove store files
   later). An image left with neither features nor a reason (its features were purged meanwhile)
   fails the run: nothing is ever dropped silently;
4. after the outputs (finish): the purge if asked, then the run's index snapshot (its images with
   features), then the vacuum.
Rejected images are neither stored nor indexed: they are read, decoded, and rejected again at each run.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta

from pyspark import Broadcast, StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.content_index import Unchanged, index_rows, read_index, split_listing, write_index
from fruits.errors import FruitsError
from fruits.feature_store import (BROADCAST_HASHES, commit_batch, content_sha256, open_store, purge, read, stage_batch, vacuum,
                                  with_stored_flag)
from fruits.feature_store_records import FeatureKey, StagedBatch
from fruits.features import IMAGE_COLUMNS, RESULT_TYPE, InferenceSettings, extract_features
from fruits.images import read_images
from fruits.input_files import Listing
from fruits.session import partitions_for
from fruits.step_clock import StepClock
from fruits.storage import Storage

HASH = "content_sha256"
# Batches with no commit and nothing written for this long are a killed run's: the vacuum removes
# them. Longer than any extract step (the state machine's step timeout is hours, not days).
VACUUM_AGE = timedelta(days=3)
# Times the step looks its catalogue up in the store when indexed images turn out purged since
# they were indexed (each time they are read instead): more means other runs keep purging.
INDEX_ATTEMPTS = 3
# Images up to which the catalogue (path, label, size, time, hash: ~200 bytes a row) is sent whole
# to each executor to meet the features, rather than both shuffled.
BROADCAST_CATALOGUE = 200_000


@dataclass(frozen=True)
class StoreOptions:
    root: str | None = None       # this dataset's store (a folder or an s3:// URI); None: no store
    full_recompute: bool = False  # featurize every image, stored or not (the new ones are still appended)
    purge: bool = False           # then erase every stored feature whose image is not in this run's input


@dataclass
class Featurized:
    results: DataFrame  # one row per image read: IMAGE_COLUMNS, content_sha256, features, error
    partitions: int     # of the model's work
    report: dict        # the summary's feature_store section (None without a store)
    _finish: object = None
    _persisted: list = field(default_factory=list)

    def finish(self) -> dict | None:
        """After the outputs are written: the purge if asked, the vacuum; returns the report."""
        if self._finish is not None:
            self._finish()
        return self.report

    def release(self) -> None:
        for frame in self._persisted:
            frame.unpersist()


def featurize_images(spark: SparkSession, listing: Listing, weights: Broadcast, key: FeatureKey, inference: InferenceSettings,
                     options: StoreOptions, batch_name: str, images_per_partition: int, clock: StepClock | None = None) -> Featurized:
    """`listing`: list_input's. See the module docstring.
    `clock`: times the phases (opening the store, reading the index, opening the images, hashing,
    featurizing, assembling) and the workers' model work."""
    clock = clock or StepClock(spark)
    storage = Storage(spark)
    root, index, index_note = options.root, {}, None
    reuse = root is not None and not options.full_recompute  # stored features are looked up and used
    if root is not None:
        with clock.phase("opening the store"):
            root = storage.qualified(root)
            store = open_store(spark, root, key)
        if options.full_recompute:
            index_note = "not used (full recompute)"
        else:
            with clock.phase("reading the index"):
                index, index_note = read_index(storage, store)
    persisted = []
    try:
        catalogue, counts, unchanged, to_read = _catalogued(spark, listing, index, root if reuse else None, key, clock, persisted)
        to_featurize = counts.to_featurize
        partitions = partitions_for(spark, to_featurize, images_per_partition)
        if to_featurize:
            todo = catalogue.where(~F.col("stored")).select(HASH, "content").repartition(partitions, HASH).dropDuplicates([HASH])
            computed = _persisted(persisted, extract_features(todo, weights, inference, keep=(HASH,), worker_clock=clock.workers))
        else:  # everything stored: no Python worker starts, no TensorFlow is loaded
            computed = spark.createDataFrame([], f"{HASH} string, {RESULT_TYPE}")
        new = computed.where(F.col("error").isNull()).select(HASH, "features")
        with clock.phase("featurizing"):
            staged = None if root is None else (stage_batch(spark, root, key, new, batch_name) if to_featurize  # the model runs here
                                                else StagedBatch(root, "", (), 0))
            featurized_now = new.count() if to_featurize else 0
            if staged is not None:
                commit_batch(spark, staged)
        results = _persisted(persisted, _assembled(spark, catalogue, computed, new, counts, root if reuse else None, key))
        with clock.phase("assembling"):
            assembled = results.agg(F.count(F.lit(1)).alias("rows"),  # reads the stored features, once
                                    F.count(F.when(F.col("stored") & F.col("features").isNotNull(), 1)).alias("from_store")).first()
        if assembled.rows < counts.images:  # an image left without features or reason, never dropped silently
            raise FruitsError(f"the features of {counts.images - assembled.rows} images went missing from the feature store "
                              f"{root} during the run (a purge by another run?): nothing written; run again")
        if assembled.rows > counts.images:
            raise FruitsError(f"{assembled.rows - counts.images} images met more than one feature row in the feature store "
                              f"{root}: nothing written")
    except BaseException:
        for frame in persisted:
            frame.unpersist()
        raise
    catalogue.unpersist()  # results holds what the outputs need
    kept = [computed, results]
    if root is None:
        return Featurized(results.drop("stored"), partitions, None, _persisted=kept)
    report = {
        "root": root, "key_id": key.id, "key": dataclasses.asdict(key),
        "mode": "full recompute" if options.full_recompute else "incremental",
        "featurized_now": featurized_now, "from_store": assembled.from_store,
        "stored_now": staged.rows, "batch": staged.batch or None, "purged": None, "vacuumed": [],
        "images_read": len(to_read.accepted), "unchanged_not_read": len(unchanged),
        "index": index_note or f"{len(index)} files indexed",
    }

    def finish():
        if options.purge:
            report["purged"] = purge(spark, root, key, keep=results.select(HASH))
        known = {row.path: (row[HASH], row.micros) for row in results.where(F.col("features").isNotNull())
                 .select("path", HASH, F.unix_micros("modification_time").alias("micros")).collect()}
        write_index(storage, store, index_rows(listing, known), batch_name, purge=options.purge)
        report["vacuumed"] = vacuum(spark, root, key, older_than=VACUUM_AGE, every_key=options.purge)

    return Featurized(results.drop("stored"), partitions, report, finish, kept)


def _catalogued(spark: SparkSession, listing: Listing, index: dict, root: str | None, key: FeatureKey, clock: StepClock,
                persisted: list):
    """(the catalogue, persisted; its counts: images, to_featurize, purged; the unchanged files not
    read; a Listing of the files read). With `root`, every hash is looked up in that store; an
    indexed file whose features were purged since is read, in one more pass."""
    unchanged, to_read = split_listing(listing, index)
    for _ in range(INDEX_ATTEMPTS):
        with clock.phase("opening the images"):  # Spark's file index of the files to read (a job when they are many)
            images = read_images(spark, to_read, whole_tree=len(to_read.accepted) * 2 >= len(listing.accepted))
        catalogue = _persisted(persisted, _catalogue(spark, images, unchanged, root, key))
        with clock.phase("hashing"):  # reads each file to read, once, and looks every hash up in the store
            counts = catalogue.agg(F.count(F.lit(1)).alias("images"),
                                   F.count_distinct(F.when(~F.col("stored"), F.col(HASH))).alias("to_featurize"),
                                   F.count(F.when(F.col("indexed") & ~F.col("stored"), 1)).alias("purged")).first()
        if not counts.purged:
            return catalogue, counts, unchanged, to_read
        purged = {row.path for row in catalogue.where(F.col("indexed") & ~F.col("stored")).select("path").collect()}
        catalogue.unpersist()
        persisted.remove(catalogue)
        unchanged = [row for row in unchanged if row.path not in purged]
        to_read.accepted += [file for file in listing.accepted if listing.path_of(file.relative) in purged]
    raise FruitsError(f"the feature store {root} lost the features of indexed images {INDEX_ATTEMPTS} times during "
                      "the run (purges by other runs?): nothing written; run again")


def _catalogue(spark: SparkSession, images: DataFrame, unchanged: list[Unchanged], root: str | None, key: FeatureKey) -> DataFrame:
    """One row per image: IMAGE_COLUMNS, its hash, `indexed` (an unchanged file, not read), `stored`
    (its hash is in the store at `root`; false without one) and the bytes of those not stored. The
    store is looked up once, for the files read and the unchanged alike."""
    rows = (images.select(*IMAGE_COLUMNS, content_sha256().alias(HASH), F.lit(False).alias("indexed"), "content")
            .unionByName(_unchanged_rows(spark, unchanged)))
    rows = with_stored_flag(spark, root, key, rows) if root is not None else rows.withColumn("stored", F.lit(False))
    return rows.select(*IMAGE_COLUMNS, HASH, "indexed", "stored", F.when(~F.col("stored"), F.col("content")).alias("content"))


def _assembled(spark: SparkSession, catalogue: DataFrame, computed: DataFrame, new: DataFrame, counts, root: str | None,
               key: FeatureKey) -> DataFrame:
    """The run's results, one row per catalogue row: its features (`new`: computed now; or with
    `root`, read from the store) or the reason it was rejected. An image whose hash has neither
    has no row: the caller compares the count with `counts.images` (`counts`: the hashing's). The
    catalogue is small beside the features (no bytes, no features): broadcast, it lets the
    features be joined where they are read, without a shuffle."""
    described = catalogue.drop("content", "indexed")
    if counts.images <= BROADCAST_CATALOGUE:
        described = F.broadcast(described)
    computed_hashes = computed.select(HASH)
    if counts.to_featurize <= BROADCAST_HASHES:
        computed_hashes = F.broadcast(computed_hashes)
    vectors = new
    if root is not None:  # a hash computed now is taken from this run, even if another run stored it meanwhile
        vectors = new.unionByName(read(spark, root, key).join(computed_hashes, HASH, "left_anti"))
    errors = computed.where(F.col("error").isNotNull()).select(HASH, "error")
    return (vectors.join(described, HASH).withColumn("error", F.lit(None).cast("string"))
            .unionByName(described.join(errors, HASH).withColumn("features", F.lit(None).cast("array<float>"))))


def _unchanged_rows(spark: SparkSession, unchanged: list[Unchanged]) -> DataFrame:
    """The catalogue's rows of the unchanged files: indexed, and no content (never read)."""
    frame = spark.createDataFrame(unchanged, f"path string, label string, size long, modified_micros long, {HASH} string")
    return frame.select("path", "label", "size", F.timestamp_micros("modified_micros").alias("modification_time"), HASH,
                        F.lit(True).alias("indexed"), F.lit(None).cast("binary").alias("content"))


def _persisted(persisted: list, frame: DataFrame) -> DataFrame:
    """`frame`, persisted (memory, then local disk), and noted for unpersisting."""
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(frame)
    return frame
