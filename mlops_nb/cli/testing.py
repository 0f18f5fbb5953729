"""``mlops-nb test``: run a suite against a model version; exit 7 when a check fails."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import ChecksFailedError
from ..text import printable
from .common import emit, open_store, parse_value, seconds, trust_options

if TYPE_CHECKING:
    from ..records import ModelTest


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``test`` to the main parser."""
    p = cmd(
        "test",
        "test NAME[:VERSION|@ALIAS] with a test notebook or a YAML suite of checks "
        "(exit 7 when a check fails)",
    )
    p.add_argument("ref", metavar="NAME[:VERSION|@ALIAS]")
    p.add_argument("suite", metavar="SUITE", help="a test notebook (.ipynb) or checks (.yaml)")
    p.add_argument(
        "--against",
        metavar="ALIAS",
        help="compare with this alias's version (a notebook gets it as against_ref)",
    )
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[],
        help="a papermill parameter for a notebook suite (repeatable)",
    )  # fmt: skip
    p.add_argument("--markdown", metavar="FILE", help="also write the result as markdown")
    p.add_argument("--timeout", type=seconds(), metavar="S", help="limit for a notebook suite")
    trust_options(p)


def _cmd_test(args: argparse.Namespace) -> None:
    from ..testing import run_suite

    markdown = None if args.markdown is None else limits.output_file(args.markdown, "markdown file")
    result = run_suite(
        open_store(args),
        args.ref,
        args.suite,
        against=args.against,
        parameters={key: parse_value(value) for key, value in args.parameter},
        timeout=args.timeout,
        trusted=args.trust,
        allow_pickle=args.allow_pickle,
    )
    if markdown is not None:
        markdown.write_text(to_markdown(result), encoding="utf-8")
    emit(args, result_json(result), _text(result))
    if not result.passed:
        first = result.failed[0]
        more = len(result.failed) - 1
        others = f" (and {more} more: see the checks above)" if more else ""
        # The first failure with its reason, so one line on stderr tells what went wrong.
        raise ChecksFailedError(
            f"{result.model}:{result.version} failed {len(result.failed)} of "
            f"{len(result.checks)} checks of {result.suite}: {first.name!r}: "
            f"{first.detail}{others}",
            [c.name for c in result.failed],
        )


def result_json(result: ModelTest) -> dict[str, Any]:
    """The JSON document of ``mlops-nb test``: ``model, version, passed, checks, run_id``."""
    return {
        "model": result.model,
        "version": result.version,
        "passed": result.passed,
        "checks": [c.to_json() for c in result.checks],
        "run_id": result.run_id,
        "suite": result.suite,
        "against": result.against,
        "against_version": result.against_version,
        "at": result.at,
    }


def _text(result: ModelTest) -> str:
    lines = [str(printable(_title(result)))]
    for check in result.checks:
        mark = "PASS" if check.passed else "FAIL"
        lines.append(f"  {mark}  {printable(check.name)}: {printable(check.detail)}")
    lines.append(f"  run {result.run_id[:12]}")
    return "\n".join(lines)


def _title(result: ModelTest) -> str:
    verdict = "passed" if result.passed else "FAILED"
    return f"{result.model}:{result.version} {verdict} {result.suite}"


def to_markdown(result: ModelTest) -> str:
    """The result as a markdown section, for a pull request or a job summary.

    Names and details come from the suite's author: escaped by
    :func:`mlops_nb.markdown.text`, so none of them is read as markup.
    """
    from ..markdown import text

    against = ""
    if result.against:
        held = f" (v{result.against_version})" if result.against_version else " (nobody)"
        against = f", against {text(result.against)}{text(held)}"
    lines = [
        f"### {'✅' if result.passed else '❌'} {text(_title(result))}",
        "",
        f"{len(result.checks) - len(result.failed)} of {len(result.checks)} checks passed"
        f"{against}; run `{result.run_id[:12]}`.",
        "",
        "| check | result | detail |",
        "| --- | --- | --- |",
    ]
    for check in result.checks:
        verdict = "pass" if check.passed else "**FAIL**"
        lines.append(f"| {text(check.name)} | {verdict} | {text(check.detail)} |")
    return "\n".join(lines) + "\n"


COMMANDS = {"test": _cmd_test}
