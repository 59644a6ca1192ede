"""How a refused command must look: `assert_one_error_line(result, code, message)` on a
CompletedProcess of the real CLI."""
from __future__ import annotations


def assert_one_error_line(result, code: int, message: str) -> None:
    """Exit `code`; no traceback; exit 1 has one `fruits: error:` line, exit 2 ends with argparse's."""
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    if code == 1:
        errors = [line for line in result.stderr.splitlines() if line.startswith("fruits: error:")]
        assert len(errors) == 1 and message in errors[0], result.stderr[-3000:]
    else:
        last = result.stderr.strip().splitlines()[-1]
        assert ": error: argument " in last and message in last, result.stderr[-3000:]
