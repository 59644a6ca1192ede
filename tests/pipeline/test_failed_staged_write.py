"""`fruits run-local` whose staged write of step 1's features fails (the files partly written):
one error line, exit 1, and the staging folder removed; the run folder keeps what it held. Here a
device that filled up, which used to leave the part-written files on the full device (a
FruitsError was not cleaned up after, only Spark's failures and Ctrl-C). A failed Spark task takes
the same cleanup (`FRUITS_TEST_FAILURE=task` makes one; left out of the suite, 20 s, as
test_task_failures already runs run-local through that branch)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.cli_errors import assert_one_error_line

from .images import copy_subset

# Imported first by the run's Python processes (tests.pipeline.kill_points explains the folder):
# the staged features are written, then the write fails as FRUITS_TEST_FAILURE says.
FAIL_AFTER_THE_STAGED_FEATURES = textwrap.dedent("""
    import errno, os
    from pyspark.sql.readwriter import DataFrameWriter

    written = DataFrameWriter.parquet

    def parquet(self, path, *args, **kwargs):
        written(self, path, *args, **kwargs)
        if "/_staging-features-" in path:
            if os.environ["FRUITS_TEST_FAILURE"] == "task":
                self._spark.range(1).selectExpr("raise_error('the disk failed')").collect()
            raise OSError(errno.ENOSPC, "No space left on device")

    DataFrameWriter.parquet = parquet
""")


@pytest.mark.slow
@pytest.mark.parametrize(("failure", "message"), [
    ("no-space", "no space left on the device of {run} or the feature store {store}: free some, then run the step again "
                 "(a step moves an output into place only once it is complete)"),
])
def test_a_failure_during_the_staged_write_removes_the_staging_folder(failure, message, sample_images, weights_file, tmp_path):
    images = copy_subset(sample_images, tmp_path / "images", per_class=1, classes=2)
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(FAIL_AFTER_THE_STAGED_FEATURES)
    run, store = tmp_path / "out" / "r", tmp_path / "store"
    (run / "features").mkdir(parents=True)  # an earlier attempt's step 1 (the run is not complete: no --replace needed)
    (run / "features" / "part-0.parquet").write_text("earlier features")
    (run / "extract_summary.json").write_text('{"earlier": true}')
    environment = {**os.environ, "FRUITS_TEST_FAILURE": failure,
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "hook"), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-m", "fruits", "run-local", "--quiet", "--images", str(images), "--weights", str(weights_file),
                             "--output", str(tmp_path / "out"), "--run-id", "r", "--k", "1", "--feature-store", str(store)],
                            capture_output=True, text=True, env=environment, timeout=600)
    assert_one_error_line(result, 1, "fruits: error: " + message.format(run=run, store=store))
    assert sorted(path.name for path in run.iterdir()) == [".lock", "extract_summary.json", "features"]  # no _staging-features-
    assert (run / "features" / "part-0.parquet").read_text() == "earlier features"
    assert (run / "extract_summary.json").read_text() == '{"earlier": true}'
