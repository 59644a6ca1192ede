"""`fruits start --dataset NAME` whose name makes the Extract step's strings longer than EMR takes
(10,240 characters together: API_AddJobFlowSteps.html) is a wrong argument: exit 2, one line
naming --dataset and the limit, nothing started. Were it sent, the state machine would start a
cluster and only then have the step refused. The name at the limit passes (measured on the step's
strings as fruits.cloud.execution_input.emr_strings builds them, which
tests/stepfunctions/test_emr_argument_lengths.py compares with what the state machine sends)."""
from __future__ import annotations

import json

from fruits.cloud.execution_input import EXTRACT_STEP, MAX_HADOOP_JAR_STEP_CHARS, emr_chars, emr_strings


def dry_run(fruits, weights, dataset: str):
    return fruits("start", "--dry-run", "--dataset", dataset, "--run-id", "limit", "--weights", str(weights))


def test_a_dataset_over_the_steps_limit_is_a_wrong_argument_and_the_limit_passes(fruits, moto, staged_weights, tmp_path):
    # The dataset is in two of the strings, the weights file's name in one: its length sets the parity.
    (tmp_path / "weights1.h5").symlink_to(staged_weights)
    for weights in (staged_weights, tmp_path / "weights1.h5"):
        short = json.loads(dry_run(fruits, weights, "d").stdout)
        spare = MAX_HADOOP_JAR_STEP_CHARS - sum(map(emr_chars, emr_strings(short)[EXTRACT_STEP])) + 2
        if spare % 2 == 0:
            break
    dataset = "d" * (spare // 2)

    at_limit = dry_run(fruits, weights, dataset)
    assert at_limit.returncode == 0, at_limit.stderr
    assert sum(map(emr_chars, emr_strings(json.loads(at_limit.stdout))[EXTRACT_STEP])) == MAX_HADOOP_JAR_STEP_CHARS

    sfn = moto.client("stepfunctions")
    machines = [machine["stateMachineArn"] for machine in sfn.list_state_machines()["stateMachines"]]
    before = [len(sfn.list_executions(stateMachineArn=arn)["executions"]) for arn in machines]
    over = fruits("start", "--dataset", dataset + "d", "--run-id", "limit", "--weights", str(weights))
    assert over.returncode == 2 and over.stdout == "", over.stdout
    assert over.stderr.count("\n") == 1, over.stderr
    assert over.stderr.startswith("fruits start: error: argument --dataset: the Extract features step's arguments together "
                                  "would be 10,242 characters, more than the 10,240 EMR takes (API_AddJobFlowSteps.html)"), over.stderr
    assert [len(sfn.list_executions(stateMachineArn=arn)["executions"]) for arn in machines] == before
