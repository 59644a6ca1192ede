"""Run ids name a folder and a Step Functions execution: every command and job that takes one
refuses an id that is not a single safe folder name or not a valid execution name, before any
work, with exit status 2 (argparse) or one clear line."""
from __future__ import annotations

import subprocess
import sys

import pytest

from fruits.cli import main
from fruits.cloud.execution_input import build_execution_input
from fruits.layout import new_run_id, validate_run_id
from fruits.steps import extract_step, reduce_step

BAD_IDS = ["..", ".", "a/b", "../escape", "", "run 1", "run\n", "a.b", "-rm", "_hidden", "x" * 73, "run__2", "a__", "café", "a:b", "a*", 'q"']


def test_a_new_run_id_is_valid_sortable_and_unique():
    first, second = new_run_id(), new_run_id()
    assert validate_run_id(first) == first and first != second
    assert first.startswith("run-") and len(first) == len("run-20261124T134500Z-3f9a1c")


@pytest.mark.parametrize("run_id", ["local", "r", "run-1", "run_cli-good", "A" * 72, "a_b-_c", "a_", new_run_id()])
def test_plain_ids_are_accepted(run_id):
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", BAD_IDS)
def test_ids_that_are_not_one_safe_folder_or_execution_name_are_refused(run_id):
    with pytest.raises(ValueError, match="run id must be 1-72 letters, digits"):
        validate_run_id(run_id)


@pytest.mark.parametrize("run_id", ["feature-store", "Feature-Store", "FEATURE-STORE"])
def test_the_name_of_the_feature_stores_folder_is_not_a_run_id(run_id, tmp_path, capsys):
    """Runs and the local feature stores share OUTPUT/: a run there would hold the stores."""
    with pytest.raises(ValueError, match="is reserved: OUTPUT/feature-store/ holds the feature stores"):
        validate_run_id(run_id)
    with pytest.raises(SystemExit) as exit_:
        main(["run-local", "--output", str(tmp_path), "--run-id", run_id])
    assert exit_.value.code == 2 and "is reserved" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("parse", [lambda run_id: extract_step.parse_args(["--images", "i", "--output", "o", "--weights", "w", "--run-id", run_id]),
                                   lambda run_id: reduce_step.parse_args(["--output", "o", "--run-id", run_id])],
                         ids=["extract job", "reduce job"])
def test_the_jobs_refuse_a_bad_run_id_with_exit_2(parse, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse("..")
    assert exit_.value.code == 2
    assert "argument --run-id: run id must be" in capsys.readouterr().err


def test_run_local_refuses_a_bad_run_id_before_writing_anything(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run-local", "--output", str(tmp_path / "out"), "--run-id", ".."])
    assert exit_.value.code == 2
    assert "argument --run-id: run id must be" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_execution_input_builder_refuses_a_bad_run_id():
    with pytest.raises(ValueError, match="run id must be"):
        build_execution_input(bucket="b", region="eu-west-3", run_id="../images", artifacts_prefix="artifacts/x/", weights_key="artifacts/x/weights/w.h5")


@pytest.mark.parametrize("weights_key", [None, ""])
def test_the_execution_input_builder_refuses_a_run_without_staged_weights(weights_key):
    """The nodes have no internet: an input without a weights key would have sent Keras's imagenet download."""
    with pytest.raises(ValueError, match="needs the staged weights file's key"):
        build_execution_input(bucket="b", region="eu-west-3", run_id="run-1", artifacts_prefix="artifacts/x/", weights_key=weights_key)


def test_run_local_does_not_import_the_cloud_package():
    check = "import sys, fruits.commands.local; print(sorted(m for m in sys.modules if m.startswith('fruits.cloud')))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
