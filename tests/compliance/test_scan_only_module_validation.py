"""The modules the offline provider cannot load refuse at plan what AWS would refuse: cost-guard what
AWS Budgets refuses, storage the bucket names S3 refuses. Their tests (terraform/modules/*/tests) run
through the compliance scan's helper, on a copy of each module's variables.tf. Without a rule they fail."""
from __future__ import annotations

import shutil
import sys

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from terraform_checks import check_scan_only_module_tests  # noqa: E402

TERRAFORM = [str(PROJECT_ROOT / ".venv" / "bin" / "python"), str(PROJECT_ROOT / "tools" / "terraform")]
TEN_ADDRESSES = "length(var.alert_emails) <= 10 && "
RESERVED_PREFIXES = '"xn--", "sthree-", "amzn-s3-demo-"'


def module_row(folder, module):
    return next(row for row in check_scan_only_module_tests(TERRAFORM, folder) if row["resource"] == f"modules/{module} variables.tf")


def without(tmp_path, module, rule):
    """A copy of terraform/ whose `module` lacks `rule` (a piece of a validation's condition)."""
    copy = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform" / "modules" / module, copy / "modules" / module, ignore=shutil.ignore_patterns(".terraform*"))
    variables = copy / "modules" / module / "variables.tf"
    assert rule in variables.read_text(), "the rule moved: update this test"
    variables.write_text(variables.read_text().replace(rule, ""))
    return copy


def test_the_cost_guard_variable_tests_pass():
    row = module_row(PROJECT_ROOT / "terraform", "cost-guard")
    assert row["passed"], row["why"]


def test_they_fail_without_the_ten_address_rule(tmp_path):
    # API_budgets_NotificationWithSubscribers.html: at most 10 e-mail subscribers a notification.
    row = module_row(without(tmp_path, "cost-guard", TEN_ADDRESSES), "cost-guard")
    assert not row["passed"] and row["why"].endswith("did not."), row["why"]  # "expected to report an error but did not."


def test_the_storage_variable_tests_pass():
    row = module_row(PROJECT_ROOT / "terraform", "storage")
    assert row["passed"], row["why"]


def test_they_fail_without_the_reserved_prefix_rule(tmp_path):
    # bucketnamingrules.html: no bucket name starts with xn--, sthree- or amzn-s3-demo-.
    row = module_row(without(tmp_path, "storage", RESERVED_PREFIXES), "storage")
    assert not row["passed"] and row["why"].endswith("did not."), row["why"]
