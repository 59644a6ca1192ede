"""The EMR bootstrap script, run for real against throwaway virtualenvs (standing in for the
nodes' Python 3.11), installing from a wheelhouse with no index at all: the full lock installs
from the wheelhouse `make wheelhouse` builds and passes the smoke test, a second run changes
nothing; a wheelhouse missing a wheel, altered, unsealed or built for another lock, a pyspark
pin and a missing import fail the bootstrap with one clear line. Small cases use tiny wheels
made inline (tests/bootstrap/wheels.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name as canonical

from fruits.cloud.wheelhouse import CACHE, MANIFEST, TARGET, lock_digest, seal_wheelhouse
from tests.bootstrap.wheels import no_index_environment, small_wheelhouse, tiny_wheel
from tests.conftest import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "bootstrap" / "install-python-deps.sh"
LOCK = PROJECT_ROOT / "requirements" / "cluster.lock"
PROBE = "fruits_probe-1.0-py3-none-any.whl"
REGION = "eu-west-3"


NODE_TEMPLATE: list[Path] = []  # the venv that venv() copies, made once per module


@pytest.fixture(scope="module", autouse=True)
def node_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("node-template") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    NODE_TEMPLATE[:] = [folder]
    yield
    NODE_TEMPLATE.clear()


def venv(folder):
    """A fresh venv with pip at `folder`: a copy of the module's template (`python -m venv` took 6 s
    of CPU each here, a copy 0.2 s). The script runs `PYTHON -m pip`, which a copied venv serves
    (its bin/pip's first line still names the template)."""
    shutil.copytree(NODE_TEMPLATE[0], folder, symlinks=True)
    return folder / "bin" / "python"


def bootstrap(python, lock, wheelhouse, **settings) -> subprocess.CompletedProcess:
    """The script as EMR runs it, except that pip can reach no index and no local mirror."""
    environment = no_index_environment(FRUITS_PYTHON=str(python), FRUITS_NO_SUDO="1", TF_CPP_MIN_LOG_LEVEL="2", **settings)
    return subprocess.run(["bash", str(SCRIPT), str(lock), str(wheelhouse), REGION], capture_output=True, text=True, env=environment)


def imports(python, module: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", f"import {module}; print({module}.VERSION)"], capture_output=True, text=True)


@pytest.fixture
def probe(tmp_path):
    """A wheelhouse of two tiny packages, and its lock."""
    return small_wheelhouse(tmp_path, {"fruits-probe": "1.0", "fruits-other": "2.0"})


def test_shellcheck_is_clean():
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_full_lock_installs_from_the_wheelhouse_with_no_index_and_can_run_twice(tmp_path):
    wheelhouse = CACHE / TARGET / lock_digest(LOCK)
    assert (wheelhouse / MANIFEST).is_file(), f"no wheelhouse for {LOCK} in {wheelhouse}: run `make wheelhouse` first"
    python = venv(tmp_path / "node")
    first = bootstrap(python, LOCK, wheelhouse)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "bootstrap: smoke test passed" in first.stdout

    site = next((tmp_path / "node" / "lib").glob("python3.*/site-packages"))
    installed = {path: path.stat().st_mtime_ns for path in site.glob("*.dist-info/RECORD")}
    pins = {canonical(line.split("==")[0]) for line in LOCK.read_text().splitlines() if "==" in line}
    assert {canonical(path.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]) for path in installed} == pins | {"pip", "setuptools"}  # the venv's own two
    second = bootstrap(python, LOCK, wheelhouse)
    assert second.returncode == 0 and "smoke test passed" in second.stdout, second.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in site.glob("*.dist-info/RECORD")} == installed  # nothing reinstalled
    pyspark = subprocess.run([str(python), "-c", "import pyspark"], capture_output=True)
    assert pyspark.returncode == 1 and "No module named 'pyspark'" in pyspark.stderr.decode()  # EMR's Spark is left alone


def test_a_wheel_missing_from_the_wheelhouse_fails_the_bootstrap_before_installing(tmp_path, probe):
    (probe.folder / "fruits_other-2.0-py3-none-any.whl").unlink()
    python = venv(tmp_path / "node")
    result = bootstrap(python, probe.lock, probe.folder)
    assert result.returncode == 1
    assert f"bootstrap: the wheelhouse {probe.folder} does not match its SHA256SUMS: missing fruits_other-2.0-py3-none-any.whl" in result.stderr
    assert imports(python, "fruits_probe").returncode != 0  # pip never ran


