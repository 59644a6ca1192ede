"""Runs the `fruits` CLI and records every AWS call it makes, one JSON line per call, before it is sent:
{"service", "operation", "params"} (bodies left out).

    python -m tests.support.aws_calls LOG_FILE fruits-arguments...
    calls = read_calls(LOG_FILE)

The hook sits on boto3's default session, which fruits.cloud.aws_client uses; the CLI itself is unchanged.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

LEFT_OUT = ("Body",)


def record_to(log: Path) -> None:
    import boto3

    def note(params, model, **_):
        entry = {"service": model.service_model.service_name, "operation": model.name,
                 "params": {name: value for name, value in params.items() if name not in LEFT_OUT}}
        with log.open("a") as out:
            out.write(json.dumps(entry, default=str) + "\n")

    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("provide-client-params", note)


def read_calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


if __name__ == "__main__":
    record_to(Path(sys.argv[1]))
    sys.argv = ["fruits", *sys.argv[2:]]
    from fruits.cli import main

    sys.exit(main())
