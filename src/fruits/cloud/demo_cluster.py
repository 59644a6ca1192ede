"""The interactive demo cluster behind `fruits demo-start | demo-stop | demo-status`: one small EMR
cluster with JupyterHub, started with the pipeline's own release, service role, security configuration
(KMS at rest), subnet and log bucket; it terminates itself after at most 30 idle minutes. No key
pair, no inbound port: JupyterHub (9443 on the primary node) is reached through Session Manager.

Usage:
    settings = cluster_settings(platform)                 # the pipeline's EMR outputs
    password, password_hash = new_jupyter_password()    # shown once to the user; only the hash goes to AWS
    request = build_run_job_flow(platform, settings, uris, idle_minutes=30, password_hash=password_hash)   # pure
    cluster_id = start_demo(emr, request)                 # refuses while a demo cluster lives
    views = [read_demo(emr, c) for c in live_demo_clusters(emr)];  stop_demos(emr, clusters)
What every cluster of the platform is started with (Python, tags, the bootstrap) is in
PIPELINE_CLUSTER below, the same as stepfunctions/pipeline.asl.json asks for: a test compares them.
"""
from __future__ import annotations

import copy
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fruits.cloud.aws import aws_errors
from fruits.cloud.clusters import ENDED_STATES, LIVE_STATES, tagged_clusters
from fruits.cloud.prices import hourly_cost
from fruits.cloud.transfer import object_exists
from fruits.errors import FruitsError
from fruits.project import checkout_file

