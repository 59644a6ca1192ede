"""The same `fruits run-local` command, unchanged, on a Spark standalone cluster (a master and two
one-core workers on 127.0.0.1): the broadcast weights and the paths work across separate
executors, and the features still equal plain Keras's."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fruits.session import EMBEDDED_JVM_OPTIONS

from .standalone import StandaloneCluster
from .test_features_match_keras import keras_reference_features
from .test_run_local import run_local

pytestmark = pytest.mark.slow


def tasks_by_executor(event_log_folder) -> dict[str, int]:
    """Counts finished tasks per executor id in the application's Spark event log."""
    counts: dict[str, int] = {}
    for log in event_log_folder.iterdir():
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("Event") == "SparkListenerTaskEnd":
                executor = event["Task Info"]["Executor ID"]
                counts[executor] = counts.get(executor, 0) + 1
    return counts


def test_pipeline_runs_unchanged_on_a_two_worker_standalone_cluster(small_sample, weights_file, tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    with StandaloneCluster(tmp_path, workers=2) as cluster:
        result = run_local("--master", cluster.master_url, "--images", str(small_sample), "--weights", str(weights_file),
                           "--output", str(tmp_path / "out"), "--run-id", "cluster", "--images-per-partition", "5",
                           "--k", "5", "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events}",
                           "--conf", "spark.executor.memory=1g",
                           # C1 only, as the driver's JVM (fruits.session): C2 took a third of the CPU of a test's short JVMs
                           "--conf", f"spark.executor.extraJavaOptions={EMBEDDED_JVM_OPTIONS}")
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(cluster.status()["completedapps"]) == 1

    per_executor = tasks_by_executor(events)
    assert set(per_executor) == {"0", "1"}, per_executor  # two executors, none is the driver
    assert min(per_executor.values()) >= 4  # both did real work: 8 extraction tasks and more
    manifest = json.loads((tmp_path / "out" / "cluster" / "manifest.json").read_text())
    assert manifest["featurized"] == 40 and manifest["k"] == 5

    import pandas as pd

    features = pd.read_parquet(tmp_path / "out" / "cluster" / "features")
    features["local_path"] = features["path"].str.removeprefix("file:")
    features = features.sort_values("local_path")
    reference = keras_reference_features(list(features["local_path"]), weights_file)
    assert np.abs(np.stack(features["features"].to_numpy()) - reference).max() <= 1e-4
