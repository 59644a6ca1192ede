"""Which files of the `fruits` package the Spark jobs need on the cluster: the modules that
jobs/*.py import, followed through every import statement within the package (those inside
functions too), their parent packages, and the package data. `fruits stage` zips these and
nothing else (fruits.cloud.artifacts.package_zip), so the CLI, the cloud commands and the
rehearsal harness stay off the cluster.

Usage: `job_package_files(Path("src/fruits"), [Path("jobs/extract_features.py"), ...])`
-> [Path("src/fruits/__init__.py"), Path("src/fruits/checksums.py"), ..., Path("src/fruits/log4j2.properties"), ...]
The imports are read from the source (ast), never run: a module imported by a computed name
(importlib) would be missed, and none of the jobs' modules does that (the package zip's test
compares this list with what Python's modulefinder finds in the compiled code).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable, Iterator

PACKAGE_DATA = ("log4j2.properties",)  # pyproject.toml's [tool.setuptools.package-data] (a test keeps them equal)


def job_package_files(package: Path, entry_points: Iterable[Path]) -> list[Path]:
    """The package's files that `entry_points` need (modules and package data), sorted."""
    found: dict[str, Path] = {}
    pending = [name for script in entry_points for name in _imported_names(script, package_name=None)]
    while pending:
        parts = pending.pop().split(".")
        if parts[0] != package.name:
            continue
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            module = ".".join(parts[:depth])
            source = _source(package, parts[1:depth])
            if source is None:
                break  # a name defined in the module above, not a module
            if module not in found:
                found[module] = source
                pending += _imported_names(source, module if source.name == "__init__.py" else module.rpartition(".")[0])
    return sorted([*found.values(), *(package / name for name in PACKAGE_DATA)])


def _source(package: Path, parts: list[str]) -> Path | None:
    folder = package.joinpath(*parts)
    if (folder / "__init__.py").is_file():
        return folder / "__init__.py"
    if parts and folder.with_suffix(".py").is_file():
        return folder.with_suffix(".py")
    return None


def _imported_names(source: Path, package_name: str | None) -> list[str]:
    return list(_names(ast.parse(source.read_bytes(), filename=str(source)), package_name))


def _names(tree: ast.AST, package_name: str | None) -> Iterator[str]:
    """Every module an import statement may load: `from a import b` loads a, and a.b when b is a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            elif package_name is None:
                continue  # a relative import outside a package fails anyway
            else:  # `from . import x` in package a.b means a.b.x; `from ..y import x`, a.y and a.y.x
                parts = package_name.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
