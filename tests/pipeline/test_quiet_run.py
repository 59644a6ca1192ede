"""`fruits run-local --quiet` as a user runs it (its own process, file permissions applying even
for root): TensorFlow's start-up notices from the driver and every worker stay off the console,
and a file the user cannot read is rejected with its reason while the run goes on."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from fruits.model import without_start_up_notices

from .images import copy_subset, without_root_privileges


START_UP_NOTICE = re.compile(r"oneDNN|absl::InitializeLog|cpu_feature_guard|^I\d{4} ")


@pytest.mark.slow
def test_quiet_run_shows_no_tensorflow_notices_and_rejects_an_unreadable_file(sample_images, weights_file, tmp_path):
    images = copy_subset(sample_images, tmp_path / "images", per_class=5, classes=2)
    locked = images / "Banana 1" / "locked.jpg"
    shutil.copy(next((images / "Banana 1").iterdir()), locked)
    locked.chmod(0)

    result = subprocess.run(without_root_privileges([
        sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(images), "--weights", str(weights_file),
        "--output", str(tmp_path / "out"), "--run-id", "quiet", "--k", "2"]), capture_output=True, text=True)

    assert result.returncode == 0, result.stderr[-3000:]
    assert [line for line in result.stderr.splitlines() if START_UP_NOTICE.search(line)] == []
    manifest = json.loads((tmp_path / "out" / "quiet" / "manifest.json").read_text())
    assert (manifest["images"], manifest["featurized"], manifest["rejected_by_reason"]) == (11, 10, {"unreadable": 1})


def test_only_start_up_notices_are_dropped():
    captured = "\n".join([
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795968186.302407   31827 port.cc:153] oneDNN custom operations are on. You may see slightly different",
        "I0000 00:00:1795968187.950695     673 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use CPU",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.",
        "I0000 00:00:1795968187.950695     673 port.cc:153] oneDNN custom operations are on.",
        "/venv/lib/python3.11/site-packages/keras/src/x.py:12: UserWarning: something to fix",
        "E0000 00:00:1795968190.996394   32120 cuda_dnn.cc:8310] Unable to register cuDNN factory",
        "W0000 00:00:1795968190.996394   32120 loader.cc:12] could not load libfoo.so",
        "  detail of that warning",
        "Traceback (most recent call last):",
        "",
    ])
    assert without_start_up_notices(captured) == "\n".join([
        "/venv/lib/python3.11/site-packages/keras/src/x.py:12: UserWarning: something to fix",
        "E0000 00:00:1795968190.996394   32120 cuda_dnn.cc:8310] Unable to register cuDNN factory",
        "W0000 00:00:1795968190.996394   32120 loader.cc:12] could not load libfoo.so",
        "  detail of that warning",
        "Traceback (most recent call last):",
        "",
    ])
