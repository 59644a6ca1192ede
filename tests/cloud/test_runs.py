"""`fruits start`, `watch`, `status`, `runs`, `results` and `cost` against the moto server, with
the state machine executed by moto's interpreter and EMR's part played by the step driver."""
from __future__ import annotations

import json

import pytest

from tests.cloud.conftest import BUCKET
from fruits.rehearsal.emr_step_driver import EmrStepDriver


@pytest.fixture
def staged(fruits, moto, staged_weights):
    """The code staged, and photos under the default dataset (`start` refuses a prefix with fewer than 2)."""
    result = fruits("stage", "--weights", str(staged_weights), "--quiet")
    assert result.returncode == 0, result.stderr
    for key in ("images/fruits-360/apple/1.jpg", "images/fruits-360/pear/2.jpg"):
        moto.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"a photo, as far as start can tell")
    return staged_weights


def test_dry_run_prints_the_input_and_calls_nothing(fruits, staged_weights):
    result = fruits("start", "--dry-run", "--weights", str(staged_weights), "--k", "12", "--run-id", "run-dry", endpoint="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    execution_input = json.loads(result.stdout)
    assert execution_input["run_id"] == "run-dry" and execution_input["pca"] == {"option": "--k", "value": "12"}
    assert execution_input["images_uri"] == f"s3://{BUCKET}/images/fruits-360/"
    assert execution_input["weights_uri"].startswith(f"s3://{BUCKET}/artifacts/") and execution_input["weights_uri"].endswith("/weights/weights.h5")


def test_start_refuses_code_that_is_not_staged(fruits, tmp_path):
    weights = tmp_path / "never-staged.h5"
    weights.write_bytes(b"never staged")
    result = fruits("start", "--weights", str(weights))
    assert result.returncode == 1 and "run `fruits stage` first" in result.stderr


def test_wrong_arguments_are_refused(fruits, staged_weights):
    assert fruits("start", "--dry-run", "--weights", str(staged_weights), "--k", "0").returncode == 2  # argparse, as everywhere
    assert fruits("start", "--k", "3", "--variance", "0.9").returncode == 2  # argparse: one or the other
    assert fruits("cost").returncode == 2


def test_a_good_run_is_watched_to_success_and_listed(fruits, staged):
    with EmrStepDriver() as driver:
        started = fruits("start", "--weights", str(staged), "--run-id", "run-cli-good")
        assert started.returncode == 0, started.stderr
        assert "console.aws.amazon.com/states/home?region=eu-west-3" in started.stdout
        watched = fruits("watch", "run-cli-good", "--interval", "0.5")
    assert watched.returncode == 0, watched.stderr
    last = watched.stdout.split("Run run-cli-good:")[-1]
    assert last.startswith(" SUCCEEDED")
    for state in ("Create EMR cluster", "Extract features", "Reduce dimensions", "Terminate cluster"):
        assert state in last
    assert driver.clusters()[-1].state == "TERMINATED"
    listed = fruits("runs")
    assert "run-cli-good" in listed.stdout and "SUCCEEDED" in listed.stdout


def test_a_failed_run_exits_non_zero_with_the_cause(fruits, staged):
    with EmrStepDriver({"Reduce dimensions": ["FAILED", "FAILED"]}) as driver:
        assert fruits("start", "--weights", str(staged), "--run-id", "run-cli-bad").returncode == 0
        watched = fruits("watch", "run-cli-bad", "--interval", "0.5")
    assert watched.returncode == 1
    assert "run run-cli-bad FAILED" in watched.stderr and "Fruits.PipelineFailed" in watched.stderr
    assert "step 'Reduce dimensions' FAILED" in watched.stderr  # the cause is read, not EMR's JSON
    assert "retrying" in watched.stdout or "  2  " in watched.stdout.split("Reduce dimensions")[-1][:30]
    assert driver.clusters()[-1].state == "TERMINATED"


def test_status_of_an_unknown_run_is_one_clear_line(fruits):
    result = fruits("status", "run-that-never-was")
    assert result.returncode == 1 and "no such run" in result.stderr


def test_results_fetches_the_summary_and_the_matrix(fruits, moto, tmp_path):
    s3 = moto.client("s3")
    prefix = "results/run-with-results/"
    manifest = {"featurized": 6, "rejected": 0, "k": 3, "accuracy": 1.0}
    s3.put_object(Bucket=BUCKET, Key=prefix + "manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=prefix + "pca/matrix.csv", Body=b"path,label,pc1\na.jpg,apple,0.5\n")
    s3.put_object(Bucket=BUCKET, Key=prefix + "features/part-0.parquet", Body=b"big")
    result = fruits("results", "run-with-results", "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run-with-results" / "pca" / "matrix.csv").read_text().startswith("path,label,pc1")
    assert json.loads((tmp_path / "run-with-results" / "manifest.json").read_text()) == manifest
    assert not (tmp_path / "run-with-results" / "features").exists()
    missing = fruits("results", "run-without-results", "--to", str(tmp_path))
    assert missing.returncode == 1 and "has no results yet" in missing.stderr


def test_cost_scales_with_the_images(fruits):
    small, large = fruits("cost", "--images", "10000"), fruits("cost", "--images", "1000000")
    assert small.returncode == 0 and "USD" in small.stdout and "prices of" in small.stdout
    usd = [float(r.stdout.split(" USD at")[0].rsplit(" ", 1)[1]) for r in (small, large)]
    assert usd[1] > 10 * usd[0] / 2 and usd[0] > 0
