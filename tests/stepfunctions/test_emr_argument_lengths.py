"""EMR's limits on the strings of a step (each at most 10,280 characters, one HadoopJarStep's
together at most 10,240: API_HadoopJarStepConfig.html, API_AddJobFlowSteps.html) and of a
bootstrap action (API_ScriptBootstrapActionConfig.html), held by build_execution_input before any
AWS call. The strings are measured as the state machine builds them: one execution in moto's
interpreter on the rendered definition, whose EMR backend keeps each step's Jar and Args and the
bootstrap action's Path and Args as sent. moto does not enforce EMR's limits itself (it takes the
over-long step too), so the bound is checked against fruits.cloud.execution_input's copy of them.
The same execution, with the longest run id `fruits start` accepts, checks the cluster's name, the
step names and the tags against RunJobFlow's and AddJobFlowSteps' maxima (botocore's EMR model:
256 characters, API_RunJobFlow.html) and EMR's tag rules (keys of 1-128 characters, values of at
most 256, letters, digits, spaces and _ . : / = + - @: emr-plan-tags-restrictions.html)."""
from __future__ import annotations

import json
import re
import time

import botocore.session

import pytest

from fruits.cloud.execution_input import (
    BOOTSTRAP_ACTION, EXTRACT_STEP, MAX_HADOOP_JAR_STEP_CHARS, EmrStringsTooLong, build_execution_input, emr_chars, emr_strings)
from fruits.rehearsal.emr_step_driver import EmrStepDriver
from fruits.rehearsal.emulator import MotoServer
from fruits.layout import MAX_RUN_ID_LENGTH
from tests.support.render_definition import create_state_machine

BUCKET, ARTIFACTS = "fruits-test-bucket", "artifacts/abc123/"
RUN_ID = "r" * MAX_RUN_ID_LENGTH  # the longest `fruits start` accepts


def execution_input(dataset: str, weights: str = "w.h5") -> dict:
    return build_execution_input(bucket=BUCKET, region="eu-west-3", run_id=RUN_ID, artifacts_prefix=ARTIFACTS, weights_key=f"{ARTIFACTS}weights/{weights}",
                                 images_prefix=f"images/{dataset}/")


def extract_chars(dataset: str, weights: str) -> int:
    """The Extract step's strings together with `dataset`, which two of them hold (images, feature
    store), computed from a short one: the check would refuse the long one."""
    return sum(map(emr_chars, emr_strings(execution_input("d", weights))[EXTRACT_STEP])) + 2 * (emr_chars(dataset) - 1)


def at_the_limit() -> tuple[str, str]:
    """A dataset name and a weights file name that make the Extract step's strings exactly the
    limit (the dataset is in two of them, the weights in one: its length sets the parity)."""
    for weights in ("w.h5", "w1.h5"):
        spare = MAX_HADOOP_JAR_STEP_CHARS - extract_chars("", weights)
        if spare % 2 == 0:
            return "d" * (spare // 2), weights
    raise AssertionError("unreachable")


EMR = botocore.session.get_session().get_service_model("emr")
NAME_MAX = EMR.shape_for("RunJobFlowInput").members["Name"].metadata["max"]
STEP_NAME_MAX = EMR.shape_for("StepConfig").members["Name"].metadata["max"]
TAG = re.compile(r"[\w\s_.:/=+\-@]*")


def test_a_dataset_one_character_over_the_steps_limit_is_refused():
    dataset, weights = at_the_limit()
    assert extract_chars(dataset, weights) == MAX_HADOOP_JAR_STEP_CHARS
    execution_input(dataset, weights)  # the limit itself passes
    with pytest.raises(EmrStringsTooLong, match=r"the Extract features step's arguments together would be 10,242 characters, more than "
                                                r"the 10,240 EMR takes \(API_AddJobFlowSteps.html\)") as refused:
        execution_input(dataset + "d", weights)
    assert refused.value.where == EXTRACT_STEP


def test_characters_are_counted_as_emr_counts_them():
    """An emoji is two UTF-16 units for EMR (Java), one character for Python."""
    dataset, weights = at_the_limit()
    execution_input(dataset[:-2] + "\N{RED APPLE}", weights)
    with pytest.raises(EmrStringsTooLong, match="10,242 characters"):
        execution_input(dataset[:-1] + "\N{RED APPLE}", weights)


def test_a_bootstrap_argument_over_its_limit_is_refused():
    with pytest.raises(EmrStringsTooLong, match=r"bootstrap action's longest argument would be 10,3\d\d characters, more than "
                                                r"the 10,280 EMR takes \(API_ScriptBootstrapActionConfig.html\)") as refused:
        build_execution_input(bucket=BUCKET, region="eu-west-3", run_id="r", artifacts_prefix=ARTIFACTS, weights_key=ARTIFACTS + "weights/w.h5",
                              wheelhouse_prefix="w" * 10_280 + "/")
    assert refused.value.where == BOOTSTRAP_ACTION


def test_the_strings_measured_are_those_the_state_machine_sends(tmp_path):
    dataset, weights = at_the_limit()
    sent, run_id = execution_input(dataset, weights), RUN_ID
    with MotoServer() as moto, EmrStepDriver() as driver:
        state_machine = create_state_machine(moto, tmp_path)
        sfn = moto.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=state_machine, name=run_id, input=json.dumps(sent))["executionArn"]
        deadline = time.monotonic() + 60
        while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        cluster = driver.clusters()[-1]
    received = {step.name: [step.jar, *step.args] for step in cluster.steps}
    [bootstrap] = cluster.bootstrap_actions
    received[BOOTSTRAP_ACTION] = [bootstrap.script_path, *bootstrap.args]
    assert received == emr_strings(sent)
    assert sum(map(emr_chars, received[EXTRACT_STEP])) == MAX_HADOOP_JAR_STEP_CHARS

    assert run_id in cluster.name and emr_chars(cluster.name) <= NAME_MAX
    assert all(emr_chars(step.name) <= STEP_NAME_MAX for step in cluster.steps)
    assert {"Key": "fruits:run-id", "Value": run_id} in cluster.tags
    for tag in cluster.tags:
        assert 1 <= len(tag["Key"]) <= 128 and len(tag["Value"]) <= 256, tag
        assert TAG.fullmatch(tag["Key"]) and TAG.fullmatch(tag["Value"]) and not tag["Key"].lower().startswith("aws:"), tag
