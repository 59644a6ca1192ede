"""`fruits rehearse` as a user runs it (its own process): the cloud path on the emulator, with the
EMR steps run for real on the local Spark, compared with `fruits run-local` on the same images;
a job that fails goes through the Catch path; Ctrl-C leaves no process behind.

Not checked by the emulator (so not here either): IAM and key-policy conditions, the bucket
policy's conditions, real EMR provisioning, bootstrap actions and timing."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def fruits(*arguments, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fruits", *arguments], capture_output=True, text=True, timeout=timeout)


def read_matrix(file: Path) -> dict[str, np.ndarray]:
    """The CSV matrix file -> {"label/file name": principal components}."""
    rows = {}
    with file.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = f"{row['label']}/{row['path'].rsplit('/', 1)[-1]}"
            assert key not in rows, f"{key} twice in {file}"
            rows[key] = np.array([float(row[name]) for name in row if name.startswith("pc_")])
    return rows


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, sample_images, weights_file) -> tuple[Path, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("rehearsal") / "work"
    result = fruits("rehearse", str(sample_images), "--weights", str(weights_file), "--per-class", "20", "--k", "8",
                    "--work-dir", str(work))
    return work, result


def test_the_rehearsed_cloud_run_succeeds_and_leaves_no_cluster(rehearsal):
    work, result = rehearsal
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads((work / "rehearsal.json").read_text())
    assert record["status"] == "SUCCEEDED" and record["images"] == 200
    assert [(step["step"], step["exit"]) for step in record["steps"]] == [("Extract features", 0), ("Reduce dimensions", 0)]
    assert record["clusters"] and set(record["clusters"].values()) == {"TERMINATED"}
    for command in ("fruits upload", "fruits stage", "fruits start", "fruits watch", "fruits results"):
        assert f"$ {command} " in result.stdout  # the real CLI did each part


def test_outputs_and_logs_are_in_the_emulated_bucket_encrypted_with_the_platform_key(rehearsal):
    work, _ = rehearsal
    record = json.loads((work / "rehearsal.json").read_text())
    platform = json.loads((work / "platform" / "platform.json").read_text())
    key, prefix = platform["kms_key_arn"]["value"], f"results/{record['run_id']}/"
    stored = record["bucket"]
    for wanted in ("manifest.json", "pca/explained_variance.csv", "pca/matrix.csv", "pca/matrix.parquet/", "features/"):
        assert any(name == prefix + wanted or wanted.endswith("/") and name.startswith(prefix + wanted) for name in stored), wanted
    logs = [name for name in stored if name.startswith("logs/emr/") and name.endswith("/stderr.gz")]
    assert len(logs) == 2
    assert not [name for name in stored if name.startswith(prefix + "pca/matrix.csv/")]  # one file, no Spark folder
    written_by_spark = [name for name in stored if name.startswith(prefix + "pca/matrix.parquet/part-")]
    assert written_by_spark
    for name in written_by_spark + [prefix + "pca/matrix.csv"] + logs:  # the CSV is joined through S3A too
        assert stored[name]["sse"] == "aws:kms" and stored[name]["kms_key"] == key, name


def test_the_second_run_featurizes_only_the_images_the_first_lacked(rehearsal):
    """Two runs as the image base grows (18, then 20 images of each fruit), their counts read
    from their manifests; the features are kept in the dataset's store, encrypted with the key."""
    work, result = rehearsal
    record = json.loads((work / "rehearsal.json").read_text())
    first, second = record["runs"]
    assert (first["images"], second["images"], second["run_id"]) == (180, 200, record["run_id"])
    assert (first["feature_store"]["featurized_now"], first["feature_store"]["from_store"]) == (180, 0)
    assert (second["feature_store"]["featurized_now"], second["feature_store"]["from_store"]) == (20, 180)
    assert first["feature_store"]["key_id"] == second["feature_store"]["key_id"]
    manifest = json.loads((work / "results" / second["run_id"] / "manifest.json").read_text())
    assert manifest["feature_store"]["root"].endswith("/feature-store/rehearsal") and manifest["featurized"] == 200
    assert f"run {second['run_id']}: SUCCEEDED, 200 images, 20 featurized now, 180 from the feature store" in result.stdout
    key = json.loads((work / "platform" / "platform.json").read_text())["kms_key_arn"]["value"]
    stored = {name: item for name, item in record["bucket"].items() if name.startswith("feature-store/rehearsal/")}
    assert [name for name in stored if name.endswith(".parquet")] and f"feature-store/rehearsal/{manifest['feature_store']['key_id']}/key.json" in stored
    assert {(item["sse"], item["kms_key"]) for item in stored.values()} == {("aws:kms", key)}


