"""CKV_FRUITS_6: log groups are KMS-encrypted and expire (GDPR art. 5(1)(e) and 32)."""
from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

MAX_RETENTION_DAYS = 30


class LogGroupsEncryptedAndExpiring(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(name=f"Log groups are KMS-encrypted and expire within {MAX_RETENTION_DAYS} days",
                         id="CKV_FRUITS_6", categories=[CheckCategories.LOGGING],
                         supported_resources=["aws_cloudwatch_log_group"])

    def scan_resource_conf(self, conf: dict) -> CheckResult:
        key = (conf.get("kms_key_id") or [None])[0]
        days = (conf.get("retention_in_days") or [0])[0]  # absent or 0 = kept forever
        try:
            days = int(days)
        except (TypeError, ValueError):
            return CheckResult.FAILED  # not resolvable to a number: not shown to expire
        return CheckResult.PASSED if key and 0 < days <= MAX_RETENTION_DAYS else CheckResult.FAILED


check = LogGroupsEncryptedAndExpiring()
