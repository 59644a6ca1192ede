"""The two job files run as EMR runs them: `spark-submit --py-files fruits.zip <job>.py ...` (here
on a local master), with the zip `fruits stage` uploads and the job files copied out of the
checkout, on a Python that cannot import the package otherwise (no PYTHONPATH, no editable
install): the zip alone is complete. A failing job exits non-zero with its one-line reason."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fruits.cloud.artifacts import package_zip
from fruits.session import EMBEDDED_JVM_OPTIONS
from tests.conftest import PROJECT_ROOT

from .node_python import environment_without_pythonpath, python_without_fruits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    """What a step downloads from the artifacts prefix: fruits.zip and the two job files."""
    folder = tmp_path_factory.mktemp("artifacts")
    package_zip(folder / "fruits.zip")
    for job in ("extract_features.py", "reduce_dimensions.py"):
        shutil.copy(PROJECT_ROOT / "jobs" / job, folder / job)
    return folder


@pytest.fixture(scope="module")
def node_python(tmp_path_factory) -> Path:
    python = python_without_fruits(tmp_path_factory.mktemp("node"))
    assert subprocess.run([str(python), "-c", "import fruits"], capture_output=True, env=environment_without_pythonpath(),
                          cwd=python.parent).returncode == 1  # only the zip can provide it
    return python


def spark_submit(staged: Path, python: Path, job: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    environment = environment_without_pythonpath(PYSPARK_PYTHON=str(python), PYSPARK_DRIVER_PYTHON=str(python),
                                                 SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1")
    # C1 only, as the embedded Spark's JVM (fruits.session): a short job's JVM in a test spends more on C2 than it gains
    command = [str(spark_home / "bin" / "spark-submit"), "--master", "local[2]", "--conf", "spark.driver.host=127.0.0.1",
               "--driver-java-options", EMBEDDED_JVM_OPTIONS,
               "--py-files", str(staged / "fruits.zip"), str(staged / job), *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd)


def test_both_jobs_run_with_the_package_zip(staged, node_python, small_sample, weights_file, tmp_path):
    output = tmp_path / "results" / "run-1"
    extract = spark_submit(staged, node_python, "extract_features.py", "--images", str(small_sample), "--output", str(output),
                           "--weights", str(weights_file), "--run-id", "run-1", cwd=tmp_path)
    assert extract.returncode == 0, extract.stderr[-3000:]
    assert "extract_features: 40 images featurized, 0 rejected" in extract.stdout
    reduce = spark_submit(staged, node_python, "reduce_dimensions.py", "--output", str(output), "--run-id", "run-1", "--k", "4",
                          cwd=tmp_path)
    assert reduce.returncode == 0, reduce.stderr[-3000:]
    manifest = json.loads((output / "manifest.json").read_text())
    assert (manifest["run_id"], manifest["k"], manifest["featurized"]) == ("run-1", 4, 40)


def test_a_failing_job_exits_non_zero_with_its_reason(staged, node_python, weights_file, tmp_path):
    (tmp_path / "images" / "Kiwi").mkdir(parents=True)
    result = spark_submit(staged, node_python, "extract_features.py", "--images", str(tmp_path / "images"),
                          "--output", str(tmp_path / "out"), "--weights", str(weights_file), cwd=tmp_path)
    assert result.returncode == 1
    # spark-submit's PythonRunner forwards the driver's stderr to its own stdout
    assert "extract_features: error: no files under" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_the_reduce_job_refuses_an_output_without_features(staged, node_python, tmp_path):
    result = spark_submit(staged, node_python, "reduce_dimensions.py", "--output", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 1
    assert "reduce_dimensions: error: no complete features" in result.stdout + result.stderr
