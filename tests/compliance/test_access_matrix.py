"""compliance/access_matrix.py: the evaluator gives AWS's documented answers on AWS's documented
examples; the platform's access matrix holds on the policies Terraform renders; and each planted
mistake (in a copy of the rendered JSON, or in a copy of terraform/) fails a row."""
from __future__ import annotations

import copy
import re
import shutil
import sys

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
import access_matrix  # noqa: E402
from access_matrix import condition_holds, decide  # noqa: E402

IAM_GUIDE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
USER = {"arn": "arn:aws:iam::123456789012:user/carlossalazar", "account": "123456789012"}


def allowed(identity, action, resource, context=None, resource_policy=None, caller=USER):
    return decide(caller, action, resource, context or {}, [("identity", p) for p in identity], resource_policy)[0] == "Allow"


# IAM_GUIDE + reference_policies_evaluation-logic_policy-eval-basics.html: Carlos saves a file.
CARLOS = {"Statement": [
    {"Sid": "AllowS3ListRead", "Effect": "Allow", "Resource": "arn:aws:s3:::*",
     "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"]},
    {"Sid": "AllowS3Self", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]},
    {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}]}
CARLOS_BUCKET = ("bucket policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/carlossalazar"},
                                                  "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]}]}, False)


def test_carlos_is_denied_the_logs_bucket_and_allowed_his_own():
    assert not allowed([CARLOS], "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/file.txt", resource_policy=CARLOS_BUCKET)
    assert allowed([CARLOS], "s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt", resource_policy=CARLOS_BUCKET)
    # "If one of the policy types allows the request and the other doesn't, the request is still allowed."
    assert allowed([], "s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt", resource_policy=CARLOS_BUCKET)
    assert allowed([CARLOS], "s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt")


def test_explicit_and_implicit_denies():  # IAM_GUIDE + reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
    policy = {"Statement": [{"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
                            {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}]}
    reports = {"Statement": [{"Effect": "Allow", "Action": "iam:GenerateCredentialReport", "Resource": "*"}]}
    assert allowed([policy], "iam:GetUser", "*") and allowed([policy], "IAM:listaccesskeys", "*")  # names are case insensitive
    assert decide(USER, "iam:CreatePolicy", "*", {}, [("p", policy)])[1].startswith("implicit deny")
    assert decide(USER, "iam:GetOrganizationsAccessReport", "*", {}, [("p", policy)])[1].startswith("explicit deny")
    assert not allowed([policy, reports], "iam:GenerateCredentialReport", "*")


def test_notaction_deny_outside_the_requested_regions():  # IAM_GUIDE + reference_policies_examples_aws_deny-requested-region.html
    guard = {"Statement": [{"Sid": "DenyAllOutsideRequestedRegions", "Effect": "Deny", "NotAction": ["cloudfront:*", "iam:*", "route53:*", "support:*"],
                            "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3"]}}}]}
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert not allowed([everything, guard], "ec2:RunInstances", "*", {"aws:RequestedRegion": "us-east-1"})
    assert allowed([everything, guard], "ec2:RunInstances", "*", {"aws:RequestedRegion": "eu-west-1"})
    assert allowed([everything, guard], "iam:CreateUser", "*", {"aws:RequestedRegion": "us-east-1"})
    assert not allowed([guard], "iam:CreateUser", "*")  # "This policy does not allow any actions."


FINANCE = "arn:aws:someservice:*:111122223333:finance/*"
STORE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"


