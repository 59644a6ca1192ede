"""Hostile input, round 7: run-local (and `fruits results --to`) refuses, in one line and before Spark starts, an --output that
is a URI (it wrote into ./s3:/... or ./file:/... of the current folder) and a path with a name
longer than a file system takes (a traceback, or a Java one once Spark and the weights had loaded)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fruits.settings import local_folder

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


@pytest.mark.parametrize("output", ["s3://my-bucket/results", "hdfs://namenode/results", "gs://b/x", "file://server/share/x"])
def test_an_output_uri_is_refused_not_made_a_local_folder(workplace, output, capsys):
    before = every_entry(workplace)
    assert run_local("--output", output) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"--output {output}: run-local writes to a local folder (a path or file:///...), not to a URI" in error[0], error
    assert every_entry(workplace) == before


def test_results_to_a_uri_is_refused_before_any_aws_call(tmp_path, monkeypatch, capsys):
    """`fruits results RUN --to s3://b/x` downloaded into ./s3:/b/x/RUN; --to file:///x checked /x
    and wrote ./file:/x. Refused before the platform file is even read (none here)."""
    from fruits.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FRUITS_PLATFORM", str(tmp_path / "no-platform.json"))
    assert main(["results", "run-1", "--to", "s3://b/x"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["fruits: error: --to s3://b/x: fruits results writes to a local folder (a path or file:///...), not to a URI"]
    assert list(tmp_path.iterdir()) == []


def test_a_rehearsal_into_a_uri_is_refused(tmp_path, monkeypatch, capsys):
    from fruits.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["rehearse", "--work-dir", "s3://b/rehearsal"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["fruits: error: --work-dir s3://b/rehearsal: fruits rehearse writes to a local folder (a path or file:///...), not to a URI"]
    assert list(tmp_path.iterdir()) == []


def test_a_file_uri_output_is_that_folder_and_a_colon_is_a_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for uri in (f"file://{tmp_path}/out", f"file:{tmp_path}/out", f"file://localhost{tmp_path}/out", "out"):
        assert local_folder(uri, "--output", "run-local") == f"{tmp_path}/out", uri
    assert local_folder("out:2026", "--output", "run-local") == f"{tmp_path}/out:2026"
    assert local_folder("a:/b", "--output", "run-local") == f"{tmp_path}/a:/b"  # b in a folder named a:


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


def test_a_file_uri_with_a_host_is_refused_where_spark_gets_it_as_given(tmp_path):
    """Python read file://HOST/x as //HOST/x, a path on this machine ("/HOST/x"): the write check
    made its scratch folder in / and passed; Hadoop then stops the job with "Wrong FS"."""
    from fruits.errors import FruitsError
    from fruits.options import require_writable_folder

    for uri in ("file://server/share/out", f"file://localhost{tmp_path}/out"):
        with pytest.raises(FruitsError, match="a file: URI with a host .* give a path or file:///PATH"):
            require_writable_folder(uri, "--output")
    require_writable_folder(f"file://{tmp_path}/out", "--output")  # file:///... is this machine's
    assert not (tmp_path / "out").exists()


def test_images_at_file_localhost_are_the_local_folder_and_another_host_is_refused(workplace, capsys):
    from fruits.errors import FruitsError
    from fruits.settings import resolve_images

    assert resolve_images(f"file://localhost{workplace}/photos") == str((workplace / "photos").resolve())
    with pytest.raises(FruitsError, match=r"--images file://server/photos: a file: URI with a host \('server'\)"):
        resolve_images("file://server/photos")
    before = every_entry(workplace)
    assert run_local("--images", "file://server/photos", "--output", "out") == 1
    assert run_local("--feature-store", "file://server/store", "--output", "out") == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all("a file: URI with a host ('server')" in line for line in errors), errors
    assert every_entry(workplace) == before
