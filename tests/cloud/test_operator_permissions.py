"""The operator policy (terraform/modules/iam/operator.tf) is exactly what the CLI needs: every AWS
call of the user's path (upload, upload again, stage, start, watch, status, runs, results, a
refused start, a run stopped while its cluster starts) is recorded as it is sent to the moto server, then checked offline against the
policies Terraform renders (compliance/operator_calls.py: the operator policy, the bucket policy,
the key policy). Each statement of the policy is needed by some call, and a call the mapping does
not know fails. Not reproduced by the emulator: it enforces none of these policies, and its
clusters start at once (the step driver plays EMR)."""
from __future__ import annotations

import copy
import http.server
import json
import sys
import threading

import pytest

from fruits.rehearsal.emr_step_driver import EmrStepDriver
from fruits.rehearsal.platform import ACCOUNT as MOTO_ACCOUNT
from tests.cloud.conftest import BUCKET, run_cli
from tests.cloud.test_upload_and_stage import photos
from tests.conftest import PROJECT_ROOT
from tests.support.aws_calls import read_calls

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from iam_render import ACCOUNT, render  # noqa: E402
from operator_calls import OPERATOR_POLICY, denied_calls, requirements  # noqa: E402

RUN, STOPPED = "operator-path", "operator-stopped"
PATH_OPERATIONS = {("s3", "ListObjectsV2"), ("s3", "HeadObject"), ("s3", "GetObject"), ("s3", "PutObject"), ("s3", "DeleteObjects"), ("s3", "DeleteObject"),
                   ("stepfunctions", "StartExecution"), ("stepfunctions", "DescribeExecution"),
                   ("stepfunctions", "GetExecutionHistory"), ("stepfunctions", "ListExecutions"), ("stepfunctions", "StopExecution"),
                   ("emr", "DescribeCluster"), ("emr", "ListClusters"), ("emr", "TerminateJobFlows"), ("iam", "GetRole")}


@pytest.fixture(scope="module")
def rendered():
    return render()


@pytest.fixture(scope="module")
def recorded(moto, platform_file, staged_weights, tmp_path_factory, rendered):
    """The calls of the user's path, in the rendered platform's account, bucket and key."""
    folder, log = tmp_path_factory.mktemp("operator"), tmp_path_factory.mktemp("calls") / "calls.jsonl"

    def fruits(*arguments):
        return run_cli(moto, platform_file, tmp_path_factory, *arguments, calls_log=log)

    for _ in range(2):  # the second upload finds every photo there and skips it (HeadObject)
        assert (uploaded := fruits("upload", str(photos(folder)), "--dataset", "operator", "--quiet")).returncode == 0, uploaded.stderr
        folder = tmp_path_factory.mktemp("operator")
    fewer = photos(folder)
    next(fewer.glob("*/*")).unlink()  # the folder lacks one photo the bucket has: deleted there (DeleteObjects)
    label = sorted(path.name for path in fewer.iterdir())[0]  # and one whose key XML cannot carry (DeleteObject)
    moto.client("s3").put_object(Bucket=BUCKET, Key=f"images/operator/{label}/form\x0cfeed.jpg", Body=b"a photo")
    assert (uploaded := fruits("upload", str(fewer), "--dataset", "operator", "--quiet", "--delete-missing")).returncode == 0, uploaded.stderr
    assert (staged := fruits("stage", "--weights", str(staged_weights), "--quiet")).returncode == 0, staged.stderr
    with EmrStepDriver():
        assert (started := fruits("start", "--weights", str(staged_weights), "--run-id", RUN, "--dataset", "operator")).returncode == 0, started.stderr
        assert (watched := fruits("watch", RUN, "--interval", "1")).returncode == 0, watched.stderr
    s3 = moto.client("s3")
    for name, body in (("manifest.json", json.dumps({"featurized": 6, "rejected": 0, "k": 1})), ("pca/matrix.csv", "path,label,pc_1\n")):
        s3.put_object(Bucket=BUCKET, Key=f"results/{RUN}/{name}", Body=body.encode())
    for arguments in (("status", RUN), ("runs",), ("results", RUN, "--to", str(tmp_path_factory.mktemp("fetched")))):
        assert (result := fruits(*arguments)).returncode == 0, result.stderr
    assert fruits("start", "--weights", str(staged_weights), "--run-id", RUN, "--dataset", "operator").returncode == 1  # complete
    with EmrStepDriver(cluster_outcome="STARTING"):  # a run stopped while its cluster starts
        assert fruits("start", "--weights", str(staged_weights), "--run-id", STOPPED, "--dataset", "operator").returncode == 0
        assert (stopped := fruits("stop", STOPPED)).returncode == 0 and "Terminating j-" in stopped.stdout, stopped.stdout + stopped.stderr

    key = next(arn for arn, r in rendered["resources"].items() if r["type"] == "aws_kms_key")
    moto_key = json.loads(platform_file.read_text())["kms_key_arn"]["value"]
    text = log.read_text().replace(moto_key, key).replace(MOTO_ACCOUNT, ACCOUNT)
    log.write_text(text)
    calls = read_calls(log)
    emr = moto.client("emr")
    for call in calls:  # TerminateJobFlows is allowed by the clusters' tags: the emulator's, as EMR would see them
        if call["operation"] == "TerminateJobFlows":
            call["resource_tags"] = {cluster: {tag["Key"]: tag["Value"] for tag in emr.describe_cluster(ClusterId=cluster)["Cluster"]["Tags"]}
                                     for cluster in call["params"]["JobFlowIds"]}
    assert f"arn:aws:s3:::{BUCKET.replace(MOTO_ACCOUNT, ACCOUNT)}" in rendered["resources"]  # the same bucket, renamed
    return calls


