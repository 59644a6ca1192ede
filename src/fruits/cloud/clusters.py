"""EMR clusters found by a tag: what `fruits stop` (a run's clusters) and the demo commands (the
demo cluster) both look for.

Usage: `clusters = tagged_clusters(emr, RUN_TAG, run_id, service_role=ROLE)` -> described
clusters in LIVE_STATES (or `states`; `created_after` narrows the listing) that run with the
platform's service role, in listing order.
"""
from __future__ import annotations

from datetime import datetime

from fruits.cloud.aws import aws_errors

# docs.aws.amazon.com/emr/latest/APIReference/API_ListClusters.html: the states of a cluster that
# runs or is about to, and of one that has ended or is ending.
LIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
ENDED_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
SERVICE_ROLE_OUTPUT = "emr_service_role_name"  # the platform output naming the role its clusters run with
RUN_TAG = "fruits:run-id"  # stepfunctions/pipeline.asl.json tags each cluster with it (a test keeps them equal)


def tagged_clusters(emr, key: str, value: str, states=LIVE_STATES, created_after: datetime | None = None,
                    service_role: str | None = None) -> list[dict]:
    """DescribeCluster of each cluster in `states` tagged `key` = `value` (ListClusters has no tag
    filter); with `service_role` (the platform's emr_service_role_name output), only those that run
    with it: another platform in the account (another name_prefix) tags its clusters alike."""
    found = []
    extra = {"CreatedAfter": created_after} if created_after else {}
    with aws_errors("list the EMR clusters"):
        for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(states), **extra):
            for summary in page["Clusters"]:
                cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
                if {"Key": key, "Value": value} in cluster.get("Tags", []) and runs_with(cluster, service_role):
                    found.append(cluster)
    return found


def runs_with(cluster: dict, service_role: str | None) -> bool:
    """The described cluster runs with `service_role` (a name; EMR may answer a name or an ARN); any, when None."""
    return service_role is None or cluster.get("ServiceRole", "").rpartition("/")[2] == service_role


def run_clusters(emr, run_id: str, service_role: str | None = None) -> list[str]:
    """The ids of the live clusters tagged with `run_id`, oldest first; with `service_role`, only
    those that run with it: another platform in the account (another name_prefix) may have a run
    of the same id, and its cluster is not this platform's to end."""
    found = tagged_clusters(emr, RUN_TAG, run_id, service_role=service_role)
    return [cluster["Id"] for cluster in sorted(found, key=lambda c: c["Status"]["Timeline"]["CreationDateTime"])]
