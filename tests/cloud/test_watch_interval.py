"""`fruits watch --interval` has a floor of 1 s: below it (0.5, 1e-9 were accepted) each refresh's
AWS calls (the execution, its history, the cluster) followed each other as fast as AWS answered,
against the account's throttling quotas. The real CLI in its own process; no AWS is reached: the
interval is refused by argparse (status 2), and the bound passes it, to stop at the missing platform."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def watch_every(interval: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "FRUITS_PLATFORM": "/nonexistent/platform.json"}
    return subprocess.run([sys.executable, "-m", "fruits", "watch", "run-x", "--interval", interval],
                          capture_output=True, text=True, env=environment, timeout=60)


@pytest.mark.parametrize("interval", ["0.5", "1e-9", "0.999"])
def test_an_interval_below_a_second_is_refused(interval):
    result = watch_every(interval)
    assert result.returncode == 2
    assert f"argument --interval: must be at least 1 second (each refresh makes several AWS calls, which AWS throttles " \
           f"per account), got '{interval}'" in result.stderr


def test_the_bound_is_accepted():
    result = watch_every("1")
    assert result.returncode == 1 and "no platform file /nonexistent/platform.json" in result.stderr, result.stderr
