"""PCA of the image features with `pyspark.ml`: centre (optionally scale), fit, choose k, project.

Usage: `vectors = to_vectors(features_df)`; `fit = fit_pca(vectors, variance=0.95)` (or `k=50`);
`matrix = project(fit, vectors)` -> path, label, pc (array<double>), pc_1..pc_k.
`fit.model` is a `pyspark.ml` PipelineModel (StandardScaler, PCAModel): save, load and apply it
like any Spark model.

The fit is Spark ML's PCA with its driver-side decomposition replaced. `PCA.fit` computes the
covariance of the rows on the cluster (`RowMatrix.computeCovariance`), then decomposes it on the
driver with an SVD (F2J's dgesdd). That SVD is unreliable here: on 300 sample images x 1280
features (fewer images than features, a covariance of rank 299) it returned a decomposition
whose components do not carry the variance it reports in 7 of 10 row layouts, and on 200 images
about one fit in two (measured 2026-11-30). Here the covariance is summed on the cluster from
each partition's Gram matrix (NumPy, float64, on centred rows: on 25,000 x 1280 rows 3.0 s,
against 11.9 s for MLlib's RowMatrix fed from Python and 5.1 s for Spark's own through
`Correlation`, the three equal to 1e-14), and the driver decomposes it with LAPACK's symmetric
eigensolver (`numpy.linalg.eigh`), which gave the right components in all 10 layouts.
The variance curve and the k chosen from it come from that one decomposition: no second fit.
The result is Spark's own PCAModel, and it is checked against the data (`matches_data`) before
it is used: a wrong matrix is never written.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from pyspark import SparkContext
from pyspark.ml import PipelineModel
from pyspark.ml.common import _py2java
from pyspark.ml.feature import PCA, PCAModel, StandardScaler
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.linalg import DenseMatrix, DenseVector
from pyspark.ml.stat import Summarizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fruits.errors import FruitsError

CONSTANT_FEATURES = ("PCA gave a non-finite explained variance: the features are (nearly) constant across images; "
                     "check the weights, or scale the features with --standardize")
GRAM_CHUNK_ROWS = 1024  # rows a worker turns into one NumPy block (1024 x 1280 floats: 10 MB, 40 MB as Python rows)
WRONG_FIT = "the PCA's components do not carry the variance they report: nothing was written"


@dataclass
class PcaFit:
    model: PipelineModel  # StandardScaler (centring, optional scaling) then PCA with k components
    k: int
    explained_variance: list[float]  # ratio per component, for every component computed
    variance_target: float | None
    standardize: bool

    @property
    def variance_reached(self) -> float:
        return float(sum(self.explained_variance[: self.k]))


def to_vectors(features: DataFrame) -> DataFrame:
    """path, label, features (array<float>) -> path, label, vector (ML dense vector)."""
    return features.select("path", "label", array_to_vector("features").alias("vector"))


def choose_k(explained_variance: list[float], target: float) -> int:
    """Smallest k whose cumulative explained variance reaches `target` (0 < target <= 1)."""
    cumulative = np.cumsum(explained_variance)
    reached = np.nonzero(cumulative >= target - 1e-12)[0]
    return int(reached[0]) + 1 if len(reached) else len(explained_variance)


def fit_pca(vectors: DataFrame, k: int | None = None, variance: float | None = 0.95, standardize: bool = False) -> PcaFit:
    """Fits on the `vector` column; give `k`, or a `variance` target to choose k from."""
    dimensions = len(vectors.select("vector").first()["vector"])
    if k is not None and not 1 <= k <= dimensions:
        raise FruitsError(f"k must be between 1 and {dimensions} (the feature size), got {k}")
    scaler = StandardScaler(inputCol="vector", outputCol="scaled", withMean=True, withStd=standardize).fit(vectors)
    scaled = scaler.transform(vectors).select("scaled").cache()
    try:
        components, curve = decompose(covariance(scaled))
        chosen = k if k is not None else choose_k(curve, variance)
        pca = pca_model(components, curve, chosen)
        if not matches_data(pca, scaled):
            raise FruitsError(WRONG_FIT)
        if k is not None:  # the curve as far as the components asked for, and no target
            curve, variance = curve[:k], None
        return PcaFit(PipelineModel(stages=[scaler, pca]), chosen, curve, variance, standardize)
    finally:
        scaled.unpersist()


def covariance(scaled: DataFrame) -> np.ndarray:
    """The covariance of the `scaled` column (centred): each partition's Gram matrix XᵀX in
    float64 with NumPy on the executors, summed by Spark (treeReduce), divided by n - 1."""
    gram, rows = scaled.select(vector_to_array("scaled")).rdd.mapPartitions(_partition_gram).treeReduce(_add_grams)
    return gram / (rows - 1)


def _partition_gram(rows, chunk_rows: int = GRAM_CHUNK_ROWS):
    """(XᵀX, row count) of one partition, from chunks of rows: a worker never holds more."""
    gram, count = None, 0
    for chunk in iter(lambda: list(itertools.islice(rows, chunk_rows)), []):
        block = np.array([row[0] for row in chunk], dtype=np.float64)
        gram = block.T @ block if gram is None else gram + block.T @ block
        count += len(block)
    if count:
        yield gram, count


def _add_grams(one, other):
    return one[0] + other[0], one[1] + other[1]


def decompose(covariance_matrix: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """(components as columns by decreasing variance, each with its largest entry positive;
    the ratio of the total variance each explains). Raises CONSTANT_FEATURES when there is none."""
    if not np.all(np.isfinite(covariance_matrix)):
        raise FruitsError(CONSTANT_FEATURES)
    values, vectors = np.linalg.eigh(covariance_matrix)  # ascending eigenvalues
    values, vectors = np.clip(values[::-1], 0.0, None), vectors[:, ::-1]  # a rank's rounding can give -1e-16
    total = float(values.sum())
    if not total > 0:
        raise FruitsError(CONSTANT_FEATURES)
    largest = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
    signs = np.where(largest < 0, -1.0, 1.0)  # a component's sign is arbitrary: fixed, for runs to compare
    return vectors * signs, [float(value) for value in values / total]


def pca_model(components: np.ndarray, ratios: list[float], k: int) -> PCAModel:
    """A `pyspark.ml` PCAModel (input `scaled`, output `pc`) of the first k components: the model
    Spark's PCA would return for them (the JVM class, through pyspark.ml's own serializer)."""
    context = SparkContext._active_spark_context
    estimator = PCA(k=k, inputCol="scaled", outputCol="pc")
    matrix = DenseMatrix(components.shape[0], k, components[:, :k].ravel(order="F"))
    java_model = context._jvm.org.apache.spark.ml.feature.PCAModel(
        estimator.uid, _py2java(context, matrix), _py2java(context, DenseVector(ratios[:k])))
    return estimator._copyValues(PCAModel._from_java(java_model))


def matches_data(model: PCAModel, scaled: DataFrame) -> bool:
    """True when the model's components carry the variance it says they do (scaled: centred):
    the variances of its outputs over the sum of the features' variances, in one pass."""
    variances = model.transform(scaled).select(Summarizer.variance(F.col("pc")).alias("pc"),
                                               Summarizer.variance(F.col("scaled")).alias("total")).first()
    measured = variances["pc"].toArray() / float(np.sum(variances["total"].toArray()))
    return bool(np.allclose(measured, model.explainedVariance.toArray(), rtol=1e-3, atol=1e-9))


def project(fit: PcaFit, vectors: DataFrame) -> DataFrame:
    """path, label, pc (array<double>) and one column pc_1..pc_k per component."""
    reduced = fit.model.transform(vectors).select("path", "label", vector_to_array("pc").alias("pc"))
    return reduced.select("path", "label", "pc", *(F.col("pc")[i].alias(f"pc_{i + 1}") for i in range(fit.k)))
