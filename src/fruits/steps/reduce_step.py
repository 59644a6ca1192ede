"""Step 2: features -> PCA matrix, written under the run's output prefix:
`pca/matrix.parquet/` (Spark's folder) and `pca/matrix.csv` (one RFC 4180 file, UTF-8: path,
label, pc_1..pc_k), `pca/model/` (the fitted StandardScaler + PCA PipelineModel),
`pca/explained_variance.csv` (component, ratio, cumulative), `pca/plots/*.png` (variance curve
with k, images in PC1/PC2 by fruit, accuracy per class) and `manifest.json` (counts, weights and
sha256, versions, k, variance reached, durations and the nearest-centroid accuracy check).
`manifest.json` is removed before pca/ is replaced and written last: its presence means the run
is complete (see fruits.steps.run_folder).

Usage: `run_reduce(spark, ReduceArgs(output=..., variance=0.95))`, or
`spark-submit jobs/reduce_dimensions.py --output URI (--k K | --variance V) [--standardize]`.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from fruits.errors import FruitsError
from fruits.layout import EXPLAINED_VARIANCE as CURVE, EXTRACT_SUMMARY as SUMMARY
from fruits.layout import FEATURES, MATRIX_CSV, MATRIX_PARQUET, MODEL, PCA_FOLDER, PLOTS, REJECTED, validate_run_id
from fruits.literal_paths import literal_path
from fruits.options import add_pca_arguments
from fruits.quality import nearest_centroid_accuracy
from fruits.reduce import PcaFit, fit_pca, project, to_vectors
from fruits.steps.run_folder import MANIFEST
from fruits.steps.run_manifest import build_manifest
from fruits.storage import Storage, join_uri, no_space_left
from fruits.versions import package_versions

SCATTER_POINTS = 5000  # at most this many images in the PC1/PC2 picture
# RFC 4180, which pandas and Python's csv module read back exactly. Spark's defaults differ:
# a quote inside a value is escaped as \" and values lose their leading and trailing spaces.
CSV_OPTIONS = {
    "quote": '"', "escape": '"', "escapeQuotes": True, "quoteAll": False,
    "ignoreLeadingWhiteSpace": False, "ignoreTrailingWhiteSpace": False,
    "lineSep": "\n",  # with "\r\n", Spark also rewrites the "\n" inside quoted values
    "encoding": "UTF-8", "header": False,  # one header line is written before the joined parts
}


@dataclass
class ReduceArgs:
    output: str
    run_id: str = "local"
    k: int | None = None
    variance: float = 0.95
    standardize: bool = False
    test_percent: int = 20


def parse_args(argv: list[str] | None = None) -> ReduceArgs:
    parser = argparse.ArgumentParser(prog="reduce_dimensions.py", description="Features -> PCA matrix (CSV and Parquet).")
    parser.add_argument("--output", required=True, help="the run's output prefix (holds features/ from step 1)")
    parser.add_argument("--run-id", type=validate_run_id, default="local")
    add_pca_arguments(parser)
    args = parser.parse_args(argv)
    return ReduceArgs(output=args.output, run_id=args.run_id, k=args.k, variance=args.variance, standardize=args.standardize)


def run_reduce(spark: SparkSession, args: ReduceArgs, progress=None) -> dict:
    """Runs step 2 and returns the run manifest (also written as manifest.json)."""
    with no_space_left(args.output):
        return _run_reduce(spark, args, progress)


def _run_reduce(spark: SparkSession, args: ReduceArgs, progress=None) -> dict:
    started = time.monotonic()
    storage = Storage(spark)
    features_uri, summary_uri = join_uri(args.output, FEATURES), join_uri(args.output, SUMMARY)
    if not (storage.exists(join_uri(features_uri, "_SUCCESS")) and storage.exists(summary_uri)):
        raise FruitsError(f"no complete features at {features_uri} (with {SUMMARY} beside them): run the extract step first")
    summary = read_extract_summary(storage, summary_uri)
    storage.remove_staging(args.output)  # an earlier attempt's, failed or killed (see extract_step)

    _phase(progress, "Fitting PCA")
    vectors = to_vectors(canonical_order(spark, spark.read.parquet(literal_path(features_uri)))).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = vectors.count()
        if rows < 2:
            raise FruitsError(f"PCA needs at least 2 images with features, found {rows} at {features_uri}: "
                              "no PCA written, step 1's outputs are kept")
        if args.k is not None and args.k > rows:
            raise FruitsError(f"--k {args.k} is more than the {rows} images with features at {features_uri} "
                              "(PCA gives at most one component per image; the others were rejected, see step 1's "
                              "rejected/): no PCA written, step 1's outputs are kept")
        fit = fit_pca(vectors, k=args.k, variance=None if args.k else args.variance, standardize=args.standardize)
        matrix = project(fit, vectors).persist(StorageLevel.MEMORY_AND_DISK)
        _phase(progress, f"Writing the {rows} x {fit.k} matrix")
        staged = _write_pca_folder(storage, args.output, fit, matrix)
        _phase(progress, "Checking the features with a nearest-centroid classifier")
        accuracy = nearest_centroid_accuracy(matrix, args.test_percent, images_root=storage.qualified(summary["images_uri"]))
        _phase(progress, "Drawing the plots")
        _write_plots(storage, staged, fit, matrix, accuracy, rows)
        matrix.unpersist()
    finally:
        vectors.unpersist()
    storage.delete(join_uri(args.output, MANIFEST))  # the run is incomplete until the new manifest
    storage.replace(staged, join_uri(args.output, PCA_FOLDER))
    manifest = build_manifest(run_id=args.run_id, summary=summary, fit=fit, accuracy=accuracy, rows=rows,
                              reduce_seconds=round(time.monotonic() - started, 1), versions=package_versions(spark),
                              outputs=run_outputs(args.output),
                              created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    storage.write_text(join_uri(args.output, MANIFEST), json.dumps(manifest, indent=2))
    return manifest


SUMMARY_FIELDS = ("images_uri", "images", "rejected", "rejected_by_reason", "weights")  # what the manifest takes from it


def read_extract_summary(storage: Storage, uri: str) -> dict:
    """Step 1's summary, refused before any work when it is not one (cut short, edited by hand):
    its fields were read only once pca/ had been replaced, as a KeyError's traceback."""
    try:
        summary = json.loads(storage.read_text(uri))
    except ValueError:  # not UTF-8, not JSON
        summary = None
    except Py4JJavaError as error:  # a local file changed behind Hadoop's back fails its checksum
        if not error.java_exception.getClass().getName().endswith("ChecksumException"):
            raise
        summary = None
    if (not isinstance(summary, dict) or any(field not in summary for field in SUMMARY_FIELDS)
            or not isinstance(summary["images_uri"], str) or not isinstance(summary.get("versions", {}), dict)):
        raise FruitsError(f"{uri} is not step 1's summary (damaged, or edited by hand): run the extract step again; "
                          "no PCA written, step 1's outputs are kept")
    return summary


