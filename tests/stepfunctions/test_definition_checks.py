"""Static checks of the state machine definition: npm @wmfs/statelint on the definition the
offline Terraform renders (and on broken ones, to show the check can fail), and the Catch
rules. The module's own `terraform test` runs in the compliance scan (tests/compliance)."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import PROJECT_ROOT
from tests.support.render_definition import render_test_definition

STATELINT = PROJECT_ROOT / "node_modules" / ".bin" / "statelint"


def statelint(path) -> subprocess.CompletedProcess:
    assert STATELINT.exists(), "run make node_modules/.installed (npm ci) first"
    return subprocess.run([str(STATELINT), str(path)], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    return json.loads(render_test_definition(tmp_path_factory.mktemp("definition")))


def test_statelint_accepts_the_rendered_definition(rendered, tmp_path):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(rendered))
    result = statelint(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("break_it", [
    lambda d: d["States"]["Extract features"].update(Next="No such state"),
    lambda d: d["States"]["Reduce dimensions"].pop("Resource"),
    lambda d: d.update(StartAt="Missing"),
], ids=["next-to-missing-state", "task-without-resource", "bad-start"])
def test_statelint_rejects_a_broken_definition(rendered, tmp_path, break_it):
    broken = json.loads(json.dumps(rendered))
    break_it(broken)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert statelint(path).returncode != 0


def test_every_state_after_cluster_creation_is_caught(rendered):
    """Once the cluster exists, any error must lead to its termination."""
    for name in ("Extract features", "Reduce dimensions"):
        catches = rendered["States"][name]["Catch"]
        assert catches[0]["ErrorEquals"] == ["States.ALL"] and catches[0]["Next"] == "Terminate cluster after failure"
    assert rendered["States"]["Terminate cluster"]["Catch"][0]["Next"] == "Cluster termination failed"
