"""`fruits cost` counts a cluster's start as two parts: EMR's provisioning (an assumption) and our
bootstrap (measured by benchmarks/wheelhouse_install.py), and says which is which."""
from __future__ import annotations

import re
import subprocess
import sys

from fruits.cloud import prices


def test_the_estimate_adds_emrs_start_our_measured_bootstrap_the_fixed_steps_and_the_processing():
    estimate = prices.estimate_run(10_000)
    assert estimate["start_minutes"] == prices.EMR_PROVISIONING_MINUTES + prices.BOOTSTRAP_MINUTES
    assert prices.BOOTSTRAP_MINUTES == prices.BOOTSTRAP_MEASURED_SECONDS * prices.BOOTSTRAP_NODE_FACTOR / 60
    assert estimate["minutes"] == estimate["start_minutes"] + prices.FIXED_STEP_MINUTES + estimate["processing_minutes"]


def test_fruits_cost_says_which_part_of_the_start_is_emrs_and_which_is_ours():
    result = subprocess.run([sys.executable, "-m", "fruits", "cost", "--images", "10000"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    start = re.search(r"([\d.]+) of them the cluster's start \(([\d.]+) min EMR's, assumed; ([\d.]+) min our bootstrap, measured\)", result.stdout)
    assert start, result.stdout
    assert float(start.group(2)) == round(prices.EMR_PROVISIONING_MINUTES, 1)
    assert float(start.group(3)) == round(prices.BOOTSTRAP_MINUTES, 1)
