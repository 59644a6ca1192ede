"""A run killed at any moment loses and garbles nothing (tests.pipeline.kill_points says how a
kill is made: a real SIGKILL of all of `fruits run-local`'s processes while its Spark tasks
featurize, then kills at later moments). After each kill: (a) the run folder has no
manifest.json, and each output under its final name is whole (a killed write's parts are only
under hidden staging names), so no reader takes a half result as done; (b) an earlier complete run in the same --output
is intact byte for byte; (c) the feature store is readable, and a new run on the same images
succeeds with bit for bit the features of a clean run; (d) the staging folders are removed by
that run and the store's uncommitted files are never read (each hash read once)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fruits import feature_store
from fruits.feature_store_records import FeatureKey
from fruits.layout import (EXPLAINED_VARIANCE, EXTRACT_SUMMARY, FEATURES, MANIFEST, MATRIX_CSV, MATRIX_PARQUET, MODEL,
                           PCA_FOLDER, PLOTS, REJECTED, RUN_ENTRIES)
from fruits.steps import featurize_with_store
from fruits.steps.extract_step import ExtractArgs, run_extract
from fruits.steps.featurize_with_store import StoreOptions
from fruits.steps.reduce_step import ReduceArgs, run_reduce
from fruits.storage import Storage

from .images import copy_subset
from .kill_points import KILL_AT, Killed, sitecustomize_folder, stop_after, stop_before
from .store_checks import assert_same_bits


def run_both_steps(spark, images: Path, output: Path, store: Path, run_id: str) -> tuple[dict, dict]:
    """What `fruits run-local` does in its run folder (fruits.commands.local.run_steps), on the tests' session."""
    Storage(spark).remove_staging(str(output))
    summary = run_extract(spark, ExtractArgs(images=str(images), output=str(output), weights=WEIGHTS, run_id=run_id, k=2,
                                             store=StoreOptions(root=str(store))))
    return summary, run_reduce(spark, ReduceArgs(output=str(output), run_id=run_id, k=2))


