"""A Spark job that failed in its tasks, said in one line: Spark raises it as a Py4JJavaError
("Job aborted due to stage failure: ...", hundreds of Java lines) or, for a pandas UDF that
raised, as PySpark's PythonException (the worker's whole traceback); a JVM that died answers
nothing (Py4JNetworkError, or a bare Py4JError or ConnectionError on a later call).
`task_failure` keeps what a user can act on: the task's own reason (the last line of the Python
exception it raised, "a Python worker exited unexpectedly", the Java exception's message) and,
when memory is the likely cause, what lowers it.

Usage (fruits.commands.local, fruits.steps.job_runner):
    except SPARK_FAILURES as error:
        reason = task_failure(error, memory_hint=MEMORY_HINT)  # None: not a task failure (a bug): let it propagate
`memory_hint` is added when memory is the likely cause: the step's own options that lower it.
Spark has logged each failed task's full trace on stderr already (ERROR level), before this line.
"""
from __future__ import annotations

import re

from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError
from pyspark.errors.exceptions.captured import CapturedException, PythonException

# Py4JJavaError and Py4JNetworkError are Py4JErrors; a ConnectionError is py4j's socket to a dead JVM.
SPARK_FAILURES = (Py4JError, CapturedException, ConnectionError)
JVM_LOST = "Spark's JVM stopped answering (killed by the OS? most often for lack of memory)"

MEMORY_HINT = "to use less memory, lower --batch-size or --images-per-partition"  # the extract step's options
STAGE_FAILURE = "Job aborted due to stage failure"
WORKER_CRASHED = "Python worker exited unexpectedly"
# Words of Spark's, YARN's and the JVM's own messages when memory ran out.
MEMORY_SIGNS = ("MemoryError", "OutOfMemoryError", "Java heap space", "memory limit", "lack of memory", "exit code 137", "ExecutorLostFailure")
# "Lost task 1.0 in stage 0.0 (TID 1) (localhost executor driver): ", and a Java class name before its message.
TASK_PREFIX = re.compile(r"^Lost task \S+ in stage \S+ \(TID \d+\) \([^)]*\): ")
CLASS_PREFIX = re.compile(r"^(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*: ")


def task_failure(error: BaseException, memory_hint: str = "", spark=None) -> str | None:
    """What failed in `error`'s Spark tasks, one line, with `memory_hint` when memory is the
    likely cause; None when `error` is not a failed task or a lost JVM. A call that was under way
    when the JVM died raises Py4JNetworkError, a later one a bare Py4JError or the socket's
    ConnectionError: those are taken for a lost JVM when `spark`'s JVM no longer answers."""
    if isinstance(error, Py4JNetworkError) or (
            isinstance(error, (Py4JError, ConnectionError)) and not isinstance(error, Py4JJavaError)
            and spark is not None and not jvm_answers(spark)):
        return _with_hint(JVM_LOST, memory_hint)
    if not isinstance(error, (Py4JJavaError, CapturedException)):
        return None
    if isinstance(error, PythonException) and getattr(error, "_origin", None) is None:
        return _with_hint(f"a Spark task's Python code raised {_last_line(error.desc)}", memory_hint)
    java = error.java_exception if isinstance(error, Py4JJavaError) else getattr(error, "_origin", None)
    chain = _causes(java)
    if not any(STAGE_FAILURE in message for _, message in chain):
        return None
    for name, message in chain:
        if name.endswith("api.python.PythonException"):
            return _with_hint(f"a Spark task's Python code raised {_last_line(message)}", memory_hint)
    for _, message in chain:
        if WORKER_CRASHED in message:
            return _with_hint("a Spark task's Python worker exited unexpectedly (killed by the OS? most often for lack of memory)", memory_hint)
    return _with_hint(f"a Spark task failed: {_task_reason(chain[0][1])}", memory_hint)


def jvm_answers(spark) -> bool:
    try:
        spark.sparkContext._jvm.java.lang.System.nanoTime()
        return True
    except (Py4JError, OSError):  # OSError: py4j's new connection refused
        return False


def _causes(java) -> list[tuple[str, str]]:
    """(class name, message) of a Java exception and each of its causes, outermost first."""
    chain, seen = [], 0
    while java is not None and seen < 20:
        chain.append((java.getClass().getName(), java.getMessage() or ""))
        java, seen = java.getCause(), seen + 1
    return chain


def _task_reason(message: str) -> str:
    """"Job aborted due to stage failure: Task 1 in stage 0.0 failed 4 times, most recent failure:
    Lost task ...: org.apache.spark.SparkException: WHY" -> "WHY" (its first line)."""
    reason = message.partition("most recent failure: ")[2] or message
    reason = TASK_PREFIX.sub("", reason.strip().splitlines()[0] if reason.strip() else reason)
    return CLASS_PREFIX.sub(_simple_name, reason).strip() or message.strip().splitlines()[0]


def _simple_name(match: re.Match) -> str:
    """"java.lang.OutOfMemoryError: " -> "OutOfMemoryError: "; Spark's own SparkException says nothing."""
    name = match.group(0).rstrip(": ").rpartition(".")[2]
    return "" if name == "SparkException" else f"{name}: "


def _last_line(traceback_text: str) -> str:
    """The exception line that ends a Python traceback ("MemoryError", "ValueError: ...")."""
    text = traceback_text.partition("\nDriver stacktrace:")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "an exception"


def _with_hint(reason: str, memory_hint: str) -> str:
    if memory_hint and any(sign in reason for sign in MEMORY_SIGNS):
        return f"{reason}; {memory_hint}"
    return reason
