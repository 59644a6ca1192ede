"""Hostile input, round 7: run-local refuses, in one line and before Spark starts, an --output that
is a URI (it wrote into ./s3:/... or ./file:/... of the current folder) and a path with a name
longer than a file system takes (a traceback, or a Java one once Spark and the weights had loaded)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fruits.commands.local import local_output

LONG = "x" * 300


def every_entry(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture
def workplace(tmp_path, monkeypatch) -> Path:
    """photos/ (two labels), w.h5 and nothing else, as the current folder."""
    for label in ("apple", "kiwi"):
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / "1.jpg").write_bytes(b"a photo, as far as the checks before Spark can tell")
    (tmp_path / "w.h5").write_bytes(b"weights, as far as the checks before Spark can tell")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_local(*arguments: str) -> int:
    from fruits.cli import main

    return main(["run-local", "--images", "photos", "--weights", "w.h5", "--run-id", "r", *arguments])


@pytest.mark.parametrize("output", ["s3://my-bucket/results", "hdfs://namenode/results", "s3a://b/x"])
def test_an_output_uri_is_refused_not_made_a_local_folder(workplace, output, capsys):
    before = every_entry(workplace)
    assert run_local("--output", output) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"--output {output}: run-local writes to a local folder" in error[0], error
    assert every_entry(workplace) == before


def test_a_file_uri_output_is_that_folder_and_a_colon_is_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert local_output(f"file://{tmp_path}/out") == f"{tmp_path}/out"
    assert local_output(f"file:{tmp_path}/out") == f"{tmp_path}/out"
    assert local_output("out:2026") == f"{tmp_path}/out:2026"


@pytest.mark.parametrize("option", ["--output", "--feature-store", "--images", "--weights"])
def test_a_name_too_long_for_the_file_system_is_one_line_before_any_work(workplace, option, capsys):
    before = every_entry(workplace)
    value = {"--output": f"out/{LONG}", "--feature-store": f"store/{LONG}/y", "--images": f"/tmp/{LONG}", "--weights": f"{LONG}.h5"}[option]
    arguments = [option, value]
    if option != "--output":
        arguments += ["--output", "out"]
    assert run_local(*arguments) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"the name '{'x' * 40}'... is " in error[0] and "more than the 255 a file system takes" in error[0], error
    assert every_entry(workplace) == before
