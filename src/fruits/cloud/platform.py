"""What `terraform apply` created, as the CLI needs it: region, bucket, key, state machine, and the
bucket's layout (`platform.layout`, from the `prefixes` output: see fruits.layout).

Usage:
    platform = load_platform(path)   # `terraform output -json` saved to a file, or
    platform = load_platform(terraform_dir="terraform")   # runs `terraform output -json` there
Default file: $FRUITS_PLATFORM, else output/platform.json. The region is checked first: a
non-EU region stops here, before any AWS call. A file that is not the platform's outputs (a
folder, JSON that is not an object, values of the wrong type) is one FruitsError line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fruits.cloud.regions import require_eu_region
from fruits.errors import FruitsError
from fruits.layout import DEFAULT_PREFIXES, BucketLayout

PLATFORM_ENV = "FRUITS_PLATFORM"
DEFAULT_PLATFORM_FILE = "output/platform.json"
REQUIRED = ("region", "bucket_name", "kms_key_arn", "state_machine_arn")


@dataclass(frozen=True)
class Platform:
    region: str
    bucket: str
    kms_key_arn: str
    state_machine_arn: str
    prefixes: dict                  # the `prefixes` output, checked by load_platform
    outputs: dict = field(default_factory=dict, compare=False)  # every output's value, for commands that need more

    @property
    def layout(self) -> BucketLayout:
        return BucketLayout.from_prefixes(self.prefixes)


def load_platform(path: str | None = None, terraform_dir: str | None = None) -> Platform:
    if terraform_dir:
        outputs = terraform_outputs(terraform_dir)
        source = f"`terraform output -json` in {terraform_dir}"
    else:
        path = path or os.environ.get(PLATFORM_ENV) or DEFAULT_PLATFORM_FILE
        source = path
        outputs = read_outputs_file(path)
    if not isinstance(outputs, dict):
        raise FruitsError(f"{source} is not `terraform output -json` output: a JSON {json_type(outputs)}, not an object")
    # terraform wraps each output ({"value": ..., "type": ...}); a file of bare values works too,
    # maps included (a bare map has no "value" key).
    values = {name: (entry["value"] if isinstance(entry, dict) and "value" in entry else entry) for name, entry in outputs.items()}
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise FruitsError(f"{source} lacks the outputs {', '.join(missing)}: is it the Fruits! platform's terraform output?")
    not_text = [name for name in REQUIRED if not isinstance(values[name], str)]
    if not_text:
        raise FruitsError(f"{source}: the outputs {', '.join(not_text)} are not text: is it the Fruits! platform's terraform output?")
    prefixes = values.get("prefixes") or dict(DEFAULT_PREFIXES)  # no output at all: the storage module's own
    try:
        BucketLayout.from_prefixes(prefixes)
    except ValueError as error:
        raise FruitsError(f"{source}: the output prefixes is not the platform's layout: {error}: "
                          "is it the Fruits! platform's terraform output?") from None
    return Platform(region=require_eu_region(values["region"]), bucket=values["bucket_name"],
                    kms_key_arn=values["kms_key_arn"], state_machine_arn=values["state_machine_arn"],
                    prefixes=prefixes, outputs=values)


def read_outputs_file(path: str):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FruitsError(f"no platform file {path}: after `terraform apply`, run "
                          f"`terraform -chdir=terraform output -json > {DEFAULT_PLATFORM_FILE}` (or pass --terraform-dir)") from None
    except IsADirectoryError:
        raise FruitsError(f"{path} is a folder, not `terraform output -json` output saved to a file") from None
    except OSError as error:
        raise FruitsError(f"cannot read the platform file {path}: {error.strerror}") from None
    except ValueError as error:  # not JSON, or not UTF-8
        raise FruitsError(f"{path} is not `terraform output -json` output: {error}") from None


def json_type(value) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def terraform_outputs(folder: str):
    terraform = shutil.which("terraform")
    if not terraform:
        raise FruitsError("terraform is not on PATH: install it, or pass --platform with a saved `terraform output -json`")
    result = subprocess.run([terraform, f"-chdir={folder}", "output", "-json"], capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise FruitsError(f"`terraform output -json` failed in {folder}: {last}")
    try:
        return json.loads(result.stdout or "{}")
    except ValueError:
        first = (result.stdout.strip().splitlines() or [""])[0]
        raise FruitsError(f"`terraform output -json` gave no JSON in {folder} (it printed {first[:100]!r}): "
                          "is this the platform's Terraform folder?") from None
