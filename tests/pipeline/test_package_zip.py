"""The package zip that `fruits stage` sends to EMR (spark-submit --py-files): exactly the modules
the two jobs import and the package data, nothing of the CLI, the cloud commands or the
rehearsal harness; the same bytes for the same code; and enough on its own to import every
module it holds. (tests/pipeline/test_spark_submit_jobs.py runs both jobs from it.)"""
from __future__ import annotations

import json
import subprocess
import tomllib
import zipfile
from modulefinder import ModuleFinder
from pathlib import Path

import pytest

from fruits.cloud.artifacts import package_zip
from fruits.cloud.job_package import PACKAGE_DATA, job_package_files
from tests.conftest import PROJECT_ROOT

from .node_python import environment_without_pythonpath, python_without_fruits

SOURCE = PROJECT_ROOT / "src"
JOBS = [PROJECT_ROOT / "jobs" / "extract_features.py", PROJECT_ROOT / "jobs" / "reduce_dimensions.py"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return package_zip(tmp_path_factory.mktemp("package") / "fruits.zip")


def modules_found_by_python(job: Path) -> set[str]:
    """The package's files that job imports, as Python's modulefinder sees them in the compiled code
    (imports inside functions included); with only src/ on its path, it stops at other packages."""
    finder = ModuleFinder(path=[str(SOURCE)])
    finder.run_script(str(job))
    return {str(Path(module.__file__).relative_to(SOURCE)) for name, module in finder.modules.items()
            if name.split(".")[0] == "fruits"}


def test_the_zip_holds_what_the_jobs_import_and_the_package_data_only(archive):
    names = set(zipfile.ZipFile(archive).namelist())
    expected = set.union(*(modules_found_by_python(job) for job in JOBS)) | {f"fruits/{name}" for name in PACKAGE_DATA}
    assert names == expected
    assert {"fruits/__init__.py", "fruits/steps/extract_step.py", "fruits/steps/reduce_step.py", "fruits/plots.py",
            "fruits/log4j2.properties"} <= names  # plots: imported inside a function
    assert [name for name in names if name.startswith(("fruits/rehearsal/", "fruits/commands/", "fruits/cloud/"))] == []
    assert "fruits/cli.py" not in names


def test_imports_are_followed_into_functions_parent_packages_and_relative_imports(tmp_path):
    sources = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import helper  # a name in b\n",
        "pkg/b.py": "def helper():\n    from . import c\n",
        "pkg/c.py": "from .sub.d import name\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/d.py": "import os\nname = os.name\n",
        "pkg/never_imported.py": "import pkg.a\n",
        "job.py": "import sys\nfrom pkg import a\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    files = job_package_files(tmp_path / "pkg", [tmp_path / "job.py"])
    assert [str(path.relative_to(tmp_path)) for path in files] == [
        "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/log4j2.properties", "pkg/sub/__init__.py", "pkg/sub/d.py"]


def test_the_zip_is_the_same_bytes_for_the_same_code(archive, tmp_path):
    again = package_zip(tmp_path / "again.zip")
    assert again.read_bytes() == archive.read_bytes()
    entries = zipfile.ZipFile(archive).infolist()
    assert [entry.filename for entry in entries] == sorted(entry.filename for entry in entries)
    assert {entry.date_time for entry in entries} == {(2020, 1, 1, 0, 0, 0)}


def test_the_package_data_shipped_is_the_package_data_pyproject_installs():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["package-data"] == {"fruits": list(PACKAGE_DATA)}


IMPORT_EVERY_MODULE = """
import importlib, json, sys, zipfile
archive = sys.argv[1]
try:
    import fruits
    before = fruits.__file__
except ImportError:
    before = None
sys.path.insert(0, archive)
modules = [name[:-3].removesuffix("/__init__").replace("/", ".") for name in zipfile.ZipFile(archive).namelist() if name.endswith(".py")]
print(json.dumps({"before": before, "from": {name: importlib.import_module(name).__file__ for name in modules}}))
"""


def test_every_module_in_the_zip_imports_from_the_zip_alone(archive, tmp_path):
    python = python_without_fruits(tmp_path / "node")
    result = subprocess.run([str(python), "-c", IMPORT_EVERY_MODULE, str(archive)], capture_output=True, text=True,
                            cwd=tmp_path, env=environment_without_pythonpath())
    assert result.returncode == 0, result.stderr[-3000:]
    imported = json.loads(result.stdout)
    assert imported["before"] is None  # the package is not importable otherwise on this "node"
    assert len(imported["from"]) == len([name for name in zipfile.ZipFile(archive).namelist() if name.endswith(".py")])
    assert [file for file in imported["from"].values() if not file.startswith(f"{archive}/fruits/")] == []
