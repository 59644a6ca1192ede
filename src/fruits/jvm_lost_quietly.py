"""When Spark's JVM dies (killed for memory), the driver's Python side prints tracebacks that say
no more than the step's own one-line error (JVM_LOST in fruits.spark_failures): py4j logs each
call it cuts off, and PySpark's accumulator server (which the JVM sends the tasks' counters to)
prints an EOFError's traceback when the JVM's connection closes. Both are kept quiet.

Usage: `lose_the_jvm_plainly()` once the session is built: by `fruits run-local` and by the
spark-submit entry points (fruits.steps.job_runner), whose stderr is an EMR step's log.
"""
from __future__ import annotations

import logging
import sys


def lose_the_jvm_plainly() -> None:
    from pyspark.accumulators import AccumulatorServer

    logging.getLogger().addFilter(lambda record: record.getMessage() != "Exception while sending command.")
    AccumulatorServer.handle_error = quiet_when_the_jvm_is_gone(AccumulatorServer.handle_error)


def quiet_when_the_jvm_is_gone(handle_error):
    """socketserver's handle_error (it prints the traceback), silent for a connection that ended
    mid-message: the JVM's, cut when the JVM died. Any other error is still printed."""
    def handle(server, request, client_address):
        if not isinstance(sys.exc_info()[1], (EOFError, ConnectionError)):
            handle_error(server, request, client_address)
    handle.quiet_when_the_jvm_is_gone = True
    return handle if not getattr(handle_error, "quiet_when_the_jvm_is_gone", False) else handle_error
