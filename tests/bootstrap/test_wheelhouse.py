"""fruits.cloud.wheelhouse, in process: `pip download` runs for real against a local folder of
tiny wheels (no index, no config: nothing leaves the machine), for the nodes' platform; the
result is sealed with SHA256SUMS last, cached by the lock's hash, and checked when opened."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from fruits.cloud.wheelhouse import (
    MANIFEST, TARGET, build_wheelhouse, local_wheelhouse, lock_digest, missing_wheels, open_wheelhouse, seal_wheelhouse)
from fruits.errors import FruitsError
from tests.bootstrap.wheels import isolate_pip, small_wheelhouse, tiny_wheel


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A folder of wheels that pip reads as its only source (PIP_FIND_LINKS, no index)."""
    folder = tmp_path / "index"
    folder.mkdir()
    isolate_pip(monkeypatch, PIP_FIND_LINKS=str(folder))
    return folder


def write_lock(tmp_path, text: str):
    lock = tmp_path / "cluster.lock"
    lock.write_text(text)
    return lock


def test_build_takes_each_pin_as_a_wheel_for_the_nodes_and_seals_the_folder(tmp_path, local_index):
    tiny_wheel(local_index, "alpha", "1.0")
    tiny_wheel(local_index, "Beta_Pkg", "2.0", tag="cp311-cp311-manylinux_2_28_x86_64")
    tiny_wheel(local_index, "Beta_Pkg", "2.0", tag="cp311-cp311-manylinux_2_35_x86_64")  # newer glibc than AL2023's
    tiny_wheel(local_index, "Beta_Pkg", "2.0", tag="cp312-cp312-manylinux_2_28_x86_64")  # another Python
    lock = write_lock(tmp_path, "# comment\nalpha==1.0\nbeta-pkg==2.0\n")

    house = build_wheelhouse(lock, tmp_path / "cache", show=False)

    assert house.folder == tmp_path / "cache" / TARGET / lock_digest(lock)
    assert sorted(house.files) == ["Beta_Pkg-2.0-cp311-cp311-manylinux_2_28_x86_64.whl", "alpha-1.0-py3-none-any.whl", "cluster.lock"]
    assert (house.folder / "cluster.lock").read_bytes() == lock.read_bytes()
    checked = subprocess.run(["sha256sum", "--check", "--strict", MANIFEST], cwd=house.folder, capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.count(": OK") == 3, checked.stdout + checked.stderr
    assert [p.name for p in (tmp_path / "cache" / TARGET).iterdir()] == [lock_digest(lock)]  # no scratch left

    shutil.rmtree(local_index)  # the second build finds the cache: nothing to download
    again = build_wheelhouse(lock, tmp_path / "cache", show=False)
    assert again.folder == house.folder and again.files == house.files


@pytest.mark.parametrize("only", ["sdist", "newer glibc", "macOS"])
def test_a_pin_with_no_wheel_for_the_nodes_is_one_clear_error_and_caches_nothing(tmp_path, local_index, only):
    tiny_wheel(local_index, "alpha", "1.0")
    if only == "sdist":
        (local_index / "gamma-3.0.tar.gz").write_bytes(b"an sdist: never built on a node")
    else:
        tiny_wheel(local_index, "gamma", "3.0", tag="cp311-cp311-" + ("manylinux_2_35_x86_64" if only == "newer glibc" else "macosx_11_0_arm64"))
    lock = write_lock(tmp_path, "alpha==1.0\ngamma==3.0\n")

    with pytest.raises(FruitsError) as error:
        build_wheelhouse(lock, tmp_path / "cache", show=False)

    assert "gamma==3.0" in str(error.value) and "no wheel for Linux x86_64, CPython 3.11" in str(error.value)
    assert "\n" not in str(error.value)
    assert list((tmp_path / "cache" / TARGET).iterdir()) == []


def test_a_build_left_half_done_is_never_taken_as_complete(tmp_path, local_index):
    tiny_wheel(local_index, "alpha", "1.0")
    tiny_wheel(local_index, "delta", "4.0")
    lock = write_lock(tmp_path, "alpha==1.0\ndelta==4.0\n")
    killed = tmp_path / "cache" / TARGET / f".building-{lock_digest(lock)}-killed"  # what a killed build leaves
    tiny_wheel(killed, "alpha", "1.0")

    with pytest.raises(FruitsError, match="not a complete wheelhouse"):
        open_wheelhouse(killed, lock)
    house = build_wheelhouse(lock, tmp_path / "cache", show=False)
    assert sorted(house.wheels) == ["alpha-1.0-py3-none-any.whl", "delta-4.0-py3-none-any.whl"]


def test_opening_checks_the_lock_the_manifest_and_the_pins(tmp_path):
    house = small_wheelhouse(tmp_path, {"fruits-probe": "1.0", "fruits-other": "2.0"})
    assert sorted(open_wheelhouse(house.folder, house.lock).wheels) == [
        "fruits_other-2.0-py3-none-any.whl", "fruits_probe-1.0-py3-none-any.whl"]

    another = write_lock(tmp_path, "fruits-probe==1.1\n")
    with pytest.raises(FruitsError, match="was built for another lock"):
        open_wheelhouse(house.folder, another)

    (house.folder / "fruits_other-2.0-py3-none-any.whl").write_bytes(b"altered")
    with pytest.raises(FruitsError, match=r"does not match its SHA256SUMS: changed fruits_other-2\.0-py3-none-any\.whl"):
        open_wheelhouse(house.folder, house.lock)

    (house.folder / "fruits_other-2.0-py3-none-any.whl").unlink()
    with pytest.raises(FruitsError, match=r"does not match its SHA256SUMS: missing fruits_other-2\.0-py3-none-any\.whl"):
        open_wheelhouse(house.folder, house.lock)

    seal_wheelhouse(house.folder, house.lock)  # sealed again without it: consistent, but a pin has no wheel
    with pytest.raises(FruitsError, match=r"has no wheel for fruits-other==2\.0"):
        open_wheelhouse(house.folder, house.lock)


def test_a_manifest_that_is_not_text_is_one_clear_error(tmp_path):
    """`fruits stage --wheelhouse DIR` whose SHA256SUMS holds bytes that are not UTF-8 ended in a UnicodeDecodeError traceback."""
    house = small_wheelhouse(tmp_path, {"fruits-probe": "1.0"})
    (house.folder / MANIFEST).write_bytes(b"\xff\xfe not a manifest\n")
    with pytest.raises(FruitsError, match=r"SHA256SUMS is not a SHA256SUMS file: it is not text"):
        open_wheelhouse(house.folder, house.lock)


def test_pins_match_wheels_whatever_the_spelling_of_the_name():
    pins = ["Pygments==2.21.0", "ml_dtypes==0.6.0", "tensorflow_cpu==2.21.0", "python-dateutil==2.9.0.post0", "six==1.17.0"]
    wheels = ["pygments-2.21.0-py3-none-any.whl", "ml_dtypes-0.6.0-cp311-cp311-manylinux_2_27_x86_64.whl",
              "tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl", "python_dateutil-2.9.0.post0-py2.py3-none-any.whl"]
    assert missing_wheels(pins, wheels) == ["six==1.17.0"]


def test_fruits_wheelhouse_names_a_prebuilt_one_that_is_used_as_it_is(tmp_path, monkeypatch):
    house = small_wheelhouse(tmp_path, {"fruits-probe": "1.0"})
    monkeypatch.setenv("FRUITS_WHEELHOUSE", str(house.folder))
    assert local_wheelhouse(house.lock, show=False).folder == house.folder
    assert local_wheelhouse(house.lock, str(house.folder), show=False).folder == house.folder
    (house.folder / MANIFEST).unlink()
    with pytest.raises(FruitsError, match="not a complete wheelhouse"):
        local_wheelhouse(house.lock, show=False)


def test_an_unreachable_index_is_said_as_such_not_as_a_missing_wheel(tmp_path, monkeypatch):
    isolate_pip(monkeypatch, PIP_RETRIES="1")
    monkeypatch.delenv("PIP_NO_INDEX")  # the dead index URL is tried, and refuses the connection
    lock = write_lock(tmp_path, "alpha==1.0\n")
    with pytest.raises(FruitsError) as error:
        build_wheelhouse(lock, tmp_path / "cache", show=False)
    assert "could not reach the package index http://127.0.0.1:9/simple/" in str(error.value)
    assert "no wheel for" not in str(error.value) and list((tmp_path / "cache" / TARGET).iterdir()) == []


def test_a_lock_line_that_is_not_an_exact_pin_is_refused_by_number(tmp_path, local_index):
    lock = write_lock(tmp_path, "alpha==1.0\nnumpy>=2\n")
    with pytest.raises(FruitsError, match=r"cluster\.lock line 2 is not `name==version`: 'numpy>=2'"):
        build_wheelhouse(lock, tmp_path / "cache", show=False)
