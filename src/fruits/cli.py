"""The `fruits` command. Each command group lives in `fruits.commands.<group>` and exposes
`register(subparsers)`; this module only builds the parser, dispatches and reports errors:
a FruitsError is one `fruits: error: ...` line (one more per item of its `details`, if it has
any) and exit status 1; wrong arguments are argparse's, status 2; Ctrl-C, SIGTERM or SIGHUP is `fruits: interrupted`, 130.

Usage: `fruits --help`, `fruits COMMAND --help` (also `python -m fruits ...`).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from fruits import __version__
from fruits.errors import FruitsError
from fruits.terminated import terminated_as_interrupted

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
    parser = build_parser()
    args = parser.parse_args(argv)
    refuse_empty_values(parser, args)
    try:
        # SIGTERM (`kill`, `timeout`) and SIGHUP (a closed session) as Ctrl-C: their default action ended a command at
        # once, past its cleanup (a fetch's hidden staging, run-local's and the rehearsal's processes).
        with terminated_as_interrupted():
            return int(args.handler(args) or 0)
    except FruitsError as error:
        for line in [*getattr(error, "details", ()), str(error)]:  # details: e.g. each file that failed, then the summary
            print(f"fruits: error: {one_line(line)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fruits: interrupted", file=sys.stderr)
        return 130


def refuse_empty_values(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Python 3.11's argparse reads `--output=--` as an empty list and skips the option's type
    check: an option that takes one value and got none is a wrong argument (exit 2)."""
    command = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices[args.command]
    for action in command._actions:
        value = getattr(args, action.dest, None)
        if action.nargs is None and ((isinstance(action, argparse._StoreAction) and value == [])
                                     or (isinstance(action, argparse._AppendAction) and [] in (value or []))):
            command.error(f"argument {'/'.join(action.option_strings)}: expected one argument")


def one_line(text: str) -> str:
    """A message as one line, whatever AWS or Java put in it, its control characters escaped: an
    execution's cause (anyone's text) cannot clear the screen or fake a line."""
    from fruits.input_files import shown

    return shown(" ".join(part.strip() for part in text.splitlines() if part.strip()))


if __name__ == "__main__":
    sys.exit(main())