MAX_IDLE_MINUTES = 30
INSTANCE_TYPE = "m5.xlarge"
DEMO_TAG = "fruits:demo"
IDLE_TAG = "fruits:idle-minutes"
JUPYTERHUB_PORT = 9443
JUPYTER_USER = "jovyan"  # EMR's default JupyterHub user, an administrator, whose default password every cluster
# shares (docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-jupyterhub-user-impersonation.html uses it): replaced by a step
PASSWORD_STEP = "Set the JupyterHub password"
NOTEBOOK_NAME = "fruits_pipeline.ipynb"
NOTEBOOK = f"notebooks/{NOTEBOOK_NAME}"  # in the checkout
# As the state machine's "Create EMR cluster" asks for them (tests/cloud/test_demo_cluster.py
# checks them against the rendered definition): the nodes' Python, EMR's managed-policy tag (the
# v2 service policy acts only on resources tagged so: docs.aws.amazon.com/emr/latest/ManagementGuide/
# emr-managed-iam-policies.html, as terraform/modules/iam/emr.tf), and the bootstrap that installs
# the lock from its wheelhouse.
PIPELINE_CLUSTER = {
    "spark_env": {"Classification": "spark-env",
                  "Configurations": [{"Classification": "export", "Properties": {"PYSPARK_PYTHON": "/usr/bin/python3.11"}}]},
    "managed_policy_tag": {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"},
    "bootstrap_name": "Install the pinned Python dependencies",
}
OUTPUTS = {"release_label": "emr_release_label", "service_role": "emr_service_role_name",
           "instance_profile": "emr_demo_instance_profile_name", "security_configuration": "emr_security_configuration_name",
           "subnet_id": "subnet_id", "log_uri": "emr_log_uri"}


@dataclass(frozen=True)
class ClusterSettings:
    release_label: str
    service_role: str
    instance_profile: str
    security_configuration: str
    subnet_id: str
    log_uri: str


@dataclass(frozen=True)
class DemoView:
    cluster_id: str
    state: str
    reason: str
    created: datetime
    ended: datetime | None
    idle_minutes: str
    hourly_usd: float
    primary_instance_id: str | None

    @property
    def age_seconds(self) -> float:
        return ((self.ended or datetime.now(timezone.utc)) - self.created).total_seconds()

    @property
    def cost_so_far(self) -> float:
        return self.hourly_usd * self.age_seconds / 3600


def cluster_settings(platform) -> ClusterSettings:
    """The pipeline's EMR settings, from the platform's `terraform output -json` values."""
    missing = [output for output in OUTPUTS.values() if not platform.outputs.get(output)]
    if missing:
        raise FruitsError(f"the platform outputs lack {', '.join(missing)}: run `terraform apply` with this version, "
                          f"then save `terraform output -json` again")
    return ClusterSettings(**{name: platform.outputs[output] for name, output in OUTPUTS.items()})


def require_session_manager(platform) -> None:
    """Refuse a demo whose nodes could not reach Session Manager: the platform's private VPC has its
    endpoints only with `session_manager_endpoints` (terraform/modules/network). In the user's own
    subnet (output null) nothing is known, so nothing is refused."""
    if platform.outputs.get("session_manager_reachable") is False:
        raise FruitsError("the platform's private subnet has no Session Manager endpoints, so JupyterHub could not be "
                          "reached: set session_manager_endpoints = true in terraform (about $0.03 an hour, cluster or "
                          "not), run `terraform apply`, then save `terraform output -json` again")


def idle_timeout_seconds(idle_minutes: int) -> int:
    if not 1 <= idle_minutes <= MAX_IDLE_MINUTES:
        raise FruitsError(f"--idle-minutes must be between 1 and {MAX_IDLE_MINUTES} (the demo cluster stops itself "
                          f"after at most {MAX_IDLE_MINUTES} idle minutes), not {idle_minutes}")
    return idle_minutes * 60


def notebook_key(platform) -> str:
    """Where EMR's JupyterHub S3 persistence keeps the default user's notebooks (`jupyter/USER/`)."""
    return platform.layout.notebook_key(JUPYTER_USER, NOTEBOOK_NAME)


def bootstrap_action(uris: dict) -> dict:
    """The pipeline's bootstrap action, with the execution input's URIs as the state machine passes them."""
    return {"Name": PIPELINE_CLUSTER["bootstrap_name"], "ScriptBootstrapAction": {
        "Path": uris["bootstrap_uri"], "Args": [uris["requirements_uri"], uris["wheelhouse_uri"], uris["region"]]}}


def new_jupyter_password() -> tuple[str, str]:
    """A random password for one demo cluster's JupyterHub user, and its SHA-512 crypt hash, the
    only form of it that leaves this machine (in the step below)."""
    import warnings

    with warnings.catch_warnings():  # deprecated since 3.11, removed in 3.13: pyproject pins Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    password = secrets.token_urlsafe(18)  # 144 random bits
    return password, crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def password_step(password_hash: str) -> dict:
    """The step that gives JupyterHub's user the password of `password_hash` (a crypt hash: no
    quote, no space), before anyone opens the notebook. JupyterHub runs in the primary node's
    Docker container `jupyterhub`, whose users are its OS's (PAM): docs.aws.amazon.com/emr/latest/
    ReleaseGuide/emr-jupyterhub-administer.html. If it fails the cluster terminates
    (API_StepConfig.html, ActionOnFailure): no demo is left with the default password."""
    if not re.fullmatch(r"\$6\$[A-Za-z0-9./]{1,16}\$[A-Za-z0-9./]{86}", password_hash):
        raise ValueError("not a SHA-512 crypt hash")
    script = ("for attempt in $(seq 60); do sudo docker exec jupyterhub true && break; sleep 5; done; "
              f"echo '{JUPYTER_USER}:{password_hash}' | sudo docker exec -i jupyterhub chpasswd -e")
    return {"Name": PASSWORD_STEP, "ActionOnFailure": "TERMINATE_CLUSTER",
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["bash", "-c", script]}}


