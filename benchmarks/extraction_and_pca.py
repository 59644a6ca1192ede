"""Benchmark, in one run on the same cores (prints ratios, asserts nothing):

1. images/s of the Spark extraction (embedded Spark, local[2]) against a plain single-process
   Keras loop (same decoding, `predict_on_batch` in chunks of 32) on the same 1,000 sample images,
   and the peak memory of each Spark Python worker;
2. the PCA step (variance target 0.95) on synthetic 25k, 50k and 100k x 1280 matrices: how its
   time grows with the row count (it should be about linear).

Usage: .venv/bin/python benchmarks/extraction_and_pca.py [--images N] [--pca-rows 25000,50000,100000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fruits.input_files import first_per_label, list_local_folder
from fruits.settings import DEFAULT_IMAGES, DEFAULT_WEIGHTS


def sample_files(count: int) -> list[Path]:
    """`count` sample images, about as many of each class: the first ones by name."""
    listing = list_local_folder(DEFAULT_IMAGES)
    per_class = -(-count // len({image.label for image in listing.accepted}))
    sample = first_per_label(listing, per_class)
    return [Path(sample.path_of(image.relative)) for image in sample.accepted[:count]]


def plain_keras_images_per_second(files: list[Path], batch_size: int = 32) -> float:
    from fruits.decode import decode_image
    from fruits.model import build_model, configure_tensorflow, featurize, load_weights

    configure_tensorflow(2)  # the single process may use both cores
    model = build_model(load_weights(str(DEFAULT_WEIGHTS)))
    featurize(model, np.stack([decode_image(files[0].read_bytes())]))  # warm-up
    started = time.monotonic()
    for start in range(0, len(files), batch_size):
        chunk = np.stack([decode_image(f.read_bytes()) for f in files[start:start + batch_size]])
        featurize(model, chunk, batch_size)
    return len(files) / (time.monotonic() - started)


def python_worker_peak_rss_mib() -> list[float]:
    """Peak resident memory (VmHWM) of every live PySpark Python worker process."""
    peaks = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"pyspark.daemon" not in cmdline and b"pyspark.worker" not in cmdline:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return sorted(peaks)


def completed_stages(spark) -> dict[int, float]:
    """Wall seconds of each completed stage, from the Spark UI's REST API (on loopback)."""
    import json
    import urllib.request
    from datetime import datetime

    url = f"{spark.sparkContext.uiWebUrl}/api/v1/applications/{spark.sparkContext.applicationId}/stages?status=complete"
    with urllib.request.urlopen(url, timeout=10) as response:
        stages = json.load(response)

    def parse(text):
        return datetime.strptime(text.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")

    return {s["stageId"]: (parse(s["completionTime"]) - parse(s["submissionTime"])).total_seconds() for s in stages}


def spark_extraction(spark, folder: Path, output: Path, count: int) -> list[tuple[float, float]]:
    """For a first and a second run on the same session: (images/s of the whole step,
    images/s of its model stage, i.e. the longest stage: decode + inference on every image)."""
    from fruits.steps.extract_step import ExtractArgs, run_extract

    rates = []
    for attempt in range(2):
        before = completed_stages(spark)
        started = time.monotonic()
        run_extract(spark, ExtractArgs(images=str(folder), output=str(output / f"run{attempt}"), weights=str(DEFAULT_WEIGHTS)))
        whole = time.monotonic() - started
        stage = max(seconds for stage_id, seconds in completed_stages(spark).items() if stage_id not in before)
        rates.append((count / whole, count / stage))
    return rates


def synthetic_features(spark, rows: int, folder: Path) -> str:
    """rows x 1280 float features of rank ~64 plus noise, written as a step-1 Parquet output."""
    import pandas as pd

    def generate(batches):
        for batch in batches:
            rng = np.random.default_rng(int(batch["id"].iloc[0]) if len(batch) else 0)
            basis = np.random.default_rng(0).normal(size=(64, 1280))
            values = rng.normal(size=(len(batch), 64)) @ basis + 0.1 * rng.normal(size=(len(batch), 1280))
            yield pd.DataFrame({"path": batch["id"].astype(str), "label": (batch["id"] % 10).astype(str),
                                "features": list(values.astype(np.float32))})

    path = str(folder / f"synthetic-{rows}" / "features")
    spark.range(rows, numPartitions=8).mapInPandas(generate, "path string, label string, features array<float>").write.parquet(path)
    return path


def pca_seconds(spark, rows: int, folder: Path) -> tuple[float, int]:
    import json

    from fruits.steps.reduce_step import ReduceArgs, run_reduce

    synthetic_features(spark, rows, folder)
    output = folder / f"synthetic-{rows}"
    (output / "extract_summary.json").write_text(json.dumps({"images_uri": "synthetic", "images": rows, "rejected": 0,
                                                            "rejected_by_reason": {}, "weights": {}}))
    started = time.monotonic()
    manifest = run_reduce(spark, ReduceArgs(output=str(output), variance=0.95))
    return time.monotonic() - started, manifest["k"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--pca-rows", default="25000,50000,100000", help="comma-separated row counts, or 'none'")
    args = parser.parse_args()
    from fruits.session import build_session

    work = Path(tempfile.mkdtemp(prefix="fruits-bench-"))
    try:
        files = sample_files(args.images)
        folder = work / "images"
        for f in files:
            (folder / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, folder / f.parent.name / f.name)
        print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}", flush=True)
        keras_rate = plain_keras_images_per_second(files)
        print(f"plain Keras, 1 process, predict_on_batch(32):  {keras_rate:6.1f} images/s", flush=True)

        spark = build_session("fruits-benchmark", master="local[2]")
        (cold, cold_stage), (warm, warm_stage) = spark_extraction(spark, folder, work / "out", len(files))
        peaks = python_worker_peak_rss_mib()
        print(f"Spark local[2], first run:  whole step {cold:6.1f} images/s, model stage {cold_stage:6.1f} images/s")
        print(f"Spark local[2], second run: whole step {warm:6.1f} images/s, model stage {warm_stage:6.1f} images/s")
        print("  (whole step: listing, weights load and broadcast, model build on each worker, inference, writes;")
        print("   model stage: decode + inference on every image, the part plain Keras is timed on)")
        print(f"ratio Spark / plain Keras, model stage: {cold_stage / keras_rate:.2f} (first run), {warm_stage / keras_rate:.2f} (second run)")
        print(f"ratio Spark / plain Keras, whole step:  {cold / keras_rate:.2f} (first run), {warm / keras_rate:.2f} (second run)")
        print(f"peak memory per Python worker: {', '.join(f'{p:.0f} MiB' for p in peaks) or 'n/a'}", flush=True)

        sizes = [] if args.pca_rows == "none" else [int(n) for n in args.pca_rows.split(",")]
        timings = []
        for rows in sizes:
            seconds, k = pca_seconds(spark, rows, work)
            timings.append(seconds)
            print(f"PCA step on {rows:>7} x 1280 (variance 0.95 -> k={k}): {seconds:6.1f} s", flush=True)
        for rows, seconds in zip(sizes[1:], timings[1:]):
            print(f"  {rows // sizes[0]}x the rows -> {seconds / timings[0]:.2f}x the time")
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
