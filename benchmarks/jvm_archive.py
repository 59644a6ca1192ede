"""Benchmark of the embedded JVM's class-data archive (fruits.jvm_archive), in one run on the same
cores: the extract job with nothing new to featurize (the fixed part of every incremental run:
a fresh process, Spark's first jobs, the store read) with the archive against without it.

A first run fills a feature store with the images' features; then, alternately (so that a drift
of the machine's load weighs on both alike), runs without and with the archive, each its own
process on the same images and store. Prints the medians and their ratios.

Usage: .venv/bin/python benchmarks/jvm_archive.py [--images FOLDER] [--repeats 3] [--out output/benchmarks]
(the archive: `make .tools/jvm/spark-classes.jsa.json`, or $FRUITS_JVM_ARCHIVE).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from fruits.jvm_archive import ARCHIVE_ENV, archive_path, is_complete
from fruits.settings import DEFAULT_IMAGES

from environment import load_average, machine_record, write_report  # benchmarks/environment.py
from incremental_run import PROJECT, extract  # benchmarks/incremental_run.py


def timed_run(images: Path, work: Path, run_id: str, archive: str) -> dict:
    """One extract job in its own process, $FRUITS_JVM_ARCHIVE=archive ("" for none)."""
    os.environ[ARCHIVE_ENV] = archive
    return extract(images, work / run_id, work / "store", run_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="one sub-folder per fruit (default: the sample)")
    parser.add_argument("--repeats", type=int, choices=range(1, 11), default=3, metavar="1..10", help="runs of each kind (default 3)")
    parser.add_argument("--out", type=Path, default=PROJECT / "output" / "benchmarks", help="where the report goes")
    options = parser.parse_args()
    archive = archive_path()
    if archive is None or not is_complete(archive):
        raise SystemExit(f"no complete JVM class archive at {archive}: run `make .tools/jvm/spark-classes.jsa.json` first")
    machine, load_before = machine_record(), load_average()
    runs = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="fruits-jvm-archive-") as scratch:
        work = Path(scratch)
        first = timed_run(options.images, work, "fill-the-store", str(archive))
        print(f"store filled: {first['featurized_now']} images featurized in {first['step_seconds']} s", flush=True)
        for repeat in range(options.repeats):
            for kind, value in (("without", ""), ("with", str(archive))):
                run = timed_run(options.images, work, f"{kind}-{repeat}", value)
                if run["featurized_now"]:
                    raise SystemExit(f"run {kind}-{repeat} featurized {run['featurized_now']} images: not a nothing-new run")
                runs[kind].append(run)
                print(f"  {kind} the archive, run {repeat + 1}: step {run['step_seconds']} s, "
                      f"process {run['process_seconds']} s", flush=True)
    median = {kind: {measure: statistics.median(run[measure] for run in kind_runs)
                     for measure in ("step_seconds", "process_seconds")} for kind, kind_runs in runs.items()}
    figures = {**machine, "images": first["images"], "repeats": options.repeats, "archive_bytes": archive.stat().st_size,
               "load_before": load_before, "load_after": load_average(), "median": median, "runs": runs,
               "step_ratio": round(median["with"]["step_seconds"] / median["without"]["step_seconds"], 3),
               "process_ratio": round(median["with"]["process_seconds"] / median["without"]["process_seconds"], 3)}
    text = "\n".join([
        f"The extract job with nothing new, {figures['images']} images, {machine['cores']} cores, median of "
        f"{options.repeats} runs each, load average {load_before} before, {figures['load_after']} after ({machine['date']})", "",
        "| JVM | extract step, s | process (with Spark's start), s |", "| --- | ---: | ---: |",
        *(f"| {kind} the class archive | {median[kind]['step_seconds']:.1f} | {median[kind]['process_seconds']:.1f} |"
          for kind in ("without", "with")), "",
        f"with / without: step {figures['step_ratio']:.3f}, process {figures['process_ratio']:.3f} "
        f"(archive: {figures['archive_bytes'] / 1e6:.0f} MB)"])
    print("\n" + text)
    write_report(options.out, "jvm_archive", text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
