"""Benchmark of the inference engine and batch size, as each Spark Python worker runs them (one
process, one thread, the model built once, real sample images decoded beforehand): images per
second of `fruits.model.featurize` with Keras and with ONNX Runtime (fruits.onnx_graph) for each
batch size, in interleaved rounds (the median kept), each against Keras with 32, the batch of the
plain Keras reference; and how far ONNX Runtime's features are from Keras's. Prints ratios,
asserts nothing. The step's defaults (fruits.features.InferenceSettings) are chosen from it.

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
    from fruits.onnx_graph import OnnxModel, onnx_graph

    figures = {**machine_record(), "load_before": load_average(), "images": args.images, "threads": 1}
    configure_tensorflow(1, notices=False)  # as each worker: one thread, one worker per core
    keras_model = build_model(load_weights(str(DEFAULT_WEIGHTS)))
    models = {"keras": keras_model, "onnxruntime": OnnxModel(onnx_graph(keras_model), threads=1)}
    pixels = decoded_sample(args.images)
    per_size: dict[tuple[str, int], list[float]] = {(engine, size): [] for engine in models for size in sizes}
    for engine, size in per_size:
        featurize(models[engine], pixels[:size], size)  # each shape traced once before timing
    for _ in range(args.rounds):
        for engine, size in per_size:
            started = time.perf_counter()
            featurize(models[engine], pixels, size)
            per_size[engine, size].append(len(pixels) / (time.perf_counter() - started))
    figures["load_after"] = load_average()
    difference = np.abs(featurize(models["onnxruntime"], pixels) - featurize(keras_model, pixels))
    figures["onnxruntime_largest_difference"] = float(difference.max())
    medians = {key: statistics.median(values) for key, values in per_size.items()}
    figures["images_per_second"] = {f"{engine} {size}": round(value, 1) for (engine, size), value in medians.items()}
    reference = medians["keras", REFERENCE]
    lines = [f"Inference engine and batch size, one thread, {len(pixels)} sample images, median of {args.rounds} rounds; "
             f"{figures['cpu']}, load average {figures['load_before']} before, {figures['load_after']} after ({figures['date']})",
             "", "| batch | Keras, images/s | / Keras batch 32 | ONNX Runtime, images/s | / Keras batch 32 |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {size} | {medians['keras', size]:.1f} | {medians['keras', size] / reference:.2f} "
              f"| {medians['onnxruntime', size]:.1f} | {medians['onnxruntime', size] / reference:.2f} |" for size in sizes]
    lines += ["", f"ONNX Runtime's features against Keras's (batches of 8): largest difference {difference.max():.2e}, "
                  f"mean {difference.mean():.2e}; largest activation {np.abs(featurize(keras_model, pixels)).max():.2f}"]
    text = "\n".join(lines)
    print(text)
    write_report(args.out, "inference_batch_size", text, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