def test_the_rehearsal_gives_the_local_run_s_matrix(rehearsal, weights_file, tmp_path):
    work, _ = rehearsal
    record = json.loads((work / "rehearsal.json").read_text())
    local = fruits("run-local", "--quiet", "--images", str(work / "images"), "--weights", str(weights_file), "--k", "8",
                   "--output", str(tmp_path), "--run-id", "local")
    assert local.returncode == 0, local.stderr[-3000:]
    cloud_folder, local_folder = work / "results" / record["run_id"], tmp_path / "local"
    cloud, here = read_matrix(cloud_folder / "pca" / "matrix.csv"), read_matrix(local_folder / "pca" / "matrix.csv")
    assert len(cloud) == 200 and cloud.keys() == here.keys()
    stacked_cloud = np.stack([cloud[name] for name in sorted(cloud)])
    stacked_local = np.stack([here[name] for name in sorted(here)])
    assert stacked_cloud.shape == (200, 8)
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (cloud_folder, local_folder)]
    for field in ("images", "featurized", "rejected", "k", "accuracy"):
        assert manifests[0][field] == manifests[1][field], field
    curves = [np.loadtxt(folder / "pca" / "explained_variance.csv", delimiter=",", skiprows=1)
              for folder in (cloud_folder, local_folder)]
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-6)
    signs = np.sign(np.sum(stacked_cloud * stacked_local, axis=0))  # a component's sign is arbitrary
    np.testing.assert_allclose(stacked_cloud, stacked_local * signs, atol=1e-3 * np.abs(stacked_local).max())


def test_a_failing_job_goes_through_the_catch_path(sample_images, weights_file, tmp_path):
    work = tmp_path / "work"
    result = fruits("rehearse", str(sample_images), "--weights", str(weights_file), "--per-class", "1",
                    "--scenario", "empty-input", "--work-dir", str(work), "--retry-interval", "1")
    assert result.returncode == 1
    assert ("Fruits.PipelineFailed: step 'Extract features' FAILED: extract_features: error: none of the 2 images could be "
            "read") in result.stderr
    record = json.loads((work / "rehearsal.json").read_text())
    assert record["status"] == "FAILED"
    assert [step["exit"] for step in record["steps"]] == [1, 1, 1]  # the first try and Terraform's 2 retries
    assert set(record["clusters"].values()) == {"TERMINATED"}
    assert "Terminate cluster after failure" in result.stdout
    assert not any(name.startswith(f"results/{record['run_id']}/manifest") for name in record["bucket"])


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in command:
                found.append(f"{entry.name}: {command[:200]}")
    return found


def test_ctrl_c_stops_every_process_it_started(sample_images, weights_file, tmp_path):
    work = tmp_path / "work"
    # Without PYTHONUNBUFFERED (a user's shell rarely sets it): the progress must still come through
    # the pipe as it happens; a block-buffered rehearsal once showed its first step's line only at its
    # end, so that the interrupt came too late to test anything.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    process = subprocess.Popen([sys.executable, "-m", "fruits", "rehearse", str(sample_images), "--weights", str(weights_file),
                                "--per-class", "2", "--work-dir", str(work)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, env=environment,
                               # make test runs this file with `&`, and a shell's background job ignores SIGINT, which
                               # its children inherit: a user's terminal does not, so the rehearsal gets the default back
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "runs on the local Spark" in line:
            break
    assert "runs on the local Spark" in seen[-1], "the rehearsal ended before its first step: " + "".join(seen[-20:])

    def keep_reading():  # the pipe never fills while we wait
        for line in process.stdout:
            seen.append(line)

    reader = threading.Thread(target=keep_reading, daemon=True)
    reader.start()
    steps = str(work / "steps")  # in spark-submit's command line (its scratch folder), not in the rehearsal's
    deadline = time.monotonic() + 120
    while not processes_mentioning(steps) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    assert processes_mentioning(steps), "no step process to interrupt: " + "".join(seen[-20:])
    assert process.poll() is None, "the rehearsal ended before the interrupt: " + "".join(seen[-20:])
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does to the foreground process group
    # Stopping took 108 s once while the other tests kept both cores busy (make test runs them beside
    # this file); it is the processes left behind that this test is about, not how fast they go.
    try:
        code = process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the rehearsal did not stop within 300 s of Ctrl-C: " + "".join(seen[-20:])) from None
    reader.join(timeout=10)
    assert code == 130, "".join(seen[-30:])
    time.sleep(2)
    assert processes_mentioning(steps) == [] and processes_mentioning(str(work)) == []
    record = json.loads((work / "rehearsal.json").read_text())
    assert record["status"] == "RUNNING"  # stopped mid-run, and said so in its record
    # ... in the first run: its first step's line came as that step began, not with a later flush
    assert [run["run_id"] for run in record["runs"]] == [record["run_id"] + "-first"]


def test_a_folder_that_is_not_a_rehearsal_s_is_never_emptied(tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    result = fruits("rehearse", "--per-class", "1", "--work-dir", str(tmp_path))
    assert result.returncode == 1 and "was not made by `fruits rehearse`" in result.stderr
    assert keep.read_text() == "mine"


@pytest.mark.parametrize("arguments, message", [
    (("--per-class", "0"), "must be at least 1"),
    (("--scenario", "bad"), "invalid choice"),
    (("--k", "3", "--variance", "0.9"), "not allowed with argument"),
])
def test_wrong_arguments_exit_2_with_a_message(arguments, message):
    result = fruits("rehearse", *arguments)
    assert result.returncode == 2 and message in result.stderr
