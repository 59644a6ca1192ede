"""The body both spark-submit entry points share: build the session, run the step, stop.

Usage: `sys.exit(run_job("extract_features", lambda: build_session(...), lambda spark: run_extract(spark, args), describe))`
A FruitsError becomes one line on stderr and exit status 1 (so EMR marks the step FAILED with
that line in its stderr log); `describe(result)` is printed on success.
"""
from __future__ import annotations

import sys
from typing import Callable

from fruits.errors import FruitsError


def run_job(name: str, build_session: Callable, run: Callable, describe: Callable[[dict], str]) -> int:
    try:
        spark = build_session()
    except FruitsError as error:  # e.g. a bad setting that stops Spark from starting
        print(f"{name}: error: {error}", file=sys.stderr)
        return 1
    try:
        result = run(spark)
    except FruitsError as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(f"{name}: {describe(result)}")
    return 0