def test_the_user_path_makes_every_kind_of_call_the_policy_is_for(recorded):
    assert {(call["service"], call["operation"]) for call in recorded} == PATH_OPERATIONS
    assert any(call["operation"] == "PutObject" and call["params"].get("ServerSideEncryption") == "aws:kms" for call in recorded)


def test_the_operator_policy_allows_every_call_of_the_path(recorded, rendered):
    refused = denied_calls(recorded, rendered)
    assert refused == [], "\n".join(f"{c['service']} {c['operation']} {c['params']}: {a} on {r}: {why}" for c, a, r, why in refused)


def test_each_statement_of_the_operator_policy_is_needed_by_some_call(recorded, rendered):
    document = rendered["managed_policies"][OPERATOR_POLICY]["document"]
    for index, statement in enumerate(document["Statement"]):
        without = copy.deepcopy(document)
        del without["Statement"][index]
        refused = denied_calls(recorded, rendered, policy=without)
        assert refused, f"statement {statement['Sid']} grants nothing the CLI uses"
        assert {action for _, action, _, _ in refused} <= set(statement["Action"]), statement["Sid"]


def test_not_being_a_key_user_refuses_uploads_and_downloads(recorded, rendered):
    """The key policy leaves the grant to IAM only for the principals it names (data_user_arns)."""
    outsider = copy.deepcopy(rendered)
    key = next(arn for arn, r in outsider["resources"].items() if r["type"] == "aws_kms_key")
    for statement in outsider["resources"][key]["policy"]["Statement"]:
        for values in statement.get("Condition", {}).get("ArnEquals", {}).values():
            values[:] = [arn for arn in values if not arn.endswith(":role/fruits-data-user")]
    refused = {action for _, action, _, _ in denied_calls(recorded, outsider)}
    assert refused == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_an_upload_with_another_key_is_refused_by_the_bucket_policy(recorded, rendered):
    upload = next(call for call in recorded if call["operation"] == "PutObject" and call["params"].get("SSEKMSKeyId"))
    other = copy.deepcopy(upload)
    other["params"]["SSEKMSKeyId"] = other["params"]["SSEKMSKeyId"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    [(_, action, _, why)] = denied_calls([other], rendered)
    assert action == "s3:PutObject" and why.startswith("explicit deny: bucket policy")


def test_a_call_the_mapping_does_not_know_fails():
    with pytest.raises(KeyError, match="no permissions known for s3 CopyObject"):
        requirements({"service": "s3", "operation": "CopyObject", "params": {"Bucket": "b", "Key": "k"}}, "key")
    with pytest.raises(KeyError, match="no permissions known for stepfunctions DeleteStateMachine"):
        requirements({"service": "stepfunctions", "operation": "DeleteStateMachine", "params": {}}, "key")


def test_terminating_a_cluster_the_state_machine_did_not_tag_is_refused(recorded, rendered):
    """`fruits stop` may end the platform's run clusters only, not every cluster of the account."""
    terminate = next(call for call in recorded if call["operation"] == "TerminateJobFlows")
    untagged = {**copy.deepcopy(terminate), "resource_tags": {cluster: {"for-use-with-amazon-emr-managed-policies": "true"}
                                                             for cluster in terminate["params"]["JobFlowIds"]}}
    [(_, action, _, why)] = denied_calls([untagged], rendered)
    assert action == "elasticmapreduce:TerminateJobFlows" and why.startswith("implicit deny")


class _RefusingS3(http.server.BaseHTTPRequestHandler):
    """Answers every request as S3 answers a caller without s3:ListBucket asking for a missing key."""

    def do_HEAD(self):  # noqa: N802 - http.server's name
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


def test_a_bare_403_on_head_says_which_permissions_are_missing(monkeypatch):
    from fruits.cloud.aws import aws_client
    from fruits.cloud.transfer import object_exists
    from fruits.errors import FruitsError

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RefusingS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FRUITS_AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        with pytest.raises(FruitsError) as refused:
            object_exists(aws_client("s3", "eu-west-3"), BUCKET, "artifacts/abc/STAGED.json")
    finally:
        server.shutdown()
    assert str(refused.value) == (f"look for s3://{BUCKET}/artifacts/abc/STAGED.json: access denied, or not there and you may "
                                  "not list the bucket (your role needs the operator policy, `terraform output "
                                  "operator_policy_arn`, and to be in data_user_arns)")
