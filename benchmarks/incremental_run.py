"""Benchmark of incremental runs (the feature store), in one run on the same cores: how much a
second extraction costs after 10 % new images, against the first (target: at most 0.20).

Three runs of the real extract job (`jobs/extract_features.py`, each its own process: a fresh
Spark and fresh Python workers, as each EMR step is) on one folder, sharing one feature store:
1. on 90 % of the sample (each fruit's images but its last tenth), the store empty;
2. the folder grown to all of it: only the 10 % new images are read and featurized;
3. on all of it again: nothing new; what is left is the price of listing every image, looking it
   up in the store's index and reading the stored features
   (fruits.cloud.prices.KNOWN_IMAGES_PER_VCPU_SECOND).
With `--copies N`, the base is the sample N times over: each photo and N - 1 of its mirror images
and rotations, written as new JPEG files (other bytes: new images to the store), to see how the
ratio moves as the base grows while the fixed part of a fresh process stays.
The time compared is the step's own (`duration_seconds` of extract_summary.json: listing, weights,
hashing, featurizing, store, writes); each process's wall time, with Spark's start, is shown too.

Usage: .venv/bin/python benchmarks/incremental_run.py [--images FOLDER] [--new-share 0.1] [--copies 1..8] [--out output/benchmarks]
Prints a table and writes it, with the figures as JSON, to OUT/incremental_run.{txt,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fruits.input_files import InputFile, Listing, hold_back_last, list_local_folder
from fruits.settings import DEFAULT_IMAGES, DEFAULT_WEIGHTS

from environment import load_average, machine_record, write_report  # benchmarks/environment.py

PROJECT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.20
# The copies' transforms: the identity (the photo itself, linked) and the 7 other symmetries of a square.
TRANSFORMS = (None, "FLIP_LEFT_RIGHT", "FLIP_TOP_BOTTOM", "ROTATE_90", "ROTATE_180", "ROTATE_270", "TRANSPOSE", "TRANSVERSE")


def link_images(listing: Listing, images: list[InputFile], folder: Path) -> None:
    """Links `images` of `listing` into folder/LABEL/NAME."""
    for image in images:
        (folder / image.label).mkdir(parents=True, exist_ok=True)
        (folder / image.relative).symlink_to(Path(listing.path_of(image.relative)))


def copies_of(listing: Listing, copies: int, folder: Path) -> Path:
    """folder/LABEL/NAME (the photo, linked) and folder/LABEL/STEM-TRANSFORM.jpg for the first
    `copies` - 1 transforms: `copies` times as many distinct images. Returns `folder`."""
    from PIL import Image

    link_images(listing, listing.accepted, folder)
    for image in listing.accepted:
        stem = (folder / image.relative).with_suffix("")
        with Image.open(listing.path_of(image.relative)) as photo:
            for transform in TRANSFORMS[1:copies]:
                photo.transpose(Image.Transpose[transform]).save(f"{stem}-{transform.lower()}.jpg", quality=95)
    return folder


def extract(images: Path, output: Path, store: Path, run_id: str) -> dict:
    """The extract job in its own process; its summary, and the process's wall time."""
    command = [sys.executable, str(PROJECT / "jobs" / "extract_features.py"), "--images", str(images), "--output", str(output),
               "--weights", str(DEFAULT_WEIGHTS), "--run-id", run_id, "--feature-store", str(store)]
    started = time.monotonic()
    # Run as a plain script (no spark-submit, so Spark's default master, local[*]): its Python
    # workers must be this interpreter, the venv's, as spark-submit's configuration makes them on EMR.
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the extract job failed:\n{result.stderr[-3000:]}")
    summary = json.loads((output / "extract_summary.json").read_text())
    store = summary["feature_store"]
    return {"run_id": run_id, "images": summary["images"], "featurized_now": store["featurized_now"],
            "from_store": store["from_store"], "images_read": store["images_read"], "step_seconds": summary["duration_seconds"],
            "process_seconds": round(wall, 1), "timings": summary["timings"]}


