"""The two job files run as EMR runs them: `spark-submit --py-files fruits.zip jobs/<job>.py ...`
(here on a local master), and a failing job exits non-zero with its one-line reason.
The test venv also has the package installed, so this proves the entry points and arguments,
not that the zip alone is complete (the offline rehearsal of the cloud run covers that)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package_zip(tmp_path_factory) -> Path:
    """src/fruits zipped, as the cluster receives it through --py-files."""
    archive = tmp_path_factory.mktemp("package") / "fruits.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in (PROJECT_ROOT / "src" / "fruits").rglob("*"):
            if file.is_file() and "__pycache__" not in file.parts:
                bundle.write(file, file.relative_to(PROJECT_ROOT / "src"))
    return archive


def spark_submit(package_zip: Path, job: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]",
               "--conf", "spark.driver.host=127.0.0.1", "--py-files", str(package_zip),
               str(PROJECT_ROOT / "jobs" / job), *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=600)


def test_both_jobs_run_with_the_package_zip(package_zip, small_sample, weights_file, tmp_path):
    output = tmp_path / "results" / "run-1"
    extract = spark_submit(package_zip, "extract_features.py", "--images", str(small_sample), "--output", str(output),
                           "--weights", str(weights_file), "--run-id", "run-1", cwd=tmp_path)
    assert extract.returncode == 0, extract.stderr[-3000:]
    assert "extract_features: 40 images featurized, 0 rejected" in extract.stdout
    reduce = spark_submit(package_zip, "reduce_dimensions.py", "--output", str(output), "--run-id", "run-1", "--k", "4",
                          cwd=tmp_path)
    assert reduce.returncode == 0, reduce.stderr[-3000:]
    manifest = json.loads((output / "manifest.json").read_text())
    assert (manifest["run_id"], manifest["k"], manifest["featurized"]) == ("run-1", 4, 40)


def test_a_failing_job_exits_non_zero_with_its_reason(package_zip, weights_file, tmp_path):
    (tmp_path / "images" / "Kiwi").mkdir(parents=True)
    result = spark_submit(package_zip, "extract_features.py", "--images", str(tmp_path / "images"),
                          "--output", str(tmp_path / "out"), "--weights", str(weights_file), cwd=tmp_path)
    assert result.returncode == 1
    # spark-submit's PythonRunner forwards the driver's stderr to its own stdout
    assert "extract_features: error: no files under" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


def test_the_reduce_job_refuses_an_output_without_features(package_zip, tmp_path):
    result = spark_submit(package_zip, "reduce_dimensions.py", "--output", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 1
    assert "reduce_dimensions: error: no complete features" in result.stdout + result.stderr
