"""One layout, the platform's: a platform file whose `prefixes` output moves the images, the
artifacts, the results and the notebooks, and every command follows it (upload, stage, start dry
and real, results, the refusal of a complete run, demo-start dry and real). Nothing lands under
the default prefixes."""
from __future__ import annotations

import json
import shutil

import pytest

from fruits.cloud.wheelhouse import TARGET, lock_digest
from fruits.layout import DEFAULT_PREFIXES, BucketLayout
from fruits.rehearsal.emr_step_driver import EmrStepDriver
from fruits.settings import DEFAULT_IMAGES as SAMPLE_IMAGES
from tests.bootstrap.wheels import isolate_pip, wheelhouse_for_lock
from tests.cloud.conftest import BUCKET, edited_platform
from tests.conftest import PROJECT_ROOT

MOVED = BucketLayout(**{**DEFAULT_PREFIXES, "images": "photos/", "artifacts": "code/", "results": "outputs/", "notebooks": "notes/",
                                       "feature_store": "kept/"})
LOCK = PROJECT_ROOT / "requirements" / "cluster.lock"
DATASET, RUN = "layout-test", "run-moved"


@pytest.fixture
def moved(platform_file, tmp_path, monkeypatch):
    """The moved platform; `fruits stage` gets a wheelhouse of tiny stand-ins (it downloads nothing)."""
    isolate_pip(monkeypatch, FRUITS_WHEELHOUSE=str(wheelhouse_for_lock(tmp_path / "wheelhouse", LOCK)))
    return edited_platform(platform_file, tmp_path, prefixes=MOVED.as_dict())


def keys(moto, prefix: str = "") -> set[str]:
    pages = moto.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def uris_in(value) -> list[str]:
    if isinstance(value, dict):
        return [uri for item in value.values() for uri in uris_in(item)]
    if isinstance(value, list):
        return [uri for item in value for uri in uris_in(item)]
    return [value] if isinstance(value, str) and value.startswith("s3://") else []


