"""The IAM permissions each AWS call of the `fruits` CLI needs, and whether the operator policy
(terraform/modules/iam/operator.tf) grants them, with the bucket and key policies in force.

    needs = requirements(call)                       # [(action, resource ARN, request context)]
    refused = denied_calls(calls, platform)          # [(call, action, resource, why)]: empty when all pass

A call is what tests/support/aws_calls.py records: {"service", "operation", "params"},
already in the rendered platform's names (its account, bucket and key). The mapping names AWS's
page for each operation; an operation it does not know raises, so a new call cannot go unchecked.
"""
from __future__ import annotations

from iam_render import ACCOUNT, DATA_USER, REGION
from access_matrix import data_policy, decide, key_and_bucket

S3_API = "docs.aws.amazon.com/AmazonS3/latest/API/"
# Uploading with SSE-KMS needs kms:GenerateDataKey, reading kms:Decrypt, on the object's key:
# docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html (Permissions).
OPERATOR_POLICY = "fruits-operator"
DEMO_OPERATOR_POLICY = "fruits-demo-operator"


def _object(params: dict) -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"


def _bucket(params: dict) -> str:
    return f"arn:aws:s3:::{params['Bucket']}"


def _s3(call: dict, key: str) -> list[tuple[str, str, dict]]:
    params, operation = call["params"], call["operation"]
    if operation == "ListObjectsV2":  # S3_API + API_ListObjectsV2.html: s3:ListBucket
        return [("s3:ListBucket", _bucket(params), {"s3:prefix": params.get("Prefix", "")})]
    if operation == "HeadObject":  # S3_API + API_HeadObject.html: s3:GetObject; a missing key is 404 only with s3:ListBucket
        return [("s3:GetObject", _object(params), {}), ("s3:ListBucket", _bucket(params), {})]
    if operation == "GetObject":  # S3_API + API_GetObject.html: s3:GetObject; then the key decrypts it
        return [("s3:GetObject", _object(params), {}), ("kms:Decrypt", key, {})]
    if operation == "PutObject":  # S3_API + API_PutObject.html: s3:PutObject, with its encryption headers as condition keys
        headers = {"s3:x-amz-server-side-encryption": params.get("ServerSideEncryption"),
                   "s3:x-amz-server-side-encryption-aws-kms-key-id": params.get("SSEKMSKeyId")}
        return [("s3:PutObject", _object(params), {name: value for name, value in headers.items() if value is not None}),
                ("kms:GenerateDataKey", key, {})]
    if operation == "DeleteObjects":  # S3_API + API_DeleteObjects.html: s3:DeleteObject on each key
        return [("s3:DeleteObject", f"arn:aws:s3:::{params['Bucket']}/{item['Key']}", {}) for item in params["Delete"]["Objects"]]
    if operation == "DeleteObject":  # S3_API + API_DeleteObject.html: s3:DeleteObject (a key DeleteObjects' XML cannot carry)
        return [("s3:DeleteObject", _object(params), {})]
    raise KeyError(f"no permissions known for s3 {operation}: add them to compliance/operator_calls.py with AWS's page")


# The service-linked roles the CLI reads, by name: their path (the name alone does not give it).
SERVICE_LINKED_ROLES = {"AWSServiceRoleForEC2Spot": "aws-service-role/spot.amazonaws.com/"}
# docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html: each of
# these is the action of the same name, on the resource type the parameter names.
STATES = {"StartExecution": "stateMachineArn", "ListExecutions": "stateMachineArn",
          "DescribeExecution": "executionArn", "GetExecutionHistory": "executionArn", "StopExecution": "executionArn"}


