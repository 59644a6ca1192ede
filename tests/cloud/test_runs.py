"""`fruits start`, `watch`, `status`, `runs`, `results` and `cost` against the moto server, with
the state machine executed by moto's interpreter and EMR's part played by the step driver."""
from __future__ import annotations

import json
import re

import pytest

from fruits.cloud import prices
from fruits.layout import DEFAULT_LAYOUT
from fruits.rehearsal.emr_step_driver import EmrStepDriver
from tests.cloud.conftest import BUCKET, NO_PLATFORM, edited_platform, weights_variant
from tests.conftest import PROJECT_ROOT

# Not the defaults (m5.xlarge, 1 + 2): what a platform applied with its own var.emr runs.
BIGGER = {"primary_instance_type": "m5.2xlarge", "core_instance_type": "c5.xlarge", "core_instance_count": 5, "core_use_spot": True}
BIGGER_CLUSTER = (("m5.2xlarge", 1), ("c5.xlarge", 5))


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
    weights = weights_variant(tmp_path / "never-staged.weights.h5", variant=7)  # MobileNetV2's, one value changed
    result = fruits("start", "--weights", str(weights))
    assert result.returncode == 1 and "run `fruits stage` first" in result.stderr


def test_the_imagenet_download_is_refused_for_the_cloud(fruits):
    """The nodes' subnet has no internet route (terraform/modules/network): Keras could not download."""
    for command in (["stage"], ["start", "--dry-run"], ["demo-start", "--dry-run"]):
        result = fruits(*command, "--weights", "imagenet")
        assert result.returncode == 1 and "cannot download Keras's imagenet weights" in result.stderr, result.stderr
        assert "--weights" in result.stderr and result.stdout == ""


def test_wrong_arguments_are_refused(fruits, staged_weights):
    assert fruits("start", "--dry-run", "--weights", str(staged_weights), "--k", "0").returncode == 2  # argparse, as everywhere
    assert fruits("start", "--k", "3", "--variance", "0.9").returncode == 2  # argparse: one or the other
    assert fruits("cost").returncode == 2


def test_a_good_run_is_watched_to_success_and_listed(fruits, staged):
    with EmrStepDriver() as driver:
        started = fruits("start", "--weights", str(staged), "--run-id", "run-cli-good")
        assert started.returncode == 0, started.stderr
        assert "console.aws.amazon.com/states/home?region=eu-west-3" in started.stdout
        watched = fruits("watch", "run-cli-good", "--interval", "1")
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
        watched = fruits("watch", "run-cli-bad", "--interval", "1")
    assert watched.returncode == 1
    assert "run run-cli-bad FAILED" in watched.stderr and "Fruits.PipelineFailed" in watched.stderr
    assert "step 'Reduce dimensions' FAILED" in watched.stderr  # the cause is read, not EMR's JSON
    reduce_row = next(line for line in watched.stdout.split("Run run-cli-bad:")[-1].splitlines()
                      if line.startswith("  Reduce dimensions "))
    assert reduce_row.split()[2:4] == ["failed", "2"]  # status, tries: the retry failed too (step_retries 1)
    assert driver.clusters()[-1].state == "TERMINATED"


def test_status_of_an_unknown_run_is_one_clear_line(fruits):
    result = fruits("status", "run-that-never-was")
    assert result.returncode == 1 and "no such run" in result.stderr


