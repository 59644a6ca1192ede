"""Renders stepfunctions/pipeline.asl.json through the offline Terraform, with the
state-machine-definition module that the pipeline module uses: tests run what AWS would get.

Usage: `definition = render_definition(tmp_path, timeouts={"step_timeout_seconds": 5})` -> JSON text.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODULE = PROJECT_ROOT / "terraform" / "modules" / "state-machine-definition"
TEST_SETTINGS = {
    "emr_service_role": "fruits-emr-service",
    "emr_instance_profile": "fruits-emr-nodes",
    "security_configuration": "fruits-at-rest",
    "log_uri": "s3://fruits-test-bucket/logs/emr/",
    "subnet_id": "subnet-0123456789abcdef0",
}


def terraform(folder: Path, *arguments: str) -> str:
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "tools" / "terraform"), *arguments],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"terraform {' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout


def render_definition(folder: Path, **settings) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tf").write_text(
        'variable "settings" {\n  type = any\n}\n'
        f'module "definition" {{\n  source = "{os.path.relpath(MODULE, folder)}"\n'
        + "".join(f"  {name} = var.settings.{name}\n" for name in {**TEST_SETTINGS, **settings})
        + "}\n"
        'output "definition" {\n  value = module.definition.definition\n}\n'
    )
    (folder / "settings.auto.tfvars.json").write_text(json.dumps({"settings": {**TEST_SETTINGS, **settings}}))
    terraform(folder, "init", "-input=false", "-no-color")
    terraform(folder, "apply", "-auto-approve", "-input=false", "-no-color")
    return terraform(folder, "output", "-raw", "definition")


STEP_FUNCTIONS_ROLE = "arn:aws:iam::123456789012:role/fruits-step-functions"
# Short timeouts and retries, so that failure scenarios end in seconds.
FAST_TIMEOUTS = {"step_timeout_seconds": 4, "pipeline_timeout_seconds": 120, "retry_interval_seconds": 1, "step_retries": 2}


def create_state_machine(moto, folder: Path, timeouts: dict = FAST_TIMEOUTS) -> str:
    """Render the definition, create it on the moto server as fruits-pipeline, return its ARN."""
    definition = render_definition(folder, timeouts=timeouts)
    return moto.client("stepfunctions").create_state_machine(
        name="fruits-pipeline", definition=definition, roleArn=STEP_FUNCTIONS_ROLE)["stateMachineArn"]
