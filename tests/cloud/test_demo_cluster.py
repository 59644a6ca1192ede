"""`fruits demo-start`, `demo-status` and `demo-stop` against the moto server: the cluster EMR is
asked for (read back from moto, and from the request as it reached the server where moto keeps
nothing), the notebook put in the bucket, the refusals, and stopping.

Not reproduced by moto 5.2.5: JupyterHub and Livy (it records the application names, runs
nothing), Session Manager (no agent, no session: the printed command is checked for shape only),
the bootstrap action, IAM, and idle auto-termination (moto neither stores the
AutoTerminationPolicy nor implements GetAutoTerminationPolicy, and never terminates an idle
cluster: the idle timeout is checked in the recorded RunJobFlow request). Its clusters are
WAITING at once, so the cost shown is ~0.
"""
from __future__ import annotations

import base64
import json

import pytest

from fruits.cloud.demo_cluster import ClusterSettings, build_run_job_flow
from fruits.cloud.execution_input import build_execution_input
from fruits.cloud.platform import Platform
from fruits.cloud.wheelhouse import checkout_wheelhouse_prefix
from fruits.layout import DEFAULT_LAYOUT, DEFAULT_PREFIXES
from tests.cloud.conftest import BUCKET, edited_platform, weights_variant
from tests.support.render_definition import TEST_SETTINGS, render_test_definition

LIVE = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
NOTEBOOK_KEY = DEFAULT_LAYOUT.notebook_key("jovyan", "fruits_pipeline.ipynb")


@pytest.fixture
def demo_platform(platform_file):
    """The platform file: it has the pipeline's EMR outputs, with a real (moto) subnet."""
    return platform_file


@pytest.fixture
def demo(fruits, demo_platform, staged_weights):
    """fruits(...) with the demo platform and the test weights staged."""
    staged = fruits("stage", "--weights", str(staged_weights), "--quiet", platform=demo_platform)
    assert staged.returncode == 0, staged.stderr

    def run(command, *arguments, **options):
        options.setdefault("platform", demo_platform)
        if command == "demo-start":
            arguments = ("--weights", str(staged_weights), *arguments)
        return fruits(command, *arguments, **options)
    return run


def live_demo_clusters(emr) -> list[dict]:
    clusters = [emr.describe_cluster(ClusterId=c["Id"])["Cluster"] for c in emr.list_clusters(ClusterStates=LIVE)["Clusters"]]
    return [c for c in clusters if {"Key": "fruits:demo", "Value": "true"} in c["Tags"]]


@pytest.fixture(autouse=True)
def nothing_left_running(moto):
    yield
    emr = moto.client("emr")
    ids = [c["Id"] for c in emr.list_clusters(ClusterStates=LIVE)["Clusters"]]
    if ids:
        emr.terminate_job_flows(JobFlowIds=ids)


@pytest.fixture
def run_job_flow_requests(tmp_path):
    """The RunJobFlow requests the moto server receives during the test (moto's own recorder)."""
    from moto.moto_api import recorder

    saved = recorder._location  # moto 5.2.5's recorder file (private attribute: moto is pinned)
    recorder._location = str(tmp_path / "recording")
    recorder.reset_recording()
    recorder.start_recording()

    def read() -> list[dict]:
        found = []
        for line in (tmp_path / "recording").read_text().splitlines():
            entry = json.loads(line)
            if entry["headers"].get("X-Amz-Target") == "ElasticMapReduce.RunJobFlow":
                body = base64.b64decode(entry["body"]) if entry["body_encoded"] else entry["body"]
                found.append(json.loads(body))
        return found
    yield read
    recorder.stop_recording()
    recorder._location = saved


def test_dry_run_prints_the_request_and_calls_nothing(demo):
    result = demo("demo-start", "--dry-run", "--idle-minutes", "10", endpoint="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    request = json.loads(result.stdout)
    assert [a["Name"] for a in request["Applications"]] == ["Spark", "JupyterHub", "Livy"]
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 600}
    livy = next(c for c in request["Configurations"] if c["Classification"] == "livy-conf")
    assert livy["Properties"]["livy.server.session.timeout"] == "10m"  # else an open kernel keeps it busy for 1 h
    assert request["Instances"]["InstanceGroups"] == [{"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
                                                       "InstanceCount": 1, "Market": "ON_DEMAND"}]
    assert "Ec2KeyName" not in request["Instances"]
    (bootstrap,) = request["BootstrapActions"]  # the lock, its wheelhouse (the nodes install with no index), the bucket's region
    lock, wheelhouse, region = bootstrap["ScriptBootstrapAction"]["Args"]
    assert region == "eu-west-3"  # the platform file's
    assert lock.startswith(f"s3://{BUCKET}/artifacts/") and lock.endswith("/requirements/cluster.lock")
    assert wheelhouse == f"s3://{BUCKET}/{checkout_wheelhouse_prefix(DEFAULT_LAYOUT)}"


