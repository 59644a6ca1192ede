"""Runs of the pipeline as Step Functions executions: start one, list them, read one's state.

Usage:
    arn, start = start_run(sfn, platform, execution_input)   # start: 1, or 2, 3... for a run id started again
    view = read_run(sfn, emr, platform, run_id)   # -> RunView of its latest start: states, cluster, cost so far
    runs = list_runs(sfn, platform, limit=20)     # the newest executions, as many pages as the limit needs
A run id's first execution is named after it; an execution name cannot be used again for 90 days,
even once its execution has ended, so a run started again (`fruits start --replace`, or after a
failure) is the execution RUN__2, then RUN__3... (fruits.layout). A run id is never started while
one of its executions is running: two executions would write the same results folder.
The cost so far prices the cluster the platform's state machine starts (its `emr_instances` output).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fruits.cloud.aws import HINTS, aws_errors
from fruits.cloud.clusters import SERVICE_ROLE_OUTPUT, run_clusters
from fruits.cloud.prices import platform_hourly_cost
from fruits.errors import FruitsError
from fruits.layout import START_SEPARATOR

# docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html: maxResults is
# at most 1000 a page; more come through nextToken.
LIST_PAGE_MAX = 1000
# API_DescribeExecution.html's statuses of an execution that runs, or will again (a redrive).
ACTIVE = ("RUNNING", "PENDING_REDRIVE")


def execution_name(run_id: str, start: int = 1) -> str:
    """The execution name of a run id's `start`-th start: RUN, then RUN__2, RUN__3..."""
    return run_id if start == 1 else f"{run_id}{START_SEPARATOR}{start}"


def run_of(name: str) -> tuple[str, int]:
    """(run id, start) of an execution name; a name not made by execution_name is its own run id."""
    run_id, separator, start = name.rpartition(START_SEPARATOR)
    if separator and run_id and start.isdigit() and int(start) >= 2 and str(int(start)) == start:
        return run_id, int(start)
    return name, 1


def execution_arn(platform, run_id: str, start: int = 1) -> str:
    return platform.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_name(run_id, start)}"


def console_link(platform, arn: str) -> str:
    return f"https://{platform.region}.console.aws.amazon.com/states/home?region={platform.region}#/v2/executions/details/{arn}"


def starts_of(sfn, platform, run_id: str) -> list[dict]:
    """DescribeExecution of each start of `run_id`, oldest first ([] if it never started). Step
    Functions forgets a closed execution after 90 days (API_DescribeExecution.html), the oldest
    first: when RUN itself is gone, RUN__2, RUN__3... are looked for in the state machine's list."""
    from botocore.exceptions import ClientError

    described = []
    with aws_errors(f"read run {run_id}"):
        while True:
            try:
                described.append(sfn.describe_execution(executionArn=execution_arn(platform, run_id, len(described) + 1)))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                    raise
                break
        if described:
            return described
        later = sorted((run_of(execution["name"])[1], execution["executionArn"]) for execution in all_executions(sfn, platform)
                       if run_of(execution["name"])[0] == run_id)
        return [sfn.describe_execution(executionArn=arn) for _, arn in later]


def start_number(execution: dict) -> int:
    """Which start of its run id an execution is (1 for RUN, 2 for RUN__2...)."""
    return run_of(execution["name"])[1]


def all_executions(sfn, platform) -> list[dict]:
    executions = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=platform.state_machine_arn):
        executions += page["executions"]
    return executions


def start_run(sfn, platform, execution_input: dict) -> tuple[str, int]:
    """Starts the run's next execution: (its ARN, which start of the run id it is). Refuses a run
    id with an execution still running."""
    run_id = execution_input["run_id"]
    earlier = starts_of(sfn, platform, run_id)
    running = [execution["name"] for execution in earlier if execution["status"] in ACTIVE]
    if running:
        raise FruitsError(f"run {run_id} is running (execution {running[-1]}): follow it with `fruits watch {run_id}`, "
                          "or stop that execution in the Step Functions console, before starting the run again")
    start = start_number(earlier[-1]) + 1 if earlier else 1
    with aws_errors(f"start run {run_id}"):
        arn = sfn.start_execution(stateMachineArn=platform.state_machine_arn, name=execution_name(run_id, start),
                                  input=json.dumps(execution_input))["executionArn"]
    return arn, start


