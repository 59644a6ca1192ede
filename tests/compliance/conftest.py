"""The platform's IAM and key policies, rendered once for the session by the offline Terraform
(compliance/iam_render.py, about 3.5 s): the tests that plant a wrong grant change a deep copy."""
from __future__ import annotations

import sys

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "compliance"))
from iam_render import render  # noqa: E402


@pytest.fixture(scope="session")
def platform():
    return render()
