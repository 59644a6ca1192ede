"""No state before the cluster's termination can outgrow Step Functions' payload quota: a state over
it fails the execution with States.DataLimitExceeded, which no Catch catches
(docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), so the cluster would
be left running. Every path of the rendered definition from its start to the two termination
states is walked; each state's result and each caught error adds a named slot to the state data,
bounded by botocore's models (an error name of 256 characters, a cause of 32,768, a cluster id of
256, a cluster state's longest name), each character at the 6 bytes of a JSON \\uXXXX escape; the
loop that waits for the cluster adds nothing on each turn (its slots keep their size). A result kept whole (no
ResultSelector) has no bound and fails the walk. With the largest input `fruits start` sends
(fruits.cloud.execution_input.MAX_INPUT_BYTES), the sum must fit the quota; and every state of
every path, to the Fail states, fits it too (the failure's record replaces the state data with
the cause instead of copying the cause beside the error)."""
from __future__ import annotations

import json

import botocore.session
import pytest

from fruits.cloud.execution_input import MAX_INPUT_BYTES, build_execution_input, input_bytes
from tests.support.render_definition import render_test_definition

MODELS = botocore.session.get_session()
QUOTA = MODELS.get_service_model("stepfunctions").shape_for("StartExecutionInput").members["input"].metadata["max"]
FAILED = MODELS.get_service_model("stepfunctions").shape_for("TaskFailedEventDetails").members
ERROR_CHARS, CAUSE_CHARS = FAILED["error"].metadata["max"], FAILED["cause"].metadata["max"]
CLUSTER_ID_CHARS = MODELS.get_service_model("emr").shape_for("RunJobFlowOutput").members["JobFlowId"].metadata["max"]
CLUSTER_STATE_CHARS = max(map(len, MODELS.get_service_model("emr").shape_for("ClusterState").enum))
NUMBER_CHARS = 20  # a count the definition keeps (States.MathAdd): far fewer digits in fact
BYTES_PER_CHAR = 6  # "\u00e9": the most one character can take in the state's JSON
# What a Task's ResultSelector may keep, by the path it reads from the result.
SELECTED_FIELDS = {"$.JobFlowId": CLUSTER_ID_CHARS, "$.Cluster.Status.State": CLUSTER_STATE_CHARS}
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
    if state["Type"] in ("Choice", "Wait", "Succeed", "Fail") or ("ResultPath" in state and state["ResultPath"] is None):
        return {}
    if state["Type"] == "Task" and "ResultSelector" in state:
        slot = slot_name(state.get("ResultPath", "$"), name)
        return {slot: string_bytes(len(slot)) + 1 + parameters_bytes(name, state["ResultSelector"], SELECTED_FIELDS)}
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


# The fields of the state data a Pass state may copy or format, at their largest (characters).
STATE_FIELDS = {"$.error.Error": ERROR_CHARS, "$.error.Cause": CAUSE_CHARS, "$.cluster.ClusterId": CLUSTER_ID_CHARS,
                "$.cluster.Checks": NUMBER_CHARS, "$.cluster_state.State": CLUSTER_STATE_CHARS}


def parameters_bytes(name: str, parameters: dict, fields: dict[str, int] = STATE_FIELDS) -> int:
    """Parameters (or a ResultSelector) at their largest: literals as written, a copied field of
    known size, States.Format of such fields, States.MathAdd (a number)."""
    size = 2
    for key, value in parameters.items():
        if not key.endswith(".$"):
            size += len(json.dumps({key: value})) + 1
            continue
        if value in fields:
            chars = fields[value]
        elif value.startswith("States.MathAdd(") and all(a.strip() in fields for a in value[15:-1].split(",")[:1]):
            chars = NUMBER_CHARS
        elif value.startswith("States.Format('"):
            template, _, arguments = value[len("States.Format('"):].partition("',")
            paths = [a.strip() for a in arguments.rstrip(")").split(",")]
            if any(path not in fields for path in paths):
                raise Unbounded(f"{name}: {value} formats a field of unknown size")
            chars = len(template) - 2 * template.count("{}") + sum(fields[path] for path in paths)
        else:
            raise Unbounded(f"{name}: {key} {value} has no known size")
        size += string_bytes(len(key) - 2) + 2 + string_bytes(chars)
    return size


