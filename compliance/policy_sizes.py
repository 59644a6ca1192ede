"""AWS's size quotas on the platform's policy documents, measured as AWS counts them.

    from policy_sizes import over_quota; over_quota(render(variables={...}))  # [] when all fit

A document over its quota makes `apply` fail halfway (the roles or the key exist, the rest not):
tests/compliance/test_policy_sizes.py renders the policies with the largest inputs the root's
variables admit and asserts that each fits.
"""
from __future__ import annotations

import json

# docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: a managed policy at most
# 6,144 characters, a role's inline policies together at most 10,240, a role trust policy 2,048;
# IAM does not count white space (API_GetAccountSummary.html: "in non-whitespace characters").
IAM_MANAGED_POLICY = 6_144
IAM_ROLE_INLINE_POLICIES = 10_240
IAM_ROLE_TRUST_POLICY = 2_048
# docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html: "Bucket policies are
# limited to 20 KB in size."
S3_BUCKET_POLICY = 20 * 1_024
# docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html: "Up to 32 kilobytes
# (32,768 bytes)".
KMS_KEY_POLICY = 32_768


def iam_characters(document: dict) -> int:
    """Characters IAM counts: the JSON without its white space."""
    return sum(not c.isspace() for c in json.dumps(document))


def written_bytes(document: dict) -> int:
    """Bytes of the document as aws_iam_policy_document writes it (indented): the longest form the
    provider can send, white space included, since S3 and KMS do not say they leave it out."""
    return len(json.dumps(document, indent=2).encode())


def sizes(platform: dict) -> list[tuple[str, int, int]]:
    """(what, size, quota) of every document of a rendered platform (iam_render.render)."""
    rows = [(f"managed policy {name}", iam_characters(p["document"]), IAM_MANAGED_POLICY)
            for name, p in platform["managed_policies"].items()]
    for name, role in platform["roles"].items():
        rows.append((f"role {name} trust policy", iam_characters(role["trust"]), IAM_ROLE_TRUST_POLICY))
        rows.append((f"role {name} inline policies", sum(map(iam_characters, role["policies"])), IAM_ROLE_INLINE_POLICIES))
    for arn, owned in platform["resources"].items():
        quota = {"aws_s3_bucket_policy": S3_BUCKET_POLICY, "aws_kms_key": KMS_KEY_POLICY}[owned["type"]]
        rows.append((f"{owned['type']} {arn}", written_bytes(owned["policy"]), quota))
    return rows


def over_quota(platform: dict) -> list[str]:
    """One line per document larger than AWS accepts."""
    return [f"{what}: {size} > {quota}" for what, size, quota in sizes(platform) if size > quota]
