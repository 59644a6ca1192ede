"""Benchmark, in one run on the same cores (prints ratios, asserts nothing):

1. images/s of the Spark extract step (embedded Spark, local[2], a fresh session per image count:
   its first run is what every EMR step is) against a plain single-process Keras loop (same
   decoding, `predict_on_batch` in chunks of 32, 2 TensorFlow threads, model built beforehand) on
   the same images, for each count of --images (default 1,000 and all 5,107 sample images), first
   and second run; with the step's own timings (`timings` of extract_summary.json: each phase on
   the driver, the workers' model build, decode and inference seconds) and the peak memory of each
   Spark Python worker;
2. optionally (--pca-rows) the PCA step on synthetic rows x 1280 matrices: how its time grows,
   and its fit against Spark ML's own `PCA.fit` on the same rows.

Usage: .venv/bin/python benchmarks/extraction_and_pca.py [--images 1000,5107] [--pca-rows 25000,50000,100000]
       [--out output/benchmarks]
Prints the tables and writes them, with the figures as JSON, to OUT/extraction.{txt,json}.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fruits.input_files import first_per_label, list_local_folder
from fruits.settings import DEFAULT_IMAGES, DEFAULT_WEIGHTS

from environment import load_average, machine_record, write_report  # benchmarks/environment.py


def sample_files(count: int) -> list[Path]:
    """`count` sample images, about as many of each class: the first ones by name (all of them
    when `count` is at least the sample's size)."""
    listing = list_local_folder(DEFAULT_IMAGES)
    if count >= len(listing.accepted):
        return [Path(listing.path_of(image.relative)) for image in listing.accepted]
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
    import urllib.request
    from datetime import datetime

    url = f"{spark.sparkContext.uiWebUrl}/api/v1/applications/{spark.sparkContext.applicationId}/stages?status=complete"
    with urllib.request.urlopen(url, timeout=10) as response:
        stages = json.load(response)

    def parse(text):
        return datetime.strptime(text.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")

    return {s["stageId"]: (parse(s["completionTime"]) - parse(s["submissionTime"])).total_seconds() for s in stages}


def spark_extraction(spark, folder: Path, output: Path, count: int) -> list[dict]:
    """A first and a second run of the extract step on the same session: each one's images/s of
    the whole step and of its model stage (the longest stage: decode + inference on every image),
    and the step's own timings."""
    from fruits.steps.extract_step import ExtractArgs, run_extract

    runs = []
    for attempt in range(2):
        before = completed_stages(spark)
        started = time.monotonic()
        summary = run_extract(spark, ExtractArgs(images=str(folder), output=str(output / f"run{attempt}"),
                                                 weights=str(DEFAULT_WEIGHTS)))
        whole = time.monotonic() - started
        stage = max(seconds for stage_id, seconds in completed_stages(spark).items() if stage_id not in before)
        runs.append({"whole_step": count / whole, "model_stage": count / stage, "seconds": round(whole, 1),
                     "timings": summary["timings"]})
    return runs


def measure(count: int, work: Path) -> dict:
    """Plain Keras, then a fresh Spark session's first and second run, on `count` sample images."""
    from fruits.session import build_session

    files = sample_files(count)
    folder = work / f"images-{len(files)}"
    for f in files:
        (folder / f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder / f.parent.name / f.name)
    keras_rate = plain_keras_images_per_second(files)
    spark = build_session(f"fruits-benchmark-{len(files)}", master="local[2]")
    try:
        first, second = spark_extraction(spark, folder, work / f"out-{len(files)}", len(files))
        peaks = python_worker_peak_rss_mib()
    finally:
        spark.stop()
    return {"images": len(files), "plain_keras": keras_rate, "first": first, "second": second, "worker_peak_mib": peaks}


def extraction_table(result: dict) -> list[str]:
    keras = result["plain_keras"]
    rows = [("plain Keras, 1 process, predict_on_batch(32)", keras),
            ("Spark whole step, first run (what every EMR step is)", result["first"]["whole_step"]),
            ("Spark whole step, second run", result["second"]["whole_step"]),
            ("Spark model stage, first run", result["first"]["model_stage"]),
            ("Spark model stage, second run", result["second"]["model_stage"])]
    lines = [f"{result['images']} images", "", "| | images/s | / plain Keras |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate:.1f} | {rate / keras:.2f} |" for name, rate in rows]
    lines += ["", "| where the step's seconds went | first run | second run |", "|---|---:|---:|"]
    first, second = result["first"]["timings"], result["second"]["timings"]
    for phase in first["phases"]:
        lines.append(f"| {phase} (driver, wall) | {first['phases'][phase]:.1f} | {second['phases'].get(phase, 0):.1f} |")
    lines.append(f"| whole step (wall) | {result['first']['seconds']:.1f} | {result['second']['seconds']:.1f} |")
    for name, label in (("model_build_seconds", "model build"), ("decode_seconds", "decode"), ("inference_seconds", "inference")):
        lines.append(f"| {label} (workers, summed) | {first['workers'][name]:.1f} | {second['workers'][name]:.1f} |")
    lines.append(f"| images decoded by the workers | {first['workers']['images_decoded']} | {second['workers']['images_decoded']} |")
    lines += ["", f"peak memory per Python worker: {', '.join(f'{p:.0f} MiB' for p in result['worker_peak_mib']) or 'n/a'}"]
    return lines


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


def pca_seconds(spark, rows: int, folder: Path) -> dict:
    """The whole PCA step's seconds and k on `rows` synthetic rows; then, on the same rows, the
    fit alone (fruits.reduce.fit_pca) against Spark ML's own: `PCA.fit` with every component
    (for the variance curve), then with k, as the step fitted until 2026-11-30."""
    from pyspark.ml.feature import PCA, StandardScaler

    from fruits.reduce import fit_pca, to_vectors
    from fruits.steps.reduce_step import ReduceArgs, run_reduce

    path = synthetic_features(spark, rows, folder)
    output = folder / f"synthetic-{rows}"
    (output / "extract_summary.json").write_text(json.dumps({"images_uri": "synthetic", "images": rows, "rejected": 0,
                                                            "rejected_by_reason": {}, "weights": {}}))
    started = time.monotonic()
    manifest = run_reduce(spark, ReduceArgs(output=str(output), variance=0.95))
    step = time.monotonic() - started
    vectors = to_vectors(spark.read.parquet(path)).cache()
    vectors.count()
    started = time.monotonic()
    fit_pca(vectors, variance=0.95)
    ours = time.monotonic() - started
    started = time.monotonic()
    scaled = StandardScaler(inputCol="vector", outputCol="scaled", withMean=True, withStd=False).fit(vectors).transform(vectors)
    PCA(k=1280, inputCol="scaled", outputCol="pc").fit(scaled)
    PCA(k=manifest["k"], inputCol="scaled", outputCol="pc").fit(scaled)
    spark_ml = time.monotonic() - started
    vectors.unpersist()
    return {"rows": rows, "seconds": round(step, 1), "k": manifest["k"], "fit_seconds": round(ours, 1),
            "spark_ml_fit_seconds": round(spark_ml, 1), "fit_speedup": round(spark_ml / ours, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="1000,5107", help="comma-separated image counts (default 1000,5107), or none")
    parser.add_argument("--pca-rows", default="none", help="comma-separated row counts, e.g. 25000,50000,100000 (default none)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "output" / "benchmarks")
    args = parser.parse_args()

    figures = {**machine_record(), "load_before": load_average(), "extraction": [], "pca": []}
    print(f"machine: {figures['cores']} cores, {figures['cpu']}; python {figures['python']}; "
          f"load average {figures['load_before']:.2f}", flush=True)
    lines = []
    work = Path(tempfile.mkdtemp(prefix="fruits-bench-"))
    try:
        for count in ([] if args.images == "none" else [int(n) for n in args.images.split(",")]):
            result = measure(count, work)
            figures["extraction"].append(result)
            table = extraction_table(result)
            print("\n".join(table) + "\n", flush=True)
            lines += table + [""]
        sizes = [] if args.pca_rows == "none" else [int(n) for n in args.pca_rows.split(",")]
        if sizes:
            from fruits.session import build_session

            spark = build_session("fruits-benchmark-pca", master="local[2]")
            for rows in sizes:
                result = pca_seconds(spark, rows, work)
                figures["pca"].append(result)
                lines.append(f"PCA step on {rows:>7} x 1280 (variance 0.95 -> k={result['k']}): {result['seconds']:6.1f} s; "
                             f"the fit alone {result['fit_seconds']:.1f} s, Spark ML's PCA.fit (all, then k) "
                             f"{result['spark_ml_fit_seconds']:.1f} s: {result['fit_speedup']:.2f}x")
                print(lines[-1], flush=True)
            spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["load_after"] = load_average()
    header = [f"{figures['cores']} cores, {figures['cpu']}, load average {figures['load_before']:.2f} "
              f"before, {figures['load_after']:.2f} after ({figures['date']})", ""]
    write_report(args.out, "extraction", "\n".join(header + lines), figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
