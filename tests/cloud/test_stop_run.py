"""`fruits stop RUN` stops the run's execution and terminates its cluster, which Step Functions
leaves running when an execution is stopped (connect-emr.html); a cluster left by a stop in the
console is shown by `fruits status` and terminated by `fruits stop`; another run's cluster is never
touched. Against the pipeline's own definition with a step that never ends (the step driver plays
EMR): the emulator's clusters start at once."""
from __future__ import annotations

import json
import re
import time

import pytest

from fruits.cloud.clusters import RUN_TAG
from fruits.rehearsal.emr_step_driver import EmrStepDriver
from tests.cloud.conftest import BUCKET, edited_platform, run_cli
from tests.support.render_definition import FAST_TIMEOUTS, STEP_FUNCTIONS_ROLE, render_test_definition

SLOW = {**FAST_TIMEOUTS, "step_timeout_seconds": 3600, "pipeline_timeout_seconds": 40000}
LIVE = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")


@pytest.fixture(scope="module")
def slow_platform(moto, platform_file, tmp_path_factory):
    """The platform with a state machine whose steps may run for an hour."""
    folder = tmp_path_factory.mktemp("slow")
    machine = moto.client("stepfunctions").create_state_machine(
        name="fruits-pipeline-slow", roleArn=STEP_FUNCTIONS_ROLE, definition=render_test_definition(folder, timeouts=SLOW))
    return edited_platform(platform_file, folder, state_machine_arn=machine["stateMachineArn"], state_machine_name="fruits-pipeline-slow")


@pytest.fixture(scope="module")
def staged(moto, platform_file, staged_weights, tmp_path_factory):
    """The code staged once, and two photos under the default dataset (`start` refuses fewer):
    every state machine of these tests runs the same artifacts in the same bucket."""
    for name in ("apple/1.jpg", "kiwi/1.jpg"):
        moto.client("s3").put_object(Bucket=BUCKET, Key=f"images/fruits-360/{name}", Body=b"a photo, as far as start can tell")
    result = run_cli(moto, platform_file, tmp_path_factory, "stage", "--weights", str(staged_weights), "--quiet")
    assert result.returncode == 0, result.stderr
    return staged_weights


def run_clusters(moto, run_id: str, states=LIVE) -> dict[str, str]:
    """cluster id -> state, of the clusters tagged with `run_id`."""
    emr, found = moto.client("emr"), {}
    for summary in emr.list_clusters(ClusterStates=list(states))["Clusters"]:
        cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
        if {"Key": RUN_TAG, "Value": run_id} in cluster.get("Tags", []):
            found[cluster["Id"]] = cluster["Status"]["State"]
    return found


def started_and_hanging(fruits, moto, platform, weights, run_id: str) -> str:
    """Starts `run_id` and waits until its extraction step runs on its cluster; the cluster id."""
    assert (started := fruits("start", "--weights", str(weights), "--run-id", run_id, platform=platform)).returncode == 0, started.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        clusters = run_clusters(moto, run_id, ("RUNNING",))
        if clusters:
            return next(iter(clusters))
        time.sleep(0.2)
    raise AssertionError(f"no cluster of {run_id} came to run its step")


def execution_status(moto, platform, name: str, awaited: str) -> str:
    """The execution's status once it is `awaited`, or after 20 s (the emulator ends a stopped
    execution in its own thread, a moment after StopExecution returns)."""
    machine = json.loads(platform.read_text())["state_machine_arn"]["value"]
    arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.monotonic() + 20
    while (status := moto.client("stepfunctions").describe_execution(executionArn=arn)["status"]) != awaited and time.monotonic() < deadline:
        time.sleep(0.2)
    return status


def test_stop_ends_the_execution_and_terminates_its_cluster(fruits, moto, slow_platform, staged):
    with EmrStepDriver({"Extract features": ["HANG"]}):
        cluster = started_and_hanging(fruits, moto, slow_platform, staged, "run-stopped")
        other = started_and_hanging(fruits, moto, slow_platform, staged, "run-other")
        stopped = fruits("stop", "run-stopped", platform=slow_platform)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.splitlines() == ["Stopped run run-stopped (execution run-stopped).",
                                               f"Terminating {cluster}: `fruits status run-stopped` shows when it has ended."]
        assert execution_status(moto, slow_platform, "run-stopped", "ABORTED") == "ABORTED"
        assert run_clusters(moto, "run-stopped") == {}  # terminated
        assert run_clusters(moto, "run-other") == {other: "RUNNING"}  # another run's cluster is left alone

        again = fruits("stop", "run-stopped", platform=slow_platform)
        assert again.returncode == 0
        assert again.stdout.splitlines() == ["Run run-stopped was not running.", "No cluster of run run-stopped is running."]
        assert fruits("stop", "run-other", platform=slow_platform).returncode == 0
    assert run_clusters(moto, "run-other") == {}


def test_a_cluster_left_by_a_stop_in_the_console_is_shown_then_terminated(fruits, moto, slow_platform, staged):
    with EmrStepDriver({"Extract features": ["HANG"]}):
        cluster = started_and_hanging(fruits, moto, slow_platform, staged, "run-console")
        machine = json.loads(slow_platform.read_text())["state_machine_arn"]["value"]
        moto.client("stepfunctions").stop_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":run-console")
        assert execution_status(moto, slow_platform, "run-console", "ABORTED") == "ABORTED"
        assert run_clusters(moto, "run-console") == {cluster: "RUNNING"}  # Step Functions left it running

        shown = fruits("status", "run-console", platform=slow_platform)
        assert shown.returncode == 1 and "ABORTED" in shown.stdout
        assert re.search(rf"the run has ended but its cluster {cluster} is RUNNING, and costs: `fruits stop run-console` "
                         "terminates it", shown.stdout), shown.stdout

        stopped = fruits("stop", "run-console", platform=slow_platform)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.splitlines() == ["Run run-console was not running.",
                                               f"Terminating {cluster}: `fruits status run-console` shows when it has ended."]
        assert run_clusters(moto, "run-console") == {}
        assert "the run has ended but its cluster" not in fruits("status", "run-console", platform=slow_platform).stdout


