"""The state machine's control flow, executed by moto's Step Functions interpreter on the
definition the offline Terraform renders, with EMR's part played by a scripted step driver.
Every scenario ends with no cluster left WAITING or RUNNING."""
from __future__ import annotations

import json
import time

import pytest

from fruits.cloud.execution_input import build_execution_input
from fruits.rehearsal.emr_step_driver import EmrStepDriver
from fruits.rehearsal.emulator import MotoServer
from tests.support.render_definition import FAST_TIMEOUTS, STEP_FUNCTIONS_ROLE, create_state_machine, render_test_definition


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def state_machine(moto, tmp_path_factory) -> str:
    return create_state_machine(moto, tmp_path_factory.mktemp("definition"))


def run(moto, state_machine, name: str, seconds: float = 90, **store_choices) -> dict:
    execution_input = build_execution_input(bucket="fruits-test-bucket", region="eu-west-3", run_id=name, artifacts_prefix="artifacts/abc123/",
                                            weights_key="artifacts/abc123/weights/mobilenet.h5", **store_choices)
    sfn = moto.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=state_machine, name=name, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.2)
    raise TimeoutError(f"execution {name} still running after {seconds} s")


def states_entered(moto, execution) -> list[str]:
    events = moto.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def assert_nothing_left_running(driver: EmrStepDriver) -> None:
    states = [cluster.state for cluster in driver.clusters()]
    assert states, "the scenario should have created a cluster"
    assert not [state for state in states if state in ("STARTING", "BOOTSTRAPPING", "WAITING", "RUNNING")], states


def test_all_good_succeeds_and_terminates_the_cluster(moto, state_machine):
    with EmrStepDriver() as driver:
        execution = run(moto, state_machine, "all-good")
    assert execution["status"] == "SUCCEEDED"
    assert driver.finished == [("Extract features", "COMPLETED"), ("Reduce dimensions", "COMPLETED")]
    assert driver.clusters()[-1].state == "TERMINATED"
    assert_nothing_left_running(driver)


@pytest.mark.parametrize("choices", [{}, {"full_recompute": True, "purge": True}], ids=["incremental", "recompute-and-purge"])
def test_the_extract_job_gets_the_datasets_feature_store_and_the_choices(moto, state_machine, choices):
    """The step's arguments, as the state machine assembles them, parsed by the job's own parser."""
    from fruits.steps.extract_step import parse_args
    from fruits.steps.featurize_with_store import StoreOptions

    with EmrStepDriver() as driver:
        assert run(moto, state_machine, "store-" + "-".join(choices or ["default"]).replace("_", "-"), **choices)["status"] == "SUCCEEDED"
    step = next(step for step in driver.clusters()[-1].steps if step.name == "Extract features")
    job_arguments = list(step.args)[list(step.args).index("s3://fruits-test-bucket/artifacts/abc123/jobs/extract_features.py") + 1:]
    args, _ = parse_args(job_arguments)
    assert args.store == StoreOptions(root="s3://fruits-test-bucket/feature-store/", full_recompute=bool(choices), purge=bool(choices))


def test_extraction_failing_once_is_retried_and_succeeds(moto, state_machine):
    with EmrStepDriver({"Extract features": ["FAILED", "COMPLETED"]}) as driver:
        execution = run(moto, state_machine, "retry-once")
    assert execution["status"] == "SUCCEEDED"
    assert [name for name, _ in driver.finished] == ["Extract features", "Extract features", "Reduce dimensions"]
    assert_nothing_left_running(driver)


def test_pca_failing_every_attempt_terminates_the_cluster_and_fails_with_its_cause(moto, state_machine):
    with EmrStepDriver({"Reduce dimensions": ["FAILED", "FAILED", "FAILED"]}) as driver:
        execution = run(moto, state_machine, "pca-fails")
    assert execution["status"] == "FAILED"
    assert driver.finished.count(("Reduce dimensions", "FAILED")) == 3  # 1 attempt + 2 retries
    assert execution["error"] == "Fruits.PipelineFailed"
    assert execution["cause"].startswith("States.TaskFailed: ")
    assert json.loads(execution["cause"].removeprefix("States.TaskFailed: "))["Step"]["Name"] == "Reduce dimensions"
    assert "Terminate cluster after failure" in states_entered(moto, execution)
    assert driver.clusters()[-1].state == "TERMINATED"
    assert_nothing_left_running(driver)


