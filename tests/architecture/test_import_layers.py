"""The package's layers import one way only (docs/architecture.md): the core modules import no
other layer; the steps import only the core (the jobs ship them to EMR in the package zip); the
cloud layer imports neither the commands nor the rehearsal; only commands import commands."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "fruits"
LAYERS = ("steps", "cloud", "rehearsal", "commands")
MAY_IMPORT = {  # layer -> the layers it may import (besides itself)
    "core": set(),
    "steps": {"core"},
    "cloud": {"core"},
    "rehearsal": {"core", "cloud"},
    "commands": {"core", "steps", "cloud", "rehearsal"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "core"


def module_name(path: Path) -> str:
    return ".".join(("fruits", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


def fruits_imports(source: str) -> set[str]:
    """Every `fruits...` module that `source` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fruits":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "fruits")
    return found


def wrong_way(module: str, source: str) -> list[str]:
    allowed = MAY_IMPORT[layer_of(module)] | {layer_of(module)}
    return [f"{module} ({layer_of(module)}) imports {imported} ({layer_of(imported)})"
            for imported in sorted(fruits_imports(source)) if layer_of(imported) not in allowed]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_go_one_way(path):
    assert wrong_way(module_name(path), path.read_text()) == []


@pytest.mark.parametrize("module, planted", [
    ("fruits.images", "def later():\n    from fruits.cloud.aws import aws_client\n"),
    ("fruits.steps.extract_step", "import fruits.commands.local\n"),
    ("fruits.cloud.results", "from fruits.rehearsal.emulator import MotoServer\n"),
])
def test_an_import_the_wrong_way_is_caught(module, planted):
    path = PACKAGE / Path(*module.split(".")[1:]).with_suffix(".py")
    assert wrong_way(module, path.read_text() + "\n" + planted) != []