def test_a_cluster_whose_start_timed_out_is_terminated_by_the_run_and_watch_says_why(fruits, moto, platform_file, staged, tmp_path):
    """The run keeps the cluster id from RunJobFlow's answer: past the start timeout it terminates
    the cluster itself (the .sync definition before it could not, and left it to `fruits stop`)."""
    machine = moto.client("stepfunctions").create_state_machine(
        name="fruits-pipeline-short-start", roleArn=STEP_FUNCTIONS_ROLE,
        definition=render_test_definition(tmp_path, timeouts={**FAST_TIMEOUTS, "cluster_start_timeout_seconds": 2}))
    platform = edited_platform(platform_file, tmp_path, state_machine_arn=machine["stateMachineArn"])
    with EmrStepDriver(cluster_outcome="STARTING"):  # EMR is slow to start it
        assert fruits("start", "--weights", str(staged), "--run-id", "run-slow-start", platform=platform).returncode == 0
        watched = fruits("watch", "run-slow-start", "--interval", "1", platform=platform)
        assert watched.returncode == 1
        assert re.search(r"Fruits.PipelineFailed: Fruits.ClusterStartTimedOut: the cluster j-\w+ was not ready within the start timeout", watched.stderr)
        assert "the run has ended but its cluster" not in watched.stdout
        assert run_clusters(moto, "run-slow-start") == {}


def test_stopping_a_run_that_never_started_is_one_clear_line(fruits, slow_platform):
    result = fruits("stop", "never-started", platform=slow_platform)
    assert result.returncode == 1
    assert result.stderr.strip() == "fruits: error: stop run never-started: no such run (see `fruits runs`)"


def test_the_tag_stop_looks_for_is_the_one_the_state_machine_puts_on_its_clusters(tmp_path):
    definition = json.loads(render_test_definition(tmp_path))
    tags = definition["States"]["Create EMR cluster"]["Parameters"]["Tags"]
    assert {"Key": RUN_TAG, "Value.$": "$.run_id"} in tags


def test_stop_leaves_alone_a_cluster_of_the_same_run_id_that_another_platform_started(fruits, moto, slow_platform, staged):
    """Two platforms in one account (another name_prefix: another bucket, roles and state machine)
    may each have a run `trial`: `fruits stop trial` on one must not end the other's cluster."""
    emr = moto.client("emr")
    foreign = emr.run_job_flow(
        Name="fruits-run-shared", ReleaseLabel="emr-7.13.0", ServiceRole="staging-emr-service", JobFlowRole="staging-emr-nodes",
        LogUri="s3://staging-123456789012-eu-west-3/logs/emr/", Tags=[{"Key": RUN_TAG, "Value": "run-shared"}],
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    with EmrStepDriver({"Extract features": ["HANG"]}):
        ours = started_and_hanging(fruits, moto, slow_platform, staged, "run-shared")
        stopped = fruits("stop", "run-shared", platform=slow_platform)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.splitlines()[1] == f"Terminating {ours}: `fruits status run-shared` shows when it has ended."
        assert foreign in run_clusters(moto, "run-shared") and ours not in run_clusters(moto, "run-shared")
    emr.terminate_job_flows(JobFlowIds=[foreign])


def test_a_cluster_the_execution_never_recorded_is_shown_then_terminated(fruits, moto, slow_platform, staged):
    """RunJobFlow may start a cluster whose id never reaches the execution (its answer lost after
    EMR accepted the request): the run's teardown cannot end it, and it runs on until its idle
    timeout. `fruits status` of the ended run finds it by the run's tag and says how to end it;
    another platform's cluster with the same tag is not shown. The emulator cannot lose an answer:
    the cluster is started here by hand, beside an execution that failed before making one (its
    input is empty: the RunJobFlow request cannot be formed)."""
    emr, platform = moto.client("emr"), json.loads(slow_platform.read_text())
    arn = moto.client("stepfunctions").start_execution(stateMachineArn=platform["state_machine_arn"]["value"], name="run-lost",
                                                       input="{}")["executionArn"]
    assert execution_status(moto, slow_platform, "run-lost", "FAILED") == "FAILED"
    assert "ClusterId" not in json.dumps(moto.client("stepfunctions").get_execution_history(executionArn=arn)["events"], default=str)
    instances = {"InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}], "KeepJobFlowAliveWhenNoSteps": True}
    tags = [{"Key": RUN_TAG, "Value": "run-lost"}]
    lost = emr.run_job_flow(Name="fruits-run-lost", Instances=instances, Tags=tags,
                            ServiceRole=platform["emr_service_role_name"]["value"])["JobFlowId"]
    others = emr.run_job_flow(Name="fruits-run-lost", Instances=instances, Tags=tags, ServiceRole="another-platform-emr-service")["JobFlowId"]

    shown = fruits("status", "run-lost", platform=slow_platform)
    assert shown.returncode == 1 and "FAILED" in shown.stdout
    assert f"the run has ended but 1 more cluster(s) tagged with it are live, and cost: {lost}: `fruits stop run-lost` terminates them" \
        in shown.stdout, shown.stdout
    assert others not in shown.stdout

    assert fruits("stop", "run-lost", platform=slow_platform).returncode == 0
    assert "more cluster(s) tagged with it" not in fruits("status", "run-lost", platform=slow_platform).stdout
    emr.terminate_job_flows(JobFlowIds=[others])
