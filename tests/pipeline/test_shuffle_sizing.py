"""The extract step sizes Spark's shuffle partitions to its images (Spark's 200, which AQE does
not coalesce for persisted DataFrames, cost a third of an incremental run: docs/benchmarks.md),
unless the user set them."""
from __future__ import annotations

import subprocess
import sys

from fruits.steps.extract_step import ROWS_PER_SHUFFLE_PARTITION, size_shuffles

USER_SETTING = """
from fruits.session import build_session
from fruits.steps.extract_step import size_shuffles
spark = build_session("fruits-tests-shuffles", master="local[2]", extra_conf={"spark.sql.shuffle.partitions": "7"})
size_shuffles(spark, 100_000)
print(spark.conf.get("spark.sql.shuffle.partitions"))
spark.stop()
"""


def test_about_a_thousand_rows_per_shuffle_partition_and_never_fewer_than_the_cores(spark):
    size_shuffles(spark, 10 * ROWS_PER_SHUFFLE_PARTITION + 1)
    assert spark.conf.get("spark.sql.shuffle.partitions") == "11"
    size_shuffles(spark, 5)
    assert spark.conf.get("spark.sql.shuffle.partitions") == str(spark.sparkContext.defaultParallelism)


def test_a_users_setting_is_kept():
    """In its own process: one SparkContext per process, and the tests' session has no such setting."""
    result = subprocess.run([sys.executable, "-c", USER_SETTING], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "7"
