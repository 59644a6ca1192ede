"""What `terraform apply` created, as the CLI needs it: region, bucket, key, state machine.

Usage:
    platform = load_platform(path)   # `terraform output -json` saved to a file, or
    platform = load_platform(terraform_dir="terraform")   # runs `terraform output -json` there
Default file: $FRUITS_PLATFORM, else output/platform.json. The region is checked first: a
non-EU region stops here, before any AWS call.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fruits.cloud.execution_input import PREFIXES
from fruits.cloud.regions import require_eu_region
from fruits.errors import FruitsError

PLATFORM_ENV = "FRUITS_PLATFORM"
DEFAULT_PLATFORM_FILE = "output/platform.json"
REQUIRED = ("region", "bucket_name", "kms_key_arn", "state_machine_arn")


@dataclass(frozen=True)
class Platform:
    region: str
    bucket: str
    kms_key_arn: str
    state_machine_arn: str
    prefixes: dict
    outputs: dict = field(default_factory=dict, compare=False)  # every output's value, for commands that need more


def load_platform(path: str | None = None, terraform_dir: str | None = None) -> Platform:
    if terraform_dir:
        outputs = terraform_outputs(terraform_dir)
        source = f"`terraform output -json` in {terraform_dir}"
    else:
        path = path or os.environ.get(PLATFORM_ENV) or DEFAULT_PLATFORM_FILE
        source = path
        try:
            outputs = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FruitsError(f"no platform file {path}: after `terraform apply`, run "
                              f"`terraform -chdir=terraform output -json > {DEFAULT_PLATFORM_FILE}` (or pass --terraform-dir)") from None
        except ValueError as error:
            raise FruitsError(f"{path} is not `terraform output -json` output: {error}") from None
    values = {name: (entry.get("value") if isinstance(entry, dict) else entry) for name, entry in outputs.items()}
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise FruitsError(f"{source} lacks the outputs {', '.join(missing)}: is it the Fruits! platform's terraform output?")
    return Platform(region=require_eu_region(values["region"]), bucket=values["bucket_name"],
                    kms_key_arn=values["kms_key_arn"], state_machine_arn=values["state_machine_arn"],
                    prefixes=values.get("prefixes") or dict(PREFIXES), outputs=values)


def terraform_outputs(folder: str) -> dict:
    terraform = shutil.which("terraform")
    if not terraform:
        raise FruitsError("terraform is not on PATH: install it, or pass --platform with a saved `terraform output -json`")
    result = subprocess.run([terraform, f"-chdir={folder}", "output", "-json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise FruitsError(f"`terraform output -json` failed in {folder}: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout or "{}")
