"""`fruits cost` and the cost `watch`/`status` show take core-node counts within EMR's own limit
(docs.aws.amazon.com/emr/latest/APIReference/API_InstanceGroupConfig.html: InstanceCount is an
Integer, so at most 2,147,483,647), from the option or from the platform file, whose JSON may
hold Infinity or 1e300 (Python's json reads both). No AWS call: moto is not needed."""
from __future__ import annotations

import json

import pytest

from fruits.cli import main
from fruits.cloud.prices import MAX_INSTANCE_COUNT, platform_hourly_cost


@pytest.mark.parametrize(("count", "message"), [
    ("0", "must be at least 1, got 0"), ("-3", "must be at least 1, got -3"), ("2.5", "expected a whole number, got '2.5'"),
    ("1e3", "expected a whole number"), ("nan", "expected a whole number"), ("", "expected a whole number"),
    (str(MAX_INSTANCE_COUNT + 1), "must be at most 2,147,483,647 (EMR's InstanceCount is a 32-bit Integer)"),
    (str(10**15), "must be at most 2,147,483,647"),
])
def test_a_core_node_count_emr_cannot_take_is_a_wrong_argument(count, message, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["cost", "--images", "1000", "--core-nodes", count, "--platform", "/nonexistent/platform.json"])
    assert refused.value.code == 2 and message in capsys.readouterr().err.splitlines()[-1]


def test_the_largest_count_emr_takes_is_priced(capsys):
    assert main(["cost", "--images", "1000", "--core-nodes", str(MAX_INSTANCE_COUNT)]) == 0
    assert f"+ {MAX_INSTANCE_COUNT} m5.xlarge" in capsys.readouterr().out


def platform_with_core_count(folder, count_json: str):
    outputs = {"region": {"value": "eu-west-3"}, "bucket_name": {"value": "b"}, "kms_key_arn": {"value": "k"},
               "state_machine_arn": {"value": "arn:aws:states:eu-west-3:123456789012:stateMachine:m"},
               "emr_instances": {"value": {"primary_instance_type": "m5.xlarge", "core_instance_type": "m5.xlarge",
                                           "core_instance_count": "COUNT"}}}
    path = folder / "platform.json"
    path.write_text(json.dumps(outputs).replace('"COUNT"', count_json))
    return path


@pytest.mark.parametrize("count_json", ["Infinity", "-Infinity", "NaN", "1e300", str(MAX_INSTANCE_COUNT + 1), "0", "true", "2.5"])
def test_a_platform_file_with_an_impossible_core_count_is_one_line(count_json, tmp_path, capsys):
    """Infinity was an OverflowError's traceback (in cost, watch and status), 1e300 a 300-digit price."""
    path = platform_with_core_count(tmp_path, count_json)
    assert main(["cost", "--images", "1000", "--platform", str(path)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "core_instance_count from 1 to 2,147,483,647" in error, error
    price, why = platform_hourly_cost({"emr_instances": json.loads(path.read_text())["emr_instances"]["value"]})  # watch, status
    assert price is None and "core_instance_count" in why
