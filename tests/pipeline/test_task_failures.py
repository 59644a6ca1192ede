"""A Spark job whose tasks fail ends in one line, not Spark's Java traceback: the task's own reason
(a Python worker killed by the OS, the last line of the exception a task raised) and, when memory
is the likely cause, which options lower it. Real failures from the shared session (local[2]: a
task that fails once aborts its job), the jobs' runner on them, and `fruits run-local` with a
Python worker that the OS kills mid-extraction (a test-only sitecustomize on the workers' path)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError

from fruits.spark_failures import JVM_LOST, MEMORY_HINT, SPARK_FAILURES, task_failure
from fruits.steps.job_runner import run_job
from tests.support.cli_errors import assert_one_error_line

from .images import copy_subset

CRASHED = "a Spark task's Python worker exited unexpectedly (killed by the OS? most often for lack of memory)"


def failure_of(action) -> BaseException:
    with pytest.raises(SPARK_FAILURES) as caught:
        action()
    return caught.value


def killed_by_the_os(spark):
    """What the OOM killer does to a Python worker: SIGKILL, no traceback, no message."""
    return spark.range(1, numPartitions=1).rdd.map(lambda _: os.kill(os.getpid(), signal.SIGKILL)).collect()


def test_a_worker_killed_by_the_os_is_named_with_the_options_that_lower_memory(spark):
    assert task_failure(failure_of(lambda: killed_by_the_os(spark)), MEMORY_HINT) == f"{CRASHED}; {MEMORY_HINT}"


def test_an_exception_in_a_pandas_udf_is_its_last_line(spark):
    def unknown_fruit(batches):
        for _ in batches:
            raise ValueError("no such fruit: 'Durian'")
        yield from ()

    error = failure_of(lambda: spark.range(1, numPartitions=1).mapInPandas(unknown_fruit, "id long").collect())
    assert task_failure(error, MEMORY_HINT) == "a Spark task's Python code raised ValueError: no such fruit: 'Durian'"


def test_a_memory_error_in_a_task_gets_the_memory_hint(spark):
    def out_of_memory(_):
        raise MemoryError()

    error = failure_of(lambda: spark.range(1, numPartitions=1).rdd.map(out_of_memory).collect())
    assert task_failure(error, MEMORY_HINT) == f"a Spark task's Python code raised MemoryError; {MEMORY_HINT}"


def test_errors_that_are_not_failed_tasks_are_left_to_propagate(spark, tmp_path):
    assert task_failure(failure_of(lambda: spark.read.parquet(str(tmp_path / "none")))) is None  # AnalysisException
    assert task_failure(failure_of(lambda: spark.sparkContext._jvm.java.lang.Integer.parseInt("x"))) is None


def test_a_jvm_that_died_is_named():
    assert task_failure(Py4JNetworkError("Error while sending or receiving"), "HINT") == f"{JVM_LOST}; HINT"


def refuse(*args):
    raise ConnectionRefusedError(111, "Connection refused")


def test_a_call_after_the_jvm_died_is_named_once_the_jvm_does_not_answer(spark):
    dead = SimpleNamespace(sparkContext=SimpleNamespace(_jvm=SimpleNamespace(java=SimpleNamespace(lang=SimpleNamespace(
        System=SimpleNamespace(nanoTime=refuse))))))
    for error in (Py4JError("An error occurred while calling o202.write"), ConnectionRefusedError(111, "Connection refused")):
        assert task_failure(error, spark=dead) == JVM_LOST
        assert task_failure(error, spark=spark) is None  # the JVM answers: not a lost JVM, let it propagate


def test_a_job_whose_task_failed_ends_its_stderr_with_one_line_and_exits_1(spark, capsys):
    stopped = []
    session = SimpleNamespace(stop=lambda: stopped.append(True))  # the shared session must outlive the test
    assert run_job("extract_features", lambda: session, lambda _: killed_by_the_os(spark), str, memory_hint=MEMORY_HINT) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"extract_features: error: {CRASHED}; {MEMORY_HINT}. Spark's log above has the failed task's trace")
    assert stopped == [True]


# Imported first by every Python process whose path starts with its folder (the driver, Spark's
# Python workers): the workers' featurizing kills its own process, as the OOM killer would.
KILL_THE_FEATURIZING_WORKER = textwrap.dedent("""
    import os, signal
    import fruits.features

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    fruits.features.featurize_contents = killed
""")


@pytest.mark.slow
def test_run_local_whose_worker_is_killed_exits_1_in_one_line_and_keeps_the_run_folder(sample_images, weights_file, tmp_path):
    images = copy_subset(sample_images, tmp_path / "images", per_class=1, classes=2)
    (tmp_path / "hook" / "sitecustomize.py").parent.mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(KILL_THE_FEATURIZING_WORKER)
    run = tmp_path / "out" / "r"  # an earlier run's step 1, not yet complete: run again without --replace
    (run / "features").mkdir(parents=True)
    (run / "features" / "part-0.parquet").write_text("earlier features")
    (run / "extract_summary.json").write_text('{"earlier": true}')
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "hook"), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(images), "--weights", str(weights_file),
                             "--output", str(tmp_path / "out"), "--run-id", "r", "--k", "1"], capture_output=True, text=True, env=environment)
    assert_one_error_line(result, 1, f"fruits: error: Extracting features from 2 images (those the feature store lacks) failed: "
                          f"{CRASHED}; {MEMORY_HINT}. Spark's log above has the failed task's trace; {run} keeps its finished outputs")
    assert result.stderr.strip().splitlines()[-1].startswith("fruits: error: "), result.stderr[-3000:]
    assert (run / "features" / "part-0.parquet").read_text() == "earlier features"
    assert (run / "extract_summary.json").read_text() == '{"earlier": true}'
    assert sorted(path.name for path in run.iterdir()) == [".lock", "extract_summary.json", "features"]


def test_a_failure_in_the_jvm_s_part_of_a_task_is_its_message(spark):
    error = failure_of(lambda: spark.range(1, numPartitions=1).selectExpr("raise_error('no such fruit')").collect())
    assert task_failure(error, MEMORY_HINT) == "a Spark task failed: RuntimeException: no such fruit"


class JavaException:
    """A Java exception as py4j shows it, for messages only a cluster gives."""

    _target_id = "o1"  # py4j's id of the object in the JVM

    def __init__(self, name: str, message: str):
        self.name, self.message = name, message

    def getClass(self):
        return SimpleNamespace(getName=lambda: self.name)

    def getMessage(self):
        return self.message

    def getCause(self):
        return None


def test_an_executor_killed_by_yarn_is_yarn_s_reason_with_the_memory_hint():
    yarn = ("Container killed by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used. "
            "Consider boosting spark.executor.memoryOverhead.")
    error = Py4JJavaError("An error occurred while calling o93.parquet.\n", JavaException(
        "org.apache.spark.SparkException", "Job aborted due to stage failure: Task 3 in stage 2.0 failed 4 times, most recent failure: "
        "Lost task 3.3 in stage 2.0 (TID 17) (ip-10-0-1-5.eu-west-1.compute.internal executor 2): ExecutorLostFailure (executor 2 "
        f"exited caused by one of the running tasks) Reason: {yarn}\nDriver stacktrace:\n\tat org.apache.spark..."))
    assert task_failure(error, MEMORY_HINT) == (
        f"a Spark task failed: ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: {yarn}; {MEMORY_HINT}")
