"""Builds the SparkSession for a job: `build_session("fruits-extract")` on a cluster (the
master comes from spark-submit), `build_session(..., master="local[*]")` for the embedded Spark.
"""
from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

LOG_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")

ARROW_BATCH_SIZE = 256  # rows per Arrow batch handed to the pandas UDF (~40 MB of 224x224 floats)


def build_session(app_name: str, master: str | None = None, arrow_batch_size: int = ARROW_BATCH_SIZE,
                  extra_conf: dict[str, str] | None = None) -> SparkSession:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by the Python workers
    if master is not None:
        # Python workers must run this interpreter (the venv with TensorFlow), not the system one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        # Local runs stay on loopback: the driver binds and advertises 127.0.0.1 only.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (builder.master(master)
                   .config("spark.driver.memory", os.environ.get("FRUITS_DRIVER_MEMORY", "4g"))
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}"))
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
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("FRUITS_SPARK_LOG_LEVEL", "ERROR"))
    return spark
