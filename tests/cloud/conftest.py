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

from tests.support.moto_server import MotoServer
from tests.support.render_definition import render_definition

ROLE = "arn:aws:iam::123456789012:role/fruits-step-functions"
BUCKET = "fruits-123456789012-eu-west-3"
FAST = {"step_timeout_seconds": 4, "pipeline_timeout_seconds": 120, "retry_interval_seconds": 1, "step_retries": 1}


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
    definition = render_definition(tmp_path_factory.mktemp("definition"), timeouts=FAST)
    machine = moto.client("stepfunctions").create_state_machine(name="fruits-pipeline", definition=definition, roleArn=ROLE)
    outputs = {"region": moto.region, "bucket_name": BUCKET, "kms_key_arn": key,
               "state_machine_arn": machine["stateMachineArn"], "prefixes": {"images": "images/", "artifacts": "artifacts/",
                                                                            "results": "results/", "logs": "logs/", "tmp": "tmp/"}}
    path = tmp_path_factory.mktemp("platform") / "platform.json"
    path.write_text(json.dumps({name: {"value": value, "sensitive": False} for name, value in outputs.items()}))
    return path


def edited_platform(platform_file: Path, folder: Path, **changes) -> Path:
    outputs = json.loads(platform_file.read_text())
    outputs.update({name: {"value": value} for name, value in changes.items()})
    path = folder / "platform-edited.json"
    path.write_text(json.dumps(outputs))
    return path


@pytest.fixture
def fruits(moto, platform_file):
    """fruits(*arguments, platform=..., endpoint=...) -> CompletedProcess of the real CLI."""
    def run(*arguments, platform=None, endpoint=None, timeout=180):
        environment = {**os.environ, "FRUITS_AWS_ENDPOINT_URL": endpoint or moto.endpoint, "FRUITS_PLATFORM": str(platform or platform_file),
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        return subprocess.run([sys.executable, "-m", "fruits", *arguments], capture_output=True, text=True,
                              env=environment, timeout=timeout)
    return run
