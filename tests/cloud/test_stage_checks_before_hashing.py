"""`fruits stage`, `fruits demo-start` and `fruits start` check that the weights are MobileNetV2's
before they hash them: they hashed the whole file first (SHA-256, for the artifacts' prefix), so a
wrong file of some GB cost seconds of reading before the one-line refusal (demo-start's and
start's: not staged). The real CLI in its own process; what it read is the kernel's count of its
read bytes (/proc/self/io `rchar`), printed as it exits. No AWS is reached."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

WRONG_SIZE = 256 * 1024 * 1024  # sparse: no disk used
# The CLI's own reads (Python's imports, h5py's probe of the file's head) are about 12 MB here.
COUNT_READS = """
import runpy, sys
sys.argv = ["fruits", *sys.argv[1:]]
try:
    runpy.run_module("fruits", run_name="__main__")
finally:
    print(next(line for line in open("/proc/self/io") if line.startswith("rchar:")), file=sys.stderr)
"""


PLATFORM = {"region": "eu-west-3", "bucket_name": "b", "kms_key_arn": "k", "state_machine_arn": "s",  # what both commands read first
            "emr_release_label": "emr-7.13.0", "emr_service_role_name": "r", "emr_demo_instance_profile_name": "p",
            "emr_security_configuration_name": "c", "subnet_id": "subnet-1", "emr_log_uri": "s3://b/logs/"}


@pytest.mark.parametrize("command", ["stage", "demo-start", "start"])
def test_a_wrong_weights_file_is_refused_without_being_read(command, tmp_path):
    wrong = tmp_path / "weights.h5"
    wrong.write_text("<html>403 Forbidden</html>")  # what a failed download saves, here padded to 256 MiB
    os.truncate(wrong, WRONG_SIZE)
    platform = tmp_path / "platform.json"
    platform.write_text(json.dumps({name: {"value": value} for name, value in PLATFORM.items()}))
    environment = {**os.environ, "FRUITS_PLATFORM": str(platform), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "FRUITS_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens there: an AWS call would fail
    result = subprocess.run([sys.executable, "-c", COUNT_READS, command, "--weights", str(wrong)],
                            capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 1 and "is not an HDF5 file Keras can read" in result.stderr, result.stderr
    read = int(result.stderr.rsplit("rchar:", 1)[1])
    assert read < WRONG_SIZE / 4, f"the CLI read {read:,} bytes for a {WRONG_SIZE:,}-byte file it refused"
