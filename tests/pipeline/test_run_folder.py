"""A run folder is always either a complete, consistent run (manifest.json there) or visibly
incomplete (no manifest.json): re-running a step over a complete run removes the manifest before
anything is replaced, a step that fails before writing leaves the run as it was, a retried step
accepts an incomplete folder, and `fruits run-local` refuses to reuse a complete run id, or a
folder that is not a run's, unless told to, before any work."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from fruits.cli import main
from fruits.errors import FruitsError
from fruits.steps.extract_step import ExtractArgs, run_extract
from fruits.steps.reduce_step import ReduceArgs, run_reduce
from fruits.steps.run_folder import refuse_overlap
from fruits.storage import Storage

from .images import copy_subset


@pytest.fixture(scope="module")
def four_images(sample_images, tmp_path_factory):
    """2 real images of each of 2 classes."""
    return copy_subset(sample_images, tmp_path_factory.mktemp("four-images"), per_class=2, classes=2)


def complete_run(spark, output) -> dict:
    """A complete run made by the real step 2 on 40 inline feature rows (no TensorFlow needed)."""
    rng = np.random.default_rng(11)
    rows = [(f"file:/old/{'AB'[i % 2]}/old-{i}.jpg", "AB"[i % 2], rng.normal(size=8).astype(np.float32).tolist()) for i in range(40)]
    spark.createDataFrame(rows, "path string, label string, features array<float>").write.parquet(str(output / "features"))
    summary = {"images_uri": "/old", "images": 40, "rejected": 0, "rejected_by_reason": {}, "weights": {"source": "old"},
               "duration_seconds": 1.0, "versions": {}, "settings": {}}
    (output / "extract_summary.json").write_text(json.dumps(summary))
    return run_reduce(spark, ReduceArgs(output=str(output), run_id="old", k=2))


def extract(spark, images, output, weights_file):
    return run_extract(spark, ExtractArgs(images=str(images), output=str(output), weights=str(weights_file), run_id="new"))


def matrix_paths(spark, output) -> set[str]:
    return {row.path for row in spark.read.parquet(str(output / "pca" / "matrix.parquet")).select("path").collect()}


@pytest.mark.slow
def test_step_1_over_a_complete_run_leaves_it_visibly_incomplete_until_step_2_succeeds(spark, four_images, weights_file, tmp_path):
    output = tmp_path / "run"
    complete_run(spark, output)
    extract(spark, four_images, output, weights_file)
    assert not (output / "manifest.json").exists()  # new features, old pca/: not a run anyone may use

    with pytest.raises(FruitsError):  # more components than images: step 2 fails
        run_reduce(spark, ReduceArgs(output=str(output), run_id="new", k=5000))
    assert not (output / "manifest.json").exists()

    manifest = run_reduce(spark, ReduceArgs(output=str(output), run_id="new", k=2))  # the retried step 2
    assert json.loads((output / "manifest.json").read_text()) == manifest
    assert (manifest["run_id"], manifest["featurized"]) == ("new", 4)
    assert matrix_paths(spark, output) == {row.path for row in spark.read.parquet(str(output / "features")).collect()}


@pytest.mark.slow
def test_a_step_1_that_fails_before_writing_leaves_a_complete_run_complete(spark, weights_file, tmp_path):
    output = tmp_path / "run"
    manifest = complete_run(spark, output)
    (tmp_path / "empty" / "Kiwi").mkdir(parents=True)
    with pytest.raises(FruitsError, match="no files under"):
        extract(spark, tmp_path / "empty", output, weights_file)
    assert json.loads((output / "manifest.json").read_text()) == manifest
    assert len(matrix_paths(spark, output)) == 40


def fail_when_replacing(monkeypatch, name: str) -> None:
    """Storage.replace raises when it is about to put `name` in place (a crash at that moment)."""
    original = Storage.replace

    def replace(self, staged_uri, final_uri):
        if final_uri.rstrip("/").endswith("/" + name):
            raise RuntimeError(f"crash while replacing {name}")
        return original(self, staged_uri, final_uri)
    monkeypatch.setattr(Storage, "replace", replace)


@pytest.mark.slow
def test_a_step_2_that_crashes_while_replacing_pca_leaves_no_manifest(spark, tmp_path, monkeypatch):
    output = tmp_path / "run"
    complete_run(spark, output)
    fail_when_replacing(monkeypatch, "pca")
    with pytest.raises(RuntimeError, match="crash while replacing pca"):
        run_reduce(spark, ReduceArgs(output=str(output), run_id="again", k=3))
    assert not (output / "manifest.json").exists()


@pytest.mark.slow
def test_a_step_1_that_crashes_after_replacing_features_is_not_taken_for_a_finished_step_1(
        spark, four_images, weights_file, tmp_path, monkeypatch):
    """New features with the old summary must not go on to step 2 as if step 1 had finished."""
    output = tmp_path / "run"
    complete_run(spark, output)
    fail_when_replacing(monkeypatch, "rejected")
    with pytest.raises(RuntimeError, match="crash while replacing rejected"):
        extract(spark, four_images, output, weights_file)
    monkeypatch.undo()
    assert not (output / "manifest.json").exists()
    with pytest.raises(FruitsError, match="run the extract step first"):
        run_reduce(spark, ReduceArgs(output=str(output), run_id="new", k=2))


def refuse_spark(monkeypatch):
    """The refusals must come before any work: starting Spark fails the test."""
    import fruits.session

    def build_session(*args, **kwargs):
        raise AssertionError("Spark was started")
    monkeypatch.setattr(fruits.session, "build_session", build_session)


def test_run_local_refuses_to_reuse_a_complete_run_id_before_any_work(four_images, weights_file, tmp_path, monkeypatch, capsys):
    run = tmp_path / "out" / "run-1"
    (run / "features").mkdir(parents=True)
    (run / "features" / "part-0.parquet").write_bytes(b"old features")
    (run / "manifest.json").write_text('{"run_id": "run-1"}')
    refuse_spark(monkeypatch)
    code = main(["run-local", "--quiet", "--images", str(four_images), "--weights", str(weights_file),
                 "--output", str(tmp_path / "out"), "--run-id", "run-1"])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("fruits: error: run run-1 is already complete in ") and "--replace" in error
    assert len(error.strip().splitlines()) == 1
    assert (run / "manifest.json").read_text() == '{"run_id": "run-1"}'
    assert (run / "features" / "part-0.parquet").read_bytes() == b"old features"


def test_run_local_refuses_a_folder_that_is_not_a_run_s_even_with_replace(four_images, weights_file, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "out" / "notes"
    (mine / "features").mkdir(parents=True)
    (mine / "thesis.tex").write_text("mine")
    refuse_spark(monkeypatch)
    code = main(["run-local", "--quiet", "--images", str(four_images), "--weights", str(weights_file),
                 "--output", str(tmp_path / "out"), "--run-id", "notes", "--replace"])
    assert code == 1
    assert "is not a run folder (it holds thesis.tex)" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "mine" and (mine / "features").is_dir()


@pytest.mark.slow
def test_run_local_with_replace_runs_again_over_a_complete_run(four_images, weights_file, tmp_path):
    run = tmp_path / "out" / "run-1"
    (run / "features").mkdir(parents=True)
    (run / "features" / "part-0.parquet").write_bytes(b"old features")
    (run / "manifest.json").write_text('{"run_id": "run-1", "featurized": 40}')
    (run / "_staging-pca-0badcafe" / "matrix.parquet").mkdir(parents=True)  # left by a run killed with SIGKILL
    result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(four_images),
                             "--weights", str(weights_file), "--output", str(tmp_path / "out"), "--run-id", "run-1",
                             "--replace", "--k", "2"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["run_id"], manifest["featurized"], manifest["k"]) == ("run-1", 4, 2)
    assert not (run / "features" / "part-0.parquet").exists()
    assert not (run / "_staging-pca-0badcafe").exists()  # removed once the run held its folder


def test_a_second_run_of_the_same_id_into_the_same_output_is_refused_while_the_first_writes(four_images, weights_file, tmp_path):
    """Both would write one folder at once: a manifest could end up beside the other run's files."""
    from fruits.steps.run_folder import holding_run_folder

    run = tmp_path / "out" / "run-1"
    with holding_run_folder(run, "run-1"):  # as the first run does, in another process than the second
        result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(four_images),
                                 "--weights", str(weights_file), "--output", str(tmp_path / "out"), "--run-id", "run-1"],
                                capture_output=True, text=True, timeout=120)
        assert sorted(path.name for path in run.iterdir()) == [".lock"]  # the second wrote nothing
    assert result.returncode == 1
    assert result.stderr.strip() == f"fruits: error: run run-1 is being written in {run} by another fruits process: wait for it to end, or choose another --run-id"


