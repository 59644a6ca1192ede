"""The EMR nodes' multipart-upload grants (compliance/access_matrix.yaml, the rows after "Multipart
uploads"): they abort their uploads under the written prefixes and nowhere else, and never list a
bucket's uploads or an upload's parts (EMRFS's S3-optimized committer keeps its upload ids:
emr-spark-committer-multipart.html). Each wrong grant, planted in a copy of the rendered node
policy, fails a row."""
from __future__ import annotations

import copy

from tests.compliance.conftest import as_list, failing_rows, role_statement


def node_statement(platform: dict, sid: str) -> dict:
    return role_statement(platform, "-emr-nodes", sid)


def failing_multipart_rows(platform: dict) -> set[tuple[str, str]]:
    return {(action, why) for action, why in failing_rows(platform, "emr-nodes") if "Multipart" in action}


def test_the_rendered_grants_hold_the_rows(platform):
    assert failing_multipart_rows(platform) == set()


def test_listing_the_buckets_uploads_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = node_statement(changed, "ListTheBucket")
    statement["Action"] = as_list(statement["Action"]) + ["s3:ListBucketMultipartUploads"]
    assert failing_multipart_rows(changed) == {("s3:ListBucketMultipartUploads", "the committer aborts by the upload ids it keeps; "
                                                                                  "stale uploads go by the lifecycle rule")}


def test_listing_an_uploads_parts_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = node_statement(changed, "WriteResultsAndLogs")
    statement["Action"] = as_list(statement["Action"]) + ["s3:ListMultipartUploadParts"]
    assert failing_multipart_rows(changed) == {("s3:ListMultipartUploadParts", "the committer completes with the parts it uploaded")}


def test_aborting_beside_the_photos_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    statement = node_statement(changed, "ReadImagesAndArtifacts")
    statement["Action"] = as_list(statement["Action"]) + ["s3:AbortMultipartUpload"]
    assert failing_multipart_rows(changed) == {
        ("s3:AbortMultipartUpload", "no upload to abort beside the read-only photos"),
        ("s3:AbortMultipartUpload", "nor beside the job code (someone's upload under way)")}


def test_not_aborting_a_results_upload_fails_a_row(platform):
    changed = copy.deepcopy(platform)
    for sid in ("WriteResultsAndLogs", "KeepTheFeatureStore"):
        statement = node_statement(changed, sid)
        statement["Action"] = [action for action in as_list(statement["Action"]) if action != "s3:AbortMultipartUpload"]
    assert failing_multipart_rows(changed) == {
        ("s3:AbortMultipartUpload", "a failed task attempt's upload is aborted"),
        ("s3:AbortMultipartUpload", "a failed append's upload is aborted"),
        ("s3:AbortMultipartUpload", "so is a scratch file's")}
