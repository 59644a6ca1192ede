"""The rendered state machine with test settings, created on a moto server.

Usage: `definition = render_test_definition(tmp_path, timeouts={"step_timeout_seconds": 5})` -> JSON text;
`create_state_machine(moto, tmp_path)` -> the ARN of fruits-pipeline on that server.
"""
from __future__ import annotations

from pathlib import Path

from fruits.layout import DEFAULT_LAYOUT
from fruits.rehearsal.definition import render_definition

TEST_SETTINGS = {
    "emr_service_role": "fruits-emr-service",
    "emr_instance_profile": "fruits-emr-nodes",
    "security_configuration": "fruits-at-rest",
    "log_uri": f"s3://fruits-test-bucket/{DEFAULT_LAYOUT.emr_logs_prefix}",
    "subnet_id": "subnet-0123456789abcdef0",
    "log_encryption_key_arn": "arn:aws:kms:eu-west-3:123456789012:key/11111111-2222-3333-4444-555555555555",
}
STEP_FUNCTIONS_ROLE = "arn:aws:iam::123456789012:role/fruits-step-functions"
# Short timeouts and retries, so that failure scenarios end in seconds (the execution's own timeout
# must still cover its worst case, the module's rule: the cluster's checks count 60 s each there).
FAST_TIMEOUTS = {"step_timeout_seconds": 4, "pipeline_timeout_seconds": 1500, "retry_interval_seconds": 1, "step_retries": 2,
                 "cluster_start_timeout_seconds": 20, "cluster_check_seconds": 1, "termination_timeout_seconds": 10}


def render_test_definition(folder: Path, **settings) -> str:
    return render_definition(folder, **{**TEST_SETTINGS, **settings})


def create_state_machine(moto, folder: Path, timeouts: dict = FAST_TIMEOUTS, name: str = "fruits-pipeline") -> str:
    """Render the definition, create it on the moto server as `name`, return its ARN."""
    definition = render_test_definition(folder, timeouts=timeouts)
    return moto.client("stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=STEP_FUNCTIONS_ROLE)["stateMachineArn"]
