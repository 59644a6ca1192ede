"""A moto server with what `terraform apply` would create (KMS key, encrypted bucket, the state
machine rendered by the offline Terraform), and a runner for the real `fruits` CLI in its own
process, talking to the server over HTTP on 127.0.0.1 through FRUITS_AWS_ENDPOINT_URL.

Not reproduced by the emulator: IAM and KMS key policies, bucket-policy conditions (TLS, key
only), real EMR provisioning and timing (clusters start at once, so the cost shown is ~0)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fruits.rehearsal.emulator import MotoServer
from tests.support.render_definition import FAST_TIMEOUTS, create_state_machine

BUCKET = "fruits-123456789012-eu-west-3"


@pytest.fixture(scope="package")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="package")
def platform_file(moto, tmp_path_factory) -> Path:
    kms, s3 = moto.client("kms"), moto.client("s3")
    key = kms.create_key(Description="fruits test key")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": moto.region})
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}]})
    state_machine_arn = create_state_machine(moto, tmp_path_factory.mktemp("definition"), {**FAST_TIMEOUTS, "step_retries": 1})
    outputs = {"region": moto.region, "bucket_name": BUCKET, "kms_key_arn": key,
               "state_machine_arn": state_machine_arn, "prefixes": {"images": "images/", "artifacts": "artifacts/",
                                                                            "results": "results/", "logs": "logs/", "tmp": "tmp/"}}
    path = tmp_path_factory.mktemp("platform") / "platform.json"
    path.write_text(json.dumps({name: {"value": value, "sensitive": False} for name, value in outputs.items()}))
    return path


@pytest.fixture(scope="package")
def staged_weights(tmp_path_factory) -> Path:
    """A small file that `fruits stage --weights` accepts (its content only names the artifacts)."""
    weights = tmp_path_factory.mktemp("weights") / "weights.h5"
    weights.write_bytes(b"weights staged for the cloud tests")
    return weights


def edited_platform(platform_file: Path, folder: Path, **changes) -> Path:
    outputs = json.loads(platform_file.read_text())
    outputs.update({name: {"value": value} for name, value in changes.items()})
    path = folder / "platform-edited.json"
    path.write_text(json.dumps(outputs))
    return path


@pytest.fixture
def fruits(moto, platform_file):
    """fruits(*arguments, platform=..., endpoint=...) -> CompletedProcess of the real CLI."""
    def run(*arguments, platform=None, endpoint=None, timeout=180, credentials=True):
        environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": endpoint or moto.endpoint, "FRUITS_PLATFORM": str(platform or platform_file),
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        if not credentials:  # nowhere for botocore to find any
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
                environment.pop(name, None)
            environment.update(AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
                               AWS_EC2_METADATA_DISABLED="true")
        return subprocess.run([sys.executable, "-m", "fruits", *arguments], capture_output=True, text=True,
                              env=environment, timeout=timeout)
    return run