def requirements(call: dict, key: str, region: str = REGION) -> list[tuple[str, str, dict]]:
    """(action, resource, context) for each permission `call` needs; `key`: the bucket key's ARN."""
    service, operation, params = call["service"], call["operation"], call["params"]
    if service == "s3":
        return _s3(call, key)
    if service == "stepfunctions" and operation in STATES:
        return [(f"states:{operation}", params[STATES[operation]], {})]
    # list_amazonelasticmapreduce.html: DescribeCluster and TerminateJobFlows on cluster/ID, with the
    # cluster's tags as aws:ResourceTag/KEY (a call's "resource_tags": {cluster id: {key: value}});
    # ListClusters on "*" only.
    cluster = f"arn:aws:elasticmapreduce:{region}:{ACCOUNT}:cluster/"
    if service == "emr" and operation == "DescribeCluster":
        return [("elasticmapreduce:DescribeCluster", cluster + params["ClusterId"], {})]
    if service == "emr" and operation == "ListClusters":
        return [("elasticmapreduce:ListClusters", "*", {})]
    if service == "emr" and operation in ("ListInstanceGroups", "ListInstances"):
        return [(f"elasticmapreduce:{operation}", cluster + params["ClusterId"], {})]
    if service == "emr" and operation == "RunJobFlow":
        return _run_job_flow(params, cluster)
    if service == "ssm" and operation == "StartSession":
        # Session Manager checks the instance and the session document (getting-started-specify-session-
        # document.html), and the instance's tags as ssm:resourceTag/KEY (getting-started-restrict-access-examples.html).
        tags = call.get("resource_tags", {}).get(params["Target"], {})
        return [("ssm:StartSession", f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{params['Target']}",
                 {f"ssm:resourceTag/{key}": value for key, value in tags.items()}),
                ("ssm:StartSession", f"arn:aws:ssm:{region}::document/{params['DocumentName']}", {})]
    if service == "iam" and operation == "GetRole" and params["RoleName"] in SERVICE_LINKED_ROLES:
        # list_awsidentityandaccessmanagementiam.html: iam:GetRole on role/PATH/NAME; a service-linked
        # role's path is aws-service-role/SERVICE/ (using-service-linked-roles.html).
        return [("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role/{SERVICE_LINKED_ROLES[params['RoleName']]}{params['RoleName']}", {})]
    if service == "emr" and operation == "TerminateJobFlows":
        tags = call.get("resource_tags", {})
        return [("elasticmapreduce:TerminateJobFlows", cluster + cluster_id,
                 {f"aws:ResourceTag/{key}": value for key, value in tags.get(cluster_id, {}).items()})
                for cluster_id in params["JobFlowIds"]]
    raise KeyError(f"no permissions known for {service} {operation}: add them to compliance/operator_calls.py with AWS's page")


def _run_job_flow(params: dict, cluster: str) -> list[tuple[str, str, dict]]:
    """RunJobFlow (list_amazonelasticmapreduce.html: no resource type, its tags as aws:RequestTag/KEY);
    passing its two roles (iam:PassedToService); and, on an account's first cluster, EMR creating its
    cleanup service-linked role with the caller's permissions (using-service-linked-roles-cleanup.html);
    attaching an auto-termination policy. The instance profile's role has its name (terraform/modules/iam: each profile is named as its role)."""
    tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
    role = f"arn:aws:iam::{ACCOUNT}:role/"
    needed = [("elasticmapreduce:RunJobFlow", "*", {**{f"aws:RequestTag/{key}": value for key, value in tags.items()}, "aws:TagKeys": list(tags)}),
              ("iam:PassRole", role + params["ServiceRole"], {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}),
              ("iam:PassRole", role + params["JobFlowRole"], {"iam:PassedToService": "ec2.amazonaws.com"}),
              ("iam:CreateServiceLinkedRole", role + "aws-service-role/elasticmapreduce.amazonaws.com/AWSServiceRoleForEMRCleanup",
               {"iam:AWSServiceName": "elasticmapreduce.amazonaws.com"})]
    if "AutoTerminationPolicy" in params:
        # Attaching an auto-termination policy, at creation too, needs PutAutoTerminationPolicy on the
        # cluster (emr-auto-termination-policy.html, "Permissions to use auto-termination").
        needed.append(("elasticmapreduce:PutAutoTerminationPolicy", cluster + "j-NEWCLUSTER", {}))
    return needed


def denied_calls(calls: list[dict], platform: dict, policy: dict | None = None, region: str = REGION,
                 policies: tuple[str, ...] = (OPERATOR_POLICY,)) -> list[tuple[dict, str, str, str]]:
    """Each permission of `calls` that the operator (in data_user_arns, with the managed `policies`,
    or the one `policy` instead) is refused, with the bucket policy or key policy of its resource in force."""
    key, _ = key_and_bucket(platform)
    documents = [("operator policy", policy)] if policy else [(name, platform["managed_policies"][name]["document"]) for name in policies]
    caller = {"arn": DATA_USER, "account": ACCOUNT}
    refused = []
    for call in calls:
        for action, resource, extra in requirements(call, key, region):
            context = {"aws:RequestedRegion": region, "aws:SecureTransport": "true", "aws:PrincipalArn": DATA_USER,
                       "aws:PrincipalAccount": ACCOUNT, **({"s3:TlsVersion": "1.2"} if action.startswith("s3:") else {}), **extra}
            decision, why = decide(caller, action, resource, context, documents, data_policy(platform, resource))
            if decision != "Allow":
                refused.append((call, action, resource, why))
    return refused
