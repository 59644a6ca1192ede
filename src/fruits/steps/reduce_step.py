"""Step 2: features -> PCA matrix, written under the run's output prefix:
`pca/matrix.parquet/` and `pca/matrix.csv/` (path, label, pc_1..pc_k), `pca/model/` (the fitted
StandardScaler + PCA PipelineModel), `pca/explained_variance.csv` (component, ratio, cumulative),
`pca/plots/*.png` (variance curve with k, images in PC1/PC2 by fruit, accuracy per class)
and `manifest.json` (counts, weights and sha256, versions, k, variance reached, durations and
the nearest-centroid accuracy check). `manifest.json` is written last: its presence means the
run is complete.

Usage: `run_reduce(spark, ReduceArgs(output=..., variance=0.95))`, or
`spark-submit jobs/reduce_dimensions.py --output URI (--k K | --variance V) [--standardize]`.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from fruits.errors import FruitsError
from fruits.quality import nearest_centroid_accuracy
from fruits.reduce import PcaFit, fit_pca, project, to_vectors
from fruits.steps.extract_step import FEATURES, REJECTED, SUMMARY
from fruits.storage import Storage, join_uri
from fruits.versions import package_versions

PCA_FOLDER, MANIFEST = "pca", "manifest.json"
MATRIX_PARQUET, MATRIX_CSV, MODEL, CURVE = "matrix.parquet", "matrix.csv", "model", "explained_variance.csv"
PLOTS = "plots"
SCATTER_POINTS = 5000  # at most this many images in the PC1/PC2 picture


@dataclass
class ReduceArgs:
    output: str
    run_id: str = "local"
    k: int | None = None
    variance: float = 0.95
    standardize: bool = False
    test_percent: int = 20


def variance_target(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def add_pca_arguments(parser: argparse.ArgumentParser) -> None:
    """PCA options shared by the job and `fruits run-local`."""
    from fruits.steps.extract_step import positive_int

    group = parser.add_argument_group("PCA")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--k", type=positive_int, help="number of components (default: chosen by --variance)")
    choice.add_argument("--variance", type=variance_target, default=0.95,
                        help="smallest k reaching this explained variance (default 0.95)")
    group.add_argument("--standardize", action="store_true", help="scale features to unit variance before PCA (always centred)")


def parse_args(argv: list[str] | None = None) -> ReduceArgs:
    parser = argparse.ArgumentParser(prog="reduce_dimensions.py", description="Features -> PCA matrix (CSV and Parquet).")
    parser.add_argument("--output", required=True, help="the run's output prefix (holds features/ from step 1)")
    parser.add_argument("--run-id", default="local")
    add_pca_arguments(parser)
    args = parser.parse_args(argv)
    return ReduceArgs(output=args.output, run_id=args.run_id, k=args.k, variance=args.variance, standardize=args.standardize)


def run_reduce(spark: SparkSession, args: ReduceArgs, progress=None) -> dict:
    """Runs step 2 and returns the run manifest (also written as manifest.json)."""
    started = time.monotonic()
    storage = Storage(spark)
    features_uri = join_uri(args.output, FEATURES)
    if not storage.exists(join_uri(features_uri, "_SUCCESS")):
        raise FruitsError(f"no complete features at {features_uri}: run the extract step first")
    summary = json.loads(storage.read_text(join_uri(args.output, SUMMARY)))

    _phase(progress, "Fitting PCA")
    vectors = to_vectors(spark.read.parquet(features_uri)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = vectors.count()
        if rows < 2:
            raise FruitsError(f"PCA needs at least 2 images with features, found {rows} at {features_uri}")
        fit = fit_pca(vectors, k=args.k, variance=None if args.k else args.variance, standardize=args.standardize)
        matrix = project(fit, vectors).persist(StorageLevel.MEMORY_AND_DISK)
        _phase(progress, f"Writing the {rows} x {fit.k} matrix")
        staged = _write_pca_folder(storage, args.output, fit, matrix)
        _phase(progress, "Checking the features with a nearest-centroid classifier")
        accuracy = nearest_centroid_accuracy(matrix, args.test_percent)
        _phase(progress, "Drawing the plots")
        _write_plots(storage, staged, fit, matrix, accuracy, rows)
        matrix.unpersist()
    finally:
        vectors.unpersist()
    storage.replace(staged, join_uri(args.output, PCA_FOLDER))
    manifest = build_manifest(args, summary, fit, accuracy, rows, round(time.monotonic() - started, 1), package_versions(spark))
    storage.write_text(join_uri(args.output, MANIFEST), json.dumps(manifest, indent=2))
    return manifest


def _write_pca_folder(storage: Storage, output: str, fit: PcaFit, matrix) -> str:
    """Writes the whole pca/ folder to a staging folder and returns its URI."""
    staged = Storage.staging_uri(join_uri(output, PCA_FOLDER))
    columns = ["path", "label", *(f"pc_{i + 1}" for i in range(fit.k))]
    matrix.select(*columns).write.parquet(join_uri(staged, MATRIX_PARQUET))
    # One CSV file: easy to hand over; at 1M images x 100 components it is still ~1 GB.
    matrix.select(*columns).coalesce(1).write.option("header", True).csv(join_uri(staged, MATRIX_CSV))
    fit.model.write().save(join_uri(staged, MODEL))
    cumulative, lines = 0.0, ["component,explained_variance_ratio,cumulative"]
    for index, ratio in enumerate(fit.explained_variance, start=1):
        cumulative += ratio
        lines.append(f"{index},{ratio:.10g},{cumulative:.10g}")
    storage.write_text(join_uri(staged, CURVE), "\n".join(lines) + "\n")
    return staged


def _write_plots(storage: Storage, staged: str, fit: PcaFit, matrix, accuracy: dict, rows: int) -> None:
    from fruits import plots

    folder = join_uri(staged, PLOTS)
    storage.write_bytes(join_uri(folder, "explained_variance.png"),
                        plots.variance_curve_png(fit.explained_variance, fit.k, fit.variance_target))
    if fit.k >= 2:
        shown = matrix.select("label", "pc_1", "pc_2")
        if rows > SCATTER_POINTS:
            shown = shown.sample(fraction=SCATTER_POINTS / rows, seed=1)
        points = shown.toPandas()
        storage.write_bytes(join_uri(folder, "principal_components.png"), plots.principal_components_png(
            points["pc_1"].to_numpy(), points["pc_2"].to_numpy(), points["label"].tolist(), rows))
    if accuracy["by_class"]:
        storage.write_bytes(join_uri(folder, "accuracy_by_class.png"), plots.accuracy_by_class_png(accuracy["by_class"]))


def build_manifest(args: ReduceArgs, summary: dict, fit: PcaFit, accuracy: dict, rows: int, reduce_seconds: float,
                   versions: dict) -> dict:
    output = args.output
    return {
        "run_id": args.run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "images_uri": summary["images_uri"],
        "images": summary["images"],
        "featurized": rows,
        "rejected": summary["rejected"],
        "rejected_by_reason": summary["rejected_by_reason"],
        "weights": summary["weights"],
        "k": fit.k,
        "variance_target": fit.variance_target,
        "variance_reached": round(fit.variance_reached, 6),
        "standardize": fit.standardize,
        "pca_fits": fit.fits,
        "accuracy": accuracy["accuracy"],
        "accuracy_check": accuracy,
        "durations_seconds": {"extract": summary.get("duration_seconds"), "reduce": reduce_seconds},
        "versions": {**summary.get("versions", {}), **versions},
        "inference_settings": summary.get("settings", {}),
        "outputs": {
            "features": join_uri(output, FEATURES),
            "rejected": join_uri(output, REJECTED),
            "matrix_csv": join_uri(output, PCA_FOLDER, MATRIX_CSV),
            "matrix_parquet": join_uri(output, PCA_FOLDER, MATRIX_PARQUET),
            "model": join_uri(output, PCA_FOLDER, MODEL),
            "explained_variance": join_uri(output, PCA_FOLDER, CURVE),
            "plots": join_uri(output, PCA_FOLDER, PLOTS),
        },
    }


def _phase(progress, label: str) -> None:
    if progress is not None:
        progress.phase(label)