def test_start_asks_emr_for_the_pipelines_setup_and_says_how_to_open_it(demo, moto, platform_file, run_job_flow_requests):
    result = demo("demo-start", "--idle-minutes", "10")
    assert result.returncode == 0, result.stderr
    (cluster,) = live_demo_clusters(moto.client("emr"))
    assert f"Started demo cluster {cluster['Id']}" in result.stdout
    assert {a["Name"] for a in cluster["Applications"]} == {"Spark", "JupyterHub", "Livy"}
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster["Tags"]
    assert cluster["SecurityConfiguration"] == "fruits-at-rest" and cluster["ReleaseLabel"] == "emr-7.13.0"
    # its own instance profile: Session Manager and jupyter/ are the demo's, never the pipeline nodes'
    assert cluster["ServiceRole"] == "fruits-emr-service" and cluster["Ec2InstanceAttributes"]["IamInstanceProfile"] == "fruits-emr-demo-nodes"
    assert cluster["Ec2InstanceAttributes"]["Ec2SubnetId"].startswith("subnet-") and cluster["LogUri"] == f"s3://{BUCKET}/{DEFAULT_LAYOUT.emr_logs_prefix}"
    assert "Ec2KeyName" not in cluster["Ec2InstanceAttributes"]
    assert {"Classification": "jupyter-s3-conf", "Properties": {"s3.persistence.enabled": "true", "s3.persistence.bucket": BUCKET}} in cluster["Configurations"]

    (request,) = run_job_flow_requests()
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 600}
    # EMR's own log uploads with the platform's key: the bucket policy refuses any other encryption
    assert request["LogEncryptionKmsKeyId"] == json.loads(platform_file.read_text())["kms_key_arn"]["value"]
    assert "Ec2KeyName" not in request["Instances"]

    primary = moto.client("emr").list_instances(ClusterId=cluster["Id"], InstanceGroupTypes=["MASTER"])["Instances"][0]["Ec2InstanceId"]
    assert (f"aws ssm start-session --region eu-west-3 --target {primary} --document-name AWS-StartPortForwardingSession "
            """--parameters '{"portNumber":["9443"],"localPortNumber":["9443"]}'""") in result.stdout
    assert "https://localhost:9443" in result.stdout

    s3 = moto.client("s3")
    head = s3.head_object(Bucket=BUCKET, Key=NOTEBOOK_KEY)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == json.loads(platform_file.read_text())["kms_key_arn"]["value"]
    notebook = json.loads(s3.get_object(Bucket=BUCKET, Key=NOTEBOOK_KEY)["Body"].read())
    assert notebook["metadata"]["kernelspec"]["name"] == "pysparkkernel"
    assert f"os.environ['FRUITS_IMAGES'] = 's3://{BUCKET}/images/fruits-360/'" in "".join(notebook["cells"][1]["source"])

    status = demo("demo-status")
    assert status.returncode == 0, status.stderr
    assert f"Demo cluster {cluster['Id']}: WAITING   idle timeout 10 min" in status.stdout and "cost so far ~0.00 USD" in status.stdout
    assert f"--target {primary}" in status.stdout


def test_a_second_start_is_refused_while_one_lives(demo, moto):
    started = demo("demo-start")
    assert started.returncode == 0, started.stderr
    (first,) = live_demo_clusters(moto.client("emr"))
    second = demo("demo-start")
    assert second.returncode == 1 and f"a demo cluster is already running: {first['Id']}" in second.stderr
    assert len(live_demo_clusters(moto.client("emr"))) == 1


