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


CLUSTER_GONE = {"Terminate cluster", "Terminate cluster after failure", "Keep that the cluster ended while starting"}


def fail_states_reached_with_the_cluster_alive(definition: dict) -> set[str]:
    """The Fail states some path reaches from the cluster's creation (RunJobFlow answered) without
    passing a termination, or the record that EMR itself ended the cluster."""
    states, seen, pending, reached = definition["States"], set(), [definition["States"]["Create EMR cluster"]["Next"]], set()
    while pending:
        name = pending.pop()
        if name in seen or name in CLUSTER_GONE:
            continue
        seen.add(name)
        state = states[name]
        if state["Type"] == "Fail":
            reached.add(name)
        pending += [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]
        pending += [n for n in (state.get("Next"), state.get("Default")) if n]
    return reached


def test_no_fail_state_is_reached_before_the_cluster_is_terminated(rendered):
    """A run ends in a Fail state only once its cluster is terminated (or EMR ended it): whatever
    that state then does with an oversized cause (its limit is 32,768 characters,
    API_ExecutionFailedEventDetails.html; AWS does not document what a longer CausePath gives), the
    cluster is already gone."""
    assert fail_states_reached_with_the_cluster_alive(rendered) == set()


@pytest.mark.parametrize("skip_the_termination", [
    lambda d: d["States"]["Extract features"]["Catch"][0].update(Next="Record why the pipeline failed"),
    lambda d: d["States"]["Note that the start timed out"].update(Next="Cluster creation failed"),
    lambda d: d["States"]["Check the cluster"]["Catch"][0].update(Next="Record why the cluster failed"),
], ids=["step-error-recorded-first", "start-timeout-fails-at-once", "check-error-as-creation-error"])
def test_a_path_to_a_fail_state_that_skips_the_termination_is_found(rendered, skip_the_termination):
    changed = json.loads(json.dumps(rendered))
    skip_the_termination(changed)
    assert fail_states_reached_with_the_cluster_alive(changed)