def build_run_job_flow(platform, settings: ClusterSettings, uris: dict, idle_minutes: int = MAX_IDLE_MINUTES,
                       core_nodes: int = 0, password_hash: str | None = None) -> dict:
    """The RunJobFlow request: Spark, JupyterHub and Livy, one on-demand primary (+ core_nodes), and
    the step that sets JupyterHub's password (`password_hash`: new_jupyter_password's; default: a
    password nobody is shown, as for --dry-run)."""
    groups = [{"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": INSTANCE_TYPE, "InstanceCount": 1, "Market": "ON_DEMAND"}]
    if core_nodes:
        groups.append({"Name": "Core", "InstanceRole": "CORE", "InstanceType": INSTANCE_TYPE, "InstanceCount": core_nodes, "Market": "ON_DEMAND"})
    return {
        "Name": "fruits-demo",
        "ReleaseLabel": settings.release_label,
        "Applications": [{"Name": "Spark"}, {"Name": "JupyterHub"}, {"Name": "Livy"}],
        "ServiceRole": settings.service_role,
        "JobFlowRole": settings.instance_profile,
        "SecurityConfiguration": settings.security_configuration,
        "LogUri": settings.log_uri,
        # Without it EMR writes its logs with AES-256, which the bucket policy refuses (only the
        # platform's key): docs.aws.amazon.com/emr/latest/APIReference/API_RunJobFlow.html
        "LogEncryptionKmsKeyId": platform.kms_key_arn,
        "VisibleToAllUsers": True,
        "AutoTerminationPolicy": {"IdleTimeout": idle_timeout_seconds(idle_minutes)},
        "Configurations": [
            PIPELINE_CLUSTER["spark_env"],
            # An open notebook kernel is a Livy session, i.e. a running YARN application, and EMR never
            # calls a cluster with one idle: Livy ends sessions idle this long (default 1 h) first.
            {"Classification": "livy-conf", "Properties": {"livy.server.session.timeout-check": "true",
                                                          "livy.server.session.timeout": f"{idle_minutes}m"}},
            {"Classification": "jupyter-s3-conf",  # notebooks saved to s3://BUCKET/jupyter/USER/, with the bucket's key
             "Properties": {"s3.persistence.enabled": "true", "s3.persistence.bucket": platform.bucket}},
        ],
        "BootstrapActions": [bootstrap_action(uris)],
        # Steps run once the applications are up (API_RunJobFlow.html, Steps)
        "Steps": [password_step(password_hash or new_jupyter_password()[1])],
        "Instances": {"InstanceGroups": groups, "Ec2SubnetId": settings.subnet_id,
                      "KeepJobFlowAliveWhenNoSteps": True, "TerminationProtected": False},
        "Tags": [PIPELINE_CLUSTER["managed_policy_tag"], {"Key": DEMO_TAG, "Value": "true"}, {"Key": IDLE_TAG, "Value": str(idle_minutes)}],
    }


def demo_notebook(uris: dict) -> bytes:
    """The project's notebook for EMR's PySpark kernel, its first cell pointing at this platform."""
    notebook = json.loads(checkout_file(NOTEBOOK, "`fruits demo-start`").read_text())
    settings = {"FRUITS_IMAGES": uris["images_uri"], "FRUITS_WEIGHTS": uris["weights_uri"],
                "FRUITS_OUTPUT": uris["output_uri"], "FRUITS_PACKAGE_URI": uris["package_uri"]}
    source = ["# Written by `fruits demo-start` for this platform\n", "import os\n\n",
              *(f"os.environ[{name!r}] = {value!r}\n" for name, value in settings.items())]
    notebook = copy.deepcopy(notebook)
    notebook["cells"].insert(1, {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source})
    notebook["metadata"]["kernelspec"] = {"name": "pysparkkernel", "display_name": "PySpark", "language": "python"}
    return json.dumps(notebook, indent=1).encode()


def put_notebook(s3, platform, notebook: bytes, replace: bool = False) -> str:
    """Upload the notebook (demo_notebook's) unless a saved copy is there (replace=True overwrites it); says which."""
    key = notebook_key(platform)
    if not replace and object_exists(s3, platform.bucket, key):
        return f"kept your saved notebook s3://{platform.bucket}/{key} (--replace-notebook puts the project's back)"
    with aws_errors(f"upload the notebook to s3://{platform.bucket}/{key}"):
        s3.put_object(Bucket=platform.bucket, Key=key, Body=notebook,
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=platform.kms_key_arn)
    return f"notebook -> s3://{platform.bucket}/{key}"


