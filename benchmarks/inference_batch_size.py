"""Benchmark of the inference batch size, as each Spark Python worker runs it (one process, one
TensorFlow thread, the model built once, real sample images decoded beforehand): images per
second of `fruits.model.featurize` for each batch size, in interleaved rounds (the median kept),
and each against 32, the batch of the plain Keras reference. Prints ratios, asserts nothing.
The step's default (fruits.model.INFERENCE_BATCH_SIZE) is chosen from this table.

Usage: .venv/bin/python benchmarks/inference_batch_size.py [--sizes 4,8,16,32,64] [--images 256] [--rounds 3]
       [--out output/benchmarks]
Prints the table and writes it, with the figures as JSON, to OUT/inference_batch_size.{txt,json}.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from fruits.settings import DEFAULT_WEIGHTS

from environment import load_average, machine_record, write_report  # benchmarks/environment.py
from extraction_and_pca import sample_files  # benchmarks/extraction_and_pca.py

REFERENCE = 32


def decoded_sample(count: int) -> np.ndarray:
    """`count` sample images, about as many of each class (extraction_and_pca's choice), decoded."""
    from fruits.decode import decode_image

    return np.stack([decode_image(path.read_bytes()) for path in sample_files(count)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4,8,16,32,64", help="comma-separated batch sizes (default 4,8,16,32,64)")
    parser.add_argument("--images", type=int, default=256, help="images per measurement (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is kept (default 3)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "output" / "benchmarks")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")} | {REFERENCE})

    from fruits.model import build_model, configure_tensorflow, featurize, load_weights

    figures = {**machine_record(), "load_before": load_average(), "images": args.images, "tf_threads": 1}
    configure_tensorflow(1, notices=False)  # as each worker: one thread, one worker per core
    model = build_model(load_weights(str(DEFAULT_WEIGHTS)))
    pixels = decoded_sample(args.images)
    per_size: dict[int, list[float]] = {size: [] for size in sizes}
    for size in sizes:
        featurize(model, pixels[:size], size)  # each shape traced once before timing
    for _ in range(args.rounds):
        for size in sizes:
            started = time.perf_counter()
            featurize(model, pixels, size)
            per_size[size].append(len(pixels) / (time.perf_counter() - started))
    figures["load_after"] = load_average()
    medians = {size: statistics.median(values) for size, values in per_size.items()}
    figures["images_per_second"] = {str(size): round(value, 1) for size, value in medians.items()}
    lines = [f"Inference batch size, one TensorFlow thread, {len(pixels)} sample images, median of {args.rounds} rounds; "
             f"{figures['cpu']}, load average {figures['load_before']} before, {figures['load_after']} after ({figures['date']})",
             "", "| batch | images/s | / batch 32 |", "| ---: | ---: | ---: |"]
    lines += [f"| {size} | {medians[size]:.1f} | {medians[size] / medians[REFERENCE]:.2f} |" for size in sizes]
    text = "\n".join(lines)
    print(text)
    write_report(args.out, "inference_batch_size", text, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
