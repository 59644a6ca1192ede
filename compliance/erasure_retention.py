"""FRUITS_ERASURE_RETENTION: the features a purge erases (`fruits run-local --purge`, `fruits start
--purge`) leave the bucket within MAX_DAYS. The bucket is versioned, so a deleted object stays as a
noncurrent version until a lifecycle rule expires it: an enabled rule on the feature store's prefix
must expire noncurrent versions within MAX_DAYS (GDPR art. 17, erasure without undue delay). Where
rules overlap, S3 applies the shortest expiration
(docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html), so the bucket-wide rule's
longer retention does not hold them back.

Reads `noncurrent_days` as a number, or as `var.NAME.FIELD` with `FIELD = optional(number, N)` in
the variable's type (the module's default). Anything else fails: it is not shown to expire in time.
"""
from __future__ import annotations

import re
from pathlib import Path

import hcl2  # checkov's HCL parser, in the compliance venv

FEATURE_STORE_PREFIX = "feature-store/"  # fruits.layout's feature_store prefix (a test holds them equal)
MAX_DAYS = 7
CHECK = "FRUITS_ERASURE_RETENTION"


def unwrap(value):
    """checkov's hcl2 wraps every attribute in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def load_folder(folder: Path) -> dict:
    """A module's blocks, merged over its .tf files: {"resource": [...], "locals": [...], "variable": [...]}."""
    merged: dict = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            for kind, blocks in hcl2.load(handle).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def resolve_prefix(value, module: dict) -> str | None:
    """A literal prefix, or `${local.NAME.KEY}` read from the module's locals."""
    value = unwrap(value)
    match = re.fullmatch(r"\$\{local\.(\w+)\.(\w+)\}", str(value))
    if not match:
        return value if isinstance(value, str) else None
    for block in module.get("locals", []):
        table = unwrap(block.get(match.group(1)))
        if isinstance(table, dict):
            return unwrap(table.get(match.group(2)))
    return None


def resolve_days(value, module: dict) -> int | None:
    """A number, or `${var.NAME.FIELD}` whose type says `FIELD = optional(number, N)`."""
    value = unwrap(value)
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\$\{var\.(\w+)\.(\w+)\}", str(value))
    if not match:
        return None
    for block in module.get("variable", []):
        variable = block.get(match.group(1))
        if variable is not None:
            found = re.search(rf"'{match.group(2)}': '\$\{{optional\(number,\s*(\d+)\)\}}'", str(unwrap(variable.get("type"))))
            return int(found.group(1)) if found else None
    return None


def judge_rule(rule: dict, module: dict, where: str) -> dict | None:
    """The rule's result if it is on the feature store's prefix, else None."""
    prefixes = [resolve_prefix(f.get("prefix"), module) for f in rule.get("filter", []) if isinstance(f, dict)]
    if FEATURE_STORE_PREFIX not in prefixes:
        return None
    resource = f"{where}: rule {unwrap(rule.get('id'))}"
    if unwrap(rule.get("status")) != "Enabled":
        return {"resource": resource, "passed": False, "why": "the rule is not enabled"}
    expirations = rule.get("noncurrent_version_expiration", [])
    days = resolve_days(unwrap(expirations[0]).get("noncurrent_days"), module) if expirations else None
    if days is None:
        return {"resource": resource, "passed": False, "why": "no noncurrent_version_expiration that resolves to a number of days"}
    passed = 0 < days <= MAX_DAYS
    return {"resource": resource, "passed": passed,
            "why": "" if passed else f"purged features stay {days} days as noncurrent versions (at most {MAX_DAYS})"}


def check_erasure_retention(folder: Path) -> list[dict]:
    """One result per lifecycle rule on the feature store's prefix under folder; one failure if none."""
    results = []
    for module_folder in sorted({path.parent for path in folder.rglob("*.tf") if ".terraform" not in path.parts}):
        try:
            module = load_folder(module_folder)
        except Exception as error:  # lark raises several kinds; any of them means "unread"
            results.append({"resource": str(module_folder.relative_to(folder)), "passed": False,
                            "why": f"cannot parse, so cannot be checked: {str(error).splitlines()[0]}"})
            continue
        for block in module.get("resource", []):
            for name, conf in (block.get("aws_s3_bucket_lifecycle_configuration") or {}).items():
                where = f"{module_folder.relative_to(folder)}: aws_s3_bucket_lifecycle_configuration.{name}"
                results += [r for r in (judge_rule(rule, module, where) for rule in conf.get("rule", [])) if r]
    if not any(result["passed"] for result in results):
        results.append({"resource": f"{folder.name}: lifecycle of {FEATURE_STORE_PREFIX}", "passed": False,
                        "why": f"no enabled lifecycle rule expires the noncurrent versions under {FEATURE_STORE_PREFIX} "
                               f"within {MAX_DAYS} days: purged features would stay in the bucket"})
    return [{**result, "check": CHECK, "custom": True} for result in results]
