"""Run ids. An id names the run's folder (`OUTPUT/RUN/` locally, `s3://BUCKET/results/RUN/` in the
cloud) and its Step Functions execution, so it must be valid as both: one plain folder name
(never `.`, `..` or a path) and an execution name (1-80 characters, none of those AWS forbids).

Usage: `run_id = new_run_id()`; `parser.add_argument("--run-id", type=validate_run_id)` (a bad id
exits 2 with the reason); elsewhere `validate_run_id(text)` raises InvalidRunId, a ValueError.
Imports nothing heavy: the CLI uses it before Spark or boto3 are loaded.
"""
from __future__ import annotations

import argparse
import re
import secrets
from datetime import datetime, timezone

MAX_LENGTH = 80  # Step Functions' limit for an execution name
# The characters AWS recommends for execution names (CloudWatch logging needs them), first one
# alphanumeric: no dots or slashes, so an id is one folder; no leading '-' or '_', so it is
# neither taken for an option nor hidden from Spark's readers.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,%d}" % (MAX_LENGTH - 1))


class InvalidRunId(argparse.ArgumentTypeError, ValueError):
    """argparse shows its message (exit 2); as a ValueError, a builder's caller can report it in one line."""


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as `run-20261124T134500Z-3f9a1c`."""
    now = now or datetime.now(timezone.utc)
    return f"run-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def validate_run_id(text: str) -> str:
    """`text` if it is a valid run id, else InvalidRunId saying what a run id may hold."""
    if RUN_ID.fullmatch(text) is None:
        raise InvalidRunId(f"run id must be 1-{MAX_LENGTH} letters, digits, '-' or '_', starting with a letter or a digit "
                           f"(it names the run's folder and its Step Functions execution), got {text!r}")
    return text
