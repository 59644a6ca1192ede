"""Builds the SparkSession for a job: `build_session("fruits-extract")` on a cluster (the
master comes from spark-submit), `build_session(..., master="local[*]")` for the embedded Spark.
A driver memory that is not a size, or a Spark that does not start, is a FruitsError.
"""
from __future__ import annotations

import math
import os
import re
import sys

from py4j.protocol import Py4JJavaError
from pyspark import SparkContext
from pyspark.errors import PySparkRuntimeError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import SparkSession

from fruits.errors import FruitsError
from fruits.jvm_archive import archive_options

LOG_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")

ARROW_BATCH_SIZE = 256  # rows per Arrow batch handed to the pandas UDF (~40 MB of 224x224 floats)
DRIVER_MEMORY_ENV = "FRUITS_DRIVER_MEMORY"
# A JVM that this process starts (the embedded Spark: driver and executor in one process on a few
# cores) compiles with C1 only: C2's compiler threads took cores from the Python workers running
# the model, and most of a run's JVM work is short jobs that C2 never pays back. On 2 cores, the
# extract step in its own process on the 5,107 sample images: first run 54.7 -> 48.4 s, a run with
# nothing new 14.4 -> 11.0 s. A JVM that spark-submit started (EMR) keeps the options it was given.
EMBEDDED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


def driver_memory() -> str:
    """$FRUITS_DRIVER_MEMORY (default 4g), checked before the JVM, which would only print its own error."""
    value = os.environ.get(DRIVER_MEMORY_ENV, "4g")
    if not re.fullmatch(r"[1-9][0-9]*[kmgt]", value, re.IGNORECASE):  # Spark passes it to -Xmx: a unit is needed
        raise FruitsError(f"{DRIVER_MEMORY_ENV}={value!r} is not a memory size such as 4g or 512m")
    return value


def build_session(app_name: str, master: str | None = None, arrow_batch_size: int = ARROW_BATCH_SIZE,
                  extra_conf: dict[str, str] | None = None) -> SparkSession:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by the Python workers
    # fruits.jvm_archive: the classes of Spark's jobs, mapped from an archive when `make` built one.
    java_options = [EMBEDDED_JVM_OPTIONS, *archive_options()] if starts_its_jvm() else []
    if master is not None:
        # Python workers must run this interpreter (the venv with TensorFlow), not the system one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        # Local runs stay on loopback: the driver binds and advertises 127.0.0.1 only.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (builder.master(master)
                   .config("spark.driver.memory", driver_memory())
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
        java_options.append(f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}")
    if java_options:  # a --conf spark.driver.extraJavaOptions=... (extra_conf) replaces these
        builder = builder.config("spark.driver.extraJavaOptions", " ".join(java_options))
    conf = {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(arrow_batch_size),
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.parquet.compression.codec": "snappy",
        **(extra_conf or {}),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as error:  # the JVM exited at once; it printed why above
        raise FruitsError(f"Spark did not start ({error.getErrorClass()}): see the Java lines above (--master, --conf, "
                          f"{DRIVER_MEMORY_ENV})") from None
    except Py4JJavaError as error:
        raise FruitsError(f"Spark did not start: {error.java_exception.getMessage()}") from None
    spark.sparkContext.setLogLevel(os.environ.get("FRUITS_SPARK_LOG_LEVEL", "ERROR"))
    check_sql_settings(spark)
    return spark


def check_sql_settings(spark: SparkSession) -> None:
    """Spark checks its SQL settings (a --conf spark.sql.shuffle.partitions=-5) only when a first
    query builds the session's state, and then says only "Error while instantiating
    SessionStateBuilder": built here, a bad value is one line naming it, before any work."""
    try:
        spark.conf.get("spark.sql.shuffle.partitions")
    except CapturedException as error:
        spark.stop()
        cause = error._origin
        while cause is not None and cause.getCause() is not None:
            cause = cause.getCause()
        reason = cause.getMessage() if cause is not None else str(error).splitlines()[0]
        raise FruitsError(f"Spark refused its settings: {reason} (--conf)") from None


def starts_its_jvm() -> bool:
    """Whether building the session starts a JVM: not under spark-submit (which started one and
    handed this process its port) and not when a SparkContext already runs here."""
    return "PYSPARK_GATEWAY_PORT" not in os.environ and SparkContext._active_spark_context is None


def partitions_for(spark: SparkSession, rows: int, rows_per_partition: int) -> int:
    """Partitions for `rows` rows at about `rows_per_partition` each, a whole number of waves of
    the cores (spark.default.parallelism): no core idles through a last wave of fewer tasks (513
    images at 128 each on 2 cores: 6 tasks, 3 per core, not 5). The step's shuffles and its model
    stage are sized this way."""
    return cores_multiple(spark.sparkContext.defaultParallelism, math.ceil(rows / rows_per_partition))


def cores_multiple(cores: int, partitions: int) -> int:
    """`partitions` rounded up to a multiple of `cores` (at least `cores`)."""
    return max(1, cores) * max(1, math.ceil(partitions / max(1, cores)))
