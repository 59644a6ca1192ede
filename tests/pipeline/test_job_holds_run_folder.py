"""A job started by hand with spark-submit into a local run folder holds that folder as
`fruits run-local` does (fruits.steps.run_folder.holding_run_folder): it took no lock, so a
run-local in the same parent folder took the job's live staging for a killed run's and removed it
(measured: an extract job's _staging-features-* removed mid-run). Two real processes: the job's
entry point, killed once checked (before its Spark has started: the lock is taken first), and
run-local's clean-up of abandoned staging, called here. On EMR (an S3 output) nothing is held."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fruits.steps.job_runner import holding_local_run_folder
from fruits.steps.run_folder import LOCK, holding_run_folder, remove_abandoned_staging
from tests.conftest import PROJECT_ROOT


def start_job(job: str, *arguments: str) -> subprocess.Popen:
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    return subprocess.Popen([sys.executable, str(PROJECT_ROOT / "jobs" / job), *arguments], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment, start_new_session=True)


def holds_lock(pid: int, lock: Path) -> bool:
    """Whether process `pid` holds an flock on `lock` (/proc/locks: read without taking it)."""
    inode = os.stat(lock).st_ino
    return any(fields[4] == str(pid) and fields[5].endswith(f":{inode}")
               for fields in (line.split() for line in Path("/proc/locks").read_text().splitlines()) if len(fields) > 5)


def test_run_local_leaves_the_staging_of_a_running_job_alone(tmp_path):
    run = tmp_path / "output" / "run-a"
    run.mkdir(parents=True)
    (run / LOCK).touch()  # an earlier run-local of run-a left it, as it does once it wrote something
    staged = run / "_staging-features-0123abcd"
    staged.mkdir()
    job = start_job("reduce_dimensions.py", "--output", str(run), "--run-id", "run-a")
    try:
        deadline = time.monotonic() + 60
        while not holds_lock(job.pid, run / LOCK) and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert holds_lock(job.pid, run / LOCK), f"the job never held {run / LOCK} (exit {job.poll()})"
        assert remove_abandoned_staging(tmp_path / "output", keep=tmp_path / "output" / "run-b") == []
        assert staged.is_dir()
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the job and anything it started (its JVM, if already there)
        job.communicate()
    assert remove_abandoned_staging(tmp_path / "output", keep=tmp_path / "output" / "run-b") == [staged]  # released by the OS


def test_a_job_into_a_folder_a_run_local_holds_is_refused_in_one_line(tmp_path):
    run = tmp_path / "output" / "run-a"
    with holding_run_folder(run, "run-a"):
        job = start_job("extract_features.py", "--images", str(tmp_path / "images"), "--output", str(run),
                        "--weights", str(tmp_path / "w.h5"), "--run-id", "run-a")
        _, stderr = job.communicate(timeout=60)
    assert job.returncode == 1
    assert stderr.strip().splitlines() == [f"extract_features: error: run run-a is being written in {run} by another fruits "
                                           "process: wait for it to end, or choose another --run-id"]


def test_a_job_writing_to_s3_holds_nothing_locally():
    with holding_local_run_folder("s3://bucket/results/run-a/", "run-a"):
        assert not Path("s3:").exists()
