"""The EMR bootstrap script, run for real against throwaway virtualenvs (standing in for the
nodes' Python 3.11): the full lock installs and passes the smoke test, a second run is
harmless, and a broken pin, a pyspark pin or a missing package fail the bootstrap."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "bootstrap" / "install-python-deps.sh"
LOCK = PROJECT_ROOT / "requirements" / "cluster.lock"


def venv(folder):
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder / "bin" / "python"


def bootstrap(python, lock) -> subprocess.CompletedProcess:
    environment = {**os.environ, "FRUITS_PYTHON": str(python), "FRUITS_NO_SUDO": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(["bash", str(SCRIPT), str(lock)], capture_output=True, text=True, env=environment, timeout=900)


def test_shellcheck_is_clean():
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_full_lock_installs_passes_the_smoke_test_and_can_run_twice(tmp_path):
    python = venv(tmp_path / "node")
    first = bootstrap(python, LOCK)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "bootstrap: smoke test passed" in first.stdout
    started = time.monotonic()
    second = bootstrap(python, LOCK)
    assert second.returncode == 0 and "smoke test passed" in second.stdout
    assert time.monotonic() - started < 60  # nothing reinstalled
    pyspark = subprocess.run([str(python), "-c", "import pyspark"], capture_output=True)
    assert pyspark.returncode != 0  # EMR's Spark is left alone: the bootstrap installs no pyspark


def test_a_pin_that_does_not_exist_fails_the_bootstrap(tmp_path):
    lock = tmp_path / "cluster.lock"
    lock.write_text("six==0.0.1.does.not.exist\n")
    result = bootstrap(venv(tmp_path / "node"), lock)
    assert result.returncode != 0
    assert "smoke test passed" not in result.stdout


def test_a_lock_that_pins_pyspark_is_refused(tmp_path):
    lock = tmp_path / "cluster.lock"
    lock.write_text("six==1.17.0\npyspark==3.5.6\n")
    result = bootstrap(venv(tmp_path / "node"), lock)
    assert result.returncode == 1
    assert "it pins pyspark, and EMR provides Spark itself" in result.stderr


def test_a_missing_package_fails_the_smoke_test(tmp_path):
    lock = tmp_path / "cluster.lock"
    lock.write_text("six==1.17.0\n")  # installs fine, but the jobs' imports are missing
    result = bootstrap(venv(tmp_path / "node"), lock)
    assert result.returncode != 0
    assert "smoke test failed" in result.stderr and "import tensorflow" in result.stderr
