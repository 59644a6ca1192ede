"""The cause of a failed run, as `fruits watch` shows it: EMR's JSON read down to one line."""
import json

from fruits.cloud.executions import readable_cause


def test_a_failed_step_shows_the_job_s_message_and_its_log():
    step = {"Name": "Extract features", "Status": {"State": "FAILED", "FailureDetails": {
        "Reason": "Unknown Error.", "Message": "extract_features: error: no images", "LogFile": "s3://b/logs/stderr.gz"}}}
    assert readable_cause("States.TaskFailed: " + json.dumps({"Step": step})) == (
        "step 'Extract features' FAILED: extract_features: error: no images (log: s3://b/logs/stderr.gz)")


def test_a_cluster_that_did_not_start_shows_its_state_and_reason():
    cluster = {"Id": "j-1", "Status": {"State": "TERMINATED_WITH_ERRORS", "StateChangeReason": {
        "Code": "BOOTSTRAP_FAILURE", "Message": "bootstrap action 1 returned a non-zero return code"}}}
    assert readable_cause("States.TaskFailed: " + json.dumps({"Cluster": cluster})) == (
        "cluster j-1 TERMINATED_WITH_ERRORS: bootstrap action 1 returned a non-zero return code")


def test_any_other_cause_is_kept_as_it_is():
    for cause in ("States.Timeout: ", "Terminating the EMR cluster failed", "X: [1, 2]", ""):
        assert readable_cause(cause) == cause
