"""Runs of the pipeline as Step Functions executions: start one, list them, read one's state.

Usage:
    arn = start_run(sfn, platform, execution_input)
    view = read_run(sfn, emr, platform, run_id)   # -> RunView with states, cluster, cost so far
The cost so far prices the cluster the platform's state machine starts (its `emr_instances` output).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fruits.cloud.aws import aws_errors
from fruits.cloud.prices import platform_hourly_cost


def execution_arn(platform, run_id: str) -> str:
    return platform.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"


def console_link(platform, arn: str) -> str:
    return f"https://{platform.region}.console.aws.amazon.com/states/home?region={platform.region}#/v2/executions/details/{arn}"


def start_run(sfn, platform, execution_input: dict) -> str:
    with aws_errors(f"start run {execution_input['run_id']}"):
        return sfn.start_execution(stateMachineArn=platform.state_machine_arn, name=execution_input["run_id"],
                                   input=json.dumps(execution_input))["executionArn"]


def list_runs(sfn, platform, limit: int = 20) -> list[dict]:
    with aws_errors("list runs"):
        return sfn.list_executions(stateMachineArn=platform.state_machine_arn, maxResults=limit)["executions"]


@dataclass
class StateView:
    name: str
    status: str = "running"
    attempts: int = 0
    started: datetime | None = None
    ended: datetime | None = None


@dataclass
class RunView:
    run_id: str
    status: str
    started: datetime
    ended: datetime | None
    error: str = ""
    cause: str = ""
    states: list[StateView] = field(default_factory=list)
    cluster_id: str | None = None
    cluster_state: str = "not created"
    cluster_hours: float = 0.0
    hourly_usd: float | None = None   # None: the cluster cannot be priced, for the reason in price_note
    price_note: str = ""

    @property
    def cost_so_far(self) -> float | None:
        return None if self.hourly_usd is None else self.cluster_hours * self.hourly_usd


def history(sfn, arn: str) -> list[dict]:
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events += page["events"]
    return events


def states_from(events: list[dict]) -> tuple[list[StateView], str | None]:
    """Each state entered, in order, with its status and attempts; and the cluster id once known."""
    states: dict[str, StateView] = {}
    current, cluster_id = None, None
    for event in events:
        kind = event["type"]
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            current = states.setdefault(name, StateView(name, started=event["timestamp"]))
            current.status, current.ended = "running", None
        elif "stateExitedEventDetails" in event and current is not None:
            current = states.get(event["stateExitedEventDetails"]["name"], current)
            current.status = "failed" if current.status == "failed" else "done"
            current.ended = event["timestamp"]
        elif kind == "TaskScheduled" and current is not None:
            current.attempts += 1
            if current.attempts > 1:
                current.status = "retrying"
        elif kind in ("TaskFailed", "TaskTimedOut") and current is not None:
            current.status = "failed"
        elif kind == "TaskSucceeded" and current is not None:
            current.status = "running"
            output = event.get("taskSucceededEventDetails", {}).get("output", "")
            if '"ClusterId"' in output and cluster_id is None:
                cluster_id = json.loads(output).get("ClusterId")
    return list(states.values()), cluster_id


def read_run(sfn, emr, platform, run_id: str) -> RunView:
    arn = execution_arn(platform, run_id)
    with aws_errors(f"read run {run_id}"):
        execution = sfn.describe_execution(executionArn=arn)
        states, cluster_id = states_from(history(sfn, arn))
    view = RunView(run_id=run_id, status=execution["status"], started=execution["startDate"],
                   ended=execution.get("stopDate"), error=execution.get("error", ""),
                   cause=readable_cause(execution.get("cause", "")), states=states, cluster_id=cluster_id)
    view.hourly_usd, view.price_note = platform_hourly_cost(platform.outputs)
    if view.status != "RUNNING":  # a Fail or Succeed state has no exit event
        for state in states:
            if state.status == "running":
                state.status, state.ended = ("done" if view.status == "SUCCEEDED" else "failed"), view.ended
    if cluster_id:
        read_cluster(emr, view)
    return view


def readable_cause(cause: str) -> str:
    """The pipeline's cause (`ERROR: {EMR's Step or Cluster JSON}`) as one line: the step and the
    job's own message with its log, or the cluster's state and reason. Other text is kept as is."""
    details = cause.partition(": ")[2]
    try:
        data = json.loads(details)
    except ValueError:
        return cause
    if not isinstance(data, dict):
        return cause
    if "Step" in data:
        step, status = data["Step"], data["Step"].get("Status", {})
        failure = status.get("FailureDetails") or {}
        text = f"step '{step.get('Name')}' {status.get('State', '?')}: {failure.get('Message') or failure.get('Reason') or 'no details'}"
        return text + (f" (log: {failure['LogFile']})" if failure.get("LogFile") else "")
    if "Cluster" in data:
        cluster, status = data["Cluster"], data["Cluster"].get("Status", {})
        reason = status.get("StateChangeReason", {})
        return f"cluster {cluster.get('Id')} {status.get('State', '?')}: {reason.get('Message') or reason.get('Code') or 'no details'}"
    return cause


def read_cluster(emr, view: RunView) -> None:
    from botocore.exceptions import ClientError

    try:
        status = emr.describe_cluster(ClusterId=view.cluster_id)["Cluster"]["Status"]
    except ClientError:
        view.cluster_state = "unknown (not visible)"
        return
    view.cluster_state = status["State"]
    timeline = status.get("Timeline", {})
    created = timeline.get("CreationDateTime")
    ended = timeline.get("EndDateTime") or datetime.now(timezone.utc)
    if created:
        view.cluster_hours = max((ended - created).total_seconds(), 0) / 3600
