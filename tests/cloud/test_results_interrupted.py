"""`fruits results` killed mid-download (SIGKILL: no handler runs) leaves no truncated file under
a final name: the previous fetch stays whole, the partial files are only in the hidden staging
folder beside it, and the next fetch succeeds, never reads them and removes them (not those of
a fetch under way)."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cloud.conftest import BUCKET
from tests.conftest import PROJECT_ROOT
from tests.pipeline.kill_points import KILL_AT, sitecustomize_folder

RUN = "run-killed-fetch"
PREFIX = f"results/{RUN}/"
BIG_MATRIX = b"path,label,pc_1\n" + b"".join(b"s3://b/images/apple/%07d.jpg,apple,0.%07d\n" % (i, i) for i in range(90_000))


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_fetch_killed_mid_download_leaves_the_previous_fetch_whole_and_no_truncated_file(fruits, moto, platform_file, tmp_path):
    s3 = moto.client("s3")
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "manifest.json", Body=json.dumps({"featurized": 2, "k": 1}).encode())
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "pca/matrix.csv", Body=b"path,label,pc_1\na.jpg,apple,0.5\n")
    assert fruits("results", RUN, "--to", str(tmp_path)).returncode == 0
    target = tmp_path / RUN
    previous = files_of(target)

    s3.put_object(Bucket=BUCKET, Key=PREFIX + "manifest.json", Body=json.dumps({"featurized": 90000, "k": 1}).encode())
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "pca/matrix.csv", Body=BIG_MATRIX)  # about 4 MB: many 256 KiB writes
    # SIGKILLed at s3transfer's third write of a downloaded chunk (256 KiB): the matrix is partly on disk.
    hook = sitecustomize_folder(tmp_path / "hook")
    environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": moto.endpoint, "FRUITS_PLATFORM": str(platform_file),
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", KILL_AT: "s3transfer.download:IOWriteTask._main:3",
                   "PYTHONPATH": os.pathsep.join([str(hook), str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    killed = subprocess.run([sys.executable, "-m", "fruits", "results", RUN, "--to", str(tmp_path)], capture_output=True, text=True,
                            env=environment, start_new_session=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert files_of(target) == previous  # nothing of the killed fetch under the final names
    partial = [path for path in tmp_path.glob(f".{RUN}.fetching-*/**/*") if path.is_file()]
    assert partial and all(0 < path.stat().st_size < len(BIG_MATRIX) for path in partial if "matrix" in path.name), partial

    live = tmp_path / f".{RUN}.fetching-0abc1234"  # another fetch's, under way: it holds its folder
    live.mkdir()
    held = os.open(live, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        again = fruits("results", RUN, "--to", str(tmp_path))
    finally:
        os.close(held)
    assert again.returncode == 0, again.stderr
    assert [path.name for path in tmp_path.glob(f".{RUN}.*")] == [live.name]  # the killed fetch's folder removed
    assert (target / "pca" / "matrix.csv").read_bytes() == BIG_MATRIX
    assert json.loads((target / "manifest.json").read_text())["featurized"] == 90000
    assert sorted(files_of(target)) == [".fetched.json", "manifest.json", "pca/matrix.csv"]


def test_a_fetch_killed_while_it_swaps_the_folders_loses_nothing(moto, platform_file, tmp_path, monkeypatch):
    """Killed between hiding the previous fetch and putting the new one in place: the folder was
    missing and the previous fetch only under a hidden name. The next fetch, even one that fails
    (the run being redone has no manifest yet), puts it back first; another target's hidden
    folders, whose names start like this one's, are not taken for its own."""
    from fruits.cloud.platform import load_platform
    from fruits.cloud.results import fetch_results
    from fruits.errors import FruitsError
    from tests.pipeline.kill_points import Killed

    s3, platform, run = moto.client("s3"), load_platform(str(platform_file)), "run-swap"
    s3.put_object(Bucket=BUCKET, Key=f"results/{run}/manifest.json", Body=b'{"k": 1}')
    target = tmp_path / run
    fetch_results(s3, platform, run, target)
    previous = files_of(target)
    other = tmp_path / f".{run}.previous-0abc1234.previous-0abc1234"  # `fruits results` of a run named run-swap.previous-0abc1234
    other.mkdir()
    (other / ".fetched.json").write_text("[]")
    original = Path.rename

    def killed_after_hiding(self, to):
        original(self, to)
        if ".previous-" in Path(to).name and self == target:
            raise Killed("between the two renames")
    monkeypatch.setattr(Path, "rename", killed_after_hiding)
    s3.put_object(Bucket=BUCKET, Key=f"results/{run}/pca/matrix.csv", Body=b"path,label\n")
    with pytest.raises(Killed):
        fetch_results(s3, platform, run, target)
    monkeypatch.setattr(Path, "rename", original)
    assert not target.exists() and [files_of(hidden) for hidden in tmp_path.glob(f".{run}.previous-????????")] == [previous]

    s3.delete_object(Bucket=BUCKET, Key=f"results/{run}/manifest.json")  # the run is being redone
    with pytest.raises(FruitsError, match="has no results yet"):
        fetch_results(s3, platform, run, target)
    assert files_of(target) == previous
    assert sorted(path.name for path in tmp_path.glob(f".{run}.*")) == [other.name]
