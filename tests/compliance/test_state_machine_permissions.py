"""The Step Functions role grants every permission the rendered definition's Tasks need, by AWS's
pages (compliance/state_machine_calls.py), and no EventBridge rule the definition does not use.
moto's interpreter enforces no IAM: without this, a missing permission would first show on AWS."""
from __future__ import annotations

import copy
import json
import sys

import pytest

from tests.conftest import PROJECT_ROOT
from tests.support.render_definition import render_test_definition

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from state_machine_calls import denied_tasks, rules_granted, task_permissions  # noqa: E402


@pytest.fixture(scope="module")
def definition(tmp_path_factory) -> dict:
    return json.loads(render_test_definition(tmp_path_factory.mktemp("definition")))


def test_every_task_of_the_definition_is_allowed_to_the_step_functions_role(definition, platform):
    assert {action for _, action, _ in task_permissions(definition)} >= {
        "elasticmapreduce:RunJobFlow", "elasticmapreduce:DescribeCluster", "elasticmapreduce:AddJobFlowSteps",
        "elasticmapreduce:TerminateJobFlows", "events:PutRule"}
    assert denied_tasks(definition, platform) == []


def test_the_role_manages_exactly_the_eventbridge_rules_the_definition_uses(definition, platform):
    used = {resource for _, action, resource in task_permissions(definition) if action.startswith("events:")}
    granted = {rule.replace(rule.split(":")[3], "eu-west-3") for rule in rules_granted(platform)}
    assert used == {rule for rule in granted if ":eu-west-3:" in rule}
    assert {rule.rsplit("/", 1)[1] for rule in used} == {"StepFunctionsGetEventForEMRAddJobFlowStepsRule",
                                                         "StepFunctionsGetEventForEMRTerminateJobFlowsRule"}


def test_creating_the_cluster_with_createcluster_sync_would_be_refused_its_rule(definition, platform):
    """The definition before this one: the role no longer grants the .sync rule it needed."""
    old = copy.deepcopy(definition)
    old["States"]["Create EMR cluster"]["Resource"] = "arn:aws:states:::elasticmapreduce:createCluster.sync"
    refused = {(state, action, resource.rsplit("/", 1)[-1]) for state, action, resource, _ in denied_tasks(old, platform)}
    assert refused == {("Create EMR cluster", action, "StepFunctionsGetEventForEMRRunJobFlowRule")
                       for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")}


def test_a_permission_missing_from_the_role_is_found(definition, platform):
    trimmed = copy.deepcopy(platform)
    role = next(r for name, r in trimmed["roles"].items() if name.endswith("-step-functions"))
    for policy in role["policies"]:
        for statement in (s for s in policy["Statement"] if "Action" in s):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "elasticmapreduce:DescribeCluster"] or ["elasticmapreduce:ListSteps"]
    refused = {(state, action) for state, action, _, _ in denied_tasks(definition, trimmed)}
    assert refused == {("Check the cluster", "elasticmapreduce:DescribeCluster"), ("Terminate cluster", "elasticmapreduce:DescribeCluster"),
                       ("Terminate cluster after failure", "elasticmapreduce:DescribeCluster")}


def test_an_integration_the_mapping_does_not_know_fails(definition):
    changed = copy.deepcopy(definition)
    changed["States"]["Check the cluster"]["Resource"] = "arn:aws:states:::aws-sdk:emr:listSteps"
    with pytest.raises(KeyError, match="Check the cluster: no permissions known for arn:aws:states:::aws-sdk:emr:listSteps"):
        task_permissions(changed)


def test_the_idle_timeout_needs_its_own_permission_and_only_when_the_request_sets_it(definition, platform):
    """emr-auto-termination-policy.html: attaching an auto-termination policy needs
    PutAutoTerminationPolicy; the role without it is refused the cluster's creation."""
    needs = {(state, action) for state, action, _ in task_permissions(definition)}
    assert ("Create EMR cluster", "elasticmapreduce:PutAutoTerminationPolicy") in needs
    without = copy.deepcopy(definition)
    del without["States"]["Create EMR cluster"]["Parameters"]["AutoTerminationPolicy"]
    assert "elasticmapreduce:PutAutoTerminationPolicy" not in {action for _, action, _ in task_permissions(without)}
    trimmed = copy.deepcopy(platform)
    role = next(r for name, r in trimmed["roles"].items() if name.endswith("-step-functions"))
    for policy in role["policies"]:
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "AttachTheIdleTimeout"]
    assert {(state, action) for state, action, _, _ in denied_tasks(definition, trimmed)} == {
        ("Create EMR cluster", "elasticmapreduce:PutAutoTerminationPolicy")}
