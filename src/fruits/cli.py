"""The `fruits` command. Each command group lives in `fruits.commands.<group>` and exposes
`register(subparsers)`; this module only builds the parser, dispatches and reports errors:
a FruitsError is one `fruits: error: ...` line (one more per item of its `details`, if it has
any) and exit status 1; wrong arguments are argparse's, status 2; Ctrl-C is `fruits: interrupted`, 130.

Usage: `fruits --help`, `fruits COMMAND --help` (also `python -m fruits ...`).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from fruits import __version__
from fruits.errors import FruitsError

COMMAND_GROUPS = ("fruits.commands.local", "fruits.commands.cloud", "fruits.commands.rehearse", "fruits.commands.demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fruits",
        description="Fruit photos to a compact feature matrix (MobileNetV2 + PCA on Spark).",
    )
    parser.add_argument("--version", action="version", version=f"fruits {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_GROUPS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FruitsError as error:
        for line in [*getattr(error, "details", ()), str(error)]:  # details: e.g. each file that failed, then the summary
            print(f"fruits: error: {one_line(line)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fruits: interrupted", file=sys.stderr)
        return 130


def one_line(text: str) -> str:
    """A message as one line, whatever AWS or Java put in it."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


if __name__ == "__main__":
    sys.exit(main())
