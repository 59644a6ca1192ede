"""`fruits run-local` end to end, as a user runs it (a separate process with its own embedded
Spark): the accuracy check passes with the real weights and fails when the labels say nothing of
the images, and wrong input ends with a clear message, a non-zero exit and no output. (What broken
weights give, constant features, is stopped in step 2: tests/pipeline/test_reduce.py.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from .images import copy_subset

pytestmark = pytest.mark.slow


def run_local(*arguments, cwd=None):
    return subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", *arguments],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def sample_300(sample_images, tmp_path_factory):
    """30 real images of each of the 10 classes."""
    return copy_subset(sample_images, tmp_path_factory.mktemp("sample-300"), per_class=30)


@pytest.fixture(scope="module")
def real_run(sample_300, weights_file, tmp_path_factory):
    """(the run's folder, its process) of run-local on the 300 real images."""
    output = tmp_path_factory.mktemp("real-run")
    result = run_local("--images", str(sample_300), "--weights", str(weights_file), "--output", str(output), "--run-id", "real")
    return output / "real", result


def test_real_weights_separate_the_fruits(real_run):
    folder, result = real_run
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["images"] == manifest["featurized"] == 300 and manifest["rejected"] == 0
    assert manifest["accuracy"] >= 0.95
    assert len(manifest["accuracy_check"]["by_class"]) == 10
    assert manifest["weights"]["sha256"] == "cbcc2e374b53de3aa717972ce33ae164c76e3abc34f46d38e6b9b3934faf1e45"
    assert manifest["variance_reached"] >= 0.95
    assert "Run real done" in result.stdout and f"k = {manifest['k']} components" in result.stdout


def test_the_pca_of_real_features_is_right_in_every_row_layout(spark, real_run):
    """300 images x 1280 features: a covariance of rank 299. On these images and these 4
    layouts, Spark's own `PCA.fit` returned components that do not carry the variance it reports
    in 3 (measured 2026-11-30, see fruits.reduce); the fit must be right in all."""
    from pyspark.ml.functions import array_to_vector

    from fruits.reduce import fit_pca

    folder, result = real_run
    assert result.returncode == 0, result.stderr[-3000:]
    vectors = spark.read.parquet(str(folder / "features")).select(array_to_vector("features").alias("vector")).cache()
    fits = [fit_pca(vectors if parts == 1 else vectors.repartition(parts), k=40) for parts in (1, 2, 3, 4)]
    for fit in fits:  # fit_pca refuses (FruitsError) a fit whose components disagree with the data
        assert 0.9 < fit.variance_reached < 1 and fit.explained_variance == sorted(fit.explained_variance, reverse=True)
    components = [fit.model.stages[1].pc.toArray() for fit in fits]
    for other in components[1:]:
        np.testing.assert_allclose(other[:, :10], components[0][:, :10], atol=1e-6)  # the same components, same signs
    vectors.unpersist()


@pytest.fixture(scope="module")
def sample_100(sample_images, tmp_path_factory):
    """10 real images of each of the 10 classes."""
    return copy_subset(sample_images, tmp_path_factory.mktemp("sample-100"), per_class=10)


def test_accuracy_check_fails_when_labels_do_not_match_the_images(sample_100, weights_file, tmp_path):
    """The same real images dealt round-robin into 10 folders: labels carry no fruit information."""
    images = sorted(sample_100.rglob("*.jpg"))
    for index, image in enumerate(images):
        folder = tmp_path / "scrambled" / f"label-{index % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}.jpg").write_bytes(image.read_bytes())
    result = run_local("--images", str(tmp_path / "scrambled"), "--weights", str(weights_file), "--output", str(tmp_path / "out"),
                       "--run-id", "scrambled")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "scrambled" / "manifest.json").read_text())["accuracy"] < 0.5


def test_empty_folder_exits_non_zero_with_a_message_and_no_output(weights_file, tmp_path):
    (tmp_path / "images" / "Kiwi").mkdir(parents=True)
    result = run_local("--images", str(tmp_path / "images"), "--weights", str(weights_file), "--output", str(tmp_path / "out"), "--run-id", "r")
    assert result.returncode == 1
    assert "fruits: error: no files under" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "r").exists()


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["--images", "/no/such/folder"], 1, "images folder not found: /no/such/folder"),
        (["--weights", "/no/such/weights.h5"], 1, "weights file not found: /no/such/weights.h5"),
        (["--variance", "1.5"], 2, "argument --variance: must be in (0, 1]"),
        (["--k", "10", "--variance", "0.9"], 2, "not allowed with argument"),
        (["--batch-size", "0"], 2, "argument --batch-size: must be at least 1"),
        (["--engine", "tflite"], 2, "argument --engine: invalid choice: 'tflite'"),
        (["--images", ""], 2, "argument --images: expected a path, got an empty value"),
        (["--feature-store", " "], 2, "argument --feature-store: expected a path, got an empty value"),
        (["--batch-size", "1000000"], 2, "argument --batch-size: must be at most 1,024"),
        (["--arrow-batch-size", "1000000000000"], 2, "argument --arrow-batch-size: must be at most 2,147,483,647"),
        (["--tf-threads", "2147483648"], 2, "argument --tf-threads: must be at most 1,024"),  # was the workers' TypeError traceback
        # was a file of 3 GiB accepted by the listing, then Spark's traceback ("exceeds the max length allowed")
        (["--max-file-bytes", "10000000000"], 2, "argument --max-file-bytes: must be at most 2,147,483,647"),
    ],
    ids=["missing-images", "missing-weights", "bad-variance", "k-and-variance", "bad-batch", "unknown-engine",
         "empty-images", "empty-store", "huge-batch", "huge-arrow-batch", "huge-threads", "huge-file-limit"],
)
def test_wrong_arguments_exit_non_zero_before_any_work(arguments, code, message, tmp_path):
    result = run_local(*arguments, "--output", str(tmp_path / "out"))
    assert result.returncode == code
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["--output", "--feature-store"])
def test_an_output_or_a_store_inside_the_images_is_refused_before_any_work(where, tmp_path):
    """The run listed its own outputs (or the store's files) as photos, and the next run the earlier ones'."""
    images = tmp_path / "images"
    (images / "Kiwi").mkdir(parents=True)
    inside = ["--output", str(images / "runs")] if where == "--output" else ["--output", str(tmp_path / "out"), "--feature-store", str(images / "store")]
    result = run_local("--images", str(images), "--run-id", "r", *inside)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"error: --images {images} and the " in result.stderr and " overlap: the run would list " in result.stderr
    assert [path.name for path in images.iterdir()] == ["Kiwi"] and not (tmp_path / "out").exists()


def test_a_tilde_in_the_output_is_the_home_folder_as_in_a_shell(tmp_path):
    """`--output=~/runs` (no shell expands it after '=') wrote to a folder named '~' in the current
    folder, after checking that the home folder was writable. Here the home is a file: refused."""
    (tmp_path / "home").write_text("not a folder")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "images" / "Kiwi").mkdir(parents=True)  # empty: a run that got past the check fails at its listing
    result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--run-id", "r", "--output=~/runs",
                             "--images", str(tmp_path / "images")],
                            capture_output=True, text=True, cwd=tmp_path / "cwd", env={**os.environ, "HOME": str(tmp_path / "home")})
    assert result.returncode == 1 and f"{tmp_path / 'home'} is a file, not a folder" in result.stderr, result.stderr[-2000:]
    assert list((tmp_path / "cwd").iterdir()) == []
