"""One SparkSession (embedded, local[2]) for the pipeline tests, and sample subsets."""
from __future__ import annotations

import pytest

from fruits.session import build_session

from .images import copy_subset


@pytest.fixture(scope="session")
def spark():
    session = build_session("fruits-tests", master="local[2]", arrow_batch_size=64)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_sample(sample_images, tmp_path_factory):
    """4 real images of each of the 10 classes (40 images)."""
    return copy_subset(sample_images, tmp_path_factory.mktemp("small-sample"), per_class=4)
