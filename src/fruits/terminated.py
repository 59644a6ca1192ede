"""SIGTERM (`kill`, `timeout`, a cancelled CI job) and SIGHUP (the terminal or SSH session closed)
end a command as Ctrl-C does, through its cleanup, instead of their default action, which ends the
process at once.

Usage: `with terminated_as_interrupted(): ...` around a command's work; its KeyboardInterrupt
handlers then run for these signals too (the CLI reports `fruits: interrupted`, status 130). Only
the main thread can set signal handlers: elsewhere (main() called from a thread) the block runs
with the handlers it has; so does a signal the process was told to ignore (`nohup` ignores SIGHUP).
"""
from __future__ import annotations

import signal
import threading
from contextlib import ExitStack, contextmanager

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def terminated_as_interrupted():
    """SIGTERM and SIGHUP raise KeyboardInterrupt while the block runs; the previous handlers are restored after."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    with ExitStack() as restore:
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                if signal.getsignal(number) is signal.SIG_DFL:  # one ignored stays so: `nohup fruits ...` outlives its session
                    restore.callback(signal.signal, number, signal.signal(number, interrupt))
        yield
