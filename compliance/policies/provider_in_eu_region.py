"""CKV_FRUITS_1: every `aws` provider block names an EU region (GDPR, Chapter V: no transfer out)."""
from __future__ import annotations

import sys
from pathlib import Path

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.provider.base_check import BaseProviderCheck

sys.path.insert(0, str(Path(__file__).parent))
from eu_regions import EU_REGIONS  # noqa: E402


class ProviderInEuRegion(BaseProviderCheck):
    def __init__(self) -> None:
        super().__init__(name="Every aws provider is in an EU region", id="CKV_FRUITS_1",
                         categories=[CheckCategories.GENERAL_SECURITY], supported_provider=["aws"])

    def scan_provider_conf(self, conf: dict) -> CheckResult:
        # checkov renders `var.region` with the variable's default; a region it cannot resolve,
        # or none at all (taken from the environment at apply time), cannot be shown to be in the EU.
        region = (conf.get("region") or [None])[0]
        return CheckResult.PASSED if region in EU_REGIONS else CheckResult.FAILED


check = ProviderInEuRegion()
