"""Builds the input of one Step Functions execution: the contract between `fruits start`, the
state machine (`stepfunctions/pipeline.asl.json`) and the jobs' arguments. Every key is where the
bucket's layout (fruits.layout) puts it.

Usage (a bad run id, images prefix, k or variance, an input over MAX_INPUT_BYTES, or EMR strings over
EMR's limits (EmrStringsTooLong, saying which step), raises a ValueError):
    build_execution_input(bucket="b", region="eu-west-3", run_id=new_run_id(), artifacts_prefix="artifacts/<hash>/",
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

# EMR refuses a request whose strings are too long, and the state machine sends the steps after it
# has started the cluster: checked before StartExecution. Each Jar, Path and Arg of a step or of a
# bootstrap action is at most 10,280 characters (API_HadoopJarStepConfig.html,
# API_ScriptBootstrapActionConfig.html), and the strings of one HadoopJarStep together at most
# 10,240 (API_AddJobFlowSteps.html). Counted as Java counts them, in UTF-16 units (an emoji is 2).
MAX_EMR_STRING_CHARS = 10280
MAX_HADOOP_JAR_STEP_CHARS = 10240
EXTRACT_STEP, REDUCE_STEP, BOOTSTRAP_ACTION = "Extract features", "Reduce dimensions", "bootstrap action"
SPARK_SUBMIT = ["spark-submit", "--deploy-mode", "cluster", "--py-files"]


class EmrStringsTooLong(ValueError):
    """A step's or the bootstrap action's strings over EMR's limit; `where` names which. Only the
    platform's prefixes can make them so: --dataset is at most 255 bytes (fruits.layout)."""

    def __init__(self, where: str, what: str, chars: int, limit: int, page: str):
        self.where = where
        named = "the bootstrap action" if where == BOOTSTRAP_ACTION else f"the {where} step"
        super().__init__(f"{named}'s {what} would be {chars:,} characters, more than the {limit:,} EMR takes ({page}): "
                         "shorten the platform's prefixes")


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
    region: str,
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
        "region": region,  # the bucket's: the bootstrap action's AWS CLI needs it (bootstrap/install-python-deps.sh)
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
    check_emr_strings(execution_input)
    size = input_bytes(execution_input)
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"the run's input would be {size:,} bytes, more than the {MAX_INPUT_BYTES:,} that leave room for the "
                         "cluster id and an error within Step Functions' 256 KiB state quota (a state over it ends the "
                         "execution before it terminates the cluster): shorten the platform's prefixes or the dataset name")
    return execution_input


def input_bytes(execution_input: dict) -> int:
    """The size of the input as `fruits start` sends it (JSON, non-ASCII escaped: at least its UTF-8 size)."""
    return len(json.dumps(execution_input).encode())


def emr_strings(execution_input: dict) -> dict[str, list[str]]:
    """The strings stepfunctions/pipeline.asl.json sends EMR for this input, as its States.Array
    builds them: each step's Jar then Args, the bootstrap action's Path then Args
    (tests/stepfunctions/test_emr_argument_lengths.py compares them with what the emulator gets)."""
    i, store, pca = execution_input, execution_input["feature_store"], execution_input["pca"]
    return {
        BOOTSTRAP_ACTION: [i["bootstrap_uri"], i["requirements_uri"], i["wheelhouse_uri"], i["region"]],
        EXTRACT_STEP: ["command-runner.jar", *SPARK_SUBMIT, i["package_uri"], i["extract_job_uri"], "--images", i["images_uri"],
                       "--output", i["output_uri"], "--weights", i["weights_uri"], "--run-id", i["run_id"],
                       "--feature-store", store["uri"], store["recompute"], store["purge"]],
        REDUCE_STEP: ["command-runner.jar", *SPARK_SUBMIT, i["package_uri"], i["reduce_job_uri"], "--output", i["output_uri"],
                      "--run-id", i["run_id"], pca["option"], pca["value"]],
    }


def emr_chars(text: str) -> int:
    """`text`'s length in UTF-16 units, as EMR's (Java's) String.length counts it."""
    return len(text.encode("utf-16-le")) // 2


def check_emr_strings(execution_input: dict) -> None:
    """EmrStringsTooLong if a string, or a step's strings together, exceed EMR's limits."""
    for where, strings in emr_strings(execution_input).items():
        longest = max(map(emr_chars, strings))
        if longest > MAX_EMR_STRING_CHARS:
            page = "API_ScriptBootstrapActionConfig.html" if where == BOOTSTRAP_ACTION else "API_HadoopJarStepConfig.html"
            raise EmrStringsTooLong(where, "longest argument", longest, MAX_EMR_STRING_CHARS, page)
        total = sum(map(emr_chars, strings))
        if where != BOOTSTRAP_ACTION and total > MAX_HADOOP_JAR_STEP_CHARS:
            raise EmrStringsTooLong(where, "arguments together", total, MAX_HADOOP_JAR_STEP_CHARS, "API_AddJobFlowSteps.html")
