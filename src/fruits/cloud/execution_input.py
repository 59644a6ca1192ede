"""Builds the input of one Step Functions execution: the contract between `fruits start`, the
state machine (`stepfunctions/pipeline.asl.json`) and the jobs' arguments.

Usage:
    build_execution_input(bucket="b", run_id=new_run_id(), artifacts_prefix="artifacts/<hash>/",
                          weights_key="artifacts/<hash>/weights/x.h5")
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

PREFIXES = {"images": "images/", "artifacts": "artifacts/", "results": "results/", "logs": "logs/", "tmp": "tmp/"}
PACKAGE_FILE = "fruits.zip"
EXTRACT_JOB = "jobs/extract_features.py"
REDUCE_JOB = "jobs/reduce_dimensions.py"
BOOTSTRAP_SCRIPT = "bootstrap/install-python-deps.sh"
REQUIREMENTS_LOCK = "requirements/cluster.lock"


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as `run-20261124T134500Z-3f9a1c` (valid as an execution name)."""
    now = now or datetime.now(timezone.utc)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def pca_option(k: int | None = None, variance: float | None = None) -> dict[str, str]:
    """The reduce job's component choice as `{"option": "--k"|"--variance", "value": str}`."""
    if (k is None) == (variance is None):
        raise ValueError("give exactly one of k or variance")
    if k is not None:
        if k < 1:
            raise ValueError("k must be at least 1")
        return {"option": "--k", "value": str(k)}
    if not 0.0 < variance <= 1.0:
        raise ValueError("variance must be in (0, 1]")
    return {"option": "--variance", "value": repr(float(variance))}


def build_execution_input(
    *,
    bucket: str,
    run_id: str,
    artifacts_prefix: str,
    weights_key: str | None,
    images_prefix: str = PREFIXES["images"],
    k: int | None = None,
    variance: float | None = 0.95,
) -> dict:
    """The execution input (all S3 URIs absolute). `weights_key=None` means Keras's own
    `imagenet` download on the cluster; `k` given overrides the variance target."""
    artifacts = f"s3://{bucket}/{artifacts_prefix.rstrip('/')}/"
    return {
        "run_id": run_id,
        "images_uri": f"s3://{bucket}/{images_prefix.rstrip('/')}/",
        "output_uri": f"s3://{bucket}/{PREFIXES['results']}{run_id}/",
        "artifacts_uri": artifacts,
        "package_uri": artifacts + PACKAGE_FILE,
        "extract_job_uri": artifacts + EXTRACT_JOB,
        "reduce_job_uri": artifacts + REDUCE_JOB,
        "bootstrap_uri": artifacts + BOOTSTRAP_SCRIPT,
        "requirements_uri": artifacts + REQUIREMENTS_LOCK,
        "weights_uri": f"s3://{bucket}/{weights_key}" if weights_key else "imagenet",
        "pca": pca_option(k=k, variance=None) if k is not None else pca_option(variance=variance),
    }
