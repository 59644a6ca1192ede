"""compliance/provider_schema.py: the platform's Terraform matches the aws provider 6 schema, and each
kind of mismatch, planted in a copy, fails with the file, block and argument named. Runs the checker
in the compliance venv (its hcl2 parser) on the schema that make derives (.tools/, see
mk/provider-schema.mk)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT_ROOT

CHECKER = PROJECT_ROOT / "compliance" / "provider_schema.py"
SCAN = PROJECT_ROOT / "compliance" / "scan.py"
PYTHON = PROJECT_ROOT / ".venv-compliance" / "bin" / "python"
SCHEMA = PROJECT_ROOT / ".tools" / "aws-provider-schema.json"


@pytest.fixture(scope="module")
def schema():
    assert SCHEMA.is_file(), f"no provider schema: run make {SCHEMA.relative_to(PROJECT_ROOT)} (make test does)"
    return json.loads(SCHEMA.read_text())


def check(folder):
    process = subprocess.run([str(PYTHON), str(CHECKER), str(folder)], capture_output=True, text=True, timeout=120)
    return process.returncode, process.stdout + process.stderr


@pytest.fixture
def platform_copy(tmp_path, schema):
    copy = tmp_path / "terraform"
    shutil.copytree(PROJECT_ROOT / "terraform", copy, ignore=shutil.ignore_patterns(".terraform*"))
    return copy


def plant(path, pattern, replacement):
    """Replace the first match of pattern; fail loudly if terraform/ no longer has it."""
    text = path.read_text()
    planted, found = re.subn(pattern, replacement, text, count=1)
    assert found, f"{pattern!r} is no longer in {path.name}: update this test"
    path.write_text(planted)


def test_the_schema_is_aws_provider_6_and_small(schema):
    assert schema["provider_version"].startswith("6.") and SCHEMA.stat().st_size < 5_000_000
    assert len(schema["resource"]) > 1500 and len(schema["data"]) > 600
    assert schema["resource"]["aws_s3_bucket_policy"]["arguments"]["policy"] is True
    versioning = schema["resource"]["aws_s3_bucket_versioning"]["blocks"]["versioning_configuration"]
    assert versioning["required"] and versioning["max_one"]
    assert not schema["data"]["aws_iam_policy_document"]["blocks"]["statement"]["max_one"]
    assert "default_tags" in schema["provider"]["blocks"] and "region" in schema["provider"]["arguments"]


def test_the_platform_terraform_matches_and_every_block_is_checked(schema):
    returncode, output = check(PROJECT_ROOT / "terraform")
    assert returncode == 0, output
    checked = sum(int(n) for n in re.findall(r"^PASS .*: (\d+) block\(s\)", output, re.M))
    files = [p for p in (PROJECT_ROOT / "terraform").rglob("*.tf") if ".terraform" not in p.parts]
    headers = sum(len(re.findall(r'^(?:resource|data) "aws_|^provider "aws"', p.read_text(), re.M)) for p in files)
    assert checked == headers > 40, output
    assert "modules/storage/main.tf" in output and "modules/cost-guard/main.tf" in output


MISTAKES = {  # file, what to replace, by what, what the failure must say
    "misspelt argument": ("modules/storage/kms.tf", r"enable_key_rotation ", "enable_key_rotaton ",
                          'resource "aws_kms_key" "data", line \\d+: unknown argument "enable_key_rotaton"'),
    "missing required argument": ("modules/storage/main.tf", r'(resource "aws_s3_bucket_policy" "data" \{[^}]*?)\n\s*policy\s*=[^\n]*', r"\1",
                                  'resource "aws_s3_bucket_policy" "data": missing required "policy"'),
    "unknown nested block": ("modules/storage/bucket_policy.tf", r"principals \{", "principal {",
                             'data "aws_iam_policy_document" "bucket" > statement, line \\d+: unknown block "principal"'),
    "two blocks where one is allowed": ("modules/storage/main.tf", r"(\n\s*versioning_configuration \{[^}]*\})", r"\1\1",
                                        'resource "aws_s3_bucket_versioning" "data", lines \\d+, \\d+: 2 "versioning_configuration" blocks, at most one allowed'),
    "unknown resource type": ("modules/storage/main.tf", r'resource "aws_s3_bucket" "data"', 'resource "aws_s3_bukcet" "data"',
                              'resource "aws_s3_bukcet" "data", line \\d+: unknown resource type "aws_s3_bukcet"'),
    "misspelt argument two blocks deep": ("modules/storage/main.tf", r"sse_algorithm ", "sse_algoritm ",
                                          '> rule > apply_server_side_encryption_by_default, line \\d+: unknown argument "sse_algoritm"'),
    "misspelt provider argument": ("providers.tf", r"region\s*=", "regoin =", 'provider "aws", line \\d+: unknown argument "regoin"'),
    "block written as an argument": ("modules/network/main.tf", r'(resource "aws_route_table" "emr" \{)', r'\1\n  timeouts = { create = "1m" }',
                                     'resource "aws_route_table" "emr", line \\d+: "timeouts" is a block, not an argument'),
    "argument written as a block": ("modules/network/main.tf", r'(resource "aws_subnet" "emr" \{)', r'\1\n  vpc_id {}',
                                    'resource "aws_subnet" "emr", line \\d+: "vpc_id" is an argument, not a block'),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_planted_mistake_fails_naming_file_block_and_argument(platform_copy, mistake):
    file, pattern, replacement, message = MISTAKES[mistake]
    plant(platform_copy / file, pattern, replacement)
    returncode, output = check(platform_copy)
    assert returncode == 1, output
    assert re.search(f"^FAIL  {re.escape(file)}: .*{message}", output, re.M), output
    assert len(re.findall("^FAIL", output, re.M)) == 1, output


DYNAMIC_AND_META = '''
resource "aws_kms_key" "extra" {
  count                   = 2
  provider                = aws
  depends_on              = [aws_s3_bucket.data]
  deletion_window_in_days = 7
  policy                  = <<-EOT
    {"Version": "2012-10-17", "Statement": []}
  EOT
  timeouts {
    create = "5m"
  }
  lifecycle {
    prevent_destroy = true
    precondition {
      condition     = true
      error_message = "unused"
    }
  }
  provisioner "local-exec" {
    command = "true"
  }
}

data "aws_iam_policy_document" "dynamic" {
  for_each = toset(["a"])
  dynamic "statement" {
    for_each = var.statements
    content {
      actions   = statement.value
      resources = ["*"]
    }
  }
}

resource "random_id" "other_provider" {
  byte_length = 4
  anything    = "is not checked"
}
'''


def test_meta_arguments_dynamic_blocks_heredocs_and_other_providers_pass(platform_copy):
    (platform_copy / "modules" / "storage" / "extra.tf").write_text(DYNAMIC_AND_META)
    (platform_copy / "modules" / "storage" / ".terraform").mkdir()
    (platform_copy / "modules" / "storage" / ".terraform" / "cached.tf").write_text('resource "aws_nope" "x" {}\n')
    returncode, output = check(platform_copy)
    assert returncode == 0 and "PASS  modules/storage/extra.tf: 2 block(s)" in output, output


def test_a_dynamic_block_counts_as_a_block_and_its_content_is_checked(platform_copy):
    main = platform_copy / "modules" / "storage" / "main.tf"
    plant(main, r"(\n\s*versioning_configuration \{)", r'\n  dynamic "versioning_configuration" {\n    for_each = [1]\n'
                                                          r'    content {\n      statuss = "Enabled"\n    }\n  }\1')
    returncode, output = check(platform_copy)
    assert returncode == 1, output
    assert '2 "versioning_configuration" blocks, at most one allowed' in output, output
    assert 'resource "aws_s3_bucket_versioning" "data" > versioning_configuration, line' in output
    assert 'unknown argument "statuss"' in output, output


def test_a_file_that_cannot_be_parsed_fails(platform_copy):
    (platform_copy / "unreadable.tf").write_text("locals {\n  limit = 1e3\n}\n")
    returncode, output = check(platform_copy)
    assert returncode == 1 and "FAIL  unreadable.tf: could not parse" in output, output


def test_the_compliance_scan_fails_on_a_schema_mismatch(platform_copy, tmp_path):
    plant(platform_copy / "modules" / "storage" / "kms.tf", r"enable_key_rotation ", "enable_key_rotaton ")
    report = tmp_path / "report.json"
    process = subprocess.run([str(PYTHON), str(SCAN), "--policies-only", "--json", str(report), str(platform_copy)],
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 1, process.stdout[-3000:]
    rows = [row for row in json.loads(report.read_text())["rows"] if row["check"] == "AWS_PROVIDER_6_SCHEMA"]
    failed = [row for row in rows if not row["passed"]]
    assert len(rows) > 10 and [row["resource"] for row in failed] == ["modules/storage/kms.tf"]
    assert 'unknown argument "enable_key_rotaton"' in failed[0]["why"]
    assert 'AWS_PROVIDER_6_SCHEMA modules/storage/kms.tf: resource "aws_kms_key" "data"' in process.stdout
