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


def fake_dnf(folder, python_target=None, fails=False):
    """A `dnf` that records its arguments and, like AL2023's, puts python3.11 in place (a symlink
    to `python_target`), or fails. Returns (dnf path, log path, where python3.11 appears)."""
    folder.mkdir(parents=True, exist_ok=True)
    log, python = folder / "dnf.log", folder / "usr-bin" / "python3.11"
    install = "" if fails else f'mkdir -p "{python.parent}" && ln -sf "{python_target}" "{python}"\n'
    script = folder / "dnf"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n{install}exit {1 if fails else 0}\n')
    script.chmod(0o755)
    return script, log, python


def test_a_node_without_python311_gets_it_from_dnf_first(tmp_path):
    dnf, log, python = fake_dnf(tmp_path / "dnf", python_target=venv(tmp_path / "node"))
    lock = tmp_path / "cluster.lock"
    lock.write_text("six==1.17.0\n")
    result = subprocess.run(["bash", str(SCRIPT), str(lock)], capture_output=True, text=True, timeout=300, env={
        **os.environ, "FRUITS_PYTHON": str(python), "FRUITS_DNF": str(dnf), "FRUITS_NO_SUDO": "1"})
    assert log.read_text().split() == ["install", "-y", "-q", "python3.11", "python3.11-pip"]
    assert "bootstrap: installing 1 pinned packages into Python 3.11" in result.stdout, result.stderr
    assert "smoke test failed" in result.stderr  # six alone lacks the jobs' imports: it got that far


def test_dnf_failing_to_install_python311_fails_the_bootstrap_clearly(tmp_path):
    dnf, log, python = fake_dnf(tmp_path / "dnf", fails=True)
    result = subprocess.run(["bash", str(SCRIPT), str(LOCK)], capture_output=True, text=True, timeout=60, env={
        **os.environ, "FRUITS_PYTHON": str(python), "FRUITS_DNF": str(dnf), "FRUITS_NO_SUDO": "1"})
    assert result.returncode == 1
    assert f"bootstrap: {python} is missing and '{dnf} install python3.11 python3.11-pip' failed" in result.stderr


def test_a_node_with_python311_and_pip_does_not_call_dnf(tmp_path):
    dnf, log, _ = fake_dnf(tmp_path / "dnf", fails=True)
    lock = tmp_path / "cluster.lock"
    lock.write_text("six==1.17.0\n")
    result = subprocess.run(["bash", str(SCRIPT), str(lock)], capture_output=True, text=True, timeout=300, env={
        **os.environ, "FRUITS_PYTHON": str(venv(tmp_path / "node")), "FRUITS_DNF": str(dnf), "FRUITS_NO_SUDO": "1"})
    assert not log.exists() and "bootstrap: installing 1 pinned packages" in result.stdout, result.stderr
