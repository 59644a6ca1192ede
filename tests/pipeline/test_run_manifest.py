"""The run manifest (manifest.json) from plain values, no Spark: step 1's counts and weights carried
over, the PCA's k and variance, the accuracy check, both steps' durations and versions, where
each output is, and a warning for components beyond the data's rank."""
from __future__ import annotations

import pytest

from fruits.reduce import PcaFit
from fruits.steps.run_manifest import build_manifest, rank_warnings

SUMMARY = {"run_id": "run-1", "images_uri": "/photos", "files_found": 12, "images": 12, "featurized": 10, "rejected": 2,
           "rejected_by_reason": {"not an image": 2}, "weights": {"source": "/w.h5", "sha256": "ab" * 32},
           "settings": {"batch_size": 32, "partitions": 2}, "versions": {"python": "3.11.9", "tensorflow": "2.21.0"},
           "duration_seconds": 41.5}
ACCURACY = {"accuracy": 0.75, "test_images": 4, "train_images": 6, "by_class": {"Apple": {"accuracy": 0.75}}, "not_scored": {}}
OUTPUTS = {"features": "/runs/run-1/features", "matrix_csv": "/runs/run-1/pca/matrix.csv"}


def fit(k: int, explained: list[float], target: float | None = None) -> PcaFit:
    return PcaFit(model=None, k=k, explained_variance=explained, variance_target=target, standardize=False)


def test_the_manifest_carries_step_1_the_pca_and_the_check():
    manifest = build_manifest(run_id="run-1", summary=SUMMARY, fit=fit(2, [0.5, 0.3, 0.2], target=0.8), accuracy=ACCURACY,
                              rows=10, reduce_seconds=7.25, versions={"python": "3.11.9", "spark": "3.5.6"},
                              outputs=OUTPUTS, created_at="2026-11-24T13:40:11+00:00")
    assert manifest == {
        "run_id": "run-1",
        "created_at": "2026-11-24T13:40:11+00:00",
        "images_uri": "/photos",
        "images": 12,
        "featurized": 10,
        "rejected": 2,
        "rejected_by_reason": {"not an image": 2},
        "weights": {"source": "/w.h5", "sha256": "ab" * 32},
        "k": 2,
        "variance_target": 0.8,
        "variance_reached": 0.8,
        "standardize": False,
        "warnings": [],
        "accuracy": 0.75,
        "accuracy_check": ACCURACY,
        "durations_seconds": {"extract": 41.5, "reduce": 7.25},
        "versions": {"python": "3.11.9", "tensorflow": "2.21.0", "spark": "3.5.6"},
        "inference_settings": {"batch_size": 32, "partitions": 2},
        "outputs": OUTPUTS,
        "feature_store": None,  # a summary without a store
    }
    report = {"root": "file:/store", "featurized_now": 3, "from_store": 7}
    carried = build_manifest(run_id="run-1", summary={**SUMMARY, "feature_store": report}, fit=fit(2, [0.5, 0.3, 0.2], target=0.8),
                             accuracy=ACCURACY, rows=10, reduce_seconds=7.25, versions={}, outputs=OUTPUTS, created_at="now")
    assert carried["feature_store"] == report


def test_a_summary_without_duration_versions_or_settings_still_gives_a_manifest():
    summary = {key: value for key, value in SUMMARY.items() if key not in ("duration_seconds", "versions", "settings")}
    manifest = build_manifest(run_id="r", summary=summary, fit=fit(1, [0.9, 0.1]), accuracy=ACCURACY, rows=10,
                              reduce_seconds=1.0, versions={"spark": "3.5.6"}, outputs={}, created_at="now")
    assert manifest["durations_seconds"] == {"extract": None, "reduce": 1.0}
    assert (manifest["versions"], manifest["inference_settings"]) == ({"spark": "3.5.6"}, {})


@pytest.mark.parametrize(("k", "explained", "warning"), [
    (2, [0.6, 0.4, 0.0], None),
    (3, [0.6, 0.4, 1e-12], "k = 3 is beyond the data's rank (2): component 3 carries no variance, only rounding noise; "
                           "use --k 2 or fewer"),
    (4, [0.7, 0.3, 0.0, 1e-10], "k = 4 is beyond the data's rank (2): components 3 to 4 carry no variance, only "
                                "rounding noise; use --k 2 or fewer"),
], ids=["within", "one-beyond", "two-beyond"])
def test_components_without_variance_are_named(k, explained, warning):
    assert rank_warnings(fit(k, explained)) == ([] if warning is None else [warning])
