"""The one seam for AWS clients, and AWS errors turned into one clear line.

Usage:
    s3 = aws_client("s3", platform.region)          # refuses a non-EU region before any call
    with aws_errors("upload images to s3://bucket/images/"):
        s3.put_object(...)
    is_not_found(client_error)      # S3's "no such key", however the call says it (404, NoSuchKey, NotFound)
Set FRUITS_AWS_ENDPOINT_URL to point every client at an emulator (the tests use a moto server).
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from fruits.cloud.regions import require_eu_region
from fruits.errors import FruitsError

ENDPOINT_ENV = "FRUITS_AWS_ENDPOINT_URL"

# What a person running the platform needs: terraform/modules/iam/operator.tf, README "Who may do what".
ACCESS = "your role needs the operator policy, `terraform output operator_policy_arn`, and to be in data_user_arns"
HINTS = {
    "NoSuchBucket": "the bucket does not exist (check `terraform output bucket_name`, or run `terraform apply`)",
    "AccessDenied": f"access denied ({ACCESS})",
    "AccessDeniedException": f"access denied ({ACCESS})",
    # HEAD has no body, so S3's refusal is a bare 403; it is also the answer for a missing object
    # to whoever may not list the bucket (docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
    "403": f"access denied, or not there and you may not list the bucket ({ACCESS})",
    "KMS.NotFoundException": "the KMS key does not exist (run `terraform apply`)",
    "StateMachineDoesNotExist": "the state machine does not exist (run `terraform apply`)",
    "ExecutionDoesNotExist": "no such run (see `fruits runs`)",
    "ExecutionAlreadyExists": "an execution of that name exists (two `fruits start` of this run id at once?): see `fruits runs`",
    "ExpiredToken": "your AWS session has expired: log in again",
    "InvalidClientTokenId": "your AWS credentials are not valid",
}
NOT_FOUND = ("404", "NoSuchKey", "NotFound")  # HEAD answers a bare 404, GET names the error


def is_not_found(error) -> bool:
    """A botocore ClientError for an object that is not there."""
    return error.response.get("Error", {}).get("Code") in NOT_FOUND


def aws_client(service: str, region: str):
    """A boto3 client for an EU region, at FRUITS_AWS_ENDPOINT_URL if set."""
    import boto3
    from botocore.config import Config

    require_eu_region(region)
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    try:
        return boto3.client(service, region_name=region, endpoint_url=endpoint,
                            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60))
    except ValueError:
        if endpoint is None:
            raise
        raise FruitsError(f"{ENDPOINT_ENV}={endpoint!r} is not a URL: set it to the emulator's, e.g. http://127.0.0.1:5000, "
                          "or unset it for AWS") from None


@contextmanager
def aws_errors(what: str):
    """Re-raise botocore's errors as a FruitsError: `WHAT: what went wrong, what to do`."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise FruitsError(f"{what}: no AWS credentials (set AWS_PROFILE, or run `aws sso login`)") from None
    except EndpointConnectionError as error:
        raise FruitsError(f"{what}: cannot reach AWS ({error})") from None
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "Error")
        raise FruitsError(f"{what}: {HINTS.get(code, (code + ': ' + details.get('Message', '')).rstrip(': '))}") from None
    except BotoCoreError as error:
        raise FruitsError(f"{what}: {error}") from None