def test_every_command_follows_the_platforms_prefixes(fruits, moto, moved, staged_weights, tmp_path):
    before = keys(moto)
    photos = tmp_path / "photos"
    for label in sorted(p for p in SAMPLE_IMAGES.iterdir() if p.is_dir())[:2]:
        (photos / label.name).mkdir(parents=True)
        for image in sorted(label.iterdir())[:2]:
            shutil.copy(image, photos / label.name / image.name)

    uploaded = fruits("upload", str(photos), "--dataset", DATASET, "--quiet", platform=moved)
    assert uploaded.returncode == 0, uploaded.stderr
    assert f"-> s3://{BUCKET}/photos/{DATASET}/" in uploaded.stdout
    assert len(keys(moto, MOVED.images_prefix(DATASET))) == 4

    staged = fruits("stage", "--weights", str(staged_weights), "--quiet", platform=moved)
    assert staged.returncode == 0, staged.stderr
    artifacts = staged.stdout.split(f"s3://{BUCKET}/")[1].split()[0]
    assert artifacts.startswith("code/") and MOVED.artifacts_prefix(artifacts.split("/")[1]) == artifacts
    wheelhouse = MOVED.wheelhouse_prefix(TARGET, lock_digest(LOCK))
    assert {artifacts + "STAGED.json", wheelhouse + "SHA256SUMS"} <= keys(moto, "code/")

    dry = fruits("start", "--dry-run", "--dataset", DATASET, "--weights", str(staged_weights), "--run-id", RUN, platform=moved)
    assert dry.returncode == 0, dry.stderr
    execution_input = json.loads(dry.stdout)
    assert execution_input["images_uri"] == f"s3://{BUCKET}/photos/{DATASET}/"
    assert execution_input["output_uri"] == f"s3://{BUCKET}/outputs/{RUN}/"
    assert execution_input["wheelhouse_uri"] == f"s3://{BUCKET}/{wheelhouse}"
    for uri in ("artifacts_uri", "package_uri", "extract_job_uri", "reduce_job_uri", "bootstrap_uri", "requirements_uri", "weights_uri"):
        assert execution_input[uri].startswith(f"s3://{BUCKET}/{artifacts}"), uri

    with EmrStepDriver() as driver:
        started = fruits("start", "--dataset", DATASET, "--weights", str(staged_weights), "--run-id", RUN, platform=moved)
        assert started.returncode == 0, started.stderr
        assert fruits("watch", RUN, "--interval", "1", platform=moved).returncode == 0
    steps = {step.name: list(step.args) for step in driver.clusters()[-1].steps}
    assert f"s3://{BUCKET}/outputs/{RUN}/" in steps["Extract features"] and f"s3://{BUCKET}/outputs/{RUN}/" in steps["Reduce dimensions"]
    assert f"s3://{BUCKET}/photos/{DATASET}/" in steps["Extract features"]
    assert f"s3://{BUCKET}/kept/{DATASET}/" in steps["Extract features"]  # the dataset's feature store
    assert all(uri.startswith((f"s3://{BUCKET}/outputs/", f"s3://{BUCKET}/photos/", f"s3://{BUCKET}/code/", f"s3://{BUCKET}/kept/"))
               for args in steps.values() for uri in uris_in(args))

    run_prefix = MOVED.run_prefix(RUN)  # the steps ran nowhere (moto): put what they would have written
    moto.client("s3").put_object(Bucket=BUCKET, Key=run_prefix + "manifest.json", Body=json.dumps({"k": 2, "featurized": 4}).encode())
    moto.client("s3").put_object(Bucket=BUCKET, Key=run_prefix + "pca/matrix.csv", Body=b"path,label,pc_1\n")
    fetched = fruits("results", RUN, "--to", str(tmp_path / "results"), platform=moved)
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "results" / RUN / "pca" / "matrix.csv").read_bytes() == b"path,label,pc_1\n"
    again = fruits("start", "--dataset", DATASET, "--weights", str(staged_weights), "--run-id", RUN, platform=moved)
    assert again.returncode == 1 and f"already complete (s3://{BUCKET}/outputs/{RUN}/manifest.json)" in again.stderr

    demo = fruits("demo-start", "--dry-run", "--dataset", DATASET, "--weights", str(staged_weights), platform=moved)
    assert demo.returncode == 0, demo.stderr
    (bootstrap,) = json.loads(demo.stdout)["BootstrapActions"]
    assert bootstrap["ScriptBootstrapAction"] == {"Path": f"s3://{BUCKET}/{artifacts}bootstrap/install-python-deps.sh",
                                                  "Args": [f"s3://{BUCKET}/{artifacts}requirements/cluster.lock",
                                                           f"s3://{BUCKET}/{wheelhouse}",
                                                           json.loads(moved.read_text())["region"]["value"]]}
    try:
        started = fruits("demo-start", "--dataset", DATASET, "--weights", str(staged_weights), platform=moved)
        assert started.returncode == 0, started.stderr
    finally:
        assert fruits("demo-stop", platform=moved).returncode == 0
    notebook = json.loads(moto.client("s3").get_object(Bucket=BUCKET, Key="notes/jovyan/fruits_pipeline.ipynb")["Body"].read())
    settings = "".join(notebook["cells"][1]["source"])
    assert f"'s3://{BUCKET}/photos/{DATASET}/'" in settings and f"'s3://{BUCKET}/outputs/notebook/'" in settings

    default_prefixes = tuple(DEFAULT_PREFIXES.values())
    assert not [key for key in keys(moto) - before if key.startswith(default_prefixes)]


@pytest.mark.parametrize(("prefix", "refusal"), [
    # 1,500 'é': 8 strings of the input at 6 bytes each (JSON's \u00e9), but within EMR's limits
    ({"artifacts": "\u00e9" * 1500 + "/"}, "the run's input would be "),
    # within the state quota, but one of the step's arguments over EMR's 10,280 characters (API_HadoopJarStepConfig.html)
    ({"results": "r" * 20_000 + "/"}, "the Extract features step's longest argument would be 20,0"),
], ids=["state-quota", "emr-argument"])
def test_a_platform_whose_prefixes_would_outgrow_the_state_quota_starts_nothing(fruits, moto, platform_file, staged_weights, tmp_path,
                                                                              prefix, refusal):
    """Such an input would leave no room for an error within Step Functions' 256 KiB of state
    (tests/stepfunctions/test_payload_quota.py), or have EMR refuse a step once the cluster is
    started (tests/stepfunctions/test_emr_argument_lengths.py): refused before any AWS call, as the
    platform's fault (exit 1), not the dataset's."""
    long = edited_platform(platform_file, tmp_path, prefixes={**DEFAULT_PREFIXES, **prefix})
    executions = moto.client("stepfunctions").list_executions(
        stateMachineArn=json.loads(platform_file.read_text())["state_machine_arn"]["value"])["executions"]
    for arguments in (("--dry-run",), ()):
        result = fruits("start", "--weights", str(staged_weights), "--run-id", "too-long", *arguments, platform=long)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"fruits: error: {refusal}") and "shorten the platform's prefixes" in result.stderr, result.stderr
        assert result.stdout == ""
    assert moto.client("stepfunctions").list_executions(
        stateMachineArn=json.loads(platform_file.read_text())["state_machine_arn"]["value"])["executions"] == executions
