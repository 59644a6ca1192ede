"""No state before the cluster's termination can outgrow Step Functions' payload quota: a state over
it fails the execution with States.DataLimitExceeded, which no Catch catches
(docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), so the cluster would
be left running. Every path of the rendered definition from its start to the two termination
states is walked; each state's result and each caught error adds a named slot to the state data,
bounded by botocore's models (an error name of 256 characters, a cause of 32,768, a cluster id of
256), each character at the 6 bytes of a JSON \\uXXXX escape. A result kept whole (no
ResultSelector) has no bound and fails the walk. With the largest input `fruits start` sends
(fruits.cloud.execution_input.MAX_INPUT_BYTES), the sum must fit the quota. After the termination,
the failure's record may copy the cause once more: the cluster is gone by then."""
from __future__ import annotations

import json

import botocore.session
import pytest

from fruits.cloud.execution_input import MAX_INPUT_BYTES, build_execution_input, input_bytes
from fruits.layout import DEFAULT_LAYOUT, BucketLayout
from tests.support.render_definition import render_test_definition

MODELS = botocore.session.get_session()
QUOTA = MODELS.get_service_model("stepfunctions").shape_for("StartExecutionInput").members["input"].metadata["max"]
FAILED = MODELS.get_service_model("stepfunctions").shape_for("TaskFailedEventDetails").members
ERROR_CHARS, CAUSE_CHARS = FAILED["error"].metadata["max"], FAILED["cause"].metadata["max"]
CLUSTER_ID_CHARS = MODELS.get_service_model("emr").shape_for("RunJobFlowOutput").members["JobFlowId"].metadata["max"]
BYTES_PER_CHAR = 6  # "\u00e9": the most one character can take in the state's JSON
# What a Task's ResultSelector may keep, by the path it reads from the result.
SELECTED_FIELDS = {"$.ClusterId": CLUSTER_ID_CHARS}
TEARDOWN = ("Terminate cluster", "Terminate cluster after failure")


class Unbounded(Exception):
    pass


def string_bytes(chars: int) -> int:
    return 2 + chars * BYTES_PER_CHAR  # the quotes, then every character escaped


def slot_bytes(name: str, fields: dict[str, int]) -> int:
    """A slot `"name": {"field": "...", ...}` added to the state data, each field at its maximum."""
    return string_bytes(len(name)) + 3 + sum(string_bytes(len(field)) + 2 + string_bytes(chars) for field, chars in fields.items())


def slot_name(path: str, state: str) -> str:
    if not path.startswith("$.") or "." in path[2:]:
        raise Unbounded(f"{state}: ResultPath {path} is not one top-level slot")
    return path[2:]


def result_slot(name: str, state: dict) -> dict[str, int]:
    """The slot a state's own result adds ({} for none)."""
    if state["Type"] in ("Choice", "Succeed", "Fail") or ("ResultPath" in state and state["ResultPath"] is None):
        return {}
    if state["Type"] == "Task" and "ResultSelector" in state:
        fields = {}
        for key, path in state["ResultSelector"].items():
            if not key.endswith(".$") or path not in SELECTED_FIELDS:
                raise Unbounded(f"{name}: its ResultSelector keeps {key}: {path}, whose size is not known")
            fields[key[:-2]] = SELECTED_FIELDS[path]
        return {slot_name(state.get("ResultPath", "$"), name): slot_bytes(slot_name(state.get("ResultPath", "$"), name), fields)}
    raise Unbounded(f"{name}: its whole result is kept (ResultPath {state.get('ResultPath', '$')!r}, no ResultSelector)")


def catch_slot(name: str, catcher: dict) -> dict[str, int]:
    path = catcher.get("ResultPath", "$")
    if path is None:
        return {}
    slot = slot_name(path, name)
    return {slot: slot_bytes(slot, {"Error": ERROR_CHARS, "Cause": CAUSE_CHARS})}


def successors(state: dict) -> list[tuple[str, dict | None]]:
    """(next state, the catcher that leads there, or None)."""
    following = [choice["Next"] for choice in state.get("Choices", [])] + [n for n in (state.get("Next"), state.get("Default")) if n]
    return [(target, None) for target in following] + [(catcher["Next"], catcher) for catcher in state.get("Catch", [])]