def test_cluster_that_cannot_start_fails_with_nothing_running(moto, state_machine):
    with EmrStepDriver(cluster_outcome="TERMINATED_WITH_ERRORS") as driver:
        execution = run(moto, state_machine, "no-cluster")
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Fruits.ClusterCreationFailed"
    cluster = driver.clusters()[-1].id
    assert execution["cause"] == (f"the cluster {cluster} ended while starting (TERMINATED_WITH_ERRORS): EMR gives the reason in "
                                  "`fruits status RUN` and in the execution history")
    assert states_entered(moto, execution)[-1] == "Cluster creation failed"
    assert "Extract features" not in states_entered(moto, execution)
    assert "Terminate cluster after failure" not in states_entered(moto, execution)  # EMR ended it
    assert driver.finished == []
    assert_nothing_left_running(driver)


def test_the_run_waits_for_a_cluster_that_takes_several_checks_to_start(moto, state_machine):
    with EmrStepDriver(cluster_start_seconds=2.5) as driver:
        execution = run(moto, state_machine, "slow-start")
    assert execution["status"] == "SUCCEEDED"
    assert states_entered(moto, execution).count("Check the cluster") >= 2  # checked 1 s apart until it was WAITING
    assert_nothing_left_running(driver)
    # `fruits watch` shows each state of the loop once, its last entry's tries, and the wait's whole span
    from fruits.cloud.executions import history, states_from

    states, cluster_id = states_from(history(moto.client("stepfunctions"), execution["executionArn"]))
    shown = {state.name: state for state in states}
    assert [state.name for state in states].count("Check the cluster") == 1 and cluster_id == driver.clusters()[-1].id
    assert (shown["Check the cluster"].status, shown["Check the cluster"].attempts) == ("done", 1)
    assert (shown["Wait for the cluster"].ended - shown["Wait for the cluster"].started).total_seconds() >= 2


def failed_tasks(moto, execution) -> list[tuple[str, str]]:
    """(state, cause) of each failed task attempt. (The error names are moto's own,
    `emr.emrException`, not the names AWS gives SDK integration errors: not checked here.)"""
    events = moto.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
    failed, state = [], None
    for event in events:
        state = event["stateEnteredEventDetails"]["name"] if "stateEnteredEventDetails" in event else state
        if event["type"] == "TaskFailed":
            failed.append((state, event["taskFailedEventDetails"]["cause"].partition(" (")[0]))
    return failed


def test_a_throttled_cluster_check_is_retried_and_the_run_goes_on(moto, state_machine):
    """EMR refuses calls past its request rate with ThrottlingException (API_DescribeCluster.html,
    common errors): a refused check must not end a run whose cluster is starting well. The
    emulator refuses the first DescribeCluster; the definition's Retry (5 s later) carries on."""
    with EmrStepDriver(throttled_checks=1) as driver:
        execution = run(moto, state_machine, "throttled-check")
    assert execution["status"] == "SUCCEEDED"
    assert driver.throttled_checks == 0  # the refusal was met
    assert failed_tasks(moto, execution) == [("Check the cluster", "Rate exceeded")]
    assert_nothing_left_running(driver)


def test_a_check_throttled_past_its_retries_terminates_the_cluster(moto, state_machine):
    """Refused on every attempt (1 + 2 retries, 5 then 10 s apart), the check fails the run, and the
    cluster it was checking is terminated, not left starting."""
    with EmrStepDriver(throttled_checks=3) as driver:
        execution = run(moto, state_machine, "throttled-out")
    assert execution["status"] == "FAILED" and execution["error"] == "Fruits.PipelineFailed"
    assert "Rate exceeded" in execution["cause"]  # the refusal, under moto's error name
    assert failed_tasks(moto, execution) == [("Check the cluster", "Rate exceeded")] * 3
    assert "Terminate cluster after failure" in states_entered(moto, execution)
    assert "Extract features" not in states_entered(moto, execution)
    assert driver.clusters()[-1].state == "TERMINATED"
    assert_nothing_left_running(driver)