@pytest.mark.parametrize("operator, key, values, context, expected", [
    # IAM_GUIDE + reference_policies_elements_condition_operators.html, section by section:
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", {}, False),  # key absent: no match
    ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    ("StringLike", "s3:prefix", ["", "home/", "home/carlos/"], {"s3:prefix": "home/"}, True),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "10"}, True),
    ("NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "false"}, True),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}, False),
    # "With a StringLike condition, the match succeeds ... With an ArnLike condition ... the match fails."
    ("StringLike", "aws:SourceArn", FINANCE, {"aws:SourceArn": STORE}, True),
    ("ArnLike", "aws:SourceArn", FINANCE, {"aws:SourceArn": STORE}, False),
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:eu-west-3:123456789012:TOPIC-ID", {"aws:SourceArn": "arn:aws:sns:eu-west-3:123456789012:TOPIC-ID"}, True),
    # StringLike on ec2:InstanceType fails for resources without the key; StringLikeIfExists does not.
    ("StringLike", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {}, False),
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {}, True),
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {"ec2:InstanceType": "t2.micro"}, True),
    ("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {"ec2:InstanceType": "c5.large"}, False),
    ("Null", "aws:TokenIssueTime", "true", {}, True),  # not using temporary credentials
    ("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2026-11-29T10:00:00Z"}, False),
    # "If the policy condition requires that the key is not matched ... and the key is not present, the condition is true."
    ("StringNotLike", "aws:PrincipalTag/team", "admins*", {}, True),
    ("StringNotEqualsIfExists", "s3:x-amz-server-side-encryption", "aws:kms", {}, True),
    # IAM_GUIDE + reference_policies_multi-value-conditions.html: values OR'ed, NOR'ed when negated.
    ("StringEquals", "aws:RequestedRegion", ["eu-west-1", "eu-west-3"], {"aws:RequestedRegion": "eu-west-3"}, True),
    ("StringNotEquals", "aws:RequestedRegion", ["eu-west-1", "eu-west-3"], {"aws:RequestedRegion": "eu-west-3"}, False),
    ("StringNotEquals", "aws:RequestedRegion", ["eu-west-1", "eu-west-3"], {"aws:RequestedRegion": "us-east-1"}, True),
])
def test_condition_operators_as_documented(operator, key, values, context, expected):
    assert condition_holds(operator, key, values, context) is expected


