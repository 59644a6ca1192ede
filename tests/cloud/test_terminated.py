"""SIGTERM and SIGHUP end every fruits command as Ctrl-C does (fruits.cli, fruits.terminated): its
cleanup runs, then `fruits: interrupted`, 130. No AWS, no Spark: a command is replaced by one that
signals itself inside a try/finally, as fetch_results removes its hidden staging in a finally."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

SIGNALLED_COMMAND = """
import os, signal, sys, time
from pathlib import Path
from fruits.commands import cloud

number, marker, ignore_hangups = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "nohup"
for each in (signal.SIGTERM, signal.SIGHUP):  # as a terminal session starts a command; CI may run under nohup
    signal.signal(each, signal.SIG_IGN if ignore_hangups and each == signal.SIGHUP else signal.SIG_DFL)

def results(args):
    try:
        os.kill(os.getpid(), number)
        time.sleep(1)  # the signal's handler runs here
        marker.write_text("went on")
    finally:
        with marker.open("a") as log:
            log.write(" cleaned up")

cloud.results = results
from fruits.cli import main
sys.exit(main(["results", "run-1"]))
"""


def signalled(number: int, marker, nohup: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SIGNALLED_COMMAND, str(int(number)), str(marker), "nohup" if nohup else "-"],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_command_runs_its_cleanup_and_says_it_was_interrupted(number, tmp_path):
    """Their default action ended `fruits results` past the finally that removes its fetch's hidden
    staging (exit -15 or -1, no line of ours)."""
    result = signalled(number, tmp_path / "marker")
    assert (result.returncode, result.stderr.strip().splitlines()[-1:]) == (130, ["fruits: interrupted"]), result.stderr
    assert (tmp_path / "marker").read_text() == " cleaned up"


def test_a_command_started_with_nohup_outlives_its_session(tmp_path):
    """`nohup fruits run-local ... &` ignores SIGHUP: taking it as Ctrl-C would end the run when the
    session closes."""
    result = signalled(signal.SIGHUP, tmp_path / "marker", nohup=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "marker").read_text() == "went on cleaned up"


def test_main_runs_in_a_thread_that_cannot_set_signal_handlers(capsys, monkeypatch, tmp_path):
    """Only the main thread may set a signal handler: main() called from another one must still run."""
    from fruits.cli import main

    monkeypatch.chdir(tmp_path)  # no output/platform.json: Terraform's default cluster
    monkeypatch.delenv("FRUITS_PLATFORM", raising=False)

    before = signal.getsignal(signal.SIGTERM)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("rc", main(["cost", "--images", "1000"])))
    thread.start()
    thread.join(60)
    assert outcome == {"rc": 0} and "USD" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is before
