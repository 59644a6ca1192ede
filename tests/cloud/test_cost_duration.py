"""`fruits cost` says when a run could not end: longer than a Step Functions execution may last
(one year: docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), a wrong argument;
or longer than the state machine's own step or pipeline timeout (the platform's `pipeline_timeouts`
output, else Terraform's defaults), which would stop the run and tear its cluster down. Before,
10,000,000 images were priced at 7.60 USD, 533 min, though the extract step stops at 2 h. No AWS
call: moto is not needed."""
from __future__ import annotations

import json
import re

import pytest

from fruits.cli import main
from fruits.cloud.prices import DEFAULT_TIMEOUTS
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def no_platform(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no output/platform.json: Terraform's default cluster and timeouts
    monkeypatch.delenv("FRUITS_PLATFORM", raising=False)


@pytest.mark.parametrize("arguments", [["--images", str(10**15)], ["--images", str(2 * 10**11), "--core-nodes", "20"],
                                       ["--images", str(14 * 10**9)]])
def test_a_run_longer_than_an_execution_may_last_is_a_wrong_argument(arguments, capsys, no_platform):
    with pytest.raises(SystemExit) as refused:
        main(["cost", *arguments])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert refused.value.code == 2 and re.search(r"about [\d,]+\.\d years, more than the year a Step Functions execution", error), error


def test_a_run_whose_extract_step_outlasts_its_timeout_is_priced_and_refused(capsys, no_platform):
    assert main(["cost", "--images", "2000000"]) == 0  # about 107 min of extraction: within the 2 h
    capsys.readouterr()
    assert main(["cost", "--images", "10000000"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("10000000 images on 1 m5.xlarge + 2 m5.xlarge") and "USD" in out  # the estimate is still shown
    assert err.strip().splitlines() == [
        "fruits: error: such a run would not end: the extract step would take about 524 min, more than the 7,200 s each step may "
        "last (var.emr.step_timeout_seconds), so the state machine would stop it and tear the cluster down; give more "
        "--core-nodes, split the images into datasets, or raise that timeout in Terraform"]


def platform_with_timeouts(folder, timeouts) -> str:
    outputs = {"region": {"value": "eu-west-3"}, "bucket_name": {"value": "b"}, "kms_key_arn": {"value": "k"},
               "state_machine_arn": {"value": "arn:aws:states:eu-west-3:123456789012:stateMachine:m"},
               "pipeline_timeouts": {"value": timeouts}}
    path = folder / "platform.json"
    path.write_text(json.dumps(outputs))
    return str(path)


def test_the_platform_s_own_timeouts_are_the_ones_checked(capsys, tmp_path):
    longer_steps = platform_with_timeouts(tmp_path, {"step_seconds": 40000, "pipeline_seconds": 30000})
    assert main(["cost", "--images", "10000000", "--platform", longer_steps]) == 1
    assert "the run would take about 533 min, more than the 30,000 s an execution may last (var.emr.pipeline_timeout_seconds)" in (
        capsys.readouterr().err)
    roomy = platform_with_timeouts(tmp_path, {"step_seconds": 40000, "pipeline_seconds": 40000})
    assert main(["cost", "--images", "10000000", "--platform", roomy]) == 0


@pytest.mark.parametrize("timeouts", [{"step_seconds": 7200}, {"step_seconds": "7200", "pipeline_seconds": 50400}, [], None])
def test_a_platform_file_with_unreadable_timeouts_is_one_line(timeouts, capsys, tmp_path):
    path = platform_with_timeouts(tmp_path, timeouts)
    if timeouts is None:  # an output of null: as from a platform before this output, Terraform's defaults
        assert main(["cost", "--images", "1000", "--platform", path]) == 0
        return
    assert main(["cost", "--images", "1000", "--platform", path]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the output pipeline_timeouts is not the pipeline's step_seconds and pipeline_seconds" in error


def test_the_default_timeouts_are_terraforms():
    text = (PROJECT_ROOT / "terraform" / "variables.tf").read_text()
    default = {name: int(re.search(rf"{name}\s*=\s*optional\(number, (\d+)\)", text).group(1))
               for name in ("step_timeout_seconds", "pipeline_timeout_seconds")}
    assert DEFAULT_TIMEOUTS == {"step_seconds": default["step_timeout_seconds"], "pipeline_seconds": default["pipeline_timeout_seconds"]}
    outputs = (PROJECT_ROOT / "terraform" / "outputs.tf").read_text()
    assert re.search(r'step_seconds\s*=\s*var.emr.step_timeout_seconds\s+pipeline_seconds\s*=\s*var.emr.pipeline_timeout_seconds', outputs)