def features_by_path(run: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(run / "features", columns=["path", "features"]).to_pydict()
    return {path: np.asarray(values, dtype=np.float32) for path, values in zip(table["path"], table["features"])}


def digests(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


WEIGHTS = None  # set by the `done` fixture: the shared weights file


@pytest.fixture(scope="module")
def done(spark, sample_images, weights_file, tmp_path_factory):
    """OUTPUT with a clean, complete run of 6 images beside its feature store; the features it wrote."""
    global WEIGHTS
    WEIGHTS = str(weights_file)
    root = tmp_path_factory.mktemp("interrupted")
    six = copy_subset(sample_images, root / "six", per_class=2, classes=3)
    output = root / "out"
    run_both_steps(spark, six, output / "earlier", output / "feature-store" / "six", "earlier")
    return output, six, features_by_path(output / "earlier")


@pytest.fixture
def output(done, tmp_path) -> Path:
    """A copy of `done`'s OUTPUT for one test to kill runs in, and a store for them that knows
    only the weights (their fingerprint and ONNX graph): the runs featurize the 6 images again."""
    shutil.copytree(done[0], tmp_path / "out")
    shutil.copytree(tmp_path / "out" / "feature-store" / "six" / "weights", tmp_path / "out" / "killed-store" / "weights")
    return tmp_path / "out"


def assert_each_visible_output_whole(run: Path) -> None:
    """Under its final name, an output is whole or absent; the staging (hidden) names hold the rest."""
    visible = {path.name for path in run.iterdir() if not path.name.startswith(("_", "."))}
    assert visible <= RUN_ENTRIES - {MANIFEST}, visible
    for folder in {FEATURES, REJECTED} & visible:
        assert (run / folder / "_SUCCESS").is_file(), folder
    if EXTRACT_SUMMARY in visible:
        assert json.loads((run / EXTRACT_SUMMARY).read_text())["images"] == 6
    if PCA_FOLDER in visible:
        pca = run / PCA_FOLDER
        rows = pq.read_table(pca / MATRIX_PARQUET).num_rows
        assert (pca / MATRIX_PARQUET / "_SUCCESS").is_file() and rows == 6
        assert len((pca / MATRIX_CSV).read_text().splitlines()) == rows + 1
        assert (pca / MODEL / "metadata").is_dir() and (pca / EXPLAINED_VARIANCE).is_file() and (pca / PLOTS).is_dir()


def assert_killed_run_garbled_nothing(spark, output: Path, earlier: dict[str, str], complete: bool = False) -> None:
    """(a) and (b) of the module's docstring, and the store readable, each hash once, after a kill
    in `output` (or, `complete`, after the run that ended)."""
    killed = output / "killed"
    if killed.exists() and not complete:  # (a); a run killed before step 1 moves its outputs has written nothing there (the CLI: its .lock)
        assert not (killed / MANIFEST).exists()
        assert_each_visible_output_whole(killed)
    assert digests(output / "earlier") == earlier
    for key in (output / "killed-store").glob("*/key.json"):
        stored = feature_store.read(spark, str(output / "killed-store"), FeatureKey(**{
            name: value for name, value in json.loads(key.read_text()).items() if name != "id"}))
        assert stored.count() == stored.select("content_sha256").distinct().count()


# Moments of a run, in their order, as kill points in the driver (between Spark jobs).
KILL_POINTS = {
    "store batch written, not committed": lambda mp: stop_before(mp, featurize_with_store, "commit_batch"),
    "store commit staged, not moved into place": lambda mp: stop_before(mp, Storage, "replace", "/commits/"),
    "step 1 half moved into place": lambda mp: stop_before(mp, Storage, "replace", "/rejected"),
    "PCA fitted, matrix CSV joined in staging": lambda mp: stop_after(mp, Storage, "concatenate"),
    "pca/ moved into place, manifest staged": lambda mp: stop_before(mp, Storage, "replace", "/manifest.json"),
}


def test_a_run_killed_again_and_again_then_run_to_the_end_loses_and_garbles_nothing(spark, done, output, tmp_path, monkeypatch):
    """Each attempt starts from what the one before left, and is killed later than it; the last one ends."""
    _, six, clean = done
    earlier = digests(output / "earlier")
    killed, store = output / "killed", output / "killed-store"
    sigkill_run_local_while_it_featurizes(six, output, tmp_path)
    assert_killed_run_garbled_nothing(spark, output, earlier)
    for moment, kill in KILL_POINTS.items():
        with monkeypatch.context() as patched:
            kill(patched)
            with pytest.raises(Killed):
                run_both_steps(spark, six, killed, store, "killed")
        assert_killed_run_garbled_nothing(spark, output, earlier)
    summary, manifest = run_both_steps(spark, six, killed, store, "killed")  # (c)
    assert manifest["featurized"] == 6 and (killed / MANIFEST).is_file()
    assert_same_bits(features_by_path(killed), clean)
    assert (summary["feature_store"]["featurized_now"], summary["feature_store"]["from_store"]) == (0, 6)  # committed at the 4th attempt (the 3rd kill point)
    assert not list(killed.glob("_staging-*"))  # (d)
    assert_killed_run_garbled_nothing(spark, output, earlier, complete=True)  # no uncommitted batch is read


def sigkill_run_local_while_it_featurizes(images: Path, output: Path, tmp_path: Path) -> None:
    """`fruits run-local`, all its processes SIGKILLed when a Spark worker starts featurizing: the
    driver waits on the job that appends to the store (fruits.feature_store.stage_batch), whose
    tasks are under way. (The model runs in a stage that Spark's adaptive execution runs before
    the write itself starts: no batch folder yet.)"""
    hook = sitecustomize_folder(tmp_path / "hook")
    environment = {**os.environ, KILL_AT: "fruits.features:featurize_contents",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(images), "--weights", WEIGHTS,
                             "--output", str(output), "--run-id", "killed", "--k", "2", "--feature-store", str(output / "killed-store")],
                            capture_output=True, text=True, env=environment, start_new_session=True, timeout=600)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    assert [path.name for path in (output / "killed").iterdir()] == [".lock"]
    assert not list((output / "killed-store").glob("*/batches/*")) and not list((output / "killed-store").glob("*/commits/*"))
