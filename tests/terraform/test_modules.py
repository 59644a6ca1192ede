"""Every Terraform module that the offline tools can load: `init` (the aws provider from the
local mirror), `validate`, `terraform test` (mock provider: no AWS account) and `fmt -check`."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

MODULES = {"state-machine-definition": 4, "pipeline": 3, "iam": 2}  # module -> number of test runs


def terraform(*arguments, cwd):
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "tools" / "terraform"), *arguments, "-no-color"],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_validates_and_its_tests_pass(module):
    folder = PROJECT_ROOT / "terraform" / "modules" / module
    init = terraform("init", "-backend=false", "-input=false", cwd=folder)
    assert init.returncode == 0, init.stderr
    validate = terraform("validate", cwd=folder)
    assert validate.returncode == 0, validate.stderr
    result = terraform("test", cwd=folder)
    assert result.returncode == 0 and f"{MODULES[module]} passed, 0 failed" in result.stdout, result.stdout + result.stderr


def test_terraform_code_is_formatted():
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "tools" / "terraform"), "fmt", "-check", "-recursive"],
                            cwd=PROJECT_ROOT / "terraform", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"not formatted: {result.stdout}"
