"""The demo cluster's notebook grants (compliance/access_matrix.yaml, the rows after "A large
notebook is saved in parts"): JupyterHub's S3 persistence may abort a save of a notebook
uploaded in parts (s3fs aborts one it discards), under jupyter/ and nowhere else, and never lists uploads or parts
(mpuoverview.html names the action of each call). Each wrong grant, planted in a copy of the
rendered demo node policy, fails a row."""
from __future__ import annotations

import copy

from tests.compliance.conftest import as_list, failing_rows, role_statement


def demo_statement(platform: dict, sid: str) -> dict:
    return role_statement(platform, "-emr-demo-nodes", sid)


def failing_demo_rows(platform: dict) -> set[tuple[str, str]]:
    return failing_rows(platform, "emr-demo-nodes")


def test_the_rendered_grants_hold_the_rows(platform):
    assert failing_demo_rows(platform) == set()


def test_not_aborting_a_notebook_upload_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = demo_statement(changed, "SaveNotebooks")
    statement["Action"] = [a for a in as_list(statement["Action"]) if a != "s3:AbortMultipartUpload"]
    assert failing_demo_rows(changed) == {("s3:AbortMultipartUpload", "a discarded save of a large notebook is aborted")}


def test_aborting_anywhere_in_the_bucket_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = demo_statement(changed, "SaveNotebooks")
    statement["Resource"] = [r.replace("/jupyter/*", "/*") for r in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])]
    failing = failing_demo_rows(changed)
    assert {("s3:AbortMultipartUpload", "no notebook upload to abort beside the photos"),
            ("s3:AbortMultipartUpload", "nor beside the job code")} <= failing


def test_listing_an_uploads_parts_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = demo_statement(changed, "SaveNotebooks")
    statement["Action"] = as_list(statement["Action"]) + ["s3:ListMultipartUploadParts"]
    assert failing_demo_rows(changed) == {("s3:ListMultipartUploadParts", "the notebook's uploader completes with the parts it sent")}


def test_listing_the_buckets_uploads_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = demo_statement(changed, "ListTheBucket")
    statement["Action"] = as_list(statement["Action"]) + ["s3:ListBucketMultipartUploads"]
    assert failing_demo_rows(changed) == {("s3:ListBucketMultipartUploads", "stale notebook uploads go by the lifecycle rule")}
