"""The platform's IAM policies as AWS would receive them, rendered offline by Terraform itself.

    .venv/bin/python compliance/iam_render.py [TERRAFORM_DIR] > rendered.json
    from iam_render import render; platform = render(terraform_command, Path("terraform"))
    render(variables={"name_prefix": ..., "data_user_arns": [...]})  # other values of the root's variables

A scratch copy of the root keeps its variables, locals and the calls of the modules that hold
`aws_iam_policy_document`s (iam, storage), so the key policy names the roles the root names.
Resources the offline aws provider 3.39 cannot load are dropped; `terraform validate` then proves
the documents lost nothing. `terraform test` with a mock provider evaluates every document, and
its `statement` blocks become policy JSON as the provider writes it. Roles, bucket and key get
realistic ARNs in account 111122223333. Result:
{"roles": {name: {"arn", "trust", "policies": [document], "managed_policy_arns": [arn]}},
 "managed_policies": {name: {"arn", "document"}} (the customer-managed policies, attached or not),
 "resources": {arn: {"type", "policy"}}, "documents": {"fruits-doc:module.M.NAME": document},
 "dropped": [the blocks left out of the copy]}
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TERRAFORM = [str(PROJECT / ".venv/bin/python"), str(PROJECT / "tools/terraform")]
ACCOUNT, REGION, NAME_PREFIX = "111122223333", "eu-west-3", "fruits"  # the root's variables, set
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"  # the key id of AWS's own KMS examples
DATA_USER = f"arn:aws:iam::{ACCOUNT}:role/fruits-data-user"
# Known to 3.39 but validated against an older list of values (BucketOwnerEnforced came in 4.x).
REJECTED_BY_OFFLINE_PROVIDER = {"aws_s3_bucket_ownership_controls"}


def top_level_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, header) of each top-level HCL block; strings, comments and heredocs skipped."""
    blocks, depth, i, start = [], 0, 0, 0
    while i < len(text):
        if text[i] == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif text[i] == "#" or text.startswith("//", i):
            i = text.find("\n", i)
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 1
        elif heredoc := re.match(r"<<-?(\w+)\n", text[i:i + 80]):
            i = re.compile(rf"^\s*{heredoc.group(1)}\s*$", re.M).search(text, i + heredoc.end()).end()
        elif text[i] == "{":
            start = text.rfind("\n", 0, i) + 1 if depth == 0 else start
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                blocks.append((start, i + 1, " ".join(text[start:text.find("{", start)].split())))
        i += 1
    return blocks


def drop_blocks(path: Path, unwanted) -> list[str]:
    """Remove the top-level blocks for which unwanted(header, body) is true; their headers."""
    text, dropped = path.read_text(), []
    for start, end, header in reversed(top_level_blocks(text)):
        if unwanted(header, text[start:end]):
            text, dropped = text[:start] + text[end:], dropped + [header]
    path.write_text(text)
    return dropped


