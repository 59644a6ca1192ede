"""One SparkSession (embedded, local[2]) for the pipeline tests, and sample subsets. Every test
that uses it is marked slow (the JVM's start alone takes about 15 s here), so that `make check`
(`pytest -m "not slow"`) never starts Spark."""
from __future__ import annotations

import subprocess

import pytest

from fruits.session import build_session

from .images import copy_subset


def pytest_collection_modifyitems(items):
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def spark():
    session = build_session("fruits-tests", master="local[2]", arrow_batch_size=64)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_sample(sample_images, tmp_path_factory):
    """4 real images of each of the 10 classes (40 images)."""
    return copy_subset(sample_images, tmp_path_factory.mktemp("small-sample"), per_class=4)


@pytest.fixture
def small_device(tmp_path):
    """A 64 KiB file system (tmpfs), mounted for the test: a device that fills up. Needs root."""
    folder = tmp_path / "small-device"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)  # lazy: Spark may still hold a file open there
