"""CKV_FRUITS_4: every bucket has a bucket policy that denies requests without TLS (GDPR art. 32).

Follows the graph from the bucket to its `aws_s3_bucket_policy` and from there to the policy's
JSON or to the `aws_iam_policy_document` it names, in the same module."""
from __future__ import annotations

import json

from checkov.common.graph.graph_builder import CustomAttributes
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def as_list(value):
    return value if isinstance(value, list) else [value]


def denies_plain_http_json(policy: dict) -> bool:
    for statement in as_list(policy.get("Statement", [])):
        flag = (statement.get("Condition", {}).get("Bool", {}) or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(flag).lower() == "false":
            return True
    return False


def denies_plain_http_document(statements) -> bool:
    for statement in as_list(statements or []):
        if (statement.get("effect") or "Allow") != "Deny":
            continue
        for condition in as_list(statement.get("condition", [])):
            values = [str(v).lower() for v in as_list(condition.get("values", []))]
            if condition.get("test") == "Bool" and condition.get("variable") == "aws:SecureTransport" and values == ["false"]:
                return True
    return False


class BucketPolicyDeniesInsecureTransport(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(name="Every bucket has a policy that denies requests without TLS", id="CKV_FRUITS_4",
                         categories=[CheckCategories.NETWORKING], supported_resources=["aws_s3_bucket"])

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        address = conf.get("__address__", "")
        module, _, name = address.rpartition("aws_s3_bucket.")
        nodes = {attributes.get("__address__"): attributes for _, attributes in self.graph.nodes()}
        for attributes in nodes.values():
            if attributes.get(CustomAttributes.RESOURCE_TYPE) != "aws_s3_bucket_policy":
                continue
            if not str(attributes.get("__address__", "")).startswith(module):
                continue
            if str(attributes.get("bucket")).split(".")[:2] != ["aws_s3_bucket", name]:
                continue
            policy = attributes.get("policy")
            if isinstance(policy, str) and policy.startswith("data.aws_iam_policy_document."):
                document = nodes.get(module + policy.removeprefix("data.").removesuffix(".json"), {})
                if denies_plain_http_document(document.get("statement")):
                    return CheckResult.PASSED
            elif isinstance(policy, (str, dict)):
                try:
                    if denies_plain_http_json(json.loads(policy) if isinstance(policy, str) else policy):
                        return CheckResult.PASSED
                except ValueError:
                    pass
        return CheckResult.FAILED


check = BucketPolicyDeniesInsecureTransport()