def test_results_fetches_the_summary_and_the_matrix(fruits, moto, tmp_path):
    s3 = moto.client("s3")
    prefix = DEFAULT_LAYOUT.run_prefix("run-with-results")
    store = {"root": f"s3://{BUCKET}/features/x/", "featurized_now": 2, "from_store": 4, "purged": 1}
    manifest = {"featurized": 6, "rejected": 0, "k": 3, "accuracy": 1.0, "feature_store": store}
    s3.put_object(Bucket=BUCKET, Key=prefix + "manifest.json", Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=BUCKET, Key=prefix + "pca/matrix.csv", Body=b"path,label,pc1\na.jpg,apple,0.5\n")
    s3.put_object(Bucket=BUCKET, Key=prefix + "features/part-0.parquet", Body=b"big")
    result = fruits("results", "run-with-results", "--to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    # the counts as `fruits run-local` words them (fruits.commands.store_report)
    assert f"  features: 2 featurized now, 4 from the feature store s3://{BUCKET}/features/x/, 1 erased (--purge)\n" in result.stdout
    assert (tmp_path / "run-with-results" / "pca" / "matrix.csv").read_text().startswith("path,label,pc1")
    assert json.loads((tmp_path / "run-with-results" / "manifest.json").read_text()) == manifest
    assert not (tmp_path / "run-with-results" / "features").exists()
    missing = fruits("results", "run-without-results", "--to", str(tmp_path))
    assert missing.returncode == 1 and "has no results yet" in missing.stderr


def test_cost_scales_with_the_images(fruits, platform_file, tmp_path):
    # Terraform's default timeouts: the emulated platform's steps time out after seconds, which `cost` refuses to fit in
    roomy = edited_platform(platform_file, tmp_path, pipeline_timeouts=None)
    small, large = fruits("cost", "--images", "10000", platform=roomy), fruits("cost", "--images", "1000000", platform=roomy)
    cluster = prices.platform_cluster({name: entry["value"] for name, entry in json.loads(platform_file.read_text()).items()})
    expected = [prices.estimate_run(images, cluster) for images in (10000, 1000000)]
    for result, estimate in zip((small, large), expected):
        assert result.returncode == 0, result.stderr
        assert (f"{estimate['usd']:.2f} USD at {estimate['hourly_usd']:.3f} USD/h on-demand "
                f"(prices of {prices.PRICES_DATE}, eu-west-3") in result.stdout
    assert expected[1]["processing_minutes"] == pytest.approx(100 * expected[0]["processing_minutes"])  # in proportion
    assert expected[1]["usd"] - expected[0]["usd"] == pytest.approx(
        expected[0]["hourly_usd"] * 99 * expected[0]["processing_minutes"] / 60)  # the rest is fixed


def test_the_default_cluster_is_terraforms():
    """`fruits cost` without a platform file prices var.emr's defaults."""
    text = (PROJECT_ROOT / "terraform" / "variables.tf").read_text()
    default = {name: re.search(rf"{name}\s*=\s*optional\(\w+, \"?([\w.]+)\"?\)", text).group(1)
               for name in ("primary_instance_type", "core_instance_type", "core_instance_count")}
    assert prices.DEFAULT_CLUSTER == ((default["primary_instance_type"], 1), (default["core_instance_type"], int(default["core_instance_count"])))


def test_status_prices_the_cluster_the_platform_runs(fruits, platform_file, staged, tmp_path):
    with EmrStepDriver():
        assert fruits("start", "--weights", str(staged), "--run-id", "run-priced").returncode == 0
        assert fruits("watch", "run-priced", "--interval", "1").returncode == 0
    bigger = edited_platform(platform_file, tmp_path, emr_instances=BIGGER)
    shown = fruits("status", "run-priced", platform=bigger)
    assert shown.returncode == 0, shown.stderr
    assert f"({prices.hourly_cost(BIGGER_CLUSTER):.3f} USD/h on-demand)" in shown.stdout
    default = fruits("status", "run-priced")
    assert f"({prices.hourly_cost(prices.DEFAULT_CLUSTER):.3f} USD/h on-demand)" in default.stdout
    older = edited_platform(platform_file, tmp_path, emr_instances=None)
    unknown = fruits("status", "run-priced", platform=older)
    assert unknown.returncode == 0 and "cost so far unknown: the platform outputs lack emr_instances" in unknown.stdout


def test_cost_prices_the_platforms_cluster_and_terraforms_before_any_apply(fruits, platform_file, tmp_path):
    bigger_platform = edited_platform(platform_file, tmp_path, emr_instances=BIGGER, pipeline_timeouts=None)  # Terraform's timeouts
    bigger = fruits("cost", "--images", "10000", platform=bigger_platform)
    assert bigger.returncode == 0, bigger.stderr
    expected = prices.estimate_run(10000, BIGGER_CLUSTER)
    assert f"10000 images on 1 m5.2xlarge + 5 c5.xlarge (the platform's cluster): about {expected['minutes']:.0f} min" in bigger.stdout
    assert f"{expected['usd']:.2f} USD at {expected['hourly_usd']:.3f} USD/h" in bigger.stdout
    more = fruits("cost", "--images", "10000", "--core-nodes", "9", platform=bigger_platform)
    assert "on 1 m5.2xlarge + 9 c5.xlarge (the platform's cluster, 9 core nodes)" in more.stdout

    no_platform = fruits("cost", "--images", "10000", platform=tmp_path / "never-applied.json")
    assert no_platform.returncode == 1 and "no platform file" in no_platform.stderr  # named, so it must exist
    before_apply = fruits("cost", "--images", "10000", platform=NO_PLATFORM)
    expected = prices.estimate_run(10000, prices.DEFAULT_CLUSTER)
    assert before_apply.returncode == 0, before_apply.stderr
    assert (f"10000 images on 1 m5.xlarge + 2 m5.xlarge (Terraform's default cluster: no platform file): "
            f"about {expected['minutes']:.0f} min") in before_apply.stdout


def test_cost_names_an_instance_type_it_has_no_price_for(fruits, platform_file, tmp_path):
    graviton = edited_platform(platform_file, tmp_path, emr_instances={**BIGGER, "core_instance_type": "m6g.xlarge"})
    result = fruits("cost", "--images", "10000", platform=graviton)
    assert result.returncode == 1 and "no price for m6g.xlarge" in result.stderr and "Traceback" not in result.stderr

