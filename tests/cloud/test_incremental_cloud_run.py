"""An incremental cloud run: `fruits start` hands the dataset's feature store and the choices to
the extract job (in the execution input), and `fruits cost --new-images N` prices a run that
reads and featurizes only the new images, reading the others' stored features."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fruits.cloud import prices
from tests.cloud.conftest import BUCKET


@pytest.mark.parametrize("arguments, store", [
    ((), {"uri": f"s3://{BUCKET}/feature-store/fruits-360/", "recompute": "--no-full-recompute", "purge": "--no-purge"}),
    (("--dataset", "orchard/2026", "--full-recompute", "--purge"),
     {"uri": f"s3://{BUCKET}/feature-store/orchard/2026/", "recompute": "--full-recompute", "purge": "--purge"}),
])
def test_start_gives_the_extract_job_the_datasets_store_and_the_choices(fruits, staged_weights, arguments, store):
    result = fruits("start", "--dry-run", "--weights", str(staged_weights), "--run-id", "run-store", *arguments,
                    endpoint="http://127.0.0.1:9")  # a dry run calls nothing
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["feature_store"] == store


def test_an_incremental_run_costs_the_reading_of_every_image_and_the_featurizing_of_the_new_ones():
    full, incremental = prices.estimate_run(100_000), prices.estimate_run(100_000, new_images=10_000)
    core_type, core_count = prices.DEFAULT_CLUSTER[-1]
    vcpus = prices.VCPUS[core_type] * core_count
    assert incremental["processing_minutes"] == pytest.approx(
        (90_000 / prices.KNOWN_IMAGES_PER_VCPU_SECOND + 10_000 / prices.IMAGES_PER_VCPU_SECOND) / vcpus / 60)
    assert incremental["new_images"] == 10_000 and full["new_images"] == 100_000
    assert full["processing_minutes"] == pytest.approx(100_000 / prices.IMAGES_PER_VCPU_SECOND / vcpus / 60)
    assert incremental["usd"] < full["usd"]
    # Every image new: a first run's price (the index lets the known ones go unread, there are none).
    assert prices.estimate_run(100_000, new_images=100_000)["processing_minutes"] == pytest.approx(full["processing_minutes"])


def cost(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fruits", "cost", *arguments], capture_output=True, text=True)


def test_fruits_cost_prices_an_incremental_run():
    result = cost("--images", "100000", "--new-images", "10000")
    assert result.returncode == 0, result.stderr
    expected = prices.estimate_run(100_000, new_images=10_000)
    assert "100000 images, 10000 of them new (the others' features from the feature store)" in result.stdout
    assert f"{expected['processing_minutes']:.1f} of processing; {expected['usd']:.2f} USD" in result.stdout


def test_more_new_images_than_images_is_a_wrong_argument():
    result = cost("--images", "10", "--new-images", "11")
    assert result.returncode == 2 and "--new-images 11 is more than --images 10" in result.stderr
