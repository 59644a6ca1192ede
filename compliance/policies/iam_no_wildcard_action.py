"""CKV_FRUITS_5: no IAM policy allows a `*` or `service:*` action (least privilege).

Checks `aws_iam_policy_document` statements and the JSON of inline and managed policies. Deny
statements may use wildcards (the bucket policy denies `s3:*` without TLS)."""
from __future__ import annotations

import json

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.data.base_check import BaseDataCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

NAME = "No IAM policy allows a wildcard action"


def is_wildcard(action) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def allows_wildcard(statements) -> bool:
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect", "Allow") != "Allow":
            continue
        actions = statement.get("Action", [])
        if any(is_wildcard(a) for a in (actions if isinstance(actions, list) else [actions])):
            return True
    return False


class PolicyDocumentNoWildcardAction(BaseDataCheck):
    def __init__(self) -> None:
        super().__init__(name=NAME, id="CKV_FRUITS_5", categories=[CheckCategories.IAM],
                         supported_data=["aws_iam_policy_document"])

    def scan_data_conf(self, conf: dict) -> CheckResult:
        for statement in conf.get("statement", []):
            effect = (statement.get("effect") or ["Allow"])[0]
            actions = [a for group in statement.get("actions", []) for a in (group if isinstance(group, list) else [group])]
            if effect == "Allow" and any(is_wildcard(a) for a in actions):
                return CheckResult.FAILED
        return CheckResult.PASSED


class PolicyJsonNoWildcardAction(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(name=NAME, id="CKV_FRUITS_5", categories=[CheckCategories.IAM],
                         supported_resources=["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"])

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        policy = (conf.get("policy") or [None])[0]
        if isinstance(policy, str):
            try:
                policy = json.loads(policy)
            except ValueError:
                return CheckResult.UNKNOWN  # a reference: the document it names is checked itself
        if isinstance(policy, dict):
            return CheckResult.FAILED if allows_wildcard(policy.get("Statement", [])) else CheckResult.PASSED
        return CheckResult.UNKNOWN


document_check = PolicyDocumentNoWildcardAction()
json_check = PolicyJsonNoWildcardAction()
