"""The demo operator policy (terraform/modules/iam/demo_operator.tf), beside the operator policy, is
exactly what the demo needs: every AWS call of `fruits stage`, `demo-start`, `demo-status` and
`demo-stop` is recorded as it is sent to the moto server, and the Session Manager command
demo-status prints is read as the call it makes; each is checked offline against the policies
Terraform renders (compliance/operator_calls.py). Not reproduced by the emulator: it enforces none
of these policies, runs no Session Manager, and EMR's tags on the instances are assumed from the
cluster's (RunJobFlow's tags propagate to its EC2 instances: API_RunJobFlow.html, Tags)."""
from __future__ import annotations

import copy
import json
import re
import sys

import pytest

from fruits.rehearsal.platform import ACCOUNT as MOTO_ACCOUNT
from tests.cloud.conftest import BUCKET, run_cli
from tests.conftest import PROJECT_ROOT
from tests.support.aws_calls import read_calls

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from iam_render import ACCOUNT, render  # noqa: E402
from operator_calls import DEMO_OPERATOR_POLICY, OPERATOR_POLICY, denied_calls  # noqa: E402

BOTH = (OPERATOR_POLICY, DEMO_OPERATOR_POLICY)
DEMO_OPERATIONS = {("emr", "RunJobFlow"), ("emr", "ListInstanceGroups"), ("emr", "ListInstances"), ("ssm", "StartSession")}


@pytest.fixture(scope="module")
def rendered():
    return render()


@pytest.fixture(scope="module")
def recorded(moto, platform_file, staged_weights, tmp_path_factory, rendered):
    """The calls of the demo's path, in the rendered platform's account and key."""
    log = tmp_path_factory.mktemp("calls") / "calls.jsonl"

    def fruits(*arguments):
        return run_cli(moto, platform_file, tmp_path_factory, *arguments, calls_log=log)

    assert (staged := fruits("stage", "--weights", str(staged_weights), "--quiet")).returncode == 0, staged.stderr
    s3 = moto.client("s3")  # a first demo-start puts the notebook (the demo tests, sharing this server, may have put it)
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="jupyter/").get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    assert (started := fruits("demo-start", "--weights", str(staged_weights))).returncode == 0, started.stderr
    assert (status := fruits("demo-status")).returncode == 0, status.stderr
    session = re.search(r"aws ssm start-session --region \S+ --target (\S+) --document-name (\S+)", status.stdout)
    assert session, status.stdout
    assert (stopped := fruits("demo-stop")).returncode == 0, stopped.stderr

    moto_key = json.loads(platform_file.read_text())["kms_key_arn"]["value"]
    key = next(arn for arn, r in rendered["resources"].items() if r["type"] == "aws_kms_key")
    log.write_text(log.read_text().replace(moto_key, key).replace(MOTO_ACCOUNT, ACCOUNT))
    calls = read_calls(log)
    emr = moto.client("emr")
    cluster_tags = {}
    for call in calls:
        if call["operation"] == "TerminateJobFlows":
            call["resource_tags"] = {cluster: {tag["Key"]: tag["Value"] for tag in emr.describe_cluster(ClusterId=cluster)["Cluster"]["Tags"]}
                                     for cluster in call["params"]["JobFlowIds"]}
            cluster_tags = next(iter(call["resource_tags"].values()))
    target, document = session.groups()
    calls.append({"service": "ssm", "operation": "StartSession", "params": {"Target": target, "DocumentName": document},
                  "resource_tags": {target: cluster_tags}})
    return calls


def demo_policy_without(rendered, index: int) -> dict:
    changed = copy.deepcopy(rendered)
    del changed["managed_policies"][DEMO_OPERATOR_POLICY]["document"]["Statement"][index]
    return changed


def test_the_demo_path_makes_the_calls_the_demo_policy_is_for(recorded):
    assert DEMO_OPERATIONS <= {(call["service"], call["operation"]) for call in recorded}
    assert any(call["operation"] == "PutObject" and "/jupyter/" in f"/{call['params']['Key']}" for call in recorded)


def test_the_two_policies_allow_every_call_of_the_demo_path(recorded, rendered):
    refused = denied_calls(recorded, rendered, policies=BOTH)
    assert refused == [], "\n".join(f"{c['service']} {c['operation']}: {a} on {r}: {why}" for c, a, r, why in refused)


def test_the_operator_policy_alone_refuses_the_demo(recorded, rendered):
    refused = {action for _, action, _, _ in denied_calls(recorded, rendered)}
    assert {"elasticmapreduce:RunJobFlow", "iam:PassRole", "ssm:StartSession", "elasticmapreduce:ListInstances"} <= refused


def test_each_statement_of_the_demo_policy_is_needed_by_some_call(recorded, rendered):
    statements = rendered["managed_policies"][DEMO_OPERATOR_POLICY]["document"]["Statement"]
    for index, statement in enumerate(statements):
        refused = denied_calls(recorded, demo_policy_without(rendered, index), policies=BOTH)
        assert refused, f"statement {statement['Sid']} grants nothing the demo uses"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert {action for _, action, _, _ in refused} <= set(actions), statement["Sid"]


def test_a_cluster_without_the_demo_tag_can_be_neither_started_nor_stopped(recorded, rendered):
    start = copy.deepcopy(next(call for call in recorded if call["operation"] == "RunJobFlow"))
    start["params"]["Tags"] = [tag for tag in start["params"]["Tags"] if tag["Key"] != "fruits:demo"]
    stop = copy.deepcopy(next(call for call in recorded if call["operation"] == "TerminateJobFlows"))
    stop["resource_tags"] = {cluster: {"for-use-with-amazon-emr-managed-policies": "true"} for cluster in stop["params"]["JobFlowIds"]}
    refused = [(action, why) for _, action, _, why in denied_calls([start, stop], rendered, policies=BOTH)]
    assert [action for action, _ in refused] == ["elasticmapreduce:RunJobFlow", "elasticmapreduce:TerminateJobFlows"]
    assert all(why.startswith("implicit deny") for _, why in refused)


def test_a_session_on_another_instance_or_with_a_shell_document_is_refused(recorded, rendered):
    session = next(call for call in recorded if call["operation"] == "StartSession")
    other_instance = {**copy.deepcopy(session), "resource_tags": {}}
    shell = copy.deepcopy(session)
    shell["params"]["DocumentName"] = "SSM-SessionManagerRunShell"
    assert [action for _, action, _, _ in denied_calls([other_instance], rendered, policies=BOTH)] == ["ssm:StartSession"]
    assert [resource.rsplit("/", 1)[1] for _, _, resource, _ in denied_calls([shell], rendered, policies=BOTH)] == ["SSM-SessionManagerRunShell"]
