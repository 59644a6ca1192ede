"""SIGTERM (`kill`, `timeout`, a cancelled CI job, a closing session) ends a command as Ctrl-C
does, through its cleanup, instead of SIGTERM's default action, which ends the process at once.

Usage: `with terminated_as_interrupted(): ...` around a command's work; its KeyboardInterrupt
handlers then run for SIGTERM too (the CLI reports `fruits: interrupted`, status 130).
"""
from __future__ import annotations

import signal
from contextlib import contextmanager


@contextmanager
def terminated_as_interrupted():
    """SIGTERM raises KeyboardInterrupt while the block runs; the previous handler is restored after."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