def test_a_pin_without_a_wheel_fails_the_bootstrap_naming_the_package(tmp_path, probe):
    (probe.folder / "fruits_other-2.0-py3-none-any.whl").unlink()
    seal_wheelhouse(probe.folder, probe.lock)  # a consistent wheelhouse that lacks one pin
    python = venv(tmp_path / "node")
    result = bootstrap(python, probe.lock, probe.folder)
    assert result.returncode == 1
    assert f"bootstrap: the wheelhouse {probe.folder} has no wheel for fruits-other==2.0" in result.stderr
    assert imports(python, "fruits_probe").returncode != 0


def test_an_altered_wheel_fails_the_bootstrap(tmp_path, probe):
    (probe.folder / PROBE).write_bytes((probe.folder / PROBE).read_bytes() + b"\0")
    result = bootstrap(venv(tmp_path / "node"), probe.lock, probe.folder)
    assert result.returncode == 1 and f"does not match its SHA256SUMS: changed {PROBE}" in result.stderr


def test_a_wheel_the_manifest_does_not_list_is_never_installed(tmp_path, probe):
    # pip would prefer this more specific tag for the same pin, were it allowed to see it
    tiny_wheel(probe.folder, "fruits-probe", "1.0", tag="cp311-none-any", version_text="unverified")
    python = venv(tmp_path / "node")
    result = bootstrap(python, probe.lock, probe.folder)
    assert result.returncode == 1
    assert "smoke test failed" in result.stderr and "import tensorflow" in result.stderr  # it got past pip
    assert imports(python, "fruits_probe").stdout.strip() == "1.0"


def test_an_unsealed_wheelhouse_is_refused(tmp_path, probe):
    (probe.folder / MANIFEST).unlink()
    result = bootstrap(venv(tmp_path / "node"), probe.lock, probe.folder)
    assert result.returncode == 1
    assert f"bootstrap: {probe.folder} is not a complete wheelhouse (no SHA256SUMS" in result.stderr


def test_a_wheelhouse_built_for_another_lock_is_refused(tmp_path, probe):
    lock = tmp_path / "other.lock"
    lock.write_text("fruits-probe==1.0\n")
    result = bootstrap(venv(tmp_path / "node"), lock, probe.folder)
    assert result.returncode == 1 and f"bootstrap: the wheelhouse {probe.folder} was built for another lock" in result.stderr


def test_without_a_wheelhouse_the_script_says_how_to_call_it(tmp_path, probe):
    environment = no_index_environment(FRUITS_PYTHON=str(venv(tmp_path / "node")), FRUITS_NO_SUDO="1")
    result = subprocess.run(["bash", str(SCRIPT), str(probe.lock)], capture_output=True, text=True, env=environment)
    assert result.returncode == 1 and "usage: install-python-deps.sh LOCK WHEELHOUSE REGION" in result.stderr


def fake_aws(folder, bucket_folder):
    """An `aws` that records its arguments and serves `aws s3 cp [--recursive] s3://bucket/KEY DEST`
    from `bucket_folder`. (Not the AWS CLI: the test is of the arguments the script gives it.)"""
    folder.mkdir(parents=True, exist_ok=True)
    log, script = folder / "aws.log", folder / "aws"
    script.write_text(f'''#!/bin/bash
echo "$@" >> "{log}"
source="${{@: -2:1}}" destination="${{@: -1}}"
cp -r "{bucket_folder}/${{source#s3://bucket/}}" "$destination"
''')
    script.chmod(0o755)
    return log


