"""Hostile input, round 6: refused runs write nothing where they were pointed. No Spark starts:
each refusal comes before it (the jobs' entry points run as real processes, as spark-submit runs them)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT


def every_entry(folder: Path) -> dict[str, int]:
    """Each entry under `folder`, hidden ones too, with its folder's or file's mtime (ns)."""
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in [folder, *folder.rglob("*")]}


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    for label in ("apple", "kiwi"):
        (folder / label).mkdir(parents=True)
        (folder / label / "1.jpg").write_bytes(b"a photo, as far as a listing can tell")
    return folder


@pytest.mark.parametrize("job", ["extract_features.py", "reduce_dimensions.py"])
@pytest.mark.parametrize("output", [".", "apple"], ids=["the-images", "a-label-folder"])
def test_a_job_pointed_at_the_images_leaves_no_lock_among_them(photos, tmp_path, job, output):
    """The job held its --output (RUN/.lock) before it checked that it was a run folder: pointed at
    the images or a label folder it was refused, and left .lock there for good, which every later
    run listed as a rejected 'photo' (measured: photos/.lock and photos/kiwi/.lock)."""
    before = every_entry(photos)
    images = ["--images", str(photos), "--weights", str(tmp_path / "w.h5")] if job == "extract_features.py" else []
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "jobs" / job), *images, "--output", str(photos / output),
                             "--run-id", "r"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    refusal = f"--images {photos} and --output" if job == "extract_features.py" else f"{photos / output if output != '.' else photos} is not a run folder"
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith(f"{job.removesuffix('.py')}: error: {refusal}")
    assert every_entry(photos) == before


@pytest.mark.parametrize(("output", "run_id"), [(".", "r"), ("apple", "r"), (".", "apple")],
                         ids=["inside-the-images", "inside-a-label-folder", "a-label-folder"])
def test_run_local_pointed_at_the_images_is_refused_before_it_writes_there(photos, tmp_path, output, run_id, capsys):
    """run-local checked that it could write in --output (a folder made and removed there) before it
    refused an --output inside the images: the images' folders changed under a listing in progress."""
    from fruits.cli import main

    (tmp_path / "w.h5").write_bytes(b"weights, as far as the checks before Spark can tell")
    before = every_entry(photos)
    assert main(["run-local", "--images", str(photos), "--weights", str(tmp_path / "w.h5"), "--output", str(photos / output),
                 "--run-id", run_id]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "overlap: the run would list its own outputs as photos" in error[0], error
    assert every_entry(photos) == before


def test_holding_a_folder_that_is_not_a_run_s_makes_no_lock_in_it(photos):
    from fruits.errors import FruitsError
    from fruits.steps.run_folder import holding_run_folder

    before = every_entry(photos)
    with pytest.raises(FruitsError, match="is not a run folder"), holding_run_folder(photos / "apple", "apple", replace=True):
        pass
    assert every_entry(photos) == before


def test_the_extract_job_refuses_a_new_run_folder_among_the_photos_before_making_it(photos, tmp_path):
    """Into a new folder below the images, the job made it and its .lock, started Spark (15 s here),
    and only then refused the overlap and removed them: meanwhile a listing of the images saw them."""
    before = every_entry(photos)
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "jobs" / "extract_features.py"), "--images", str(photos),
                             "--weights", str(tmp_path / "w.h5"), "--output", str(photos / "run"), "--run-id", "run"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"extract_features: error: --images {photos} and --output {photos / 'run'} overlap: the step replaces its outputs "
        "whole, which would erase the photos under them, and would list its own files as photos: nothing written"]
    assert every_entry(photos) == before