def canonical_order(spark: SparkSession, features: DataFrame) -> DataFrame:
    """The rows in partitions and an order that depend on their paths only, not on how step 1
    wrote its files: the PCA's sums are then added in the same order whenever the features are
    the same, so an incremental run and a full run on the same images give the same matrix.
    (Spark adds the partitions' sums in the order their tasks end: with more than 2 partitions
    two fits may still differ in their last bits.)"""
    return features.repartition(spark.sparkContext.defaultParallelism, "path").sortWithinPartitions("path")


def _write_pca_folder(storage: Storage, output: str, fit: PcaFit, matrix) -> str:
    """Writes the whole pca/ folder to a staging folder and returns its URI."""
    staged = Storage.staging_uri(join_uri(output, PCA_FOLDER))
    columns = ["path", "label", *(f"pc_{i + 1}" for i in range(fit.k))]
    matrix.select(*columns).write.parquet(join_uri(staged, MATRIX_PARQUET))
    # One CSV file: easy to hand over; at 1M images x 100 components it is still ~1 GB.
    write_matrix_csv(storage, matrix.select(*columns), join_uri(staged, MATRIX_CSV))
    fit.model.write().save(join_uri(staged, MODEL))
    cumulative, lines = 0.0, ["component,explained_variance_ratio,cumulative"]
    for index, ratio in enumerate(fit.explained_variance, start=1):
        cumulative += ratio
        lines.append(f"{index},{ratio:.10g},{cumulative:.10g}")
    storage.write_text(join_uri(staged, CURVE), "\n".join(lines) + "\n")
    return staged


def write_matrix_csv(storage: Storage, matrix: DataFrame, uri: str) -> None:
    """`matrix` as one CSV file at `uri` (see CSV_OPTIONS). Spark writes the rows in parallel to a
    hidden folder beside `uri`; its parts are joined after one header line, then it is removed."""
    parts = Storage.staging_uri(uri)
    matrix.write.options(**CSV_OPTIONS).csv(parts)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(matrix.columns)
    storage.concatenate(storage.list_files(parts, "part-"), uri, header=header.getvalue().encode("utf-8"))
    storage.delete(parts)


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


def run_outputs(output: str) -> dict:
    """Where the manifest says each output of the run is."""
    return {
        "features": join_uri(output, FEATURES),
        "rejected": join_uri(output, REJECTED),
        "matrix_csv": join_uri(output, PCA_FOLDER, MATRIX_CSV),
        "matrix_parquet": join_uri(output, PCA_FOLDER, MATRIX_PARQUET),
        "model": join_uri(output, PCA_FOLDER, MODEL),
        "explained_variance": join_uri(output, PCA_FOLDER, CURVE),
        "plots": join_uri(output, PCA_FOLDER, PLOTS),
    }


def _phase(progress, label: str) -> None:
    if progress is not None:
        progress.phase(label)
