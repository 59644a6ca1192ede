"""The embedded JVM's class-data archive (fruits.jvm_archive): built by a real Spark run, mapped
by a later JVM (the classes it loads come from it), and never mapped when incomplete: a
truncated archive would crash the JVM (SIGBUS)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fruits.errors import FruitsError
from fruits.jvm_archive import ARCHIVE_ENV, DUMP_ENV, archive_options, build, main, record_path

# A JVM that `fruits` starts, which prints the path of each class it loads from a dynamic archive.
START_SPARK = ("from fruits.session import build_session\n"
               "spark = build_session('jvm-archive', master='local[1]')\n"
               "spark.range(100).selectExpr('sum(id)').collect()\n"
               "spark.stop()\n")


def start_spark(tmp_path: Path, archive: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """A fresh process running a Spark job with $FRUITS_JVM_ARCHIVE=archive; its class-loading log."""
    log = tmp_path / f"classes-{len(list(tmp_path.glob('classes-*')))}.txt"
    environment = {**os.environ, ARCHIVE_ENV: archive, "PYSPARK_PYTHON": sys.executable,
                   "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={log}"}
    environment.pop(DUMP_ENV, None)
    result = subprocess.run([sys.executable, "-c", START_SPARK], env=environment, capture_output=True, text=True, timeout=300)
    return result, log.read_text().splitlines() if log.exists() else []


def from_archive(lines: list[str]) -> int:
    """How many classes the JVM took from a dynamic archive (the `top` layer over the JDK's own)."""
    return sum("shared objects file (top)" in line for line in lines)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("jvm") / "spark-classes.jsa"
    build(path)
    return path


@pytest.mark.slow  # a Spark run whose JVM dumps its classes, then JVMs that map them
def test_a_built_archive_is_mapped_by_the_next_jvm(archive, tmp_path):
    record = json.loads(record_path(archive).read_text())
    assert record["bytes"] == archive.stat().st_size > 10_000_000
    mapped, lines = start_spark(tmp_path, str(archive))
    assert mapped.returncode == 0, mapped.stderr[-2000:]
    assert from_archive(lines) > 3000  # Spark's classes, not only the JDK's
    without, lines = start_spark(tmp_path, "")
    assert without.returncode == 0, without.stderr[-2000:]
    assert from_archive(lines) == 0


@pytest.mark.slow
def test_a_truncated_archive_is_not_mapped_and_spark_still_runs(archive, tmp_path, monkeypatch):
    truncated = tmp_path / "truncated.jsa"
    truncated.write_bytes(archive.read_bytes()[:1_000_000])  # as an interrupted copy leaves it
    record_path(truncated).write_text(record_path(archive).read_text())
    monkeypatch.delenv(DUMP_ENV, raising=False)
    monkeypatch.setenv(ARCHIVE_ENV, str(truncated))
    assert archive_options() == []
    result, lines = start_spark(tmp_path, str(truncated))
    assert result.returncode == 0, result.stderr[-2000:]
    assert from_archive(lines) == 0


def test_an_archive_without_its_record_is_not_mapped(tmp_path, monkeypatch):
    archive = tmp_path / "spark-classes.jsa"
    archive.write_bytes(b"x" * 100)
    monkeypatch.delenv(DUMP_ENV, raising=False)
    monkeypatch.setenv(ARCHIVE_ENV, str(archive))
    assert archive_options() == []  # a build killed before its record
    record_path(archive).write_text(json.dumps({"bytes": 100}))
    assert archive_options()[0] == f"-XX:SharedArchiveFile={archive}"
    record_path(archive).write_text("{not json")
    assert archive_options() == []
    monkeypatch.setenv(ARCHIVE_ENV, "")
    assert archive_options() == []  # set empty: none
    spaced = tmp_path / "a b" / "spark-classes.jsa"
    spaced.parent.mkdir()
    spaced.write_bytes(b"x" * 100)
    record_path(spaced).write_text(json.dumps({"bytes": 100}))
    monkeypatch.setenv(ARCHIVE_ENV, str(spaced))
    assert archive_options() == []  # the option would be split in two: the JVM would not start


def test_the_training_run_dumps_instead_of_mapping(tmp_path, monkeypatch):
    monkeypatch.setenv(DUMP_ENV, str(tmp_path / "dump.jsa"))
    assert archive_options()[0] == f"-XX:ArchiveClassesAtExit={tmp_path / 'dump.jsa'}"


@pytest.mark.slow  # starts the training run's process
def test_a_failed_build_leaves_no_archive_to_map(tmp_path, monkeypatch):
    archive = tmp_path / "spark-classes.jsa"
    archive.write_bytes(b"old")
    record_path(archive).write_text(json.dumps({"bytes": 3}))
    monkeypatch.setenv("SPARK_HOME", str(tmp_path / "no-spark-here"))  # the training run's Spark cannot start
    with pytest.raises(FruitsError, match="JVM class archive was not written"):
        build(archive)
    assert not record_path(archive).exists()  # the old archive is not mapped any more
    assert [path.name for path in tmp_path.iterdir()] == ["spark-classes.jsa"]  # no staged dump left


def test_wrong_arguments_and_paths_are_refused(tmp_path, capsys):
    assert main(["--help"]) == 2
    assert main(["a", "b"]) == 2
    assert main([str(tmp_path / "with space" / "spark-classes.jsa")]) == 1
    assert "may not contain a space" in capsys.readouterr().err
