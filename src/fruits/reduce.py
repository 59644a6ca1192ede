"""PCA of the image features with `pyspark.ml`: centre (optionally scale), fit, choose k, project.

Usage: `vectors = to_vectors(features_df)`; `fit = fit_pca(vectors, variance=0.95)` (or `k=50`);
`matrix = project(fit, vectors)` -> path, label, pc (array<double>), pc_1..pc_k.
With a variance target, a first fit with every component gives the explained-variance curve
(computed by Spark over all rows), k is the smallest count that reaches the target, and the
model is refitted with k components.

Every fit is checked against the data before it is used: Spark's driver-side SVD (F2J's LAPACK
dgesdd) now and then returns a wrong decomposition of the same covariance, seen here on 200
images x 1280 features about one fit in two (the first two components right, the rest not), and
on 300 sample images (fewer images than features: a covariance of rank 299) in most layouts of
some row orders: a CI run saw 10 layouts in a row fail, and the same images under that path
needed 4 and 5 layouts here (2026-11-30).
A fit whose components' measured variances differ from the ratios it reports is refitted on
the same rows split into other partitions (the wrong answer follows the covariance's rounding,
which follows the partitioning), up to FIT_ATTEMPTS layouts; then the step fails: a wrong
matrix is never written.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.feature import PCA, StandardScaler
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.ml.stat import Summarizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fruits.errors import FruitsError

FIT_ATTEMPTS = 30  # partitionings tried: 10 were once not enough (see above); a failed layout costs two fits
CONSTANT_FEATURES = ("PCA gave a non-finite explained variance: the features are (nearly) constant across images; "
                     "check the weights, or scale the features with --standardize")


@dataclass
class PcaFit:
    model: PipelineModel  # StandardScaler (centring, optional scaling) then PCA with k components
    k: int
    explained_variance: list[float]  # ratio per component, for every component computed
    variance_target: float | None
    standardize: bool
    fits: int = 1  # Spark PCA fits made until they matched the data (see the module docstring)

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
        total, fits = _total_variance(scaled), 0
        if not total > 0:
            raise FruitsError(CONSTANT_FEATURES)
        for layout in _layouts(scaled):
            if k is not None:
                pca, fits = _fit(layout, k), fits + 1
                if matches_data(pca, scaled, total):
                    return PcaFit(PipelineModel(stages=[scaler, pca]), k, _explained(pca), None, standardize, fits)
                continue
            curve = _explained(_fit(layout, dimensions))
            chosen = choose_k(curve, variance)
            pca, fits = _fit(layout, chosen), fits + 2
            # The curve must agree with a fit that matches the data (same covariance, same SVD).
            if matches_data(pca, scaled, total) and np.allclose(curve[:chosen], _explained(pca), rtol=1e-6, atol=1e-12):
                return PcaFit(PipelineModel(stages=[scaler, pca]), chosen, curve, variance, standardize, fits)
        raise FruitsError(f"Spark's PCA gave {fits} decompositions that disagree with the data: nothing was written")
    finally:
        scaled.unpersist()


def _layouts(scaled: DataFrame):
    """The rows as they are, then in 2, 3, ... partitions: Spark's SVD result depends on the
    rounding of the covariance, which depends on how the partitions' sums are combined."""
    yield scaled
    for partitions in range(2, FIT_ATTEMPTS + 1):
        yield scaled.repartition(partitions)


def _fit(layout: DataFrame, k: int):
    return PCA(k=k, inputCol="scaled", outputCol="pc").fit(layout)


def _total_variance(scaled: DataFrame) -> float:
    """The sum of the features' variances: what the explained-variance ratios divide."""
    return float(np.sum(scaled.select(Summarizer.variance(F.col("scaled")).alias("v")).first()["v"].toArray()))


def matches_data(pca_model, scaled: DataFrame, total_variance: float) -> bool:
    """True when the model's components carry the variance it says they do (scaled: centred)."""
    measured = pca_model.transform(scaled).select(Summarizer.variance(F.col("pc")).alias("v")).first()["v"].toArray()
    reported = pca_model.explainedVariance.toArray()
    return bool(np.allclose(measured / total_variance, reported, rtol=1e-3, atol=1e-9))


def _explained(pca_model) -> list[float]:
    curve = [float(value) for value in pca_model.explainedVariance.toArray()]
    if not np.all(np.isfinite(curve)):
        raise FruitsError(CONSTANT_FEATURES)
    return curve


def project(fit: PcaFit, vectors: DataFrame) -> DataFrame:
    """path, label, pc (array<double>) and one column pc_1..pc_k per component."""
    reduced = fit.model.transform(vectors).select("path", "label", vector_to_array("pc").alias("pc"))
    return reduced.select("path", "label", "pc", *(F.col("pc")[i].alias(f"pc_{i + 1}") for i in range(fit.k)))