def test_kms_needs_the_key_policy():  # docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
    iam = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
    def key_policy(principal, action):
        return ("key policy", {"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}]}, True)
    enable_iam = key_policy("arn:aws:iam::123456789012:root", "kms:*")
    names_user = key_policy(USER["arn"], "kms:Decrypt")
    other_only = key_policy("arn:aws:iam::123456789012:role/other", "kms:*")
    key = "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert allowed([iam], "kms:Decrypt", key, resource_policy=enable_iam)       # the key policy enables IAM policies
    assert not allowed([], "kms:Decrypt", key, resource_policy=enable_iam)      # ... which must then allow it
    assert allowed([], "kms:Decrypt", key, resource_policy=names_user)          # the key policy alone
    assert not allowed([iam], "kms:Decrypt", key, resource_policy=other_only)   # "IAM policies ... have no effect"


def test_an_operator_it_does_not_know_raises_rather_than_guesses():
    with pytest.raises(ValueError):
        condition_holds("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z", {"aws:CurrentTime": "2026-11-29T00:00:00Z"})
    with pytest.raises(ValueError):
        condition_holds("StringEquals", "s3:prefix", "home/${aws:username}/", {"s3:prefix": "home/x/"})


def failing(platform):
    return {(r["who"], r["action"], str(r["resource"]), r["why"]) for r in access_matrix.matrix(platform) if r["got"] != r["expect"]}


def statements(platform, role_suffix=None, sid=None):
    documents = [p for name, role in platform["roles"].items() if role_suffix is None or name.endswith(role_suffix) for p in role["policies"]]
    documents += [r["policy"] for r in platform["resources"].values()] if role_suffix is None else []
    return [s for document in documents for s in document["Statement"] if sid is None or s.get("Sid") == sid]


def test_the_platform_matrix_holds(platform):
    mismatches = sorted(failing(platform))
    assert not mismatches, "rows that do not hold:\n" + "\n".join(map(str, mismatches))


def test_every_statement_of_ours_decides_some_row(platform):
    """Flipping any statement's effect must change some row's decision, or the rows miss it."""
    baseline = [r["got"] for r in access_matrix.matrix(platform)]
    unnoticed = []
    for index, statement in enumerate(statements(platform) + [r["trust"]["Statement"][0] for r in platform["roles"].values()]):
        changed = copy.deepcopy(platform)
        target = (statements(changed) + [r["trust"]["Statement"][0] for r in changed["roles"].values()])[index]
        target["Effect"] = "Deny" if target.get("Effect", "Allow") == "Allow" else "Allow"
        if [r["got"] for r in access_matrix.matrix(changed)] == baseline:
            unnoticed.append(statement.get("Sid", "a trust policy"))
    assert not unnoticed, f"no row notices these statements flipped: {unnoticed}"


def test_a_flipped_statement_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    for statement in statements(changed, "-emr-nodes", "ReadImagesAndArtifacts"):
        statement["Effect"] = "Deny"
    assert ("emr-nodes", "s3:GetObject", "{bucket}/images/apple/0001.jpg", "read the photos") in failing(changed)


def test_passing_a_role_to_both_services_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    service_role = next(role["arn"] for name, role in changed["roles"].items() if name.endswith("-emr-service"))
    for statement in statements(changed, "-step-functions"):
        if "iam:PassRole" in statement.get("Action", []) and service_role in statement["Resource"]:
            statement["Condition"]["StringEquals"]["iam:PassedToService"] = ["ec2.amazonaws.com", "elasticmapreduce.amazonaws.com"]
    assert ("step-functions", "iam:PassRole", "{role:emr-service}", "the service role goes to EMR only") in failing(changed)


def test_dropping_the_region_guard_fails_a_row_per_role(platform):
    changed = copy.deepcopy(platform)
    for role in changed["roles"].values():
        role["policies"] = [p for p in role["policies"] if "aws:RequestedRegion" not in str(p)]
    outside = {who for who, _, _, why in failing(changed) if why == "nothing outside the EU regions"}
    assert outside == {"step-functions", "emr-service", "emr-nodes", "emr-demo-nodes"}


def test_removing_the_deny_of_kms_without_a_key_id_fails_a_row(platform):
    row = {"who": "data-user", "action": "s3:PutObject", "resource": "{bucket}/images/pear/0001.jpg", "context": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    spec = access_matrix.yaml.safe_load((PROJECT_ROOT / "compliance" / "access_matrix.yaml").read_text())
    decision, reason = access_matrix.evaluate_row(row, platform, spec["people"], access_matrix.NAME_PREFIX)
    assert decision == "Deny"
    changed = copy.deepcopy(platform)
    bucket = next(r for r in changed["resources"].values() if r["type"] == "aws_s3_bucket_policy")["policy"]
    bucket["Statement"] = [s for s in bucket["Statement"] if s["Sid"] not in reason]  # every statement that denies it
    assert ("data-user", "s3:PutObject", "{bucket}/images/pear/0001.jpg", "aws:kms without a key id is the aws/s3 key") in failing(changed)


def test_a_mistake_planted_in_the_terraform_fails_a_row(tmp_path):
    copy_ = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform", copy_, ignore=shutil.ignore_patterns(".terraform*"))
    step_functions = copy_ / "modules" / "iam" / "step_functions.tf"
    text, planted = re.subn(r'(variable = "iam:PassedToService"\s+values\s+= )\["elasticmapreduce.amazonaws.com"\]',
                            r'\1["elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"]', step_functions.read_text())
    assert planted == 1, "step_functions.tf changed: update this test"
    step_functions.write_text(text)
    rows = access_matrix.matrix_results(folder=copy_)
    assert "step-functions iam:PassRole: the service role goes to EMR only" in {r["resource"] for r in rows if not r["passed"]}


def test_a_row_about_someone_or_something_not_rendered_fails_either_way(platform):
    people = access_matrix.yaml.safe_load((PROJECT_ROOT / "compliance" / "access_matrix.yaml").read_text())["people"]
    for row in ({"who": "emr-nodez", "action": "ssm:UpdateInstanceInformation", "resource": "*"},
                {"who": "emr-nodes", "action": "s3:GetObject", "resource": "{bukket}/images/a.jpg"}):
        assert access_matrix.evaluate_row(row, platform, people, access_matrix.NAME_PREFIX)[0] == "Error"  # not a vacuous Deny
