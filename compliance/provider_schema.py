"""Do the Terraform blocks match the aws provider 6 schema? Checked offline, for every `resource`,
`data` and `provider "aws"` block of every .tf file: unknown arguments or nested blocks, missing
required ones, and more blocks than the schema allows.

    make .tools/aws-provider-schema.json                                   # once (make compliance does it)
    .venv-compliance/bin/python compliance/provider_schema.py [terraform/]  # exit 1 on a mismatch

compliance/scan.py adds schema_results(folder): one row per .tf file, check AWS_PROVIDER_6_SCHEMA.
The schema comes from PyPI's cdktf-cdktf-provider-aws 21.22.1, generated from aws provider 6.25.0
(see ../shared/FACTS.md): `--derive WHEEL --schema OUT` turns the jsii assembly in that wheel into a
compact JSON file. The provider binary itself cannot be had offline."""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = PROJECT / ".tools" / "aws-provider-schema.json"
CHECK = "AWS_PROVIDER_6_SCHEMA"

# The docs links the cdktf generator writes: a class's summary names its resource or data source,
# a property's summary or remarks end with its exact HCL name after '#'.
CLASS_LINK = re.compile(r"hashicorp/aws/([\d.]+)/docs/(resources|data-sources)/\w+ (aws_\w+)\}")
PROVIDER_LINK = re.compile(r"hashicorp/aws/([\d.]+)/docs aws\}")
PROPERTY_LINK = re.compile(r"hashicorp/aws/[\d.]+/docs[^#\s]*#(\w+) ")

# Meta-arguments: Terraform's, not the provider's (cdktf puts them in the base interface
# cdktf.TerraformMetaArguments, which is not in this assembly). `timeouts` is in the schema.
META = {"resource": ({"count", "for_each", "depends_on", "provider"}, {"lifecycle", "provisioner", "connection"}),
        "data": ({"count", "for_each", "depends_on", "provider"}, {"lifecycle"}),
        "provider": ({"alias", "version"}, set())}
NO_META = (set(), set())


# --- Deriving the compact schema from the cdktf wheel (standard library only: make runs it) ---

def read_jsii(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(archive.read(name))) as assembly:
            return json.load(assembly.extractfile("package/.jsii"))


def properties(types: dict, fqn: str) -> list[dict]:
    """An interface's properties, with those of the interfaces it extends (cdktf's own bases are
    not in the assembly: they hold the meta-arguments, see META)."""
    interface = types.get(fqn, {})
    found = list(interface.get("properties", []))
    for base in interface.get("interfaces", []):
        found += properties(types, base)
    return found


def nested_type(types: dict, reference: dict) -> tuple[str | None, bool]:
    """The datatype interface a property holds, and whether it holds a single one (not a list)."""
    if "fqn" in reference:
        return (reference["fqn"], True) if types.get(reference["fqn"], {}).get("datatype") else (None, False)
    if "collection" in reference:
        return nested_type(types, reference["collection"]["elementtype"])[0], False
    for member in reference.get("union", {}).get("types", []):  # X | cdktf.IResolvable
        if nested_type(types, member)[0]:
            return nested_type(types, member)
    return None, False


def block_schema(types: dict, fqn: str) -> dict:
    """{arguments: {name: required}, blocks: {name: {required, max_one, arguments, blocks}}}.
    What the config interface holds is what HCL may set: tags_all, id and timeouts are there;
    computed-only attributes (arn, ...) are not, rightly. A block is at most one when cdktf types it
    as a single interface; it types all the provider's own blocks (default_tags, ...) as lists,
    so "at most one" goes unchecked for those."""
    arguments, blocks = {}, {}
    for prop in properties(types, fqn):
        docs = prop.get("docs", {})
        name = PROPERTY_LINK.search(docs.get("summary", "") + " " + docs.get("remarks", "")).group(1)
        required = not prop.get("optional", False)
        nested, single = nested_type(types, prop["type"])
        if nested is None:
            arguments[name] = required
        elif docs.get("summary", "").endswith(" block."):
            blocks[name] = {"required": required, "max_one": single, **block_schema(types, nested)}
        else:  # an argument of object type (aws_route_table's route): Terraform takes it as blocks too
            arguments[name] = required
            blocks[name] = {"required": False, "max_one": False, **block_schema(types, nested)}
    return {"arguments": arguments, "blocks": blocks}


def derive_schema(wheel: Path) -> dict:
    types = read_jsii(wheel)["types"]
    schema = {"source": wheel.name, "provider_version": None, "provider": None, "resource": {}, "data": {}}
    for cls in types.values():
        summary = cls.get("docs", {}).get("summary", "")
        found = CLASS_LINK.search(summary) or PROVIDER_LINK.search(summary)
        if cls["kind"] != "class" or not found:
            continue
        config = next(p for p in cls["initializer"]["parameters"] if p["name"] == "config")["type"]["fqn"]
        schema["provider_version"] = found.group(1)
        if found.re is PROVIDER_LINK:
            schema["provider"] = block_schema(types, config)
        else:
            schema["resource" if found.group(2) == "resources" else "data"][found.group(3)] = block_schema(types, config)
    if not schema["provider"] or len(schema["resource"]) < 1000 or len(schema["data"]) < 300:
        raise SystemExit(f"{wheel.name}: no provider, resources or data sources found: has the jsii format changed?")
    return schema


