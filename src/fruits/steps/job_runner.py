"""The body both spark-submit entry points share: build the session, run the step, stop.

Usage: `sys.exit(run_job("extract_features", lambda: build_session(...), lambda spark: run_extract(spark, args), describe))`
A FruitsError becomes one line on stderr and exit status 1 (so EMR marks the step FAILED with
that line in its stderr log); so does a Spark job whose tasks failed (a Python worker killed for
memory, an exception in a task: fruits.spark_failures), after Spark's own log of the failed task.
`describe(result)` is printed on success.

With `output` (the run folder) local, the job holds it as `fruits run-local` does
(fruits.steps.run_folder.holding_run_folder, before Spark starts): a run-local in the parent
folder never takes its staging for a killed run's, and a second job or run of that folder is
refused in one line. On EMR the output is on S3, and the state machine runs one step at a time.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, ContextManager

from py4j.protocol import Py4JError

from fruits.errors import FruitsError
from fruits.jvm_lost_quietly import lose_the_jvm_plainly
from fruits.options import require_writable_folder
from fruits.settings import is_remote, local_path
from fruits.spark_failures import JVM_LOST, SPARK_FAILURES, task_failure


def run_job(name: str, build_session: Callable, run: Callable, describe: Callable[[dict], str], memory_hint: str = "",
            output: str | None = None, run_id: str = "local", check: Callable[[], None] = lambda: None) -> int:
    """The job's exit status; `memory_hint` ends the line of a failure that memory likely caused;
    `output`: the run folder, held while the job runs when it is local; `check`: refusals that need
    no Spark, made before the folder is held (held, it is made, with its .lock)."""
    try:
        check()
        with holding_local_run_folder(output, run_id):
            return _run_job(name, build_session, run, describe, memory_hint)
    except FruitsError as error:  # the folder cannot be written, or another process holds it
        print(f"{name}: error: {error}", file=sys.stderr)
        return 1


def holding_local_run_folder(output: str | None, run_id: str) -> ContextManager:
    if output is None or is_remote(output):
        return nullcontext()
    return _holding(output, run_id)


@contextmanager
def _holding(output: str, run_id: str):
    from fruits.steps.run_folder import check_run_folder, holding_run_folder

    folder = Path(local_path(output)).absolute()
    # replace=True: a job may run again on a complete run (the reduce step alone, with another k), as it always could
    check_run_folder(folder, run_id, replace=True)  # first: not even a write check in the images or a label folder
    require_writable_folder(output, "--output")  # before the lock makes the folder: one line, not an OSError
    with holding_run_folder(folder, run_id, replace=True):
        yield


def _run_job(name: str, build_session: Callable, run: Callable, describe: Callable[[dict], str], memory_hint: str) -> int:
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