def list_runs(sfn, platform, limit: int = 20) -> list[dict]:
    """The `limit` newest executions."""
    executions, token = [], None
    with aws_errors("list runs"):
        while len(executions) < limit:
            page = sfn.list_executions(stateMachineArn=platform.state_machine_arn, maxResults=min(limit - len(executions), LIST_PAGE_MAX),
                                       **({"nextToken": token} if token else {}))
            executions += page["executions"]
            token = page.get("nextToken")
            if not token:
                break
    return executions[:limit]


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
    start: int  # 1, or 2, 3... for a run id started again (its execution RUN__2, ...)
    started: datetime
    ended: datetime | None
    error: str = ""
    cause: str = ""
    states: list[StateView] = field(default_factory=list)
    cluster_id: str | None = None
    cluster_state: str = "not created"
    cluster_reason: str = ""  # why EMR ended the cluster, once it has ended
    cluster_hours: float = 0.0
    hourly_usd: float | None = None   # None: the cluster cannot be priced, for the reason in price_note
    price_note: str = ""
    # Live clusters tagged with the run once its execution has ended, other than `cluster_id`: one
    # whose id the execution never recorded (RunJobFlow answered after its task had given up) runs
    # on, and costs, until someone terminates it.
    left_running: list[str] = field(default_factory=list)

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
            # A state entered again (the loop that waits for the cluster) counts this entry's tries.
            current.status, current.ended, current.attempts = "running", None, 0
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
        if kind in ("TaskSubmitted", "TaskSucceeded") and cluster_id is None:
            # The cluster is known once EMR accepted it (RunJobFlow's JobFlowId; TaskSubmitted for
            # the runs of the .sync definition before it), before it has started.
            details = event.get("taskSubmittedEventDetails") or event.get("taskSucceededEventDetails") or {}
            output = details.get("output", "")
            if '"ClusterId"' in output or '"JobFlowId"' in output:
                found = json.loads(output)
                cluster_id = found.get("ClusterId") or found.get("JobFlowId")
    return list(states.values()), cluster_id


def read_run(sfn, emr, platform, run_id: str) -> RunView:
    """The run's latest start."""
    starts = starts_of(sfn, platform, run_id)
    if not starts:
        raise FruitsError(f"read run {run_id}: {HINTS['ExecutionDoesNotExist']}")
    execution = starts[-1]
    with aws_errors(f"read run {run_id}"):
        states, cluster_id = states_from(history(sfn, execution["executionArn"]))
    view = RunView(run_id=run_id, status=execution["status"], start=start_number(execution), started=execution["startDate"],
                   ended=execution.get("stopDate"), error=execution.get("error", ""),
                   cause=readable_cause(execution.get("cause", "")), states=states, cluster_id=cluster_id)
    view.hourly_usd, view.price_note = platform_hourly_cost(platform.outputs)
    if view.status != "RUNNING":  # a Fail or Succeed state has no exit event
        for state in states:
            if state.status == "running":
                state.status, state.ended = ("done" if view.status == "SUCCEEDED" else "failed"), view.ended
    if cluster_id:
        read_cluster(emr, view)
    if view.status != "RUNNING":
        service_role = platform.outputs.get(SERVICE_ROLE_OUTPUT)
        view.left_running = [cluster for cluster in run_clusters(emr, run_id, service_role) if cluster != cluster_id]
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
    if view.cluster_state in ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"):
        reason = status.get("StateChangeReason") or {}
        if reason.get("Code") not in ("USER_REQUEST", "ALL_STEPS_COMPLETED"):  # API_ClusterStateChangeReason.html
            view.cluster_reason = ": ".join(part for part in (reason.get("Code", ""), reason.get("Message", "")) if part)
    timeline = status.get("Timeline", {})
    created = timeline.get("CreationDateTime")
    ended = timeline.get("EndDateTime") or datetime.now(timezone.utc)
    if created:
        view.cluster_hours = max((ended - created).total_seconds(), 0) / 3600