def report(runs: list[dict], figures: dict) -> str:
    base = "sample images" if figures["copies"] == 1 else f"images (the sample and its mirror images, {figures['copies']} copies)"
    lines = [f"Incremental runs on {figures['images']} {base}, {figures['cores']} cores, "
             f"load average {figures['load_before']} before, {figures['load_after']} after ({figures['date']})", "",
             f"| run | images | read | featurized now | from the store | extract step, s | process (with Spark's start), s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, run in zip(("1. first, store empty", "2. after 10 % new images", "3. nothing new"), runs):
        lines.append(f"| {name} | {run['images']} | {run['images_read']} | {run['featurized_now']} | {run['from_store']} "
                     f"| {run['step_seconds']:.1f} "
                     f"| {run['process_seconds']:.1f} |")
    phases = list(runs[0]["timings"]["phases"])
    lines += ["", "| where the step's seconds went | " + " | ".join(f"run {n}" for n in range(1, len(runs) + 1)) + " |",
              "| --- |" + " ---: |" * len(runs)]
    lines += [f"| {phase} | " + " | ".join(f"{run['timings']['phases'].get(phase, 0):.1f}" for run in runs) + " |" for phase in phases]
    lines += [f"| {label} (workers, summed) | " + " | ".join(f"{run['timings']['workers'][name]:.1f}" for run in runs) + " |"
              for name, label in (("model_build_seconds", "model build"), ("inference_seconds", "inference"))]
    lines += ["", f"second / first extraction: {figures['ratio']:.3f} (target <= {TARGET_RATIO:.2f}: "
              f"{'met' if figures['ratio'] <= TARGET_RATIO else 'NOT met'}); by process wall time: {figures['process_ratio']:.3f}",
              f"images known to the store (run 3: listed, looked up, stored features read): {figures['known_images_per_vcpu_second']:.0f} images per second per core; "
              f"featurizing (run 1): {figures['featurized_images_per_vcpu_second']:.1f} images per second per core"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="one sub-folder per fruit (default: the sample)")
    parser.add_argument("--new-share", type=float, default=0.1, help="share of each fruit's images new in run 2 (default 0.1)")
    parser.add_argument("--copies", type=int, choices=range(1, len(TRANSFORMS) + 1), default=1, metavar="1..8",
                        help="the base: each image and its first N - 1 mirror images and rotations (default 1: the images alone)")
    parser.add_argument("--out", type=Path, default=PROJECT / "output" / "benchmarks", help="where the report goes")
    options = parser.parse_args()
    machine = machine_record()
    cores = machine["cores"]
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="fruits-incremental-") as scratch:
        work = Path(scratch)
        images = options.images
        if options.copies > 1:
            print(f"writing {options.copies - 1} mirror images or rotations of each image", flush=True)
            images = copies_of(list_local_folder(images), options.copies, work / "copies")
        listing = list_local_folder(images)
        first_run, held_back = hold_back_last(listing, options.new_share)
        first_count, total = len(first_run.accepted), len(listing.accepted)
        print(f"{first_count} images in the first run, {total} in the next two; load average {load_before}", flush=True)
        link_images(listing, first_run.accepted, work / "images")
        runs = []
        for run_id in ("bench-first", "bench-grown", "bench-again"):
            if run_id == "bench-grown":  # the same folder grows, as a dataset does
                link_images(listing, held_back.accepted, work / "images")
            runs.append(extract(work / "images", work / run_id, work / "store", run_id))
            print(f"  {run_id}: {runs[-1]}", flush=True)
    first, second, again = runs
    figures = {
        **machine, "images": total, "copies": options.copies, "first_images": first_count,
        "new_images": total - first_count, "load_before": load_before, "load_after": load_average(), "runs": runs,
        "ratio": round(second["step_seconds"] / first["step_seconds"], 3),
        "process_ratio": round(second["process_seconds"] / first["process_seconds"], 3),
        "known_images_per_vcpu_second": round(total / again["step_seconds"] / cores, 1),
        "featurized_images_per_vcpu_second": round(first_count / first["step_seconds"] / cores, 2),
        "target_ratio": TARGET_RATIO,
    }
    text = report(runs, figures)
    print("\n" + text)
    write_report(options.out, "incremental_run", text, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
