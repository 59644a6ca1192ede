"""`fruits run-local` with its feature store, as a user runs it (its own process): on by default,
beside the runs (OUTPUT/feature-store/IMAGES_FOLDER_NAME/); a second run featurizes only the new
images and says so; --purge erases a deleted image's features; the options are checked before
Spark starts."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .images import copy_subset, without_root_privileges
from .store_checks import hashes_on_disk


def first_images(grown: Path, photos: Path, count: int) -> Path:
    """`photos`: the first `count` images of each fruit of `grown` (the others come later)."""
    for label in grown.iterdir():
        (photos / label.name).mkdir(parents=True)
        for image in sorted(label.iterdir())[:count]:
            shutil.copy(image, photos / label.name / image.name)
    return photos


def run_local(*arguments, unprivileged: bool = False):
    command = [sys.executable, "-m", "fruits", "run-local", *arguments]
    return subprocess.run(without_root_privileges(command) if unprivileged else command, capture_output=True, text=True)


@pytest.mark.slow
def test_a_second_run_featurizes_only_the_new_images_and_purge_erases_a_deleted_one(sample_images, weights_file, tmp_path):
    grown = copy_subset(sample_images, tmp_path / "grown", per_class=4, classes=3)
    photos = first_images(grown, tmp_path / "photos", 3)
    common = ["--quiet", "--images", str(photos), "--weights", str(weights_file), "--output", str(tmp_path / "out"), "--k", "3"]

    first = run_local(*common, "--run-id", "first")
    assert first.returncode == 0, first.stderr[-3000:]
    store = tmp_path / "out" / "feature-store" / "photos"
    assert "features    9 featurized now, 0 from the feature store" in first.stdout

    for label in grown.iterdir():  # one new image per fruit, and one image deleted
        shutil.copy(sorted(label.iterdir())[3], photos / label.name)
    deleted = sorted(photos.rglob("*.jpg"))[0]
    erased = hashlib.sha256(deleted.read_bytes()).hexdigest()
    deleted.unlink()
    second = run_local(*common, "--run-id", "second", "--purge")
    assert second.returncode == 0, second.stderr[-3000:]
    manifest = json.loads((tmp_path / "out" / "second" / "manifest.json").read_text())
    report = manifest["feature_store"]
    assert (manifest["featurized"], report["featurized_now"], report["from_store"], report["purged"]) == (11, 3, 8, 1)
    assert report["root"] == f"file:{store}" and report["mode"] == "incremental"
    assert (f"features    3 featurized now, 8 from the feature store file:{store} (8 of them unchanged, not read again), "
            "1 erased (--purge)") in second.stdout
    assert erased not in hashes_on_disk(store) and len(hashes_on_disk(store)) == 11


@pytest.mark.parametrize("store, message", [
    ("/proc/no-store-here", "--feature-store /proc/no-store-here: cannot write in /proc"),
    ("{tmp}/a-file", "--feature-store {tmp}/a-file: {tmp}/a-file is a file, not a folder"),
])
def test_a_feature_store_it_cannot_use_is_refused_before_spark_starts(store, message, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "images").mkdir()
    result = run_local("--images", str(tmp_path / "images"), "--output", str(tmp_path / "out"), "--full-recompute",
                       "--feature-store", store.format(tmp=tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"fruits: error: {message.format(tmp=tmp_path)}")
    assert not (tmp_path / "out").exists()  # Spark never started: nothing written


@pytest.mark.slow
def test_a_store_whose_key_folder_is_not_ours_is_refused_before_featurizing(sample_images, weights_file, tmp_path):
    """A team's store: the key folder that another user's run made is read-only to us. The root
    passes the early check, so the key folder must be checked too, or the write fails after the
    featurizing with Java's traceback."""
    grown = copy_subset(sample_images, tmp_path / "grown", per_class=3, classes=2)
    photos = first_images(grown, tmp_path / "photos", 2)
    store = tmp_path / "store"
    common = ["--quiet", "--images", str(photos), "--weights", str(weights_file), "--output", str(tmp_path / "out"),
              "--k", "2", "--feature-store", str(store)]
    assert (first := run_local(*common, "--run-id", "first")).returncode == 0, first.stderr[-3000:]
    key_folder = next(path for path in store.iterdir() if (path / "key.json").is_file())
    read_only = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    for folder, _, _ in os.walk(key_folder):
        os.chmod(folder, read_only)
    for label in grown.iterdir():  # a new photo per fruit: the run has something to store
        shutil.copy(sorted(label.iterdir())[2], photos / label.name)

    second = run_local(*common, "--run-id", "second", unprivileged=True)

    assert second.returncode == 1 and "Traceback" not in second.stderr, second.stderr[-2500:]
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith("fruits: error: --feature-store ") and "cannot write in" in last and key_folder.name in last, last
    assert not (tmp_path / "out" / "second" / "manifest.json").exists()
