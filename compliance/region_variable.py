"""FRUITS_REGION_VARIABLE: every `region` variable defaults to an EU region (or has no default: a
module's required input) and its validation admits EU regions only (`contains([...], var.region)` with a literal list). A validation that
cannot be read that way (a regex, a missing block) fails: it is not shown to keep out the rest."""
from __future__ import annotations

import re
from pathlib import Path

import hcl2  # checkov's HCL parser, in the compliance venv

from policies.eu_regions import EU_REGIONS

CONTAINS = re.compile(r'contains\(\s*\[(?P<items>[^\]]*)\]\s*,\s*var\.region\s*\)')


def check_region_variables(folder: Path) -> list[dict]:
    """One result per `variable "region"` under folder; one failure if there is none."""
    results = []
    for path in sorted(folder.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        try:
            with path.open() as handle:
                document = hcl2.load(handle)
        except Exception as error:  # lark raises several kinds; any of them means "unread"
            results.append({"resource": str(path.relative_to(folder)), "passed": False,
                            "why": f"cannot parse, so cannot be checked: {str(error).splitlines()[0]}"})
            continue
        for block in document.get("variable", []):
            if "region" in block:
                results.append(judge(block["region"], str(path.relative_to(folder))))
    return results or [{"resource": f"{folder.name}: variable.region", "passed": False,
                        "why": "no region variable: the region is not pinned in code"}]


def unwrap(value):
    """checkov's hcl2 wraps every attribute in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def judge(variable: dict, where: str) -> dict:
    default = unwrap(variable.get("default"))
    listed = []
    for validation in variable.get("validation", []):
        match = CONTAINS.search(str(unwrap(validation.get("condition", ""))))
        if match:
            listed = re.findall(r'["\']([^"\']+)["\']', match.group("items"))
    problems = []
    if "default" in variable and default not in EU_REGIONS:
        problems.append(f"default {default!r} is not an EU region")
    if not listed:
        problems.append("no validation of the form contains([EU regions], var.region)")
    elif set(listed) - set(EU_REGIONS):
        problems.append(f"validation admits {sorted(set(listed) - set(EU_REGIONS))}")
    return {"resource": f"{where}: variable.region", "passed": not problems, "why": "; ".join(problems)}