def test_a_run_that_wrote_nothing_leaves_no_folder_behind(tmp_path):
    from fruits.steps.run_folder import holding_run_folder

    run = tmp_path / "new" / "out" / "run-1"
    with pytest.raises(RuntimeError):
        with holding_run_folder(run, "run-1"):
            raise RuntimeError("failed before writing")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("inside", ["run-1", "run-1/pca/store", "run-1/features"])
def test_a_feature_store_inside_the_run_folder_is_refused_before_any_work(four_images, weights_file, tmp_path, monkeypatch, capsys, inside):
    """Each step replaces its outputs whole: a store in the run folder would be erased by the run itself."""
    refuse_spark(monkeypatch)
    code = main(["run-local", "--quiet", "--images", str(four_images), "--weights", str(weights_file), "--output", str(tmp_path / "out"),
                 "--run-id", "run-1", "--feature-store", str(tmp_path / "out" / inside)])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"fruits: error: --feature-store {tmp_path / 'out' / inside} and the run folder ") and "overlap" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("images", "output", "store"), [
    ("run/features", "run", None),     # step 1 replaces run/features: the photos were erased
    ("photos", "photos/run", None),
    ("photos", "run", "run/store"),
    ("photos", "run", "photos/store"),
], ids=["images-inside-output", "output-inside-images", "store-inside-output", "store-inside-images"])
def test_the_extract_job_refuses_images_output_and_store_that_overlap_and_keeps_the_photos(
        spark, four_images, weights_file, tmp_path, images, output, store):
    """The spark-submit job has no `run-local` checks before it: run_extract refuses them itself."""
    from fruits.steps.featurize_with_store import StoreOptions

    shutil.copytree(four_images, tmp_path / images)
    photos = sorted(path.relative_to(tmp_path) for path in (tmp_path / images).rglob("*.jpg"))
    args = ExtractArgs(images=str(tmp_path / images), output=str(tmp_path / output), weights=str(weights_file),
                       store=StoreOptions(root=str(tmp_path / store) if store else None))
    with pytest.raises(FruitsError, match="overlap: .*nothing written"):
        run_extract(spark, args)
    assert sorted(path.relative_to(tmp_path) for path in (tmp_path / images).rglob("*.jpg")) == photos


@pytest.mark.parametrize(("one", "other"), [
    ("s3://b/images/ds/", "s3://b/images/ds"),
    ("s3://b/results/run/", "s3a://b/results/run/features/"),
    ("s3://b/images/", "s3://b//images/x/"),
    ("s3://b/results/../images/ds/", "s3://b/images/"),
    ("file:///data/x", "/data/x/y"),
])
def test_uris_that_name_one_place_or_one_inside_the_other_overlap(one, other):
    with pytest.raises(FruitsError, match="overlap"):
        refuse_overlap(one, "--images", other, "--output", "why")
    with pytest.raises(FruitsError, match="overlap"):
        refuse_overlap(other, "--output", one, "--images", "why")


@pytest.mark.parametrize(("one", "other"), [
    ("s3://b/images/ds/", "s3://b/images/ds-2/"),
    ("s3://b/images/", "s3://other/images/"),
    ("s3://b/images/", "/b/images/"),
])
def test_uris_of_different_places_do_not_overlap(one, other):
    refuse_overlap(one, "--images", other, "--output", "why")
