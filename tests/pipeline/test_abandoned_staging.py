"""The staging files that killed runs leave (SIGKILL, a second Ctrl-C during the cleanup of the
first, measured: `_staging-pca-*` stayed) are removed by the next `fruits run-local` into the same
--output, whatever its run id, unless a running process holds that folder; nothing else goes."""
from __future__ import annotations

from pathlib import Path

import pytest

from fruits.cli import main
from fruits.steps.run_folder import holding_run_folder, remove_abandoned_staging

from .test_run_folder import four_images, refuse_spark  # noqa: F401 - a fixture


def killed_run(folder: Path) -> Path:
    """What a run killed during step 2 leaves: its lock file, step 1's outputs, a staged pca/ and a staged manifest."""
    (folder / "features").mkdir(parents=True)
    (folder / "features" / "part-0.parquet").write_bytes(b"features")
    (folder / "extract_summary.json").write_text("{}")
    (folder / "_staging-pca-0badcafe" / "matrix.parquet").mkdir(parents=True)
    (folder / "_staging-manifest.json-1234abcd").write_text("{")
    (folder / "._staging-manifest.json-1234abcd.crc").write_bytes(b"crc")
    (folder / ".lock").touch()
    return folder


def test_only_the_staging_of_folders_no_process_holds_is_removed(tmp_path):
    output = tmp_path / "out"
    killed, held, mine = killed_run(output / "killed"), killed_run(output / "held"), killed_run(output / "mine")
    (output / "notes" / "_staging-draft").mkdir(parents=True)  # no .lock: not a folder a run wrote
    with holding_run_folder(held, "held"):  # another process's run, under way
        removed = remove_abandoned_staging(output, keep=mine)
    assert sorted(path.name for path in removed) == ["._staging-manifest.json-1234abcd.crc", "_staging-manifest.json-1234abcd",
                                                     "_staging-pca-0badcafe"]
    assert sorted(path.name for path in killed.iterdir()) == [".lock", "extract_summary.json", "features"]
    assert (killed / "features" / "part-0.parquet").read_bytes() == b"features"
    for untouched in (held, mine):
        assert (untouched / "_staging-pca-0badcafe").is_dir() and (untouched / "_staging-manifest.json-1234abcd").is_file()
    assert (output / "notes" / "_staging-draft").is_dir()


def test_run_local_removes_them_before_spark_starts(four_images, weights_file, tmp_path, monkeypatch):
    killed = killed_run(tmp_path / "out" / "run-killed")
    refuse_spark(monkeypatch)
    with pytest.raises(AssertionError, match="Spark was started"):
        main(["run-local", "--quiet", "--images", str(four_images), "--weights", str(weights_file),
              "--output", str(tmp_path / "out"), "--run-id", "run-next"])
    assert sorted(path.name for path in killed.iterdir()) == [".lock", "extract_summary.json", "features"]
