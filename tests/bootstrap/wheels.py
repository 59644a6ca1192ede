"""Small real wheels and wheelhouses made inline, so that the bootstrap and stage tests download
nothing.

Usage:
    tiny_wheel(folder, "fruits-probe", "1.0")                       # -> folder/fruits_probe-1.0-py3-none-any.whl
    house = small_wheelhouse(tmp_path, {"fruits-probe": "1.0"})    # wheels + cluster.lock + SHA256SUMS
    house.lock                                                      # the lock it was sealed for
    wheelhouse_for_lock(folder, Path("requirements/cluster.lock"))  # tiny stand-ins, one per pin
    no_index_environment()                                          # pip can reach no index and no local wheels
    isolate_pip(monkeypatch, FRUITS_WHEELHOUSE=...)                 # the same, for this test's process
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

from fruits.cloud.wheelhouse import seal_wheelhouse


def tiny_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", version_text: str | None = None) -> Path:
    """A valid wheel holding one module, named after the distribution, whose VERSION is
    `version_text` (default: the version) so that a test can tell which wheel was installed."""
    dist = re.sub(r"[-_.]+", "_", name)
    module = dist.lower()
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version_text or version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def small_wheelhouse(folder: Path, pins: dict[str, str], name: str = "wheelhouse") -> SimpleNamespace:
    """A sealed wheelhouse with one tiny wheel per pin, and the lock (`name==version` lines) it is for."""
    lock = folder / f"{name}.lock"
    lock.write_text("".join(f"{package}=={version}\n" for package, version in pins.items()))
    house = folder / name
    for package, version in pins.items():
        tiny_wheel(house, package, version)
    seal_wheelhouse(house, lock)
    return SimpleNamespace(folder=house, lock=lock)


def wheelhouse_for_lock(folder: Path, lock: Path) -> Path:
    """A sealed wheelhouse of tiny stand-ins, one per pin of `lock` (e.g. the project's): enough
    for `fruits stage`, which checks names and hashes, never for installing the jobs."""
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            tiny_wheel(folder, *line.split("=="))
    seal_wheelhouse(folder, lock)
    return folder


def no_index_environment(**extra: str) -> dict[str, str]:
    """os.environ for a pip that can reach nothing: no config file (this machine's names local
    mirrors), no find-links, no index, and a dead index URL should anything ask for one."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    environment.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_INDEX_URL="http://127.0.0.1:9/simple/",
                       PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return environment


def isolate_pip(monkeypatch, **extra: str) -> None:
    """no_index_environment() for this process and what it starts, undone after the test."""
    for name in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(name)
    for name, value in no_index_environment(**extra).items():
        if name.startswith("PIP_") or name in extra:
            monkeypatch.setenv(name, value)
