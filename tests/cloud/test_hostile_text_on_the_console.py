"""Text others wrote reaches the console on one line, its control characters escaped: the cause of
a failed or stopped execution (a StopExecution cause, a job's stderr in a step's failure), EMR's
reason for ending the cluster (in the table, and in the error line that ends the command), and the suffixes of the files `upload` did not send. Raw, a newline
and ANSI escapes cleared the screen and printed a fake 'SUCCEEDED' line (round 7's review)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from fruits.cloud.executions import RunView
from fruits.commands.cloud import render, show_ignored

FAKE = "x\n\x1b[2J\x1b[HRun run-1: SUCCEEDED"


def test_a_cause_and_a_cluster_reason_cannot_print_a_line_of_their_own():
    started = datetime.now(timezone.utc) - timedelta(minutes=5)
    view = RunView(run_id="run-1", status="FAILED", start=1, started=started, ended=started + timedelta(minutes=4),
                   error="States.TaskFailed", cause=f"step 'Extract features' FAILED: {FAKE}", cluster_id="j-1",
                   cluster_state="TERMINATED", cluster_reason=f"USER_REQUEST: {FAKE}", price_note="not priced here")
    lines = render(view).splitlines()
    assert not any("\x1b" in line for line in lines)
    assert [line for line in lines if "SUCCEEDED" in line] == [
        "  failed: States.TaskFailed: step 'Extract features' FAILED: x\\n\\x1b[2J\\x1b[HRun run-1: SUCCEEDED",
        "  cluster j-1 TERMINATED: USER_REQUEST: x\\n\\x1b[2J\\x1b[HRun run-1: SUCCEEDED"]


def test_the_suffixes_of_files_not_sent_are_escaped(capsys):
    show_ignored([Path(f"apple/notes.{FAKE}"), Path("apple/readme.TXT"), Path("apple/LICENSE")])
    assert capsys.readouterr().err.splitlines() == [
        "3 other files not sent (the pipeline reads only .jpg, .jpeg and .png): (no suffix) (1), "
        r".txt (1), .x\n\x1b[2j\x1b[hrun run-1: succeeded (1)"]


def test_the_error_line_escapes_what_it_does_not_join():
    """The run's cause is printed again as `fruits: error: run RUN FAILED: ERROR: CAUSE` (cli.one_line)."""
    from fruits.cli import one_line

    assert one_line(f"run run-1 FAILED: States.TaskFailed: {FAKE}\n\tat java.lang.Thread.run") == (
        r"run run-1 FAILED: States.TaskFailed: x \x1b[2J\x1b[HRun run-1: SUCCEEDED at java.lang.Thread.run")
