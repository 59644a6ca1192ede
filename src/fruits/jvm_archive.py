"""A class-data archive for the embedded Spark's JVM (JDK 17's dynamic AppCDS): the few thousand
classes a Spark job loads, parsed and verified once by a training run, then mapped by every
later local JVM instead of being loaded from Spark's jars again. A fresh local process starts
and runs its first jobs faster: on 2 cores, the extract step with nothing new 9.8 -> 7.7 s, its
process 13.7 -> 10.6 s (benchmarks/jvm_archive.py, docs/benchmarks.md). A JVM that spark-submit starts (EMR, the
rehearsal's steps) keeps the options it was given and does not use it.

Usage:
    python -m fruits.jvm_archive [PATH]   # (`make` does it) builds the archive; PATH defaults to archive_path()
    archive_options()                      # fruits.session: the JVM options, [] without a complete archive
$FRUITS_JVM_ARCHIVE names another archive; set it empty to run without one.

A truncated archive crashes the JVM that maps it (SIGBUS, JDK 17), so an archive is used only
beside its record (PATH.json, written last) and when its size is the recorded one. The build
dumps into a temporary name, waits for the JVM's exit (the dump is written then), and moves it
into place: a killed build leaves no archive that a run would map. An archive that another JDK or
another Spark wrote is refused by the JVM itself, which then runs without it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fruits.errors import FruitsError
from fruits.project import checkout_path

ARCHIVE_ENV = "FRUITS_JVM_ARCHIVE"
DUMP_ENV = "FRUITS_JVM_ARCHIVE_DUMP"  # the training run's: dump the loaded classes at exit to this path
DEFAULT_ARCHIVE = checkout_path(".tools/jvm/spark-classes.jsa")
QUIET = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]  # CDS prints its warnings (skipped classes) on stdout otherwise


def archive_path() -> Path | None:
    """$FRUITS_JVM_ARCHIVE, else the checkout's .tools/jvm/spark-classes.jsa; None when set empty."""
    value = os.environ.get(ARCHIVE_ENV)
    if value is None:
        return DEFAULT_ARCHIVE
    return Path(value).expanduser() if value.strip() else None


def record_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".json")


def archive_options() -> list[str]:
    """The options of a JVM that this process starts: dump (the training run), map a complete
    archive, or nothing."""
    dump = os.environ.get(DUMP_ENV)
    if dump:
        return [f"-XX:ArchiveClassesAtExit={dump}", *QUIET]
    archive = archive_path()
    if archive is None or has_blank(archive) or not is_complete(archive):
        return []
    return [f"-XX:SharedArchiveFile={archive}", *QUIET]


def has_blank(archive: Path) -> bool:
    """A JVM option's value cannot hold a space here: spark.driver.extraJavaOptions is split on blanks."""
    return any(character.isspace() for character in str(archive.resolve()))


def is_complete(archive: Path) -> bool:
    """The archive is there, with its record, at the recorded size."""
    try:
        recorded = json.loads(record_path(archive).read_text())["bytes"]
        return archive.is_file() and archive.stat().st_size == recorded
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build(archive: Path) -> int:
    """Runs the training workload in a child process whose JVM dumps its classes; moves the dump
    to `archive` and writes its record. Returns the archive's size in bytes."""
    if has_blank(archive):
        raise FruitsError(f"the JVM class archive's path may not contain a space: {str(archive)!r}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    record_path(archive).unlink(missing_ok=True)  # from now on, no run maps the old archive
    staged = archive.parent / f".{archive.name}.{os.getpid()}.tmp"
    staged.unlink(missing_ok=True)
    environment = {**os.environ, DUMP_ENV: str(staged.resolve()), "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-m", "fruits.jvm_archive_workload"], env=environment,
                            capture_output=True, text=True)
    if result.returncode != 0 or not staged.is_file() or staged.stat().st_size == 0:
        staged.unlink(missing_ok=True)
        raise FruitsError(f"the JVM class archive was not written (exit {result.returncode}):\n{result.stderr[-2000:]}")
    size = staged.stat().st_size
    os.replace(staged, archive)
    with tempfile.NamedTemporaryFile("w", dir=archive.parent, prefix=".record-", delete=False) as record:
        json.dump({"bytes": size}, record)  # which JDK wrote it, the JVM checks itself
    os.replace(record.name, record_path(archive))
    return size


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python -m fruits.jvm_archive [ARCHIVE_PATH]", file=sys.stderr)
        return 2
    archive = Path(argv[0]) if argv else archive_path()
    if archive is None:
        print(f"{ARCHIVE_ENV} is set empty: no archive to build", file=sys.stderr)
        return 2
    try:
        size = build(archive)
    except FruitsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"JVM class archive: {archive} ({size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
