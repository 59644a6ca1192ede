"""Builds the input of one Step Functions execution: the contract between `fruits start`, the
state machine (`stepfunctions/pipeline.asl.json`) and the jobs' arguments. Every key is where the
bucket's layout (fruits.layout) puts it.

Usage (a bad run id, images prefix, k or variance, or an input over MAX_INPUT_BYTES, raises a ValueError):
    build_execution_input(bucket="b", run_id=new_run_id(), artifacts_prefix="artifacts/<hash>/",
                          weights_key="artifacts/<hash>/weights/x.h5", layout=platform.layout,
                          images_prefix=platform.layout.images_prefix("fruits-360"),
                          full_recompute=False, purge=False)
The extract job always gets the dataset's feature store (s3://BUCKET/feature-store/DATASET/) and
both choices as one argument each (`--full-recompute` or `--no-full-recompute`, `--purge` or
`--no-purge`): States.Array cannot leave an argument out.
"""
from __future__ import annotations

import json

from fruits.layout import (
    BOOTSTRAP_SCRIPT, DEFAULT_LAYOUT, EXTRACT_JOB, PACKAGE_FILE, REDUCE_JOB, REQUIREMENTS_LOCK, BucketLayout, plain_folders)

# A state whose data outgrows Step Functions' payload quota (256 KiB of UTF-8) fails the execution
# with States.DataLimitExceeded, which no Catch catches, not even States.ALL: the cluster would be
# left to its idle timeout (docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html;
# the quota: docs.aws.amazon.com/step-functions/latest/dg/limits.html). Until the cluster is
# terminated, a state holds the input, the cluster id and one caught error:
# tests/stepfunctions/test_payload_quota.py bounds those two from the definition and botocore's
# models (under 200 KiB at worst) and checks that this much input still fits.
MAX_INPUT_BYTES = 48 * 1024


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
    weights_key: str,
    layout: BucketLayout = DEFAULT_LAYOUT,
    images_prefix: str | None = None,
    k: int | None = None,
    variance: float | None = 0.95,
    wheelhouse_prefix: str | None = None,
    full_recompute: bool = False,
    purge: bool = False,
) -> dict:
    """The execution input (all S3 URIs absolute): the run's output under `layout`'s results
    prefix, the images under `images_prefix` (default: the layout's whole images prefix), their
    feature store under the feature_store prefix (layout.feature_store_prefix).
    `weights_key` is the staged weights file (the nodes have no internet, so never Keras's own
    `imagenet` download); `k` given overrides the variance target; `wheelhouse_prefix=None` means the wheelhouse of this checkout's lock,
    which `fruits stage` uploads."""
    from fruits.cloud.wheelhouse import checkout_wheelhouse_prefix

    if not weights_key:
        raise ValueError("the cluster needs the staged weights file's key: its nodes cannot download Keras's imagenet weights")
    images_prefix = images_prefix or layout.images
    if not plain_folders(images_prefix.removesuffix("/")):
        # Hadoop resolves "images/../x/" to "x/": the jobs would read outside images/.
        raise ValueError(f"images prefix {images_prefix!r} must be plain folder names (no '.', '..' or empty part)")
    artifacts = f"s3://{bucket}/{artifacts_prefix.rstrip('/')}/"
    execution_input = {
        "run_id": run_id,
        "images_uri": f"s3://{bucket}/{images_prefix.rstrip('/')}/",
        "output_uri": f"s3://{bucket}/{layout.run_prefix(run_id)}",  # the run id becomes its folder and execution name
        "artifacts_uri": artifacts,
        "package_uri": artifacts + PACKAGE_FILE,
        "extract_job_uri": artifacts + EXTRACT_JOB,
        "reduce_job_uri": artifacts + REDUCE_JOB,
        "bootstrap_uri": artifacts + BOOTSTRAP_SCRIPT,
        "requirements_uri": artifacts + REQUIREMENTS_LOCK,
        "wheelhouse_uri": f"s3://{bucket}/{wheelhouse_prefix or checkout_wheelhouse_prefix(layout)}",
        "weights_uri": f"s3://{bucket}/{weights_key}",
        "pca": pca_option(k=k, variance=None) if k is not None else pca_option(variance=variance),
        "feature_store": {
            "uri": f"s3://{bucket}/{layout.feature_store_prefix(images_prefix.rstrip('/') + '/')}",
            "recompute": "--full-recompute" if full_recompute else "--no-full-recompute",
            "purge": "--purge" if purge else "--no-purge",
        },
    }
    size = input_bytes(execution_input)
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"the run's input would be {size:,} bytes, more than the {MAX_INPUT_BYTES:,} that leave room for the "
                         "cluster id and an error within Step Functions' 256 KiB state quota (a state over it ends the "
                         "execution before it terminates the cluster): shorten the platform's prefixes or the dataset name")
    return execution_input


def input_bytes(execution_input: dict) -> int:
    """The size of the input as `fruits start` sends it (JSON, non-ASCII escaped: at least its UTF-8 size)."""
    return len(json.dumps(execution_input).encode())
