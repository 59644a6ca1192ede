"""The extract step sizes Spark's shuffle partitions to its images (Spark's 200, which AQE does
not coalesce for persisted DataFrames, cost a third of an incremental run: docs/benchmarks.md),
and its read tasks to about 128 small photos (Spark's 4 MiB open cost puts 32 in a task), unless
the user set them."""
from __future__ import annotations

import subprocess
import sys

from fruits.session import cores_multiple
from fruits.images import list_input, read_images
from fruits.steps.extract_step import ROWS_PER_SHUFFLE_PARTITION, size_file_reads, size_shuffles

USER_SETTING = """
from fruits.session import build_session
from fruits.steps.extract_step import size_file_reads, size_shuffles
spark = build_session("fruits-tests-shuffles", master="local[2]",
                      extra_conf={"spark.sql.shuffle.partitions": "7", "spark.sql.files.openCostInBytes": "4194304"})
size_shuffles(spark, 100_000)
size_file_reads(spark)
print(spark.conf.get("spark.sql.shuffle.partitions"), spark.conf.get("spark.sql.files.openCostInBytes"))
spark.stop()
"""


def test_about_a_thousand_rows_per_shuffle_partition_in_whole_waves_of_the_cores(spark):
    assert spark.sparkContext.defaultParallelism == 2
    size_shuffles(spark, 10 * ROWS_PER_SHUFFLE_PARTITION + 1)  # 11 partitions, rounded up to 6 waves of 2
    assert spark.conf.get("spark.sql.shuffle.partitions") == "12"
    size_shuffles(spark, 5)
    assert spark.conf.get("spark.sql.shuffle.partitions") == str(spark.sparkContext.defaultParallelism)


def test_a_users_setting_is_kept():
    """In its own process: one SparkContext per process, and the tests' session has no such setting."""
    result = subprocess.run([sys.executable, "-c", USER_SETTING], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["7", "4194304"]


def test_partitions_are_rounded_up_to_whole_waves_of_the_cores():
    assert [cores_multiple(2, n) for n in (0, 1, 2, 5, 6, 36)] == [2, 2, 2, 6, 6, 36]
    assert [cores_multiple(4, n) for n in (3, 5, 9)] == [4, 8, 12] and cores_multiple(1, 5) == 5
    assert cores_multiple(0, 3) == 3  # no cores reported: no rounding


def test_read_tasks_hold_about_128_small_photos(spark, sample_images):
    listing = list_input(spark, str(sample_images))
    listing.accepted = listing.accepted[:1000]
    spark.conf.unset("spark.sql.files.openCostInBytes")
    assert read_images(spark, listing).rdd.getNumPartitions() >= 30  # Spark's default: 32 photos a task
    size_file_reads(spark)
    assert spark.conf.get("spark.sql.files.openCostInBytes") == str(1024 * 1024)
    assert read_images(spark, listing).rdd.getNumPartitions() == 8  # 1,000 photos of about 5 KiB: 128 a task
