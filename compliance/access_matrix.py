"""Who may do what: the rows of access_matrix.yaml, evaluated offline on the policies Terraform
renders (iam_render.py) and on the AWS-managed policies kept in managed-policies/.

    .venv/bin/python compliance/access_matrix.py [TERRAFORM_DIR]   # the table; exit 1 on a mismatch
    decision, reason = decide(caller, action, resource, context, identity, resource_policy)
    rows = matrix_results(terraform_command, folder)                  # compliance/scan.py's rows

The evaluator is AWS's logic for requests within one account, cut down to what these policies
use (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html):
an explicit Deny in any policy wins; otherwise an Allow in the identity policies or one naming the
caller in the resource policy grants, except that a KMS key policy or a role trust policy must
allow it itself, and an Allow given to the account root there only delegates to IAM policies
(docs.aws.amazon.com/kms/latest/developerguide/key-policies.html). Action/NotAction,
Resource/NotResource, Principal, and the condition operators String(Not)Equals, String(Not)Like,
StringEqualsIgnoreCase, Arn(Not)Equals/Like, Bool, Numeric*, Null and their IfExists forms
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
Not modelled: SCPs, permissions boundaries, session policies, grants, policy variables,
ForAnyValue/ForAllValues, Date/IpAddress/Binary: an operator it does not know raises.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

from iam_render import ACCOUNT, DATA_USER, NAME_PREFIX, PROJECT, REGION, TERRAFORM, render

HERE = Path(__file__).resolve().parent
# Negated operators match when the key is absent; the others do not (condition operators page).
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike", "NumericNotEquals"}


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-delimited components is matched separately."""
    parts, values = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(values) == 6 and all(map(wildcard, parts, values))


def resource_like(pattern: str, value: str) -> bool:
    """Resource element: wildcards stay within an ARN segment, unless `*` ends one; then it may
    match across colons (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    regex = "".join(("[^:]*" if pattern[i + 1:i + 2] not in ("", ":") else ".*") if c == "*" else "[^:]" if c == "?" else re.escape(c)
                    for i, c in enumerate(pattern))
    return re.fullmatch(regex, value, re.S) is not None


TESTS = {
    "StringEquals": str.__eq__, "StringNotEquals": str.__eq__, "StringLike": wildcard, "StringNotLike": wildcard,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(), "StringNotEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "ArnEquals": arn_like, "ArnLike": arn_like, "ArnNotEquals": arn_like, "ArnNotLike": arn_like,
    "Bool": lambda p, v: p.lower() == v.lower(),
    "NumericEquals": lambda p, v: float(v) == float(p), "NumericNotEquals": lambda p, v: float(v) == float(p),
    "NumericLessThan": lambda p, v: float(v) < float(p), "NumericLessThanEquals": lambda p, v: float(v) <= float(p),
    "NumericGreaterThan": lambda p, v: float(v) > float(p), "NumericGreaterThanEquals": lambda p, v: float(v) >= float(p),
}


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def condition_holds(operator: str, key: str, policy_values, context: dict) -> bool:
    """One operator and key: values OR'ed, NOR'ed for negated operators (multi-value-conditions page)."""
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(policy_values)]
    present = {k.lower(): str(v).lower() if isinstance(v, bool) else str(v) for k, v in context.items() if v is not None}
    if operator == "Null":  # "true": the key is absent; "false": it is present
        return any((key.lower() not in present) == (v.lower() == "true") for v in values)
    base = operator.removesuffix("IfExists")
    if base not in TESTS or any("${" in v for v in values):
        raise ValueError(f"the access matrix's evaluator does not support {operator} {key} {values}")
    if key.lower() not in present:
        return operator.endswith("IfExists") or base in NEGATED
    matched = any(TESTS[base](v, present[key.lower()]) for v in values)
    return not matched if base in NEGATED else matched


def principal_match(element, caller: dict) -> str | None:
    """How a resource policy's Principal names the caller: everyone, directly, its account, or not."""
    if element == "*":
        return "everyone"
    for kind, names in element.items():
        for name in as_list(names):
            if name == "*" or (kind == "AWS" and name == caller.get("arn")) or (kind == "Service" and name == caller.get("service")):
                return "direct"
            if kind == "AWS" and caller.get("account") and name in (caller["account"], f"arn:aws:iam::{caller['account']}:root"):
                return "account"
    return None


def applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    actions = any(wildcard(a, action, ignore_case=True) for a in as_list(statement.get("Action", statement.get("NotAction"))))
    resources = any(resource_like(r, resource) for r in as_list(statement.get("Resource", statement.get("NotResource", "*"))))
    return (actions == ("Action" in statement) and resources == ("NotResource" not in statement)
            and all(condition_holds(op, key, values, context) for op, keys in statement.get("Condition", {}).items() for key, values in keys.items()))


def decide(caller: dict, action: str, resource: str, context: dict, identity: list[tuple[str, dict]],
           resource_policy: tuple[str, dict, bool] | None = None) -> tuple[str, str]:
    """("Allow" | "Deny", why). identity: [(label, document)]; resource_policy: (label, document,
    must_allow), must_allow for KMS key policies and role trust policies."""
    found = [(f"{label} {s.get('Sid', '')}".strip(), s.get("Effect"), None) for label, document in identity
             for s in as_list(document["Statement"]) if applies(s, action, resource, context)]
    label, document, must_allow = resource_policy or ("", {"Statement": []}, False)
    for s in as_list(document["Statement"]):
        if "NotPrincipal" in s:
            raise ValueError("the access matrix's evaluator does not support NotPrincipal")
        match = principal_match(s["Principal"], caller) if "Principal" in s else None
        if match and applies(s, action, resource, context):
            found.append((f"{label} {s.get('Sid', '')}".strip(), s.get("Effect"), match))
    if denies := [name for name, effect, _ in found if effect == "Deny"]:
        return "Deny", "explicit deny: " + ", ".join(denies)
    by_identity = [name for name, _, match in found if match is None]
    direct = [name for name, _, match in found if match in ("direct", "everyone")]
    delegated = [name for name, _, match in found if match == "account"]
    if direct or (by_identity and (delegated or not must_allow)):
        return "Allow", "allowed by " + ", ".join(direct or by_identity + delegated)
    if must_allow and by_identity:
        return "Deny", f"implicit deny: the {label} does not allow it ({', '.join(by_identity)} alone cannot)"
    return "Deny", "implicit deny: no statement allows it"


def managed_document(arn: str) -> dict:
    return json.loads((HERE / "managed-policies" / f"{arn.rsplit('/', 1)[1]}.json").read_text())["Document"]


def key_and_bucket(platform: dict) -> tuple[str, str]:
    """The rendered platform's KMS key ARN and bucket ARN."""
    key = next(arn for arn, r in platform["resources"].items() if r["type"] == "aws_kms_key")
    bucket = next(arn for arn, r in platform["resources"].items() if r["type"] == "aws_s3_bucket_policy")
    return key, bucket


def data_policy(platform: dict, resource: str) -> tuple[str, dict, bool] | None:
    """The resource policy in force on `resource` when it is the key or the bucket (or an object in
    it), as decide() takes it; None for any other resource."""
    key, bucket = key_and_bucket(platform)
    if resource == key:
        return "key policy", platform["resources"][key]["policy"], True
    if resource == bucket or resource.startswith(bucket + "/"):
        return "bucket policy", platform["resources"][bucket]["policy"], False
    return None


