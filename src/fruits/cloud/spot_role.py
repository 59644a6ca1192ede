"""Spot core nodes need EC2's Spot service-linked role to exist before EMR asks for them: EC2 creates
it by itself only for a console request ("If you use the AWS CLI or an API to request a Spot
Instance, you must first ensure that this role exists":
docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html), and
neither the EMR service role's managed policy nor the state machine may create it. Without it the
core nodes never come and the run waits out its start timeout.

Usage: require_spot_role(iam, platform.outputs.get("emr_instances"))   # FruitsError when missing
"""
from __future__ import annotations

from fruits.cloud.aws import aws_errors
from fruits.errors import FruitsError

SPOT_SERVICE = "spot.amazonaws.com"
SPOT_ROLE = "AWSServiceRoleForEC2Spot"  # path /aws-service-role/spot.amazonaws.com/


def require_spot_role(iam, instances: dict | None) -> None:
    """Refuse a run whose Spot core nodes EC2 could not launch; nothing to check without Spot."""
    from botocore.exceptions import ClientError

    if not (instances or {}).get("core_use_spot"):
        return
    with aws_errors("checking EC2's Spot service-linked role"):
        try:
            iam.get_role(RoleName=SPOT_ROLE)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
            raise FruitsError(
                f"the platform's core nodes are Spot instances, and this account has no {SPOT_ROLE} yet, without which "
                f"EC2 launches no Spot instance for EMR: create it once with `aws iam create-service-linked-role "
                f"--aws-service-name {SPOT_SERVICE}` (or set emr.core_use_spot = false in terraform), then start again") from None
