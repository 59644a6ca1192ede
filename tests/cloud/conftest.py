"""A moto server with what `terraform apply` would create, made by the rehearsal's own
create_platform (KMS key, encrypted bucket, roles, subnet, the state machine rendered by the
offline Terraform, and the platform file with every output), and a runner for the real `fruits`
CLI in its own process, talking to the server over HTTP on 127.0.0.1 through FRUITS_AWS_ENDPOINT_URL.

Not reproduced by the emulator: IAM and KMS key policies, bucket-policy conditions (TLS, key
only), real EMR provisioning and timing (clusters start at once, so the cost shown is ~0)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fruits.rehearsal.emulator import MotoServer
from fruits.rehearsal.platform import create_platform
from tests.conftest import PROJECT_ROOT
from tests.support.render_definition import FAST_TIMEOUTS

BUCKET = "fruits-123456789012-eu-west-3"  # the name create_platform gives it, as the storage module does
NO_PLATFORM = "none"  # fruits(..., platform=NO_PLATFORM): no $FRUITS_PLATFORM, and no output/platform.json where it runs


@pytest.fixture(scope="package")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="package")
def platform_file(moto, tmp_path_factory) -> Path:
    path, outputs = create_platform(moto, tmp_path_factory.mktemp("platform"), timeouts={**FAST_TIMEOUTS, "step_retries": 1})
    assert outputs["bucket_name"] == BUCKET
    return path


def weights_variant(target: Path, variant: int = 0) -> Path:
    """A copy of the shared MobileNetV2 no-top weights at `target`, which `fruits stage` accepts
    (fruits.cloud.weights_check); a `variant` other than 0 changes one value: other bytes, other artifacts."""
    import h5py

    from fruits.settings import DEFAULT_WEIGHTS

    shutil.copyfile(DEFAULT_WEIGHTS, target)
    if variant:
        with h5py.File(target, "r+") as weights:
            weights["layers/batch_normalization/vars/0"][0] += variant
    return target


@pytest.fixture(scope="package")
def staged_weights(tmp_path_factory) -> Path:
    """Weights that `fruits stage --weights` accepts (their content also names the artifacts)."""
    return weights_variant(tmp_path_factory.mktemp("weights") / "weights.h5")


def edited_platform(platform_file: Path, folder: Path, **changes) -> Path:
    """A copy of the platform file with some outputs changed (a value None: that output left out)."""
    outputs = json.loads(platform_file.read_text())
    outputs.update({name: {"value": value} for name, value in changes.items()})
    outputs = {name: entry for name, entry in outputs.items() if entry["value"] is not None}
    path = folder / "platform-edited.json"
    path.write_text(json.dumps(outputs))
    return path


def run_cli(moto, platform_file: Path, tmp_path_factory, *arguments, platform=None, endpoint=None, timeout=180, credentials=True,
            calls_log: Path | None = None):
    """The real CLI in its own process against the moto server; `calls_log`: record each AWS call
    it makes there (tests.support.aws_calls)."""
    environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": endpoint or moto.endpoint, "FRUITS_PLATFORM": str(platform or platform_file),
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    where = None
    if platform == NO_PLATFORM:
        environment.pop("FRUITS_PLATFORM")
        where = tmp_path_factory.mktemp("no-platform")
    if not credentials:  # nowhere for botocore to find any
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            environment.pop(name, None)
        environment.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
                           AWS_EC2_METADATA_DISABLED="true")
    program = ["-m", "fruits"] if calls_log is None else ["-m", "tests.support.aws_calls", str(calls_log)]
    if calls_log is not None:
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, *program, *arguments], capture_output=True, text=True,
                          env=environment, timeout=timeout, cwd=where)


@pytest.fixture
def fruits(moto, platform_file, tmp_path_factory):
    """fruits(*arguments, platform=..., endpoint=..., calls_log=...) -> CompletedProcess of the real CLI."""
    return lambda *arguments, **options: run_cli(moto, platform_file, tmp_path_factory, *arguments, **options)