def leading_to_teardown(states: dict) -> set[str]:
    """The states from which a termination state can be reached: the only ones whose data matters here."""
    found = set(TEARDOWN)
    while True:
        more = {name for name, state in states.items() if name not in found and any(t in found for t, _ in successors(state))}
        if not more:
            return found
        found |= more


def largest_before_teardown(definition: dict) -> tuple[int, list[str]]:
    """(the most bytes the state data holds beyond the input on entering a termination state, the
    path that holds them); raises Unbounded for a slot it cannot bound. Both states must be reached."""
    states, best, reached = definition["States"], (0, []), set()
    relevant = leading_to_teardown(states)
    pending = [(definition["StartAt"], {}, [definition["StartAt"]])]
    seen = set()
    while pending:
        name, slots, path = pending.pop()
        if (name, tuple(sorted(slots.items()))) in seen:
            continue
        seen.add((name, tuple(sorted(slots.items()))))
        if name in TEARDOWN:
            reached.add(name)
            best = max(best, (sum(slots.values()), path))
            continue
        state = states[name]
        if state["Type"] in ("Parallel", "Map", "Pass", "Wait"):
            raise Unbounded(f"{name}: a {state['Type']} state before the termination is not bounded by this check")
        for target, catcher in successors(state):
            if target in relevant:
                added = result_slot(name, state) if catcher is None else catch_slot(name, catcher)
                pending.append((target, {**slots, **added}, path + [target]))
    assert reached == set(TEARDOWN), f"the walk reached {sorted(reached)} only"
    return best


@pytest.fixture(scope="module")
def definition(tmp_path_factory) -> dict:
    return json.loads(render_test_definition(tmp_path_factory.mktemp("definition")))


def test_the_largest_input_and_every_slot_fit_the_quota_until_the_cluster_is_terminated(definition):
    added, path = largest_before_teardown(definition)
    assert 190_000 < added < QUOTA, path  # one caught error at its largest, and the cluster id
    assert MAX_INPUT_BYTES + added <= QUOTA, f"{MAX_INPUT_BYTES} + {added} > {QUOTA} along {' -> '.join(path)}"


@pytest.mark.parametrize("keep_more", [
    lambda d: d["States"]["Extract features"].update(ResultPath="$.step"),
    lambda d: d["States"]["Create EMR cluster"].pop("ResultSelector"),
    lambda d: d["States"]["Create EMR cluster"]["ResultSelector"].update({"Cluster.$": "$"}),
], ids=["a-step-result-kept", "the-whole-cluster-kept", "a-selector-field-of-unknown-size"])
def test_a_result_kept_whole_before_the_termination_fails_the_check(definition, keep_more):
    changed = json.loads(json.dumps(definition))
    keep_more(changed)
    with pytest.raises(Unbounded):
        largest_before_teardown(changed)


def test_a_second_error_slot_before_the_termination_breaks_the_quota(definition):
    changed = json.loads(json.dumps(definition))
    changed["States"]["Create EMR cluster"]["Catch"][0]["Next"] = "Extract features"  # a failed start carries on
    changed["States"]["Create EMR cluster"]["Catch"][0]["ResultPath"] = "$.cluster_error"
    added, _ = largest_before_teardown(changed)
    assert MAX_INPUT_BYTES + added > QUOTA


def test_the_input_fruits_start_sends_today_is_far_below_its_cap():
    usual = build_execution_input(bucket="fruits-123456789012-eu-west-3", run_id="r" * 72, artifacts_prefix="artifacts/0123456789ab/",
                                  weights_key="artifacts/0123456789ab/weights/w.h5", images_prefix="images/" + "d" * 200 + "/")
    assert input_bytes(usual) < MAX_INPUT_BYTES / 10


def test_an_input_over_its_cap_is_refused_before_anything_is_sent():
    long = BucketLayout.from_prefixes({**DEFAULT_LAYOUT.as_dict(), "results": "r" * 60_000 + "/"})
    with pytest.raises(ValueError, match=r"the run's input would be [\d,]+ bytes, more than the 49,152 .* shorten the platform's prefixes"):
        build_execution_input(bucket="b", run_id="run", artifacts_prefix="artifacts/0123456789ab/", weights_key=None, layout=long)