def test_stop_terminates_every_live_demo_cluster_and_nothing_else(demo, moto):
    emr = moto.client("emr")
    started = demo("demo-start")
    assert started.returncode == 0, started.stderr
    instances = {"InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}], "KeepJobFlowAliveWhenNoSteps": True}
    another_demo = emr.run_job_flow(Name="raced", Instances=instances, ServiceRole="fruits-emr-service",  # this platform's too
                                    Tags=[{"Key": "fruits:demo", "Value": "true"}])["JobFlowId"]
    pipeline_run = emr.run_job_flow(Name="fruits-run", Instances=instances, Tags=[{"Key": "fruits:run-id", "Value": "r"}])["JobFlowId"]
    demos = {c["Id"] for c in live_demo_clusters(emr)}
    assert another_demo in demos and len(demos) == 2

    stopped = demo("demo-stop")
    assert stopped.returncode == 0, stopped.stderr
    for cluster_id in demos:
        assert f"Terminating {cluster_id}" in stopped.stdout
        assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "TERMINATED"
    assert emr.describe_cluster(ClusterId=pipeline_run)["Cluster"]["Status"]["State"] == "WAITING"

    status = demo("demo-status")
    assert status.returncode == 0 and "No demo cluster is running. The last one" in status.stdout and "TERMINATED" in status.stdout


def test_another_platform_s_demo_cluster_is_neither_stopped_nor_shown_nor_in_the_way(demo, moto):
    """Two platforms in one account (another name_prefix): demo-stop terminated the other's demo
    cluster too, and demo-start refused while it ran; each runs with its own service role."""
    emr = moto.client("emr")
    instances = {"InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}], "KeepJobFlowAliveWhenNoSteps": True}
    theirs = emr.run_job_flow(Name="staging demo", Instances=instances, ServiceRole="staging-emr-service",
                              Tags=[{"Key": "fruits:demo", "Value": "true"}])["JobFlowId"]
    assert demo("demo-status").stdout.startswith("No demo cluster is running")
    started = demo("demo-start")
    assert started.returncode == 0, started.stderr
    stopped = demo("demo-stop")
    assert stopped.returncode == 0 and theirs not in stopped.stdout and len(stopped.stdout.strip().splitlines()) == 1, stopped.stdout
    assert emr.describe_cluster(ClusterId=theirs)["Cluster"]["Status"]["State"] == "WAITING"


def test_stop_with_nothing_running_says_so(demo):
    result = demo("demo-stop")
    assert result.returncode == 0 and result.stdout.strip() == "No demo cluster is running: nothing to stop."


@pytest.mark.parametrize(("minutes", "message"), [("31", "must be at most 30"), ("600", "must be at most 30"),
                                                   (str(10**20), "must be at most 1e+15 in size"), ("0", "must be at least 1"),
                                                   ("-5", "must be at least 1"), ("1e3", "expected a whole number")])
def test_an_idle_timeout_outside_1_to_30_minutes_is_a_wrong_argument(demo, moto, run_job_flow_requests, minutes, message):
    """As every command's wrong arguments: exit 2 with the range (it was exit 1 after the parsing, and '1e3' argparse's 'invalid int')."""
    result = demo("demo-start", "--idle-minutes", minutes)
    assert result.returncode == 2 and f"argument --idle-minutes: {message}" in result.stderr, result.stderr
    assert run_job_flow_requests() == [] and live_demo_clusters(moto.client("emr")) == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2"])
def test_a_region_outside_the_eu_is_refused_before_any_call(demo, demo_platform, tmp_path, region):
    (tmp_path / "outside").mkdir()
    outside = edited_platform(demo_platform, tmp_path / "outside", region=region)
    for command in (["demo-start"], ["demo-status"], ["demo-stop"]):
        result = demo(*command, platform=outside, endpoint="http://127.0.0.1:9")  # a call would fail otherwise
        assert result.returncode == 1 and "is outside the EU" in result.stderr, result.stderr


def test_code_that_is_not_staged_starts_nothing(demo, moto, tmp_path):
    weights = weights_variant(tmp_path / "never-staged.h5", variant=7)  # MobileNetV2's, but other bytes: never staged
    unstaged = demo("demo-start", "--weights", str(weights))
    assert unstaged.returncode == 1 and "run `fruits stage` first" in unstaged.stderr
    assert live_demo_clusters(moto.client("emr")) == []


def test_a_platform_whose_subnet_cannot_reach_session_manager_starts_nothing(demo, moto, demo_platform, tmp_path):
    private = edited_platform(demo_platform, tmp_path, session_manager_reachable=False)
    for arguments in (["--dry-run"], []):
        result = demo("demo-start", *arguments, platform=private)
        assert result.returncode == 1 and "no Session Manager endpoints" in result.stderr, result.stderr
        assert "session_manager_endpoints = true" in result.stderr and result.stdout == ""
    assert live_demo_clusters(moto.client("emr")) == []
    (tmp_path / "own").mkdir()
    own_subnet = edited_platform(demo_platform, tmp_path / "own", session_manager_reachable=None)
    assert demo("demo-start", "--dry-run", platform=own_subnet).returncode == 0  # unknown in the user's subnet: not refused


def test_a_platform_without_the_emr_outputs_is_one_clear_line(fruits, platform_file, staged_weights, tmp_path):
    older = edited_platform(platform_file, tmp_path, emr_release_label=None, emr_demo_instance_profile_name=None)
    result = fruits("demo-start", "--weights", str(staged_weights), platform=older)
    assert result.returncode == 1 and "lack emr_release_label" in result.stderr and "terraform apply" in result.stderr


def resolved(value, execution_input: dict):
    """A state's Parameters with their `$.name` and `States.Array($.a, $.b)` paths read from the input."""
    def path(text: str):
        if text.startswith("States.Array("):
            return [execution_input[item.strip().removeprefix("$.")] for item in text[len("States.Array("):-1].split(",")]
        return execution_input.get(text.removeprefix("$."), text)
    if isinstance(value, dict):
        return {key.removesuffix(".$"): path(item) if key.endswith(".$") else resolved(item, execution_input) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, execution_input) for item in value]
    return value


def test_the_demo_cluster_starts_as_the_pipelines_does(tmp_path):
    """Everything the state machine's "Create EMR cluster" asks for, the demo's RunJobFlow asks for
    alike (release, roles, logs and their key, Python, the bootstrap, the managed-policy tag), but
    what makes it the demo: its name, JupyterHub and Livy, its own instance profile, its idle
    timeout, its notebook settings, its tags and its one small instance group."""
    create = json.loads(render_test_definition(tmp_path))["States"]["Create EMR cluster"]["Parameters"]
    uris = build_execution_input(bucket=BUCKET, region="eu-west-3", run_id="notebook", artifacts_prefix="artifacts/0123456789ab/", weights_key="artifacts/0123456789ab/weights/w.h5")
    pipeline = resolved(create, uris)
    platform = Platform(region="eu-west-3", bucket=BUCKET, kms_key_arn=TEST_SETTINGS["log_encryption_key_arn"],
                        state_machine_arn="arn:aws:states:eu-west-3:123456789012:stateMachine:fruits-pipeline", prefixes=DEFAULT_PREFIXES)
    settings = ClusterSettings(release_label=create["ReleaseLabel"], service_role=TEST_SETTINGS["emr_service_role"],
                               instance_profile="fruits-emr-demo-nodes", security_configuration=TEST_SETTINGS["security_configuration"],
                               subnet_id=TEST_SETTINGS["subnet_id"], log_uri=TEST_SETTINGS["log_uri"])
    demo = build_run_job_flow(platform, settings, uris)

    demo_only = {"Name", "Applications", "JobFlowRole", "AutoTerminationPolicy", "Configurations", "Tags", "Instances"}
    assert {key: demo.get(key) for key in set(pipeline) - demo_only} == {key: pipeline[key] for key in set(pipeline) - demo_only}
    assert pipeline["BootstrapActions"][0]["ScriptBootstrapAction"]["Path"].endswith("/bootstrap/install-python-deps.sh")
    assert {app["Name"] for app in pipeline["Applications"]} <= {app["Name"] for app in demo["Applications"]}
    assert [c for c in demo["Configurations"] if c["Classification"] == "spark-env"] == pipeline["Configurations"]
    fixed_tags = [tag for tag in create["Tags"] if "Value" in tag]  # not the run's id
    assert fixed_tags and all(tag in demo["Tags"] for tag in fixed_tags)
    shared = ("KeepJobFlowAliveWhenNoSteps", "TerminationProtected")
    assert {key: demo["Instances"][key] for key in shared} == {key: pipeline["Instances"][key] for key in shared}
    assert [demo["Instances"]["Ec2SubnetId"]] == pipeline["Instances"]["Ec2SubnetIds"]


def test_a_notebook_that_cannot_be_read_starts_no_cluster(demo, moto, platform_file, staged_weights, monkeypatch, capsys):
    """The notebook comes from the checkout: read before RunJobFlow, so a missing one is one line and no cluster."""
    from fruits.cli import main
    from fruits.cloud import demo_cluster

    monkeypatch.setattr(demo_cluster, "NOTEBOOK", "notebooks/not-here.ipynb")
    for name, value in {"FRUITS_AWS_ENDPOINT_URL": moto.endpoint, "FRUITS_PLATFORM": str(platform_file),
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    assert main(["demo-start", "--weights", str(staged_weights)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("fruits: error: `fruits demo-start` needs a checkout of the project") and "notebooks/not-here.ipynb" in error
    assert live_demo_clusters(moto.client("emr")) == []
