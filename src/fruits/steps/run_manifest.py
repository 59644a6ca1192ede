"""The run manifest (`manifest.json`, written last by step 2), built from plain values: no Spark,
no I/O.

Usage: `manifest = build_manifest(run_id=..., summary=step_1_summary, fit=pca_fit, accuracy=check,
rows=n, reduce_seconds=s, versions={...}, outputs={"features": URI, ...}, created_at=ISO_TIME)`.
`rank_warnings(fit)` names the components that carry no variance (a k beyond the data's rank).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fruits.reduce import PcaFit

RANK_TOLERANCE = 1e-9  # a component with a smaller share of the variance is rounding noise


def rank_warnings(fit: PcaFit) -> list[str]:
    """Components that carry no variance: k is beyond the data's rank (k images or fewer, or
    duplicates), so the last columns of the matrix are rounding noise."""
    empty = [index for index, ratio in enumerate(fit.explained_variance[: fit.k], start=1) if ratio < RANK_TOLERANCE]
    if not empty:
        return []
    rank = fit.k - len(empty)
    which = f"component {empty[0]} carries" if len(empty) == 1 else f"components {empty[0]} to {empty[-1]} carry"
    return [f"k = {fit.k} is beyond the data's rank ({rank}): {which} no variance, only rounding noise; use --k {rank} or fewer"]


def build_manifest(*, run_id: str, summary: dict, fit: PcaFit, accuracy: dict, rows: int, reduce_seconds: float,
                   versions: dict, outputs: dict, created_at: str) -> dict:
    return {
        "run_id": run_id,
        "created_at": created_at,
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
        "warnings": rank_warnings(fit),
        "accuracy": accuracy["accuracy"],
        "accuracy_check": accuracy,
        "durations_seconds": {"extract": summary.get("duration_seconds"), "reduce": reduce_seconds},
        "versions": {**summary.get("versions", {}), **versions},
        "inference_settings": summary.get("settings", {}),
        "feature_store": summary.get("feature_store"),
        "outputs": outputs,
    }
