"""Paths every test suite may need. The sample images and weights stay in ../shared (read
through the same settings a user would set); tests fail loudly when they are missing."""
from pathlib import Path

import pytest

from fruits.settings import DEFAULT_IMAGES, DEFAULT_WEIGHTS

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_images() -> Path:
    assert DEFAULT_IMAGES.is_dir(), f"the shared sample images are missing: {DEFAULT_IMAGES}"
    return DEFAULT_IMAGES


@pytest.fixture(scope="session")
def weights_file() -> Path:
    assert DEFAULT_WEIGHTS.is_file(), f"the shared MobileNetV2 weights are missing: {DEFAULT_WEIGHTS}"
    return DEFAULT_WEIGHTS
