"""The bucket encrypts with an S3 Bucket Key (terraform/modules/storage/main.tf, bucket_key_enabled):
S3 then asks KMS for the bucket key with the BUCKET's ARN as encryption context, not the object's
(docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html; UsingKMSEncryption.html for the
context S3 sends without one). A key or IAM policy condition on kms:EncryptionContext:aws:s3:arn
naming objects ("BUCKET/*", "BUCKET/results/*") would never match, and would deny or fail to allow
every read and write. Today no rendered policy has such a condition; this holds it so, and a planted
object-ARN condition is caught."""
from __future__ import annotations

import copy
import re
import sys

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))

CONTEXT_KEY = "kms:encryptioncontext:aws:s3:arn"  # condition keys are case-insensitive


def statements(platform: dict):
    documents = [policy for role in platform["roles"].values() for policy in role["policies"]]
    documents += [resource["policy"] for resource in platform["resources"].values()] + list(platform["documents"].values())
    return [statement for document in documents for statement in document["Statement"]]


def object_arn_contexts(platform: dict) -> list[str]:
    """Every value of an aws:s3:arn encryption-context condition that is not a bucket's ARN."""
    found = []
    for statement in statements(platform):
        for conditions in statement.get("Condition", {}).values():
            for key, values in conditions.items():
                if key.lower() == CONTEXT_KEY:
                    found += [value for value in ([values] if isinstance(values, str) else values)
                              if not re.fullmatch(r"arn:aws[a-z-]*:s3:::[a-z0-9.-]+", value)]
    return found


def test_the_bucket_uses_a_bucket_key():
    storage = (PROJECT_ROOT / "terraform" / "modules" / "storage" / "main.tf").read_text()
    assert re.search(r"^\s*bucket_key_enabled\s*=\s*true\b", storage, re.MULTILINE), "the premise of this file changed"


def test_no_encryption_context_condition_names_objects(platform):
    assert object_arn_contexts(platform) == []


def test_a_condition_on_the_objects_arn_is_caught(platform):
    changed = copy.deepcopy(platform)
    bucket = next(arn for arn, resource in changed["resources"].items() if resource["type"] == "aws_s3_bucket_policy")
    statement = next(s for s in statements(changed) if s.get("Sid") == "UseTheBucketKey")
    statement["Condition"] = {"ArnLike": {"kms:EncryptionContext:aws:s3:arn": [f"{bucket}/results/*", bucket]}}
    assert object_arn_contexts(changed) == [f"{bucket}/results/*"]
