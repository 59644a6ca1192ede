"""fruits.project: the checkout's files are found in one place, and a command that needs one says
so in one line when the package runs without a checkout (the package copied alone into a folder,
as an installed package is: nothing of the project's is deleted)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fruits import project
from fruits.errors import FruitsError
from fruits.layout import DEFAULT_LAYOUT
from tests.conftest import PROJECT_ROOT


def test_the_checkout_is_the_one_the_package_runs_from():
    assert project.CHECKOUT == PROJECT_ROOT
    assert project.checkout_file("jobs/extract_features.py", "this test") == PROJECT_ROOT / "jobs" / "extract_features.py"


def test_an_empty_folder_is_not_a_checkout(tmp_path):
    with pytest.raises(FruitsError) as error:
        project.checkout_file("jobs/extract_features.py", "`fruits stage`", root=tmp_path)
    assert str(error.value).startswith("`fruits stage` needs a checkout of the project: run it from one")
    assert str(error.value).endswith(f"(missing {tmp_path / 'jobs' / 'extract_features.py'})")


@pytest.mark.parametrize("needs_the_checkout", [
    lambda: __import__("fruits.cloud.artifacts", fromlist=["x"]).plan_artifacts(DEFAULT_LAYOUT, None, Path("/nonexistent")),
    lambda: __import__("fruits.cloud.wheelhouse", fromlist=["x"]).checkout_wheelhouse_prefix(DEFAULT_LAYOUT),
    lambda: __import__("fruits.cloud.demo_cluster", fromlist=["x"]).demo_notebook({}),
    lambda: __import__("fruits.rehearsal.definition", fromlist=["x"]).render_definition(Path("/nonexistent")),
], ids=["stage's files", "the checkout's wheelhouse", "the demo's notebook", "the rehearsal's Terraform"])
def test_each_command_that_needs_the_checkout_says_so(needs_the_checkout, tmp_path, monkeypatch):
    monkeypatch.setattr(project, "CHECKOUT", tmp_path)
    with pytest.raises(FruitsError, match=f"needs a checkout of the project: .* \\(missing {tmp_path}/"):
        needs_the_checkout()
    assert list(tmp_path.iterdir()) == []


def test_no_other_module_works_out_where_the_checkout_is():
    guesses = sorted(str(path.relative_to(PROJECT_ROOT)) for path in (PROJECT_ROOT / "src" / "fruits").rglob("*.py")
                     if "parents[" in path.read_text())
    assert guesses == ["src/fruits/project.py"]


def test_stage_from_the_package_alone_is_one_clear_line(tmp_path):
    site = tmp_path / "site-packages"
    shutil.copytree(PROJECT_ROOT / "src" / "fruits", site / "fruits", ignore=shutil.ignore_patterns("__pycache__"))
    platform = tmp_path / "platform.json"
    platform.write_text(json.dumps({"region": "eu-west-3", "bucket_name": "b", "kms_key_arn": "k", "state_machine_arn": "s"}))
    result = subprocess.run([sys.executable, "-c", "import sys; from fruits.cli import main; sys.exit(main(sys.argv[1:]))",
                             "stage", "--platform", str(platform)], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "FRUITS_AWS_ENDPOINT_URL": "http://127.0.0.1:9",
                                 "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"fruits: error: `fruits stage` needs a checkout of the project: run it from one, /path/to/repo/.venv/bin/fruits "
        f"(`make demo` makes it; or `pip install -e /path/to/repo`), not from a copy of the package alone "
        f"(missing {tmp_path / 'jobs' / 'extract_features.py'})"]
