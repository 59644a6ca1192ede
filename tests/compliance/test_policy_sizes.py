"""Every policy document fits AWS's size quota with the largest inputs the root's variables admit
(compliance/policy_sizes.py names the pages), so `apply` cannot fail halfway on one. Only the key
policy grows with a list (data_user_arns, named twice): the root caps it, and its tests
(terraform/tests/data_user_arns_validation.tftest.hcl) refuse one ARN or one character over."""
from __future__ import annotations

import copy
import json
import shutil
import sys

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from iam_render import render  # noqa: E402
from policy_sizes import KMS_KEY_POLICY, iam_characters, over_quota, sizes  # noqa: E402
from terraform_checks import check_root_region_validation  # noqa: E402

TERRAFORM = [str(PROJECT_ROOT / ".venv" / "bin" / "python"), str(PROJECT_ROOT / "tools" / "terraform")]
CAP_RULE = 'length(var.data_user_arns) <= 100 && length(join("", var.data_user_arns)) <= 10000'
# The cap: 100 ARNs of 100 characters; the longest name_prefix (31) and bucket_name (63), and the
# longest EU region name.
LARGEST = {"name_prefix": "f" * 31, "region": "eu-central-1", "bucket_name": "b" * 63,
           "data_user_arns": [f"arn:aws:iam::111122223333:role/{'r' * 66}{n:03d}" for n in range(100)]}


@pytest.fixture(scope="module")
def largest():
    assert sum(map(len, LARGEST["data_user_arns"])) == 10_000
    return render(variables=LARGEST)


def test_every_document_fits_its_quota_at_the_largest_inputs(largest):
    assert over_quota(largest) == []
    key_policy = next(size for what, size, quota in sizes(largest) if quota == KMS_KEY_POLICY)
    assert key_policy > 2 * 10_000, "the key policy should name every data user twice"


def test_a_document_over_its_quota_is_reported(largest):
    grown = copy.deepcopy(largest)
    name, policy = next(iter(grown["managed_policies"].items()))
    statement = policy["document"]["Statement"][0]
    statement["Resource"] = [f"arn:aws:s3:::bucket/{n:05d}" for n in range(300)]
    assert iam_characters(policy["document"]) > 6_144
    assert over_quota(grown) == [f"managed policy {name}: {iam_characters(policy['document'])} > 6144"]


def test_white_space_does_not_count_for_iam():
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"]}]}
    compact, indented = json.dumps(document, separators=(",", ":")), json.dumps(document, indent=4)
    assert iam_characters(document) == len(compact) < len(indented)


def test_they_fail_without_the_cap(tmp_path):
    copy_of_root = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform" / "tests", copy_of_root / "tests")
    variables = (PROJECT_ROOT / "terraform" / "variables.tf").read_text()
    assert CAP_RULE in variables, "the cap moved: update this test"
    (copy_of_root / "variables.tf").write_text(variables.replace(CAP_RULE, "length(var.data_user_arns) >= 0"))
    row = check_root_region_validation(TERRAFORM, copy_of_root)
    assert not row["passed"] and row["why"].endswith("did not."), row["why"]
