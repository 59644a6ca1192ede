"""Creates on the emulator what `terraform apply` creates (same names as name_prefix "fruits"),
and writes the platform file, in the `terraform output -json` format the CLI reads, with the
outputs terraform/outputs.tf declares. The rehearsal and the cloud tests both start from it.

Usage: `platform_file, outputs = create_platform(moto, work_dir / "platform", timeouts={"retry_interval_seconds": 5})`
(`timeouts`: the state-machine-definition module's; `layout`: the bucket's prefixes, the storage
module's by default). The state machine's definition is rendered by the offline Terraform
(definition.py). Not reproduced: IAM policies and the bucket policy (moto does not enforce
conditions; its "deny unless SSE-KMS" even blocks every put), the Step Functions log group, the
budget alarm.
"""
from __future__ import annotations

import json
from pathlib import Path

from fruits.cloud.prices import DEFAULT_CLUSTER
from fruits.cloud.spot_role import SPOT_ROLE, SPOT_SERVICE
from fruits.layout import DEFAULT_LAYOUT, BucketLayout
from fruits.rehearsal.definition import render_definition

NAME_PREFIX = "fruits"
ACCOUNT = "123456789012"  # moto's account
TRUSTED_SERVICES = {"step-functions": "states.amazonaws.com", "emr-service": "elasticmapreduce.amazonaws.com",
                    "emr-nodes": "ec2.amazonaws.com", "emr-demo-nodes": "ec2.amazonaws.com"}
INSTANCE_PROFILES = ("emr-nodes", "emr-demo-nodes")
# terraform/variables.tf's var.emr defaults, as prices.DEFAULT_CLUSTER holds them (a test keeps them equal)
EMR_INSTANCES = {"primary_instance_type": DEFAULT_CLUSTER[0][0], "core_instance_type": DEFAULT_CLUSTER[1][0],
                 "core_instance_count": DEFAULT_CLUSTER[1][1], "core_use_spot": True}


def trust_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def create_key_and_bucket(moto) -> tuple[str, str]:
    """The storage module: a rotating KMS key, the bucket with SSE-KMS by default, versioning,
    public access blocked. Returns (bucket, key ARN)."""
    kms, s3 = moto.client("kms"), moto.client("s3")
    key = kms.create_key(Description=f"{NAME_PREFIX} data key (rehearsal)")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    kms.create_alias(AliasName=f"alias/{NAME_PREFIX}-data", TargetKeyId=key)
    bucket = f"{NAME_PREFIX}-{ACCOUNT}-{moto.region}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": moto.region})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    return bucket, key


def create_roles(moto) -> dict[str, str]:
    """The iam module's four roles and the instance profiles of the pipeline's and the demo's
    nodes. Returns role name -> ARN."""
    iam, arns = moto.client("iam"), {}
    for role, service in TRUSTED_SERVICES.items():
        name = f"{NAME_PREFIX}-{role}"
        arns[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(service))["Role"]["Arn"]
    for role in INSTANCE_PROFILES:
        profile = f"{NAME_PREFIX}-{role}"
        iam.create_instance_profile(InstanceProfileName=profile)
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=profile)
    # EC2's Spot service-linked role, which `fruits start` checks before Spot core nodes: an account
    # has it once anyone created it. moto's create_service_linked_role names it otherwise
    # (AWSServiceRoleForspot), so it is created by its real name and path.
    iam.create_role(RoleName=SPOT_ROLE, Path=f"/aws-service-role/{SPOT_SERVICE}/", AssumeRolePolicyDocument=trust_policy(SPOT_SERVICE))
    return arns


def create_network(moto) -> str:
    """The network module: a VPC with one subnet. Returns the subnet id."""
    ec2 = moto.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/24")["Subnet"]["SubnetId"]


def create_security_configuration(moto, key: str) -> str:
    name = f"{NAME_PREFIX}-at-rest"
    moto.client("emr").create_security_configuration(Name=name, SecurityConfiguration=json.dumps({
        "EncryptionConfiguration": {"EnableInTransitEncryption": False, "EnableAtRestEncryption": True,
                                    "AtRestEncryptionConfiguration": {
                                        "S3EncryptionConfiguration": {"EncryptionMode": "SSE-KMS", "AwsKmsKey": key}}}}))
    return name


def create_platform(moto, folder: Path, timeouts: dict | None = None, layout: BucketLayout = DEFAULT_LAYOUT) -> tuple[Path, dict]:
    """Everything above plus the state machine; returns the platform file's path and its outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    bucket, key = create_key_and_bucket(moto)
    roles = create_roles(moto)
    subnet, security_configuration = create_network(moto), create_security_configuration(moto, key)
    log_uri = f"s3://{bucket}/{layout.emr_logs_prefix}"
    definition = render_definition(
        folder / "terraform", emr_service_role=f"{NAME_PREFIX}-emr-service",
        emr_instance_profile=f"{NAME_PREFIX}-emr-nodes", security_configuration=security_configuration, log_uri=log_uri,
        subnet_id=subnet, log_encryption_key_arn=key, instances=EMR_INSTANCES, timeouts=timeouts or {})
    name, rendered = f"{NAME_PREFIX}-pipeline", json.loads(definition)
    state_machine = moto.client("stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=roles[f"{NAME_PREFIX}-step-functions"])["stateMachineArn"]
    outputs = {"region": moto.region, "bucket_name": bucket, "prefixes": layout.as_dict(), "kms_key_arn": key,
               "state_machine_arn": state_machine, "state_machine_name": name, "subnet_id": subnet,
               "emr_release_label": rendered["States"]["Create EMR cluster"]["Parameters"]["ReleaseLabel"],
               "emr_service_role_name": f"{NAME_PREFIX}-emr-service",
               "emr_instance_profile_name": f"{NAME_PREFIX}-emr-nodes",
               "emr_demo_instance_profile_name": f"{NAME_PREFIX}-emr-demo-nodes",
               "emr_security_configuration_name": security_configuration, "emr_log_uri": log_uri, "emr_instances": EMR_INSTANCES,
               "pipeline_timeouts": {"step_seconds": rendered["States"]["Extract features"]["TimeoutSeconds"],
                                     "pipeline_seconds": rendered["TimeoutSeconds"]},
               "session_manager_reachable": True}
    path = folder / "platform.json"
    path.write_text(json.dumps({name: {"value": value, "sensitive": False} for name, value in outputs.items()}, indent=2))
    return path, outputs
