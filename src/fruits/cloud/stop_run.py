"""`fruits stop RUN`: ends a run and what it pays for. Step Functions does not terminate an EMR
cluster when its execution is stopped; the cluster may run on, and cost, indefinitely
(docs.aws.amazon.com/step-functions/latest/dg/connect-emr.html). So this stops the run's
execution if it runs, then terminates every live cluster tagged with the run id (the state
machine tags each cluster `fruits:run-id`) that runs with the platform's EMR service role: the one
the execution made, and any that an execution stopped elsewhere (the console) left behind, never
another platform's in the same account.

Usage: `stopped, clusters = stop_run(sfn, emr, platform, run_id)` -> the name of the execution
stopped (None if none ran) and the ids of the clusters whose termination was asked.
"""
from __future__ import annotations

from fruits.cloud.aws import HINTS, aws_errors
from fruits.cloud.clusters import SERVICE_ROLE_OUTPUT, run_clusters
from fruits.cloud.executions import ACTIVE, starts_of
from fruits.errors import FruitsError

STOPPED_ERROR = "Fruits.StoppedByUser"


def stop_run(sfn, emr, platform, run_id: str) -> tuple[str | None, list[str]]:
    """Stops the run's latest execution if it runs, then asks EMR to terminate the run's live clusters."""
    starts = starts_of(sfn, platform, run_id)
    if not starts:
        raise FruitsError(f"stop run {run_id}: {HINTS['ExecutionDoesNotExist']}")
    latest, stopped = starts[-1], None
    if latest["status"] in ACTIVE:
        with aws_errors(f"stop run {run_id}"):
            sfn.stop_execution(executionArn=latest["executionArn"], error=STOPPED_ERROR, cause="stopped with `fruits stop`")
        stopped = latest["name"]
    clusters = run_clusters(emr, run_id, platform.outputs.get(SERVICE_ROLE_OUTPUT))
    if clusters:
        with aws_errors(f"terminate {', '.join(clusters)}"):
            emr.terminate_job_flows(JobFlowIds=clusters)
    return stopped, clusters
