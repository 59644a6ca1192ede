"""The spark-submit entry points (an EMR step's stderr is its log) keep the dead JVM's EOFError
quiet as `fruits run-local` does (tests/pipeline/test_jvm_lost_quietly.py): PySpark's accumulator
server printed its traceback before the step's one-line error when the JVM was killed. Tested
the same way, through fruits.steps.job_runner.run_job: a real accumulator server, connected to as
the JVM does and cut. The session is a stand-in whose stop() does nothing: the shared one must live on."""
from __future__ import annotations

import logging
import threading

from pyspark.accumulators import AccumulatorServer

from fruits.steps.job_runner import run_job
from tests.pipeline.test_jvm_lost_quietly import connect_and, server  # noqa: F401 (server: the fixture)


class StoppableSession:
    def stop(self) -> None:
        pass


def test_a_job_s_dead_jvm_prints_no_traceback_but_other_errors_still_do(server, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(AccumulatorServer, "handle_error", AccumulatorServer.handle_error)  # restored after the test
    monkeypatch.setattr(logging.getLogger(), "filters", [])
    done = threading.Semaphore(0)

    def cut_connections(spark) -> dict:
        installed = AccumulatorServer.handle_error  # what run_job left in place, if anything

        def noted(*args):  # the server handles one connection at a time, in its own thread
            installed(server, *args)
            done.release()

        monkeypatch.setattr(server, "handle_error", noted)
        token = server.auth_token.encode("utf-8")
        connect_and(server, token)  # authenticated, then cut before its first update: EOFError in the handler
        assert done.acquire(timeout=20)
        quiet = capsys.readouterr().err
        connect_and(server, b"x" * len(token))  # a wrong token: PySpark's ValueError, printed as before
        assert done.acquire(timeout=20)
        return {"quiet": quiet, "printed": capsys.readouterr().err}

    seen = {}
    assert run_job("extract_features", StoppableSession, lambda spark: seen.update(cut_connections(spark)) or seen, lambda _: "done") == 0
    assert seen["quiet"] == "", seen["quiet"]
    assert "ValueError: The value of the provided token to the AccumulatorServer is not correct." in seen["printed"]
