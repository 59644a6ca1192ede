"""A JVM killed mid-run (the OOM killer's usual pick) cuts its connection to PySpark's
accumulator server, which printed an EOFError's traceback on the user's terminal before the run's
own one-line error (measured: `fruits run-local` with its JVM killed during "Fitting PCA").
`fruits run-local` keeps that quiet; other errors of the server are still printed."""
from __future__ import annotations

import logging
import socket
import threading

import pytest

from pyspark.accumulators import AccumulatorServer, _start_update_server

from fruits.commands.local import lose_the_jvm_plainly


def connect_and(server, send: bytes) -> None:
    """What the JVM does: connect, send `send`, then the connection ends (the JVM died)."""
    with socket.create_connection(server.server_address[:2], timeout=10) as connection:
        connection.sendall(send)


@pytest.fixture
def server():
    """PySpark's accumulator server, as SparkContext starts it: not the shared session's, which
    serves one connection at a time and is busy with its JVM's once a task has run."""
    started = _start_update_server("0123456789abcdef")
    yield started
    started.shutdown()


def test_the_dead_jvm_s_cut_connection_prints_no_traceback_but_other_errors_still_do(server, capsys, monkeypatch):
    monkeypatch.setattr(AccumulatorServer, "handle_error", AccumulatorServer.handle_error)  # restored after the test
    monkeypatch.setattr(logging.getLogger(), "filters", [])
    lose_the_jvm_plainly()
    installed, handled = AccumulatorServer.handle_error, []
    done = threading.Semaphore(0)

    def noted(*args):  # the server handles one connection at a time, in its own thread
        installed(server, *args)
        handled.append(args)
        done.release()

    monkeypatch.setattr(server, "handle_error", noted)
    token = server.auth_token.encode("utf-8")
    connect_and(server, token)  # authenticated, then cut before its first update: EOFError in the handler
    assert done.acquire(timeout=20)
    assert capsys.readouterr().err == ""
    connect_and(server, b"x" * len(token))  # a wrong token: PySpark's ValueError, printed as before
    assert done.acquire(timeout=20)
    printed = capsys.readouterr().err
    assert "ValueError: The value of the provided token to the AccumulatorServer is not correct." in printed
    assert len(handled) == 2
