"""The ``mlops-nb`` command line.

Every command takes ``--home PATH`` and ``--json``. Errors print one line on
stderr and exit non-zero; each error class carries its exit code, mapped
here in :func:`main` and nowhere else. The commands live by concept in this
package's modules, each with its ``add_commands`` and ``COMMANDS`` table;
what they share is in :mod:`~mlops_nb.cli.common`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import MlopsError
from ..text import printable
from . import (
    cards,
    compare,
    deploy,
    monitor,
    registry,
    requests,
    run,
    schedule,
    serve,
    store,
    testing,
)
from .common import Parser, add_common, parse_value

__all__ = ["build_parser", "main", "parse_value"]

_MODULES = (
    store,
    run,
    registry,
    requests,
    cards,
    monitor,
    schedule,
    serve,
    testing,
    compare,
    deploy,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mlops-nb",
        description="Notebook-first MLOps: runs, models, "
        "aliases, audit log and papermill runs on SQLite plus a folder.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-nb {__version__}")
    add_common(parser, suppress=False)
    parent = Parser(add_help=False)
    add_common(parent, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    def cmd(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[parent])

    for module in _MODULES:
        module.add_commands(cmd, parent)
    return parser


def _dispatch(args: argparse.Namespace) -> None:
    for module in _MODULES:
        if args.command in module.COMMANDS:
            module.COMMANDS[args.command](args)
            return
    raise AssertionError(f"no handler for {args.command}")  # the parser allows only known ones


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlops-nb``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        _dispatch(args)
    except MlopsError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # Messages quote user input: shown, never obeyed by the terminal.
        print(f"mlops-nb: error: {printable(message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlops-nb: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("MLOPS_NB_DEBUG"):
            raise
        print(
            f"mlops-nb: internal error: {type(exc).__name__}: {printable(str(exc))} (set "
            "MLOPS_NB_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
