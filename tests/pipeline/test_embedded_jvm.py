"""The embedded Spark's JVM compiles with C1 only (fruits.session.EMBEDDED_JVM_OPTIONS), and a
JVM that spark-submit started is left with its own options."""
from __future__ import annotations

import subprocess
import sys

import pytest

from fruits.session import EMBEDDED_JVM_OPTIONS, starts_its_jvm


def jvm_arguments(spark) -> list[str]:
    bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    return list(bean.getInputArguments())


def test_the_embedded_jvm_runs_with_c1_only(spark):
    arguments = jvm_arguments(spark)
    assert EMBEDDED_JVM_OPTIONS in arguments
    assert any(argument.startswith("-Dlog4j2.configurationFile=") for argument in arguments)


def test_no_jvm_options_are_set_once_a_jvm_runs(spark, monkeypatch):
    assert not starts_its_jvm()  # the session above runs in this process
    monkeypatch.setattr("pyspark.SparkContext._active_spark_context", None)
    assert starts_its_jvm()
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "12345")  # what spark-submit hands its Python driver
    assert not starts_its_jvm()


@pytest.mark.slow  # starts a JVM
def test_a_conf_of_the_user_replaces_the_jvm_options(tmp_path):
    script = ("from fruits.session import build_session\n"
              "spark = build_session('jvm-options', master='local[1]',"
              " extra_conf={'spark.driver.extraJavaOptions': '-Dfruits.test=yes'})\n"
              "bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()\n"
              "print('|'.join(bean.getInputArguments()))\n"
              "spark.stop()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    arguments = result.stdout.strip().splitlines()[-1].split("|")
    assert "-Dfruits.test=yes" in arguments
    assert EMBEDDED_JVM_OPTIONS not in arguments
