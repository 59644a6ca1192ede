"""The Terraform part of the scan: fmt, and validate + `terraform test` where the offline aws
provider (3.39, see ../shared/FACTS.md) can load the code."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

# Modules the offline provider can load, and those it cannot (they use resources newer than
# 3.39): checkov and trivy scan every module either way.
OFFLINE_MODULES = ("iam", "network", "pipeline", "state-machine-definition")
SCAN_ONLY_MODULES = {"storage": "standalone S3 bucket resources need aws >= 4.0",
                     "cost-guard": "the budget's cost_filter block needs aws > 3.39"}
OFFLINE_PROVIDER = 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'


def run(terraform: list[str], *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*terraform, *arguments, "-no-color"], cwd=cwd, capture_output=True, text=True, timeout=600)


def last_line(process: subprocess.CompletedProcess) -> str:
    lines = [line for line in (process.stdout + process.stderr).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit {process.returncode}"


def check_formatting(terraform: list[str], folder: Path) -> dict:
    result = run(terraform, "fmt", "-check", "-recursive", cwd=folder)
    return {"check": "terraform fmt", "resource": folder.name, "passed": result.returncode == 0,
            "why": "not formatted: " + " ".join(result.stdout.split()) if result.returncode else ""}


def check_modules_are_listed(folder: Path) -> dict:
    found = {p.name for p in (folder / "modules").iterdir() if p.is_dir()}
    unlisted = sorted(found - set(OFFLINE_MODULES) - set(SCAN_ONLY_MODULES))
    return {"check": "module coverage", "resource": "modules/", "passed": not unlisted,
            "why": f"not in terraform_checks.py: {unlisted}" if unlisted else ""}


def check_module(terraform: list[str], module: Path) -> dict:
    """init (local mirror), validate, then the module's own tests with the mock provider."""
    for arguments in (("init", "-backend=false", "-input=false"), ("validate",), ("test",)):
        result = run(terraform, *arguments, cwd=module)
        if result.returncode != 0:
            return {"check": "terraform " + arguments[0], "resource": f"modules/{module.name}", "passed": False, "why": last_line(result)}
    ran = " 0 passed" not in result.stdout and " passed, 0 failed" in result.stdout
    return {"check": "terraform validate + test", "resource": f"modules/{module.name}", "passed": ran,
            "why": "" if ran else f"no test ran: {last_line(result)}"}


def check_variable_tests(terraform: list[str], folder: Path, check: str, resource: str) -> dict:
    """`folder`'s own tests, on a copy of its variables.tf alone: for code the offline provider cannot
    load whole, whose tests only exercise variable validations (with the mock provider)."""
    if not (folder / "tests").is_dir():
        return {"check": check, "resource": resource, "passed": False, "why": f"no tests/ in {folder.name}"}
    with tempfile.TemporaryDirectory(prefix="variable-tests-") as scratch:
        copy = Path(scratch)
        shutil.copy(folder / "variables.tf", copy)
        shutil.copytree(folder / "tests", copy / "tests")
        (copy / "offline_provider.tf").write_text(OFFLINE_PROVIDER)
        result = run(terraform, "init", "-backend=false", "-input=false", cwd=copy)
        if result.returncode == 0:
            result = run(terraform, "test", cwd=copy)
    ran = result.returncode == 0 and " 0 passed" not in result.stdout
    return {"check": check, "resource": resource, "passed": ran, "why": last_line(result)}


def check_root_region_validation(terraform: list[str], folder: Path) -> dict:
    """The root's own region tests, on a copy of its variables.tf (the whole root needs aws >= 4)."""
    return check_variable_tests(terraform, folder, "terraform test (region validation)", "root variables.tf")


def check_scan_only_module_tests(terraform: list[str], folder: Path) -> list[dict]:
    """The tests of each module the offline provider cannot load (what AWS refuses of its inputs), on
    a copy of its variables.tf."""
    return [check_variable_tests(terraform, folder / "modules" / name, "terraform test (variable validation)",
                                 f"modules/{name} variables.tf")
            for name in SCAN_ONLY_MODULES if (folder / "modules" / name).is_dir()]


def terraform_results(terraform: list[str], folder: Path) -> list[dict]:
    results = [check_formatting(terraform, folder), check_modules_are_listed(folder)]
    results += [check_module(terraform, folder / "modules" / name) for name in OFFLINE_MODULES]
    results.append(check_root_region_validation(terraform, folder))
    results += check_scan_only_module_tests(terraform, folder)
    return results
