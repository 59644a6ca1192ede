"""The body both spark-submit entry points share: build the session, run the step, stop.

Usage: `sys.exit(run_job("extract_features", lambda: build_session(...), lambda spark: run_extract(spark, args), describe))`
A FruitsError becomes one line on stderr and exit status 1 (so EMR marks the step FAILED with
that line in its stderr log); so does a Spark job whose tasks failed (a Python worker killed for
memory, an exception in a task: fruits.spark_failures), after Spark's own log of the failed task.
`describe(result)` is printed on success.
"""
from __future__ import annotations

import sys
from typing import Callable

from py4j.protocol import Py4JError

from fruits.errors import FruitsError
from fruits.jvm_lost_quietly import lose_the_jvm_plainly
from fruits.spark_failures import JVM_LOST, SPARK_FAILURES, task_failure


def run_job(name: str, build_session: Callable, run: Callable, describe: Callable[[dict], str], memory_hint: str = "") -> int:
    """The job's exit status; `memory_hint` ends the line of a failure that memory likely caused."""
    try:
        spark = build_session()
    except FruitsError as error:  # e.g. a bad setting that stops Spark from starting
        print(f"{name}: error: {error}", file=sys.stderr)
        return 1
    lose_the_jvm_plainly()  # a JVM killed for memory: the error line below, without PySpark's tracebacks before it
    try:
        result = run(spark)
    except FruitsError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return 1
    except SPARK_FAILURES as error:
        reason = task_failure(error, memory_hint, spark)
        if reason is None:  # not a failed task: a bug, whose traceback says where
            raise
        trace = "" if reason.startswith(JVM_LOST) else ". Spark's log above has the failed task's trace"
        print(f"{name}: error: {reason}{trace}", file=sys.stderr)
        return 1
    finally:
        try:
            spark.stop()
        except (Py4JError, OSError):  # the JVM is gone (killed for memory): nothing to stop
            pass
    print(f"{name}: {describe(result)}")
    return 0
