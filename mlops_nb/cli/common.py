"""What every ``mlops-nb`` command shares: common options, the store, output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ..store.location import StoreLocation

from collections.abc import Callable

from .. import limits
from ..errors import InvalidInputError
from ..text import terminal


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default_home: Any = argparse.SUPPRESS if suppress else None
    default_json: Any = argparse.SUPPRESS if suppress else False
    parser.add_argument(
        "--home",
        default=default_home,
        metavar="PATH",
        help="store folder (default: $MLOPS_NB_HOME, nearest .mlops/, ~/.mlops)",
    )
    parser.add_argument(
        "--db-url",
        default=default_home,
        metavar="URL",
        help="metadata database, e.g. postgresql://user@host/db (default: $MLOPS_NB_DB_URL, "
        "db_url in the store's config.yaml, else SQLite in the store folder)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default_json,
        help="print one JSON document on stdout",
    )


def whole(minimum: int = 0, maximum: int = limits.MAX_WHOLE) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` to ``maximum``.

    Refused values exit 2 with argparse's one line, before any command runs.
    """

    def convert(text: str) -> int:
        try:
            return limits.whole_number(text, "value", minimum=minimum, maximum=maximum)
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = "whole number"
    return convert


def seconds(allow_zero: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite duration in seconds (see :func:`mlops_nb.limits.seconds`)."""

    def convert(text: str) -> float:
        try:
            return limits.seconds(text, "value", allow_zero=allow_zero)
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = "duration"
    return convert


def trust_options(p: argparse.ArgumentParser) -> None:
    """``--trust`` and ``--allow-pickle``, for every command that loads a model file."""
    p.add_argument(
        "--trust", action="append", default=[], metavar="TYPE",
        help="also trust this exact type or function in the model file (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--allow-pickle", action="store_true",
        help="load a version saved with pickle (runs code: only for models you trust)",
    )  # fmt: skip


def parse_value(text: str) -> Any:
    """A ``-p`` value: true/false/none, an int, a float, or the text itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def location(args: argparse.Namespace) -> StoreLocation:
    """The store this command works on, resolved once from ``--home``/``--db-url``.

    Everything the command starts (kernels, pipeline steps, retrain runs, Dask
    workers) is handed this same location, never left to resolve its own.
    """
    cached = getattr(args, "_location", None)
    if cached is None:
        from ..store.location import StoreLocation

        cached = StoreLocation.resolve(args.home, db_url=getattr(args, "db_url", None))
        args._location = cached
    return cached


def open_store(args: argparse.Namespace, create: bool = False) -> Any:
    from ..store import Store

    return Store(location(args), create=create)


def emit(args: argparse.Namespace, document: Any, text: str) -> None:
    """Print ``document`` as JSON with ``--json``, else ``text`` for a terminal.

    JSON escapes control characters itself. The text passes
    :func:`~mlops_nb.text.terminal`, so a control character that reached it
    unescaped is shown rather than obeyed; values rendered one per line
    should pass :func:`~mlops_nb.text.printable` first, so that a newline in
    them cannot start a line of its own either.
    """
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(terminal(text))


def run_json(run: Any) -> dict[str, Any]:
    doc = run.to_json()
    doc["model"] = run.model
    doc["notebook_sha256"] = run.output_sha256 or run.input_sha256
    return doc
