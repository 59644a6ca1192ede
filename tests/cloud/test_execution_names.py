"""A run's execution names and the listing of runs keep within AWS's limits
(docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: names of 1-80
characters, only 0-9, A-Z, a-z, '-' and '_' for CloudWatch Logs; API_ListExecutions.html: at most
1000 a page). The maxima are read from botocore's service model: botocore does not enforce them,
and moto does not either, so a call beyond them would pass here and fail on AWS."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from fruits.cloud import executions
from fruits.cloud.executions import execution_name, list_runs, run_of
from fruits.layout import MAX_RUN_ID_LENGTH, validate_run_id
from tests.support.render_definition import STEP_FUNCTIONS_ROLE

CLOUDWATCH_SAFE = re.compile(r"[0-9A-Za-z_-]+")


def api_maximum(operation: str, member: str, key: str) -> int:
    import botocore.session

    model = botocore.session.get_session().get_service_model("stepfunctions").operation_model(operation)
    return model.input_shape.members[member].metadata[key]


@pytest.mark.parametrize("run_id", ["a", "a_", "a-_-b", "9", "run-20261124T134500Z-3f9a1c", "x" * MAX_RUN_ID_LENGTH])
def test_every_start_of_a_run_id_has_a_valid_execution_name_that_maps_back_to_it(run_id):
    longest = api_maximum("StartExecution", "name", "max")
    assert validate_run_id(run_id) == run_id
    for start in (1, 2, 10, 999_999):
        name = execution_name(run_id, start)
        assert len(name) <= longest and CLOUDWATCH_SAFE.fullmatch(name), name
        assert run_of(name) == (run_id, start)


@pytest.mark.parametrize("name", ["record", "a__1", "a__02", "__3", "a__b", "a__"])
def test_a_name_fruits_does_not_make_is_its_own_run_id(name):
    assert run_of(name) == (name, 1)


def test_runs_are_listed_in_pages_within_the_api_maximum(moto, monkeypatch):
    sfn = moto.client("stepfunctions")
    machine = sfn.create_state_machine(name="lists-runs", roleArn=STEP_FUNCTIONS_ROLE,
                                       definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    for number in range(5):
        sfn.start_execution(stateMachineArn=machine, name=f"listed-{number}")
    asked: list[int] = []
    sfn.meta.events.register("provide-client-params.sfn.ListExecutions", lambda params, **_: asked.append(params["maxResults"]))
    platform = SimpleNamespace(state_machine_arn=machine)

    assert len(list_runs(sfn, platform, limit=2500)) == 5
    assert asked and all(0 < size <= api_maximum("ListExecutions", "maxResults", "max") for size in asked)

    monkeypatch.setattr(executions, "LIST_PAGE_MAX", 2)  # pages of 2: the listing follows nextToken
    asked.clear()
    listed = list_runs(sfn, platform, limit=4)
    assert len({run["name"] for run in listed}) == 4 and asked == [2, 2]


def test_a_run_id_counts_as_running_in_every_status_that_is_not_an_end():
    """`fruits start` refuses a run id while an execution of it may still write its folder: every
    status of botocore's model but the four ends (API_DescribeExecution.html), a redrive's too."""
    import botocore.session

    statuses = botocore.session.get_session().get_service_model("stepfunctions").shape_for("ExecutionStatus").enum
    assert set(statuses) - {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"} == set(executions.ACTIVE)


def test_a_run_id_whose_first_execution_was_forgotten_starts_after_its_latest_and_shows_it(moto):
    """Step Functions forgets a closed execution after 90 days, the oldest first: RUN may be gone
    while RUN__2 and RUN__3 remain (here: started under those names, as after RUN expired). The
    next start is RUN__4, not RUN again; status and stop read RUN__3, then RUN__4."""
    sfn = moto.client("stepfunctions")
    machine = sfn.create_state_machine(name="forgets-runs", roleArn=STEP_FUNCTIONS_ROLE,
                                       definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    for name in ("aged__2", "aged__3", "other", "aged-not__2"):
        sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"which": name}))
    platform = SimpleNamespace(state_machine_arn=machine)

    assert [execution["name"] for execution in executions.starts_of(sfn, platform, "aged")] == ["aged__2", "aged__3"]
    arn, start = executions.start_run(sfn, platform, {"run_id": "aged"})
    assert (arn.rsplit(":", 1)[1], start) == ("aged__4", 4)
    assert [execution["name"] for execution in executions.starts_of(sfn, platform, "aged")] == ["aged__2", "aged__3", "aged__4"]
    assert executions.starts_of(sfn, platform, "never") == []


def test_the_readme_states_the_run_id_limit_the_code_enforces():
    """The README's settings table said 80 (the execution name's limit), but a run id leaves room
    for '__' and the start number: an id of 73-80 characters was refused with exit 2."""
    from tests.conftest import PROJECT_ROOT

    row = next(line for line in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| run id "))
    assert f"at most {MAX_RUN_ID_LENGTH})" in row, row
