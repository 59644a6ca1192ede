"""Bad input is refused before the expensive part, in one line: arguments and local paths before
Spark starts, image counts right after the listing (before the weights are loaded), an output
that cannot be written before the extraction; components beyond the data's rank are named in the
manifest; Ctrl-C ends a run with status 130 and removes its staging folders."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fruits.commands.local import format_summary
from fruits.errors import FruitsError
from fruits.steps.extract_step import ExtractArgs, run_extract
from fruits.steps.reduce_step import ReduceArgs, run_reduce
from tests.support.cli_errors import assert_one_error_line

from .images import copy_subset, without_root_privileges

PROJECT = Path(__file__).resolve().parents[2]
NO_WEIGHTS = "/nonexistent/weights.h5"  # loading them fails: a check that reports something else ran first


def fruits(*arguments, env=None, as_any_user=False):
    """The real CLI; `as_any_user` drops root's right to write anywhere, so permissions apply."""
    command = [sys.executable, "-m", "fruits", *arguments]
    return subprocess.run(without_root_privileges(command) if as_any_user else command, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def two_images(sample_images, tmp_path_factory):
    return copy_subset(sample_images, tmp_path_factory.mktemp("two-images"), per_class=1, classes=2)


def output_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("keep me")
    return ["--output", str(tmp_path / "taken")], {}


def output_in_proc(tmp_path):
    return ["--output", "/proc/fruits-output"], {}


def output_read_only(tmp_path):
    (tmp_path / "locked").mkdir(mode=0o555)
    return ["--output", str(tmp_path / "locked")], {}


def output_not_utf8(tmp_path):
    return ["--output", os.fsencode(tmp_path) + b"/out-\xe9t\xe9"], {}  # Latin-1: Spark cannot take the path


def feature_store_not_utf8(tmp_path):
    return ["--feature-store", os.fsencode(tmp_path) + b"/store-\xe9t\xe9"], {}


def output_through_a_broken_link(tmp_path):
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    return ["--output", str(tmp_path / "dangling" / "runs")], {}


def output_through_a_loop(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    return ["--output", str(tmp_path / "loop")], {}


def output_given_no_value(tmp_path):
    return ["--output=--"], {}  # Python 3.11's argparse reads it as [] and skips the type check


def master_not_spark(tmp_path):
    return ["--master", "lcoal[2]"], {}


def driver_memory_not_a_size(tmp_path):
    return [], {"FRUITS_DRIVER_MEMORY": "lots"}


def spark_does_not_start(tmp_path):
    return ["--conf", "spark.driver.memory=lots"], {}  # the JVM refuses it; its own lines come first


def sql_setting_refused(tmp_path):
    # Spark checks SQL settings only at the first query, in a traceback that says only "Error while
    # instantiating 'org.apache.spark.sql.internal.SessionStateBuilder'".
    return ["--conf", "spark.sql.shuffle.partitions=-5"], {}


@pytest.mark.slow
@pytest.mark.parametrize(("setup", "code", "message"), [
    (output_is_a_file, 1, "is a file, not a folder"),
    (output_in_proc, 1, "cannot write in /proc"),
    (output_read_only, 1, "cannot write in"),
    (output_not_utf8, 1, "the path is not valid UTF-8, which Spark cannot take"),
    (feature_store_not_utf8, 1, "--feature-store "),
    (output_through_a_broken_link, 1, "is a link that leads nowhere (broken, or a loop)"),
    (output_through_a_loop, 1, "is a link that leads nowhere (broken, or a loop)"),
    (output_given_no_value, 2, "argument --output: expected one argument"),
    (master_not_spark, 2, "argument --master: expected local, local[N]"),
    (driver_memory_not_a_size, 1, "FRUITS_DRIVER_MEMORY='lots' is not a memory size"),
    (spark_does_not_start, 1, "Spark did not start"),
    (sql_setting_refused, 1, "Spark refused its settings: '-5' in spark.sql.shuffle.partitions is invalid"),
], ids=lambda value: getattr(value, "__name__", str(value)))
def test_run_local_refuses_bad_settings_in_one_line_before_any_work(setup, code, message, two_images, weights_file, tmp_path):
    arguments, environment = setup(tmp_path)
    result = fruits("run-local", "--images", str(two_images), "--weights", str(weights_file), "--run-id", "r",
                    *(["--output", str(tmp_path / "out")] if "--output" not in arguments else []), *arguments, env=environment,
                    as_any_user=setup is output_read_only)
    assert_one_error_line(result, code, message)
    assert "Listing images" not in result.stderr and not (tmp_path / "out").exists()  # Spark never listed them
    if setup is output_is_a_file:
        assert (tmp_path / "taken").read_text() == "keep me"


@pytest.mark.slow
@pytest.mark.parametrize(("per_class", "k", "message"), [
    (1, None, "PCA needs at least 2 images, found 1 under"),
    (3, 4, "--k 4 is more than the 3 images under"),
], ids=["one-image", "k-above-the-image-count"])
def test_counts_are_checked_after_the_listing_before_the_weights(spark, sample_images, per_class, k, message, tmp_path):
    images = copy_subset(sample_images, tmp_path / "images", per_class=per_class, classes=1)
    with pytest.raises(FruitsError, match=message):
        run_extract(spark, ExtractArgs(images=str(images), output=str(tmp_path / "run"), weights=NO_WEIGHTS, k=k))
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_local_output_that_cannot_be_written_is_refused_before_the_weights(spark, two_images, tmp_path):
    (tmp_path / "taken").write_text("keep me")
    with pytest.raises(FruitsError, match="is a file, not a folder"):
        run_extract(spark, ExtractArgs(images=str(two_images), output=str(tmp_path / "taken" / "run"), weights=NO_WEIGHTS))
    assert (tmp_path / "taken").read_text() == "keep me"


EXTRACT_ON_S3 = textwrap.dedent("""
    import sys
    from fruits.errors import FruitsError
    from fruits.s3a import s3a_conf
    from fruits.session import build_session
    from fruits.steps.extract_step import ExtractArgs, run_extract
    endpoint, jars, images, output, weights = sys.argv[1:6]
    spark = build_session("s3-write-check", master="local[1]", extra_conf=s3a_conf(endpoint, jars))
    try:
        run_extract(spark, ExtractArgs(images=images, output=output, weights=weights))
    except FruitsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        spark.stop()
""")


@pytest.mark.slow
def test_an_s3_output_that_cannot_be_written_is_refused_before_the_weights(two_images):
    from fruits.rehearsal.emulator import MotoServer
    from fruits.s3a import JARS_DIR

    with MotoServer() as moto:
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="fruits-images", CreateBucketConfiguration={"LocationConstraint": moto.region})
        for image in sorted(two_images.rglob("*.jpg")):
            s3.upload_file(str(image), "fruits-images", f"images/{image.parent.name}/{image.name}")
        result = subprocess.run([sys.executable, "-c", EXTRACT_ON_S3, moto.endpoint, str(JARS_DIR), "s3://fruits-images/images/",
                                 "s3://no-such-bucket/results/r/", NO_WEIGHTS], capture_output=True, text=True,
                                env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "error: cannot write to the output s3://no-such-bucket/results/r/: bucket not found" in result.stderr


@pytest.mark.slow
def test_images_and_outputs_with_glob_characters_are_read_as_they_are(spark, small_sample, weights_file, tmp_path):
    images = tmp_path / "photos [1]"
    for label in ("Banana 1", "Kiwi 1"):
        shutil.copytree(small_sample / label, images / label)
    output = tmp_path / "runs {a,b}" / "r*"
    summary = run_extract(spark, ExtractArgs(images=str(images), output=str(output), weights=str(weights_file)))
    assert (summary["images"], summary["featurized"]) == (8, 8)
    manifest = run_reduce(spark, ReduceArgs(output=str(output), k=2))
    assert (manifest["featurized"], manifest["k"]) == (8, 2)
    assert (output / "manifest.json").is_file()


@pytest.fixture
def six_rows(spark, tmp_path):
    """A step-1 output with 6 images of 12 random features: centred, they span 5 dimensions."""
    rng = np.random.default_rng(3)
    rows = [(f"file:/img/{'AB'[i % 2]}/{i}.jpg", "AB"[i % 2], rng.normal(size=12).astype(np.float32).tolist()) for i in range(6)]
    output = tmp_path / "run"
    spark.createDataFrame(rows, "path string, label string, features array<float>").write.parquet(str(output / "features"))
    summary = {"images_uri": "/img", "images": 6, "rejected": 0, "rejected_by_reason": {}, "weights": {"source": "test"},
               "duration_seconds": 1.0, "versions": {}, "settings": {}}
    (output / "extract_summary.json").write_text(json.dumps(summary))
    return output, summary


@pytest.mark.slow
def test_k_above_the_images_with_features_is_refused_before_the_fit(spark, six_rows):
    output, _ = six_rows
    with pytest.raises(FruitsError, match="--k 7 is more than the 6 images with features .*: no PCA written, step 1's outputs are kept"):
        run_reduce(spark, ReduceArgs(output=str(output), k=7))
    assert not (output / "pca").exists() and not (output / "manifest.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("summary", [b'{"images_uri": "/im', b"\xff\xfe", b"[]", b'{"images_uri": "/img"}', b"{} "],
                         ids=["cut-short", "not-utf-8", "not-an-object", "fields-missing", "checksum-mismatch"])
def test_a_damaged_step_1_summary_is_refused_before_the_fit_and_a_complete_run_stays_complete(spark, six_rows, summary):
    """It was a JSONDecodeError's traceback, or a KeyError once pca/ had been replaced and the manifest removed."""
    from fruits.storage import Storage

    output, written = six_rows
    if summary == b"{} ":  # step 1 writes it through Hadoop, with a checksum beside it that an edit no longer matches
        Storage(spark).write_text(str(output / "extract_summary.json"), json.dumps(written))
        summary = json.dumps({**written, "images": 7}).encode()
    run_reduce(spark, ReduceArgs(output=str(output), k=2))
    matrix = (output / "pca" / "matrix.csv").read_bytes()
    (output / "extract_summary.json").write_bytes(summary)
    with pytest.raises(FruitsError, match="extract_summary.json is not step 1's summary .*: run the extract step again; "
                                          "no PCA written, step 1's outputs are kept"):
        run_reduce(spark, ReduceArgs(output=str(output), k=3))
    assert (output / "pca" / "matrix.csv").read_bytes() == matrix and (output / "manifest.json").exists()


@pytest.mark.slow
def test_components_beyond_the_data_s_rank_are_a_warning_in_the_manifest_and_the_summary(spark, six_rows):
    output, summary = six_rows
    within = run_reduce(spark, ReduceArgs(output=str(output), k=5))
    assert within["warnings"] == []
    beyond = run_reduce(spark, ReduceArgs(output=str(output), k=6))
    assert beyond["k"] == 6 and len(beyond["warnings"]) == 1
    assert "component 6 carries no variance" in beyond["warnings"][0] and "--k 5" in beyond["warnings"][0]
    assert json.loads((output / "manifest.json").read_text())["warnings"] == beyond["warnings"]
    assert f"  warning     {beyond['warnings'][0]}" in format_summary(beyond, summary, str(output), 1.0).splitlines()


@pytest.fixture(scope="module")
def thirty_images(sample_images, tmp_path_factory):
    return copy_subset(sample_images, tmp_path_factory.mktemp("thirty-images"), per_class=3)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["Extracting features from", "Checking the features"])
def test_ctrl_c_exits_130_in_one_line_and_removes_the_run_s_staging_folders(phase, thirty_images, weights_file, tmp_path):
    run = tmp_path / "out" / "r"
    process = subprocess.Popen([sys.executable, "-m", "fruits", "run-local", "--images", str(thirty_images), "--weights",
                                str(weights_file), "--output", str(tmp_path / "out"), "--run-id", "r", "--k", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    for line in process.stderr:  # Ctrl-C once the run is in `phase` (its progress line)
        seen.append(line)
        if line.startswith(phase):
            break
    assert seen and seen[-1].startswith(phase), "".join(seen)[-3000:]
    staged = sorted(path.name for path in run.glob("_staging-*"))
    if phase == "Checking the features":
        assert any(name.startswith("_staging-pca-") for name in staged), staged
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
    _, rest = process.communicate()
    stderr = "".join(seen) + rest
    assert process.returncode == 130, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == "fruits: interrupted" and "Traceback" not in stderr, stderr[-3000:]
    assert not list(run.glob("_staging-*"))
    assert not (run / "pca").exists() and not (run / "manifest.json").exists()  # interrupted before the end


def test_the_inference_options_default_file_limit_is_the_listing_s():
    from fruits import images, options

    assert options.DEFAULT_MAX_FILE_BYTES == images.DEFAULT_MAX_FILE_BYTES


PCA_COMMANDS = {
    "run-local": [sys.executable, "-m", "fruits", "run-local", "--images", "/nonexistent"],
    "start": [sys.executable, "-m", "fruits", "start", "--dry-run", "--platform", "/nonexistent.json"],
    "rehearse": [sys.executable, "-m", "fruits", "rehearse", "/nonexistent"],
    "reduce job": [sys.executable, str(PROJECT / "jobs" / "reduce_dimensions.py"), "--output", "/nonexistent"],
}


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--k", "0", "argument --k: must be between 1 and 1280 (the feature count), got 0"),
    ("--k", "1281", "argument --k: must be between 1 and 1280 (the feature count), got 1281"),
    ("--k", "two", "argument --k: expected a whole number, got 'two'"),
    ("--variance", "0", "argument --variance: must be in (0, 1], got 0.0"),
    ("--variance", "1.5", "argument --variance: must be in (0, 1], got 1.5"),
    ("--variance", "nan", "argument --variance: must be in (0, 1], got nan"),
], ids=["k-0", "k-1281", "k-text", "variance-0", "variance-1.5", "variance-nan"])
def test_every_command_refuses_the_same_pca_values_the_same_way(option, value, message):
    for name, command in PCA_COMMANDS.items():
        result = subprocess.run([*command, option, value], capture_output=True, text=True)
        assert result.returncode == 2, (name, result.stderr[-2000:])
        assert result.stderr.strip().splitlines()[-1].endswith(message), (name, result.stderr[-2000:])


def test_a_job_whose_spark_cannot_start_says_so_in_one_line(capsys):
    from fruits.errors import FruitsError
    from fruits.steps.job_runner import run_job

    def no_spark():
        raise FruitsError("Spark did not start: bad setting")

    assert run_job("extract_features", no_spark, lambda spark: {}, str) == 1
    assert capsys.readouterr().err == "extract_features: error: Spark did not start: bad setting\n"


@pytest.mark.slow
def test_a_step_that_fills_its_device_says_so_in_one_line_and_keeps_step_1_s_outputs(spark, small_device):
    """It was Java's traceback (an FSError on the driver, or a task's IOException in a SparkException)."""
    rng = np.random.default_rng(3)
    rows = [(f"file:/img/{'AB'[i % 2]}/{i}.jpg", "AB"[i % 2], rng.normal(size=12).astype(np.float32).tolist()) for i in range(6)]
    output = small_device / "run"
    spark.createDataFrame(rows, "path string, label string, features array<float>").coalesce(1).write.parquet(str(output / "features"))
    (output / "extract_summary.json").write_text(json.dumps({"images_uri": "/img", "images": 6, "rejected": 0, "rejected_by_reason": {},
                                                             "weights": {"source": "test"}, "duration_seconds": 1.0,
                                                             "versions": {}, "settings": {}}))
    features = sorted(path.name for path in (output / "features").iterdir())
    with pytest.raises(FruitsError, match=f"no space left on the device of {output}: free some, then run the step again"):
        run_reduce(spark, ReduceArgs(output=str(output), k=2))
    assert sorted(path.name for path in (output / "features").iterdir()) == features
    assert not (output / "pca").exists() and not (output / "manifest.json").exists()