def test_a_cluster_slower_than_the_start_timeout_is_terminated_by_the_run(moto, tmp_path):
    """createCluster.sync kept no cluster id when it timed out, so the cluster was left to its idle
    timeout; the run now knows the id from RunJobFlow's answer and terminates it."""
    machine = create_state_machine(moto, tmp_path, timeouts={**FAST_TIMEOUTS, "cluster_start_timeout_seconds": 3}, name="short-start")
    with EmrStepDriver(cluster_outcome="STARTING") as driver:  # EMR never finishes starting it
        execution = run(moto, machine, "start-too-slow")
    cluster = driver.clusters()[-1].id
    assert execution["status"] == "FAILED" and execution["error"] == "Fruits.PipelineFailed"
    assert execution["cause"] == (f"Fruits.ClusterStartTimedOut: the cluster {cluster} was not ready within the start timeout "
                                  "(cluster_start_timeout_seconds 3 s, 3 checks): it is terminated")
    assert states_entered(moto, execution).count("Check the cluster") == 3
    assert "Terminate cluster after failure" in states_entered(moto, execution)
    assert driver.clusters()[-1].state == "TERMINATED"
    assert_nothing_left_running(driver)


def test_a_step_that_times_out_terminates_the_cluster(moto, state_machine):
    with EmrStepDriver({"Extract features": ["HANG"]}) as driver:
        execution = run(moto, state_machine, "step-hangs")
    assert execution["status"] == "FAILED"
    assert execution["error"] == "Fruits.PipelineFailed" and execution["cause"].startswith("States.Timeout: ")
    assert "Terminate cluster after failure" in states_entered(moto, execution)
    assert driver.clusters()[-1].state == "TERMINATED"
    assert_nothing_left_running(driver)


@pytest.mark.parametrize("start, error, fail_state, expected_cause", [
    ("Record why the pipeline failed", {"Error": "States.TaskFailed", "Cause": "step log"}, "Pipeline failed", "States.TaskFailed: step log"),
    ("Record why the pipeline failed", {"Error": "States.Timeout"}, "Pipeline failed", "States.Timeout: no cause given"),
    ("Record why the pipeline failed", {}, "Pipeline failed", "a step failed without an error name"),
    ("Record why the cluster failed", {"Error": "EMR.ValidationException"}, "Cluster creation failed",
     "EMR.ValidationException: no cause given"),
    ("Record why the cluster failed", {}, "Cluster creation failed", "the cluster failed to start without an error name"),
], ids=["error-and-cause", "no-cause", "nothing", "cluster-no-cause", "cluster-nothing"])
def test_recording_a_failure_cannot_fail_itself(moto, tmp_path, start, error, fail_state, expected_cause):
    """A Catch output need not carry a Cause: the states that record it must still reach their Fail
    state with a readable cause, not end in States.Runtime. They run here as rendered, from `start`."""
    rendered = json.loads(render_test_definition(tmp_path))
    definition = {"StartAt": start, "States": rendered["States"]}
    sfn = moto.client("stepfunctions")
    arn = sfn.create_state_machine(name=f"record-{len(error)}-{fail_state[:7]}".replace(" ", "-"), definition=json.dumps(definition),
                                   roleArn=STEP_FUNCTIONS_ROLE)["stateMachineArn"]
    execution_arn = sfn.start_execution(stateMachineArn=arn, name="record", input=json.dumps({"error": error}))["executionArn"]
    deadline = time.monotonic() + 30
    while (execution := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert execution["status"] == "FAILED"
    assert (execution["error"], execution["cause"]) == (rendered["States"][fail_state]["Error"], expected_cause)
