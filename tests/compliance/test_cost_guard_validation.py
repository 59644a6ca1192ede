"""cost-guard refuses at plan what AWS Budgets would refuse at apply: its tests
(terraform/modules/cost-guard/tests) run through the compliance scan's helper, on a copy of the
module's variables.tf (the offline provider cannot load its budget). Without the rule they fail."""
from __future__ import annotations

import shutil
import sys

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from terraform_checks import check_cost_guard_validation  # noqa: E402

TERRAFORM = [str(PROJECT_ROOT / ".venv" / "bin" / "python"), str(PROJECT_ROOT / "tools" / "terraform")]
TEN_ADDRESSES = "length(var.alert_emails) <= 10 && "


def test_the_cost_guard_variable_tests_pass():
    row = check_cost_guard_validation(TERRAFORM, PROJECT_ROOT / "terraform")
    assert row["passed"], row["why"]


def test_they_fail_without_the_ten_address_rule(tmp_path):
    # API_budgets_NotificationWithSubscribers.html: at most 10 e-mail subscribers a notification.
    module = tmp_path / "modules" / "cost-guard"
    shutil.copytree(PROJECT_ROOT / "terraform" / "modules" / "cost-guard", module, ignore=shutil.ignore_patterns(".terraform*"))
    variables = module / "variables.tf"
    assert TEN_ADDRESSES in variables.read_text(), "the rule moved: update this test"
    variables.write_text(variables.read_text().replace(TEN_ADDRESSES, ""))
    row = check_cost_guard_validation(TERRAFORM, tmp_path)
    assert not row["passed"] and row["why"].endswith("did not."), row["why"]  # "expected to report an error but did not."
