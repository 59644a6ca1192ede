"""Every cloud command that takes a RUN refuses a run id that is not one before reading the
platform or calling AWS: `status` and `watch` put it into an execution ARN
(docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: a name must not
hold white space, brackets, wildcards, `" # % \\ ^ | ~ $ & , ; : /` or control characters; the
project's run ids are stricter still, fruits.layout.RUN_ID). moto accepts any ARN text, so the
test checks the refusal itself: exit status 2 and one short line, with no platform file to read."""
from __future__ import annotations

import pytest

from fruits.cli import main

HOSTILE_IDS = ["a/b", "a:b", "a'b\"", "a\nb", "a b", "", "-x", "run__2", "x" * 10_000]


@pytest.mark.parametrize("command", ["status", "watch", "stop", "results"])
@pytest.mark.parametrize("run_id", HOSTILE_IDS, ids=lambda text: repr(text[:12]))
def test_a_bad_run_id_is_a_wrong_argument_before_any_aws_call(command, run_id, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FRUITS_PLATFORM", str(tmp_path / "no-platform.json"))  # read first if the id went through
    with pytest.raises(SystemExit) as refused:
        main([command, "--", run_id])
    error = capsys.readouterr().err.splitlines()[-1]
    assert refused.value.code == 2 and "argument RUN: run id must be 1-72 letters" in error
    assert len(error) < 400, error  # a 10,000-character id is cut, not echoed whole