def walk(definition: dict) -> list[tuple[str, bool, int, list[str]]]:
    """Every state every path enters: (name, whether the input is still in its data, the bytes of
    its data beyond the input, the path). Raises Unbounded for data it cannot bound."""
    states, entered, seen = definition["States"], [], set()
    pending = [(definition["StartAt"], True, {}, [definition["StartAt"]])]
    while pending:
        name, with_input, slots, path = pending.pop()
        key = (name, with_input, tuple(sorted(slots.items())))
        if key in seen:
            continue
        seen.add(key)
        entered.append((name, with_input, sum(slots.values()), path))
        state = states[name]
        if state["Type"] in ("Parallel", "Map"):
            raise Unbounded(f"{name}: a {state['Type']} state is not bounded by this check")
        for target, catcher in successors(state):
            if catcher is not None:
                after = (with_input, {**slots, **catch_slot(name, catcher)})
            elif state["Type"] == "Pass":
                size = parameters_bytes(name, state.get("Parameters", {}))
                path_to = state.get("ResultPath", "$")
                after = (False, {"": size}) if path_to == "$" else (with_input, {**slots, slot_name(path_to, name): size})
            else:
                after = (with_input, {**slots, **result_slot(name, state)})
            pending.append((target, *after, path + [target]))
    return entered


def largest_before_teardown(definition: dict) -> tuple[int, list[str]]:
    """(the most bytes the state data holds beyond the input on entering a termination state, the
    path that holds them). Both termination states must be reached."""
    entered = [(added, path) for name, with_input, added, path in walk(definition) if name in TEARDOWN]
    assert {path[-1] for _, path in entered} == set(TEARDOWN), "a termination state is never reached"
    return max(entered)


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
    lambda d: d["States"]["Check the cluster"]["ResultSelector"].update({"Reason.$": "$.Cluster.Status.StateChangeReason"}),
    lambda d: d["States"]["Count the check"]["Parameters"].update({"Seen.$": "States.Array($.cluster.Checks)"}),
], ids=["a-step-result-kept", "the-whole-cluster-kept", "a-selector-field-of-unknown-size", "the-clusters-reason-kept",
        "a-pass-field-of-unknown-size"])
def test_a_result_kept_whole_before_the_termination_fails_the_check(definition, keep_more):
    changed = json.loads(json.dumps(definition))
    keep_more(changed)
    with pytest.raises(Unbounded):
        largest_before_teardown(changed)


def test_every_state_of_every_path_fits_the_quota_to_the_end(definition):
    """After the termination too: the failure's record replaces the state data with the cause."""
    entered = walk(definition)
    assert {"Pipeline failed", "Cluster creation failed", "Cluster termination failed", "Pipeline succeeded"} <= {e[0] for e in entered}
    for name, with_input, added, path in entered:
        assert MAX_INPUT_BYTES * with_input + added <= QUOTA, f"{name} along {' -> '.join(path)}"


def test_a_record_that_keeps_the_error_beside_its_copy_breaks_the_quota(definition):
    changed = json.loads(json.dumps(definition))
    changed["States"]["Keep the step's error and cause"]["ResultPath"] = "$.failure"
    too_big = [name for name, with_input, added, _ in walk(changed) if MAX_INPUT_BYTES * with_input + added > QUOTA]
    assert set(too_big) == {"Pipeline failed"}  # along each path that records an error


def test_a_second_error_slot_before_the_termination_breaks_the_quota(definition):
    changed = json.loads(json.dumps(definition))
    changed["States"]["Create EMR cluster"]["Catch"][0]["Next"] = "Extract features"  # a failed start carries on
    changed["States"]["Create EMR cluster"]["Catch"][0]["ResultPath"] = "$.cluster_error"
    added, _ = largest_before_teardown(changed)
    assert MAX_INPUT_BYTES + added > QUOTA


def test_the_input_fruits_start_sends_today_is_far_below_its_cap():
    usual = build_execution_input(bucket="fruits-123456789012-eu-west-3", region="eu-west-3", run_id="r" * 72, artifacts_prefix="artifacts/0123456789ab/",
                                  weights_key="artifacts/0123456789ab/weights/w.h5", images_prefix="images/" + "d" * 200 + "/")
    assert input_bytes(usual) < MAX_INPUT_BYTES / 10


def test_an_input_over_its_cap_is_refused_before_anything_is_sent():
    """Within EMR's limits on each string (tests/stepfunctions/test_emr_argument_lengths.py): an
    artifacts prefix of 1,500 'é' is 4,500 characters of the Extract step, but 8 strings of the
    input at 6 bytes each (JSON's \\u00e9)."""
    artifacts = "\u00e9" * 1500 + "/"
    with pytest.raises(ValueError, match=r"the run's input would be [\d,]+ bytes, more than the 49,152 .* shorten the platform's prefixes"):
        build_execution_input(bucket="b", region="eu-west-3", run_id="run", artifacts_prefix=artifacts, weights_key=artifacts + "weights/w.h5")