# --- Checking Terraform files against it ---

def label(node) -> str:
    return str(node.children[0] if hasattr(node, "children") else node).strip('"')


def contents(body) -> tuple[dict, dict]:
    """A body's arguments {name: line} and nested blocks {type: [(body, line)]}; a
    `dynamic "x"` block counts as one block x, whose `content` is what gets checked."""
    arguments, blocks = {}, {}
    for item in body.children:
        name = label(item.children[0])
        if item.data == "attribute":
            arguments[name] = item.meta.line
            continue
        inner = item.children[-1]
        if name == "dynamic" and len(item.children) == 3:
            name = label(item.children[1])
            inner = next((b.children[-1] for b in inner.children if b.data == "block" and label(b.children[0]) == "content"), inner)
        blocks.setdefault(name, []).append((inner, item.meta.line))
    return arguments, blocks


def check_body(body, schema: dict, meta: tuple, where: str) -> list[str]:
    arguments, blocks = contents(body)
    problems = []
    for name, line in arguments.items():
        if name not in schema["arguments"] and name not in meta[0]:
            problem = f'"{name}" is a block, not an argument' if name in schema["blocks"] else f'unknown argument "{name}"'
            problems.append(f"{where}, line {line}: {problem}")
    for name, found in blocks.items():
        if name in meta[1]:
            continue
        if name not in schema["blocks"]:
            problem = f'"{name}" is an argument, not a block' if name in schema["arguments"] else f'unknown block "{name}"'
            problems.append(f"{where}, line {found[0][1]}: {problem}")
            continue
        if schema["blocks"][name]["max_one"] and len(found) > 1:
            problems.append(f'{where}, lines {", ".join(str(line) for _, line in found)}: {len(found)} "{name}" blocks, at most one allowed')
        for inner, _ in found:
            problems += check_body(inner, schema["blocks"][name], NO_META, f"{where} > {name}")
    required = [n for n, r in schema["arguments"].items() if r] + [n for n, b in schema["blocks"].items() if b["required"]]
    problems += [f'{where}: missing required "{name}"' for name in required if name not in arguments and name not in blocks]
    return problems


def parse(path: Path):
    """The file's parse tree from bc-python-hcl2 (checkov's, pinned in requirements/compliance.lock),
    not its dict form, which writes arguments and blocks alike as lists and merges repeated blocks.
    Imported here: --derive runs with make's Python, which has no hcl2."""
    from hcl2.parser import Hcl2
    return Hcl2.lark_parser.parse(path.read_text() + "\n")


def check_file(tree, schema: dict) -> tuple[int, list[str]]:
    """(aws blocks checked, problems) of one parsed .tf file."""
    checked, problems = 0, []
    for item in tree.children[0].children:
        kind, labels = label(item.children[0]), [label(n) for n in item.children[1:-1]]
        if item.data != "block" or kind not in META or not labels or labels[0].split("_")[0] != "aws":
            continue  # not a block of the aws provider
        if kind == "provider":
            where, found = 'provider "aws"', schema["provider"]
        else:
            where, found = f'{kind} "{labels[0]}" "{labels[-1]}"', schema[kind].get(labels[0])
        checked += 1
        if found is None:
            problems.append(f'{where}, line {item.meta.line}: unknown {"resource type" if kind == "resource" else "data source"} "{labels[0]}"')
        else:
            problems += check_body(item.children[-1], found, META[kind], where)
    return checked, problems


def terraform_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.tf") if ".terraform" not in p.relative_to(folder).parts)


def schema_results(folder: Path, schema_file: Path = SCHEMA_FILE) -> list[dict]:
    """The scan's rows: one per .tf file with aws blocks (or that cannot be parsed)."""
    if not schema_file.is_file():
        return [{"check": CHECK, "resource": schema_file.name, "passed": False,
                 "why": f"no provider schema at {schema_file}: run make .tools/aws-provider-schema.json"}]
    schema = json.loads(schema_file.read_text())
    rows = []
    for path in terraform_files(folder):
        name = str(path.relative_to(folder))
        try:
            tree = parse(path)
        except Exception as error:  # lark's errors, or the file is not UTF-8
            rows.append({"check": CHECK, "resource": name, "passed": False, "why": f"could not parse: {str(error).splitlines()[0]}"})
            continue
        checked, problems = check_file(tree, schema)
        if checked:
            rows.append({"check": CHECK, "resource": name, "passed": not problems,
                         "why": "; ".join(problems) or f"{checked} block(s) match aws provider {schema['provider_version']}"})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PROJECT / "terraform")
    parser.add_argument("--schema", type=Path, default=SCHEMA_FILE)
    parser.add_argument("--derive", type=Path, metavar="WHEEL", help="write the schema from this cdktf wheel to --schema")
    arguments = parser.parse_args(argv)
    if arguments.derive:
        partial = arguments.schema.with_suffix(".partial")
        partial.write_text(json.dumps(derive_schema(arguments.derive), separators=(",", ":"), sort_keys=True))
        partial.replace(arguments.schema)
        return 0
    rows = schema_results(arguments.folder.resolve(), arguments.schema)
    for row in rows:
        print(f"{'PASS' if row['passed'] else 'FAIL'}  {row['resource']}: {row['why']}")
    if not rows:
        print(f"no aws resource, data or provider block in {arguments.folder}")
    return 0 if rows and all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