def demo_clusters(emr, states=LIVE_STATES, created_after: datetime | None = None, service_role: str | None = None) -> list[dict]:
    """Described clusters in `states` tagged fruits:demo=true (with `service_role`: the platform's
    emr_service_role_name, this platform's only), newest first."""
    found = tagged_clusters(emr, DEMO_TAG, "true", states, created_after, service_role=service_role)
    return sorted(found, key=lambda c: c["Status"]["Timeline"]["CreationDateTime"], reverse=True)


def live_demo_clusters(emr, service_role: str | None = None) -> list[dict]:
    return demo_clusters(emr, LIVE_STATES, service_role=service_role)


def last_ended_demo(emr, service_role: str | None = None) -> dict | None:
    """The newest demo cluster that ended in the last day (to show how it ended), if any."""
    ended = demo_clusters(emr, ENDED_STATES, created_after=datetime.now(timezone.utc) - timedelta(days=1), service_role=service_role)
    return ended[0] if ended else None


def start_demo(emr, request: dict) -> str:
    """RunJobFlow, unless a demo cluster of this platform (its service role) is alive: then a FruitsError naming it."""
    live = live_demo_clusters(emr, request.get("ServiceRole"))
    if live:
        raise FruitsError(f"a demo cluster is already running: {live[0]['Id']} ({live[0]['Status']['State']}); "
                          f"`fruits demo-status` shows how to open it, `fruits demo-stop` stops it")
    with aws_errors("start the demo cluster"):
        return emr.run_job_flow(**request)["JobFlowId"]


def read_demo(emr, cluster: dict) -> DemoView:
    status = cluster["Status"]
    with aws_errors(f"read the demo cluster {cluster['Id']}"):
        groups = emr.list_instance_groups(ClusterId=cluster["Id"])["InstanceGroups"]
        primary = None
        if status["State"] in ("RUNNING", "WAITING"):
            instances = emr.list_instances(ClusterId=cluster["Id"], InstanceGroupTypes=["MASTER"])["Instances"]
            primary = next((i["Ec2InstanceId"] for i in instances if i.get("Ec2InstanceId")), None)
    fleet = [(g["InstanceType"], g.get("RequestedInstanceCount") or 1) for g in groups]
    try:
        hourly = hourly_cost(fleet or [(INSTANCE_TYPE, 1)])
    except FruitsError:
        hourly = float("nan")  # an instance type outside the price table
    tags = {tag["Key"]: tag["Value"] for tag in cluster.get("Tags", [])}
    return DemoView(cluster_id=cluster["Id"], state=status["State"], reason=status.get("StateChangeReason", {}).get("Message", ""),
                    created=status["Timeline"]["CreationDateTime"], ended=status["Timeline"].get("EndDateTime"),
                    idle_minutes=tags.get(IDLE_TAG, "?"), hourly_usd=hourly, primary_instance_id=primary)


def stop_demos(emr, clusters: list[dict]) -> list[str]:
    """Terminate the given clusters in one call; returns their ids."""
    ids = [cluster["Id"] for cluster in clusters]
    if ids:
        with aws_errors(f"terminate {', '.join(ids)}"):
            emr.terminate_job_flows(JobFlowIds=ids)
    return ids


def session_command(region: str, instance_id: str) -> str:
    """Session Manager port forwarding from localhost:9443 to JupyterHub on the primary node (the
    document and its parameters: docs.aws.amazon.com/systems-manager/latest/userguide/
    session-manager-working-with-sessions-start.html, port forwarding)."""
    parameters = json.dumps({"portNumber": [str(JUPYTERHUB_PORT)], "localPortNumber": [str(JUPYTERHUB_PORT)]}, separators=(",", ":"))
    return (f"aws ssm start-session --region {region} --target {instance_id} "
            f"--document-name AWS-StartPortForwardingSession --parameters '{parameters}'")
