"""`fruits start` refuses a run with Spot core nodes while the account lacks EC2's Spot
service-linked role (src/fruits/cloud/spot_role.py), before any execution starts. Not reproduced by
the emulator: moto launches "Spot" clusters with no such role, so only the check itself is tested."""
from __future__ import annotations

import pytest

from fruits.cloud.spot_role import SPOT_ROLE, SPOT_SERVICE, require_spot_role
from fruits.errors import FruitsError
from fruits.rehearsal.platform import trust_policy
from tests.cloud.conftest import BUCKET

PATH = f"/aws-service-role/{SPOT_SERVICE}/"


@pytest.fixture
def no_spot_role(moto):
    """The account before anyone created the role; put back afterwards for the other tests."""
    iam = moto.client("iam")
    iam.delete_role(RoleName=SPOT_ROLE)
    yield iam
    iam.create_role(RoleName=SPOT_ROLE, Path=PATH, AssumeRolePolicyDocument=trust_policy(SPOT_SERVICE))


def test_a_spot_run_without_the_role_is_refused_before_it_starts(fruits, moto, no_spot_role, staged_weights):
    s3 = moto.client("s3")
    for key in ("apple/a.jpg", "pear/b.jpg"):  # listed, never decoded: the run is refused before
        s3.put_object(Bucket=BUCKET, Key=f"images/spot-check/{key}", Body=b"\xff\xd8 not decoded here")
    staged = fruits("stage", "--weights", str(staged_weights), "--quiet")
    assert staged.returncode == 0, staged.stderr
    result = fruits("start", "--weights", str(staged_weights), "--run-id", "spot-check", "--dataset", "spot-check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"no {SPOT_ROLE}" in result.stderr and f"--aws-service-name {SPOT_SERVICE}" in result.stderr
    assert "Traceback" not in result.stderr and "Started" not in result.stdout
    sfn = moto.client("stepfunctions")
    names = [e["name"] for m in sfn.list_state_machines()["stateMachines"]
             for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"]]
    assert not any(name.startswith("spot-check") for name in names)


def test_on_demand_core_nodes_need_no_spot_role(no_spot_role):
    require_spot_role(no_spot_role, {"core_use_spot": False})  # nothing to check: does not raise
    require_spot_role(no_spot_role, None)  # outputs from before emr_instances: nothing known
    with pytest.raises(FruitsError, match=SPOT_ROLE):
        require_spot_role(no_spot_role, {"core_use_spot": True})