def test_objects_are_fetched_from_the_buckets_region(tmp_path, probe):
    # Without --region the CLI on a node with no region configured asks us-east-1 first, which the
    # clusters' private subnet cannot reach (bootstrap/install-python-deps.sh names the pages).
    log = fake_aws(tmp_path / "bin", probe.folder.parent)
    environment = no_index_environment(FRUITS_PYTHON=str(venv(tmp_path / "node")), FRUITS_NO_SUDO="1",
                                       PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    result = subprocess.run(["bash", str(SCRIPT), f"s3://bucket/{probe.lock.name}", f"s3://bucket/{probe.folder.name}/", REGION],
                            capture_output=True, text=True, env=environment)
    assert "bootstrap: installing 2 pinned packages" in result.stdout, result.stderr  # it got the lock and the wheelhouse
    calls = log.read_text().splitlines()
    assert len(calls) == 2 and all(call.startswith(f"s3 cp --region {REGION} ") for call in calls), calls


@pytest.mark.parametrize("region", ["", "eu-west-3; rm -rf /", "EU-WEST-3"])
def test_a_missing_or_malformed_region_is_refused_before_any_download(tmp_path, probe, region):
    log = fake_aws(tmp_path / "bin", probe.folder.parent)
    environment = no_index_environment(FRUITS_PYTHON=str(venv(tmp_path / "node")), FRUITS_NO_SUDO="1",
                                       PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    result = subprocess.run(["bash", str(SCRIPT), f"s3://bucket/{probe.lock.name}", f"s3://bucket/{probe.folder.name}/", region],
                            capture_output=True, text=True, env=environment)
    assert result.returncode == 1 and not log.exists()
    expected = "usage: install-python-deps.sh LOCK WHEELHOUSE REGION" if not region else f"bootstrap: '{region}' is not an AWS region name"
    assert expected in result.stderr


def test_a_lock_that_pins_pyspark_is_refused(tmp_path):
    house = small_wheelhouse(tmp_path, {"fruits-probe": "1.0", "pyspark": "3.5.6"})
    result = bootstrap(venv(tmp_path / "node"), house.lock, house.folder)
    assert result.returncode == 1
    assert "it pins pyspark, and EMR provides Spark itself" in result.stderr


def test_a_missing_package_fails_the_smoke_test(tmp_path, probe):
    result = bootstrap(venv(tmp_path / "node"), probe.lock, probe.folder)  # installs fine, but the jobs' imports are missing
    assert result.returncode == 1
    assert "smoke test failed" in result.stderr and "import tensorflow" in result.stderr


def fake_dnf(folder, python_target=None, fails=False):
    """A `dnf` that records its arguments and, like AL2023's, puts python3.11 in place (a symlink
    to `python_target`), or fails. Returns (dnf path, log path, where python3.11 appears)."""
    folder.mkdir(parents=True, exist_ok=True)
    log, python = folder / "dnf.log", folder / "usr-bin" / "python3.11"
    install = "" if fails else f'mkdir -p "{python.parent}" && ln -sf "{python_target}" "{python}"\n'
    script = folder / "dnf"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n{install}exit {1 if fails else 0}\n')
    script.chmod(0o755)
    return script, log, python


def test_a_node_without_python311_gets_it_from_dnf_first(tmp_path, probe):
    dnf, log, python = fake_dnf(tmp_path / "dnf", python_target=venv(tmp_path / "node"))
    result = bootstrap(python, probe.lock, probe.folder, FRUITS_DNF=str(dnf))
    assert log.read_text().split() == ["install", "-y", "-q", "python3.11", "python3.11-pip"]
    assert "bootstrap: installing 2 pinned packages into Python 3.11" in result.stdout, result.stderr
    assert result.returncode == 1 and "smoke test failed" in result.stderr  # the tiny packages lack the jobs' imports: it got that far


def test_dnf_failing_to_install_python311_fails_the_bootstrap_clearly(tmp_path, probe):
    dnf, log, python = fake_dnf(tmp_path / "dnf", fails=True)
    result = bootstrap(python, probe.lock, probe.folder, FRUITS_DNF=str(dnf))
    assert result.returncode == 1
    assert f"bootstrap: {python} is missing and '{dnf} install python3.11 python3.11-pip' failed" in result.stderr


def test_a_node_with_python311_and_pip_does_not_call_dnf(tmp_path, probe):
    dnf, log, _ = fake_dnf(tmp_path / "dnf", fails=True)
    result = bootstrap(venv(tmp_path / "node"), probe.lock, probe.folder, FRUITS_DNF=str(dnf))
    assert not log.exists() and "bootstrap: installing 2 pinned packages" in result.stdout, result.stderr
    assert result.returncode == 1 and "smoke test failed" in result.stderr  # past pip, with no dnf
