"""Step 1's featurizing through the feature store (fruits.feature_store): the model runs only on
the images whose content no earlier run has featurized under the same key; every other image's
features are read from the store. A run on a folder and a run on a bucket take this one path.

Usage (in run_extract, after the listing and the weights):
    reuse = StoreOptions(root="s3://BUCKET/feature-store/DATASET/", full_recompute=False, purge=False)
    featurized = featurize_images(spark, images, broadcast, key, inference, reuse, batch_name=run_id,
                                  images_per_partition=128)
    featurized.results      # path, label, size, modification_time, content_sha256, features, error (persisted)
    ... write the outputs ...
    featurized.finish()     # --purge, then the vacuum of killed appends; -> the summary's feature_store
    featurized.release()    # in a finally: unpersists
`StoreOptions(root=None)`: no store, every distinct content featurized, nothing kept.

What it does, in order (each image's bytes are read once):
1. every image's content hash, and whether the store has it: the bytes are kept (persisted) only
   for the images to featurize (all of them with full_recompute);
2. the model runs once per distinct content among those; the good features are appended to the
   store as one batch (a run killed here leaves files no reader sees: see fruits.feature_store);
3. the run's features: those computed now, and the store's for the other images, joined on the
   hash and persisted before anything is written (a purge by another run may remove store files
   later). An image left with neither features nor a reason (its features were purged meanwhile)
   fails the run: nothing is ever dropped silently.
Rejected images are not stored: they are decoded again, and rejected again, at each run.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import timedelta

from pyspark import Broadcast, StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fruits.errors import FruitsError
from fruits.feature_store import commit_batch, content_sha256, open_store, purge, read, stage_batch, vacuum, with_stored_flag
from fruits.feature_store_records import FeatureKey
from fruits.features import IMAGE_COLUMNS, RESULT_TYPE, InferenceSettings, extract_features
from fruits.step_clock import StepClock
from fruits.storage import Storage

HASH = "content_sha256"
# Batches with no commit and nothing written for this long are a killed run's: the vacuum removes
# them. Longer than any extract step (the state machine's step timeout is hours, not days).
VACUUM_AGE = timedelta(days=3)


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


def featurize_images(spark: SparkSession, images: DataFrame, weights: Broadcast, key: FeatureKey, inference: InferenceSettings,
                     options: StoreOptions, batch_name: str, images_per_partition: int, clock: StepClock | None = None) -> Featurized:
    """`images`: read_images' rows (IMAGE_COLUMNS and content). See the module docstring.
    `clock`: times the phases (opening the store, hashing, featurizing, assembling) and the workers' model work."""
    clock = clock or StepClock(spark)
    root = options.root
    with clock.phase("opening the store"):
        if root is not None:
            root = Storage(spark).qualified(root)
            open_store(spark, root, key)
        hashed = images.withColumn(HASH, content_sha256())
        if root is not None and not options.full_recompute:
            hashed = with_stored_flag(spark, root, key, hashed)
        else:
            hashed = hashed.withColumn("stored", F.lit(False))
    persisted = []
    try:
        catalogue = _persisted(persisted, hashed.select(*IMAGE_COLUMNS, HASH, "stored",
                                                        F.when(~F.col("stored"), F.col("content")).alias("content")))
        with clock.phase("hashing"):
            to_featurize = catalogue.where(~F.col("stored")).select(HASH).distinct().count()  # reads every file, once
        partitions = max(spark.sparkContext.defaultParallelism, math.ceil(to_featurize / images_per_partition))
        if to_featurize:
            todo = catalogue.where(~F.col("stored")).select(HASH, "content").repartition(partitions, HASH).dropDuplicates([HASH])
            computed = _persisted(persisted, extract_features(todo, weights, inference, keep=(HASH,), worker_clock=clock.workers))
        else:  # everything stored: no Python worker starts, no TensorFlow is loaded
            computed = spark.createDataFrame([], f"{HASH} string, {RESULT_TYPE}")
        new = computed.where(F.col("error").isNull()).select(HASH, "features")
        with clock.phase("featurizing"):
            staged = stage_batch(spark, root, key, new, batch_name) if root is not None else None  # the model runs here
            featurized_now = new.count()
            if staged is not None:
                commit_batch(spark, staged)
        vectors = new
        if root is not None and not options.full_recompute:
            vectors = new.unionByName(read(spark, root, key).join(new.select(HASH), HASH, "left_anti"))
        errors = computed.where(F.col("error").isNotNull()).select(HASH, "error")
        results = _persisted(persisted, catalogue.drop("content").join(vectors, HASH, "left").join(errors, HASH, "left"))
        with clock.phase("assembling"):
            counts = results.agg(  # reads the stored features, once
                F.count(F.when(F.col("stored") & F.col("features").isNotNull(), 1)).alias("from_store"),
                F.count(F.when(F.col("features").isNull() & F.col("error").isNull(), 1)).alias("lost")).first()
        if counts.lost:
            raise FruitsError(f"the features of {counts.lost} images went missing from the feature store {root} during "
                              "the run (a purge by another run?): nothing written; run again")
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
        "featurized_now": featurized_now, "from_store": counts.from_store,
        "stored_now": staged.rows, "batch": staged.batch or None, "purged": None, "vacuumed": [],
    }

    def finish():
        if options.purge:
            report["purged"] = purge(spark, root, key, keep=results.select(HASH))
        report["vacuumed"] = vacuum(spark, root, key, older_than=VACUUM_AGE)

    return Featurized(results.drop("stored"), partitions, report, finish, kept)


def _persisted(persisted: list, frame: DataFrame) -> DataFrame:
    """`frame`, persisted (memory, then local disk), and noted for unpersisting."""
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    persisted.append(frame)
    return frame
