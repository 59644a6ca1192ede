"""The compliance scan (compliance/scan.py) passes on the platform's Terraform and fails, policy
by policy, on Terraform that breaks each rule. Runs the real checkov, trivy and offline Terraform."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT_ROOT

SCAN = PROJECT_ROOT / "compliance" / "scan.py"
PYTHON = PROJECT_ROOT / ".venv-compliance" / "bin" / "python"
CUSTOM_POLICIES = ("CKV_FRUITS_1", "FRUITS_REGION_VARIABLE", "CKV2_FRUITS_3", "CKV_FRUITS_4", "CKV_FRUITS_5", "CKV_FRUITS_6",
                   "FRUITS_ERASURE_RETENTION")


def scan(folder, tmp_path, *options):
    report = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.json"
    process = subprocess.run([str(PYTHON), str(SCAN), *options, "--json", str(report), str(folder)],
                             capture_output=True, text=True, timeout=600)
    return process, json.loads(report.read_text()) if report.exists() else None


def outcomes(report, check):
    return {row["passed"] for row in report["rows"] if row["check"] == check}


@pytest.fixture(scope="module")
def platform_scan(tmp_path_factory):
    return scan(PROJECT_ROOT / "terraform", tmp_path_factory.mktemp("platform"))


def test_the_platform_terraform_is_compliant(platform_scan):
    process, report = platform_scan
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
    assert "compliant" in process.stdout and "check" in process.stdout.splitlines()[0]
    for policy in CUSTOM_POLICIES:
        assert outcomes(report, policy) == {True}, f"{policy} did not pass on terraform/"


def test_every_offline_module_and_the_root_region_validation_ran(platform_scan):
    _, report = platform_scan
    ran = {row["resource"] for row in report["rows"] if row["check"].startswith("terraform") and row["passed"]}
    assert {"modules/iam", "modules/network", "modules/pipeline", "modules/state-machine-definition", "root variables.tf",
            "modules/cost-guard variables.tf", "modules/storage variables.tf"} <= ran


def test_every_skip_carries_a_reason(platform_scan):
    _, report = platform_scan
    skips = [row for row in report["rows"] if row.get("outcome") == "skipped"]
    assert skips and all(row["passed"] and len(row["why"]) >= 30 for row in skips)


def test_the_noncompliant_fixture_fails_every_custom_policy_and_trivy(tmp_path):
    process, report = scan(PROJECT_ROOT / "compliance" / "fixtures" / "noncompliant", tmp_path, "--policies-only")
    assert process.returncode == 1 and "NOT compliant" in process.stdout
    for policy in CUSTOM_POLICIES:
        assert False in outcomes(report, policy), f"{policy} did not fail on the non-compliant fixture"
    assert any(row["check"].startswith("AVD-AWS-") for row in report["rows"]), "trivy found nothing"


@pytest.fixture
def platform_copy(tmp_path):
    copy = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform", copy, ignore=shutil.ignore_patterns(".terraform*"))
    return copy


def test_a_file_checkov_cannot_parse_fails_the_scan(platform_copy, tmp_path):
    (platform_copy / "unreadable.tf").write_text("locals {\n  limit = 1e3\n}\n")  # checkov's parser fails on 1e3
    process, report = scan(platform_copy, tmp_path, "--policies-only")
    assert process.returncode == 1
    assert any("could not parse" in error for error in report["errors"])


def test_a_skip_without_a_reason_fails_the_scan(platform_copy, tmp_path):
    main = platform_copy / "modules" / "storage" / "main.tf"
    main.write_text(main.read_text().replace("#checkov:skip=CKV2_AWS_62:No event notifications: runs are started by the CLI, nothing reacts to uploads.",
                                             "#checkov:skip=CKV2_AWS_62"))
    process, report = scan(platform_copy, tmp_path, "--policies-only")
    assert process.returncode == 1
    assert [row["check"] for row in report["rows"] if not row["passed"]] == ["CKV2_AWS_62"]


def test_a_region_variable_that_admits_london_fails(platform_copy, tmp_path):
    variables = platform_copy / "variables.tf"
    variables.write_text(variables.read_text().replace('"eu-west-3"], var.region)', '"eu-west-3", "eu-west-2"], var.region)'))
    process, report = scan(platform_copy, tmp_path, "--policies-only")
    by_file = {row["resource"]: row["passed"] for row in report["rows"] if row["check"] == "FRUITS_REGION_VARIABLE"}
    assert process.returncode == 1 and by_file["variables.tf: variable.region"] is False
    # the modules' own region variables (network, storage, iam) were not touched and still pass
    assert {name for name, passed in by_file.items() if not passed} == {"variables.tf: variable.region"}


@pytest.mark.parametrize("change, why", [
    (("erased_features = optional(number, 1)", "erased_features = optional(number, 30)"), "stay 30 days"),
    (('id     = "erase-purged-features"\n    status = "Enabled"', 'id     = "erase-purged-features"\n    status = "Disabled"'), "not enabled"),
    (("prefixes.feature_store\n    }\n    noncurrent_version_expiration", "prefixes.tmp\n    }\n    noncurrent_version_expiration"),
     "no enabled lifecycle rule"),
])
def test_purged_features_that_outlive_a_week_in_the_versions_fail(platform_copy, tmp_path, change, why):
    storage = platform_copy / "modules" / "storage"
    assert any(change[0] in (storage / name).read_text() for name in ("main.tf", "variables.tf"))
    for name in ("main.tf", "variables.tf"):
        (storage / name).write_text((storage / name).read_text().replace(*change))
    process, report = scan(platform_copy, tmp_path, "--policies-only")
    failed = [row for row in report["rows"] if row["check"] == "FRUITS_ERASURE_RETENTION" and not row["passed"]]
    assert process.returncode == 1 and failed and why in failed[0]["why"]


def test_the_checked_feature_store_prefix_is_the_layout_one():
    from fruits.layout import DEFAULT_PREFIXES

    checked = re.search(r'FEATURE_STORE_PREFIX = "([^"]+)"', (PROJECT_ROOT / "compliance" / "erasure_retention.py").read_text()).group(1)
    assert checked == DEFAULT_PREFIXES["feature_store"]


def region_list(text, anchor):
    items = re.search(anchor + r"[^\[(]*[\[(]([^\])]*)[\])]", text, re.S).group(1)
    return sorted(re.findall(r'"([a-z0-9-]+)"', items))


def test_the_three_copies_of_the_eu_region_list_agree():
    from fruits.cloud.regions import EU_REGIONS
    terraform = region_list((PROJECT_ROOT / "terraform" / "variables.tf").read_text(), r"condition\s*=\s*contains\(")
    iam = region_list((PROJECT_ROOT / "terraform" / "modules" / "iam" / "variables.tf").read_text(), r"contains\(")
    policy = region_list((PROJECT_ROOT / "compliance" / "policies" / "eu_regions.py").read_text(), r"EU_REGIONS = ")
    assert terraform == iam == policy == sorted(EU_REGIONS)
    assert "eu-west-2" not in EU_REGIONS and "eu-central-2" not in EU_REGIONS