def terraform(command: list[str], cwd: Path, *arguments: str) -> str:
    result = subprocess.run([*command, *arguments, "-no-color"], cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"terraform {arguments[0]} failed in the render copy: {(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


def prepare(command: list[str], folder: Path, copy: Path) -> list[str]:
    """The root, reduced to the modules with policy documents, loadable by the offline provider."""
    calls = {m.group(1): m.group(2) for m in re.finditer(r'module "([\w-]+)" \{\s*source\s*=\s*"\./modules/([\w-]+)"', (folder / "main.tf").read_text())}
    kept = {name for name, source in calls.items() if "aws_iam_policy_document" in "".join(p.read_text() for p in (folder / "modules" / source).glob("*.tf"))}
    for source in {calls[name] for name in kept}:
        shutil.copytree(folder / "modules" / source, copy / "modules" / source, ignore=shutil.ignore_patterns("tests", ".terraform*"))
    for tf in folder.glob("*.tf"):
        shutil.copy(tf, copy)
    dropped = []
    for tf in copy.glob("*.tf"):
        dropped += drop_blocks(tf, lambda header, body: (header.startswith("module ") and header.split('"')[1] not in kept)
                               or (header.startswith("output ") and any(f"module.{n}" in body for n in set(calls) - kept)))
    for versions in copy.rglob("versions.tf"):  # any aws provider version will do for rendering
        versions.write_text(re.sub(r'(?m)^\s*version\s*=\s*"[^"]*".*\n', "", versions.read_text()))
    terraform(command, copy, "init", "-backend=false", "-input=false")
    schema = json.loads(terraform(command, copy, "providers", "schema", "-json"))
    known = set(next(iter(schema["provider_schemas"].values()))["resource_schemas"]) - REJECTED_BY_OFFLINE_PROVIDER
    for tf in (copy / "modules").rglob("*.tf"):
        gone = drop_blocks(tf, lambda header, body: header.startswith("resource ") and header.split('"')[1] not in known)
        addresses = [".".join(header.split('"')[1::2]) for header in gone]
        dropped += [f"{tf.parent.name}: {header}" for header in gone]
        for other in tf.parent.glob("*.tf"):  # outputs of what was dropped go too
            dropped += drop_blocks(other, lambda header, body: header.startswith("output ") and any(a in body for a in addresses))
    terraform(command, copy, "validate")
    return dropped


def test_file(copy: Path, variables: dict | None = None) -> tuple[str, dict]:
    """A mock-provider test with a marker per document and a token per role, bucket and key; the
    root's variables are the defaults below, or `variables` where given."""
    given = {"name_prefix": NAME_PREFIX, "region": REGION, "data_user_arns": [DATA_USER], **(variables or {})}
    lines, tokens = ["variables {\n" + "".join(f"  {k} = {json.dumps(v)}\n" for k, v in given.items()) + "}"], {}
    for module in sorted((copy / "modules").iterdir()):
        text = "".join(p.read_text() for p in module.glob("*.tf"))
        call = re.search(rf'module "([\w-]+)" \{{\s*source\s*=\s*"\./modules/{module.name}"', (copy / "main.tf").read_text()).group(1)
        for name in re.findall(r'data "aws_iam_policy_document" "(\w+)"', text):
            marker = json.dumps(json.dumps({"Id": f"fruits-doc:module.{call}.{name}"}))
            lines.append(f"override_data {{\n  target = module.{call}.data.aws_iam_policy_document.{name}\n  values = {{ json = {marker} }}\n}}")
        for kind, name in re.findall(r'resource "(aws_iam_role|aws_iam_policy|aws_s3_bucket|aws_kms_key)" "(\w+)"', text):
            token = f"fruitstoken{len(tokens)}x"
            tokens[f"module.{call}.{kind}.{name}"] = token
            values = {"aws_iam_role": f'arn = "arn:aws:iam::{ACCOUNT}:role/{token}", id = "{token}"',
                      "aws_iam_policy": f'arn = "arn:aws:iam::{ACCOUNT}:policy/{token}", id = "arn:aws:iam::{ACCOUNT}:policy/{token}"',
                      "aws_s3_bucket": f'arn = "arn:aws:s3:::{token}", id = "{token}"',
                      "aws_kms_key": f'arn = "arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}", key_id = "{KEY_ID}", id = "{KEY_ID}"'}[kind]
            lines.append(f"override_resource {{\n  target = module.{call}.{kind}.{name}\n  values = {{ {values} }}\n}}")
    mocks = {"aws_caller_identity": f'account_id = "{ACCOUNT}"', "aws_partition": 'partition = "aws", dns_suffix = "amazonaws.com"',
             "aws_region": f'name = "{REGION}"', "aws_iam_policy_document": 'json = "{}"'}
    provider = "".join(f'  mock_data "{k}" {{\n    defaults = {{ {v} }}\n  }}\n' for k, v in mocks.items())
    return f'mock_provider "aws" {{\n{provider}}}\n' + "\n".join(lines) + '\nrun "render" {\n  command = apply\n}\n', tokens


def policy_json(statements: list[dict]) -> dict:
    """A data source's evaluated `statement` blocks as the provider writes them in `json`."""
    def principals(blocks):
        return "*" if any(b["type"] == "*" for b in blocks) else {b["type"]: sorted(b["identifiers"]) for b in blocks}
    document = []
    for block in statements:
        statement = {"Sid": block.get("sid") or None, "Effect": block.get("effect") or "Allow"}
        for key, field in (("Action", "actions"), ("NotAction", "not_actions"), ("Resource", "resources"), ("NotResource", "not_resources")):
            if block.get(field):
                statement[key] = sorted(block[field])
        for key, field in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
            if block.get(field):
                statement[key] = principals(block[field])
        for condition in block.get("condition") or []:
            statement.setdefault("Condition", {}).setdefault(condition["test"], {}).setdefault(condition["variable"], []).extend(condition["values"])
        document.append({k: v for k, v in statement.items() if v is not None})
    return {"Version": "2012-10-17", "Statement": document}


def resources_of(module: dict) -> list[dict]:
    return module.get("resources", []) + [r for child in module.get("child_modules", []) for r in resources_of(child)]


def render(command: list[str] = TERRAFORM, folder: Path = PROJECT / "terraform", variables: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="iam-render-") as scratch:
        copy = Path(scratch)
        dropped = prepare(command, folder.resolve(), copy)
        (copy / "render").mkdir()
        text, tokens = test_file(copy, variables)
        (copy / "render" / "render.tftest.hcl").write_text(text)
        output = terraform(command, copy, "test", "-json", "-verbose", "-test-directory=render")
    state = next(line["test_state"] for line in map(json.loads, output.splitlines()) if line.get("type") == "test_state")
    resources = {r["address"]: r for r in resources_of(state["root_module"])}
    markers = {f"fruits-doc:{a.replace('data.aws_iam_policy_document.', '')}": policy_json(r["values"]["statement"] or [])
               for a, r in resources.items() if r["type"] == "aws_iam_policy_document"}
    names = {token: resources[address]["values"]["bucket" if "aws_s3_bucket" in address else "name"]
             for address, token in tokens.items() if "aws_kms_key" not in address}

    def document(text):  # a policy_document's marker, or JSON written some other way (jsonencode)
        parsed = json.loads(text or "{}")
        return markers.get(parsed.get("Id"), parsed)
    roles, owned, managed = {}, {}, {}
    for address, r in resources.items():
        values = r["values"]
        if r["type"] == "aws_iam_policy":
            managed[values["name"]] = {"arn": values["arn"], "document": document(values["policy"])}
        elif r["type"] == "aws_iam_role":
            roles[values["id"]] = roles[values["name"]] = {"arn": values["arn"], "trust": document(values["assume_role_policy"]),
                                                           "policies": [], "managed_policy_arns": []}
        elif r["type"] in ("aws_s3_bucket_policy", "aws_kms_key"):
            target = values.get("arn") or f"arn:aws:s3:::{values['bucket']}"
            owned[target] = {"type": r["type"], "policy": document(values["policy"])}
    for r in resources.values():
        if r["type"] == "aws_iam_role_policy":
            roles[r["values"]["role"]]["policies"].append(document(r["values"]["policy"]))
        elif r["type"] == "aws_iam_role_policy_attachment":
            roles[r["values"]["role"]]["managed_policy_arns"].append(r["values"]["policy_arn"])
    roles = {r["values"]["name"]: roles[r["values"]["name"]] for r in resources.values() if r["type"] == "aws_iam_role"}
    rendered = json.dumps({"roles": roles, "managed_policies": managed, "resources": owned, "documents": markers, "dropped": dropped})
    for token, name in names.items():
        rendered = rendered.replace(token, name)
    return json.loads(rendered)


if __name__ == "__main__":
    print(json.dumps(render(folder=Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT / "terraform"), indent=1))
