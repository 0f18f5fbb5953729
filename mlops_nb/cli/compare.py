"""``mlops-nb compare`` (two versions, for a pull request) and ``mlops-nb ci init``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import limits
from ..display import format_number
from ..errors import InvalidInputError
from ..text import printable
from .common import emit, open_store

if TYPE_CHECKING:
    from ..registry.comparison import VersionComparison


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``compare`` and ``ci`` to the main parser."""
    p = cmd(
        "compare",
        "compare a model version with a baseline: metrics, parameters, data, schema, tests, "
        "drift between the training sets, the training code's diff",
    )
    p.add_argument("new", metavar="NAME:VERSION|NAME@ALIAS", help="the version under review")
    p.add_argument(
        "base", metavar="NAME:VERSION|NAME@ALIAS", help="the baseline, e.g. churn@production"
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the comparison as markdown")
    p = cmd("ci", "continuous integration for models: write CI workflow files")
    actions = p.add_subparsers(dest="ci_action", metavar="ACTION")
    actions.required = True
    init = actions.add_parser(
        "init",
        parents=[parent],
        help="write a GitHub Actions workflow (and a GitLab CI file) that trains, tests and "
        "compares on each pull request and promotes to staging behind the gate on main",
        description="Write .github/workflows/mlops-nb.yml (--github, the default) and/or "
        ".gitlab-ci.yml (--gitlab) in the current folder, the repository's root.",
    )
    init.add_argument("--github", action="store_true", help="write the GitHub Actions workflow")
    init.add_argument("--gitlab", action="store_true", help="write the GitLab CI file")
    init.add_argument("--model", metavar="NAME", help="the model (default: the store's only one)")
    init.add_argument(
        "--notebook",
        metavar="PATH",
        help="the training notebook (default: notebooks/train_NAME.ipynb)",
    )
    init.add_argument("--suite", metavar="PATH", help="the test suite (default: tests/NAME.yaml)")
    init.add_argument(
        "--gate", metavar="EXPR", default="tests", help="the gate to staging (default: tests)"
    )
    init.add_argument("--branch", default="main", help="the branch that promotes (default: main)")
    init.add_argument("--python", default="3.12", help="the Python version of the job")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")


def _cmd_compare(args: argparse.Namespace) -> None:
    from ..registry.comparison import compare_versions

    markdown = None if args.markdown is None else limits.output_file(args.markdown, "markdown file")
    found = compare_versions(open_store(args), args.new, args.base)
    if markdown is not None:
        markdown.write_text(found.to_markdown(), encoding="utf-8")
    emit(args, found.to_json(), _text(found))


def _text(c: VersionComparison) -> str:
    new, base = f"{c.new.model}:{c.new.version}", f"{c.base.model}:{c.base.version}"
    lines = [f"{new} compared with {base}"]
    for m in c.metrics:
        delta = "" if m["delta"] is None else f"  ({m['delta']:+.4g})"
        lines.append(
            f"  metric {printable(m['name'])}: {format_number(m['new'])} vs "
            f"{format_number(m['base'])}{delta}"
        )
    for p in c.params:
        lines.append(f"  parameter {printable(p['name'])}: {p['new']!r} vs {p['base']!r}")
    lines.append(f"  data: {'the same' if c.data['same'] else 'different'}")
    changes = sum(len(v) for v in c.schema.values())
    lines.append(f"  schema: {changes} column changes" if changes else "  schema: the same")
    for key, label in (("new", new), ("base", base)):
        test = c.tests[key]
        verdict = "never tested" if test is None else (
            f"{'passed' if test.passed else 'FAILED'} {printable(test.suite)}"
        )  # fmt: skip
        lines.append(f"  tests of {label}: {verdict}")
    drift = c.drift
    if "error" in drift:
        lines.append(f"  drift: not compared ({printable(drift['error'])})")
    else:
        shown = [col["column"] for col in drift["columns"] if col["drift"]]
        lines.append(
            f"  drift between the training sets: {'yes' if drift['drift'] else 'no'}"
            + (f" ({', '.join(printable(s) for s in shown)})" if shown else "")
        )
    code = c.code
    lines.append(
        f"  code: {len(code.get('lines', []))} diff lines"
        if code.get("changed")
        else "  code: the same"
    )
    return "\n".join(lines)


def _cmd_ci(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ..ci import write_templates

    model = args.model if args.model is not None else _only_model(args)
    written = write_templates(
        Path.cwd(),
        model=model,
        notebook=args.notebook,
        suite=args.suite,
        gate=args.gate,
        branch=args.branch,
        python=args.python,
        github=args.github or not args.gitlab,
        gitlab=args.gitlab,
        force=args.force,
    )
    for note in written["notes"]:
        print(f"mlops-nb: note: {printable(note)}", file=sys.stderr)
    emit(args, written, "\n".join(f"wrote {printable(p)}" for p in written["files"]))


def _only_model(args: argparse.Namespace) -> str:
    models = [m["name"] for m in open_store(args).list_models()]
    if len(models) != 1:
        raise InvalidInputError(
            "name the model with --model (the store holds "
            + (f"{len(models)} models)" if models else "no model yet)")
        )
    return str(models[0])


COMMANDS = {"compare": _cmd_compare, "ci": _cmd_ci}
