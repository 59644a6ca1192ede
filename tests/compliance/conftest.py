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


def role_statement(platform: dict, role_suffix: str, sid: str) -> dict:
    """The statement `sid` of the inline policies of the role whose name ends in `role_suffix`."""
    role = next(role for name, role in platform["roles"].items() if name.endswith(role_suffix))
    return next(s for policy in role["policies"] for s in policy["Statement"] if s.get("Sid") == sid)


def failing_rows(platform: dict, who: str) -> set[tuple[str, str]]:
    """(action, why) of each access-matrix row about `who` that the policies do not meet."""
    import access_matrix

    return {(r["action"], r["why"]) for r in access_matrix.matrix(platform) if r["got"] != r["expect"] and r["who"] == who}


def as_list(value) -> list:
    """A statement's Action (or Resource): a string or a list, as a list."""
    return value if isinstance(value, list) else [value]
