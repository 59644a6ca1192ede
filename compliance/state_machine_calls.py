"""The IAM permissions each Task of the state machine's definition needs, and whether the Step
Functions role (terraform/modules/iam/step_functions.tf) grants them.

    needs = task_permissions(definition)             # [(state, action, resource)]
    refused = denied_tasks(definition, platform)     # [(state, action, resource, why)]: empty when all pass

A Task whose integration the mapping does not know raises, so a new integration cannot go
unchecked. What each integration needs comes from AWS's pages:
- the optimized EMR integrations: docs.aws.amazon.com/step-functions/latest/dg/emr-iam.html
  (its actions on the cluster; for `.sync`, the EventBridge rule Step Functions manages);
- the AWS SDK integrations (arn:aws:states:::aws-sdk:emr:API): the API's own action,
  docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html, on the resource
  docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticmapreduce.html gives
  it (RunJobFlow has no resource type: "*"; DescribeCluster acts on cluster/ID).
A cluster request that attaches an auto-termination policy (RunJobFlow's AutoTerminationPolicy) also
needs elasticmapreduce:PutAutoTerminationPolicy on the cluster: "Before you can apply and manage
auto-termination policies ... you need the permissions", attaching one at creation included
(docs.aws.amazon.com/emr/latest/ManagementGuide/emr-auto-termination-policy.html).
iam:PassRole of the roles RunJobFlow names is held by the access matrix (compliance/access_matrix.yaml).
"""
from __future__ import annotations

import re

from access_matrix import decide
from iam_render import ACCOUNT, REGION

STEP_FUNCTIONS_ROLE = "step-functions"
CLUSTER = f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-2AXXXXXXGAPLF"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventForEMR{{}}Rule"
RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")
# emr-iam.html, per optimized API: (its actions, the rule of its .sync pattern). Each action is
# asked on the resource it acts on: RunJobFlow on "*", the others on the cluster (the page's
# createCluster template grants all three on "*").
OPTIMIZED_EMR = {
    "createCluster": (("elasticmapreduce:RunJobFlow", "elasticmapreduce:DescribeCluster", "elasticmapreduce:TerminateJobFlows"), "RunJobFlow"),
    "addStep": (("elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:DescribeStep", "elasticmapreduce:CancelSteps"), "AddJobFlowSteps"),
    "terminateCluster": (("elasticmapreduce:TerminateJobFlows", "elasticmapreduce:DescribeCluster"), "TerminateJobFlows"),
}
# list_amazonelasticmapreduce.html: the resource each SDK API the definition may call acts on.
SDK_EMR = {"runJobFlow": "*", "describeCluster": CLUSTER, "terminateJobFlows": CLUSTER}
AUTO_TERMINATION = "elasticmapreduce:PutAutoTerminationPolicy"
RESOURCE = re.compile(r"^arn:aws:states:::(?:(?P<optimized>elasticmapreduce)|aws-sdk:emr):(?P<api>\w+)(?P<sync>\.sync)?$")


def task_permissions(definition: dict) -> list[tuple[str, str, str]]:
    """(state, action, resource) for every permission a Task of `definition` needs."""
    needs = []
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        match = RESOURCE.match(state["Resource"])
        api = match and match["api"]
        if match and match["optimized"] and api in OPTIMIZED_EMR:
            actions, rule = OPTIMIZED_EMR[api]
            needs += [(name, action, "*" if action == "elasticmapreduce:RunJobFlow" else CLUSTER) for action in actions]
            if match["sync"]:
                needs += [(name, action, RULE.format(rule)) for action in RULE_ACTIONS]
        elif match and not match["optimized"] and not match["sync"] and api in SDK_EMR:
            needs.append((name, f"elasticmapreduce:{api[0].upper()}{api[1:]}", SDK_EMR[api]))
        else:
            raise KeyError(f"{name}: no permissions known for {state['Resource']}: add them to compliance/state_machine_calls.py with AWS's page")
        if api in ("runJobFlow", "createCluster") and "AutoTerminationPolicy" in state.get("Parameters", {}):
            needs.append((name, AUTO_TERMINATION, CLUSTER))
    return needs


def role_documents(platform: dict, role: str = STEP_FUNCTIONS_ROLE) -> tuple[dict, list[tuple[str, dict]]]:
    """(the caller, its identity policies) of a role of the rendered platform, by its short name."""
    found = next(r for name, r in platform["roles"].items() if name.endswith("-" + role))
    return {"arn": found["arn"], "account": ACCOUNT}, [("role policy", policy) for policy in found["policies"]]


def denied_tasks(definition: dict, platform: dict) -> list[tuple[str, str, str, str]]:
    """Each permission a Task needs that the Step Functions role is refused."""
    caller, identity = role_documents(platform)
    context = {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true", "aws:PrincipalArn": caller["arn"], "aws:PrincipalAccount": ACCOUNT}
    refused = []
    for state, action, resource in task_permissions(definition):
        decision, why = decide(caller, action, resource, context, identity, None)
        if decision != "Allow":
            refused.append((state, action, resource, why))
    return refused


def rules_granted(platform: dict) -> set[str]:
    """The EventBridge rules the Step Functions role may manage (its events: statements' resources)."""
    _, identity = role_documents(platform)
    return {resource for _, policy in identity for statement in policy["Statement"] if statement["Effect"] == "Allow"
            for resource in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
            if resource.startswith("arn:aws:events:")}