def evaluate_row(row: dict, platform: dict, people: dict, prefix: str) -> tuple[str, str]:
    """One matrix row against the rendered platform: the caller's policies and the resource's."""
    key, bucket = key_and_bucket(platform)
    roles = {name.removeprefix(prefix + "-"): role for name, role in platform["roles"].items()}
    names = {"account": ACCOUNT, "region": REGION, "key": key, "bucket": bucket, "data_user": DATA_USER,
             **{f"role:{short}": role["arn"] for short, role in roles.items()}}
    fill = lambda text: re.sub(r"\{([\w:-]+)\}", lambda m: names.get(m.group(1), f"<no {m.group(1)}>"), str(text))
    who, action = fill(row["who"]), row["action"]
    if who.startswith("service:"):
        caller, identity = {"service": who.removeprefix("service:")}, []
    elif who in people:
        caller = {"arn": fill(people[who]["arn"]), "account": ACCOUNT}
        identity = [(f"{who}'s policy", json.loads(fill(json.dumps(people[who]["policy"]))))]
    elif who in roles:
        role = roles[who]
        caller = {"arn": role["arn"], "account": ACCOUNT}
        identity = [("role policy", p) for p in role["policies"]] + [(arn.rsplit("/", 1)[1], managed_document(arn)) for arn in role["managed_policy_arns"]]
    elif who == "anyone":
        caller, identity = {}, []
    else:  # never a vacuous Deny: a row about someone who is not there fails either way
        return "Error", f"no principal {who} in the rendered policies"
    context = {"aws:RequestedRegion": REGION, "aws:SecureTransport": "true", "aws:PrincipalArn": caller.get("arn"),
               "aws:PrincipalAccount": caller.get("account"), **({"s3:TlsVersion": "1.3"} if action.startswith("s3:") else {})}
    context.update({k: None if v is None else fill(v) for k, v in (row.get("context") or {}).items()})
    resources = [fill(r) for r in as_list(row["resource"])]
    if "<no " in json.dumps([resources, context]):
        return "Error", f"unknown placeholder in {resources} {context}"
    decisions = []
    for resource in resources:
        policy = data_policy(platform, resource)
        if policy is None and action.lower() == "sts:assumerole":
            policy = next((("trust policy", r["trust"], True) for r in roles.values() if r["arn"] == resource), None)
        decisions.append(decide(caller, action, resource, context, identity, policy))
    return next((d for d in decisions if d[0] == "Deny"), decisions[0])


def matrix(platform: dict, rows_file: Path = HERE / "access_matrix.yaml", prefix: str = NAME_PREFIX) -> list[dict]:
    spec = yaml.safe_load(rows_file.read_text())
    results = []
    for row in spec["rows"]:
        got, reason = evaluate_row(row, platform, spec["people"], prefix)
        results.append({**row, "got": got, "reason": reason})
    return results


def short(resource) -> str:
    return " + ".join(str(r).replace("{bucket}", "bucket").replace("arn:aws:", "") for r in as_list(resource))


def print_matrix(results: list[dict]) -> None:
    table = [("principal", "action", "resource", "expected", "got", "reason")]
    table += [(r["who"], r["action"], short(r["resource"]), r["expect"], r["got"] if r["got"] == r["expect"] else r["got"] + " !!", r["why"]) for r in results]
    widths = [min(max(len(line[i]) for line in table), 48) for i in range(5)]
    for line in table:
        print("  ".join(cell[:48].ljust(width) for cell, width in zip(line, widths)) + "  " + line[5])
    for r in results:
        if r["got"] != r["expect"]:
            print(f"MISMATCH {r['who']} {r['action']} {short(r['resource'])}: expected {r['expect']}, got {r['got']} ({r['reason']})")


def matrix_results(terraform: list[str] = TERRAFORM, folder: Path = PROJECT / "terraform") -> list[dict]:
    """The scan's rows (check, resource, passed, why); a render that fails is one failed row."""
    try:
        results = matrix(render(terraform, folder))
    except Exception as error:  # noqa: BLE001 - the scan reports it as a failed check
        return [{"check": "FRUITS_IAM_ACCESS_MATRIX", "resource": "terraform render", "passed": False, "why": str(error)[-1500:], "custom": True}]
    return [{"check": "FRUITS_IAM_ACCESS_MATRIX", "resource": f"{r['who']} {r['action']}: {r['why']}", "custom": True, "passed": r["got"] == r["expect"],
             "why": f"{short(r['resource'])} {r.get('context') or ''}: expected {r['expect']}, got {r['got']}: {r['reason']}"} for r in results]


if __name__ == "__main__":
    outcome = matrix(render(folder=Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT / "terraform"))
    print_matrix(outcome)
    sys.exit(0 if all(r["got"] == r["expect"] for r in outcome) else 1)
