"""PCA of the image features with `pyspark.ml`: centre (optionally scale), fit, choose k, project.

Usage: `vectors = to_vectors(features_df)`; `fit = fit_pca(vectors, variance=0.95)` (or `k=50`);
`matrix = project(fit, vectors)` -> path, label, pc (array<double>), pc_1..pc_k.
With a variance target, a first fit with every component gives the explained-variance curve
(computed by Spark over all rows), k is the smallest count that reaches the target, and the
model is refitted with k components.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.ml.feature import PCA, StandardScaler
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fruits.errors import FruitsError


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
        target = None
        if k is None:
            curve = _explained(PCA(k=dimensions, inputCol="scaled", outputCol="pc").fit(scaled))
            target, k = variance, choose_k(curve, variance)
        pca = PCA(k=k, inputCol="scaled", outputCol="pc").fit(scaled)
        if target is None:
            curve = _explained(pca)
    finally:
        scaled.unpersist()
    return PcaFit(PipelineModel(stages=[scaler, pca]), k, curve, target, standardize)


def _explained(pca_model) -> list[float]:
    curve = [float(value) for value in pca_model.explainedVariance.toArray()]
    if not np.all(np.isfinite(curve)):
        raise FruitsError("PCA gave a non-finite explained variance: the features are (nearly) constant across "
                          "images; check the weights, or scale the features with --standardize")
    return curve


def project(fit: PcaFit, vectors: DataFrame) -> DataFrame:
    """path, label, pc (array<double>) and one column pc_1..pc_k per component."""
    reduced = fit.model.transform(vectors).select("path", "label", vector_to_array("pc").alias("pc"))
    return reduced.select("path", "label", "pc", *(F.col("pc")[i].alias(f"pc_{i + 1}") for i in range(fit.k)))
