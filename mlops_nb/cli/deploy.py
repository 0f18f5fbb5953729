"""``mlops-nb deploy``: canary and shadow deploys next to production, with guards."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..text import printable
from .common import emit, open_store


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``deploy`` to the main parser."""
    deploy = cmd("deploy", "try a version next to production: canary or shadow, with guards")
    actions = deploy.add_subparsers(dest="deploy_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "canary", parents=[parent], help="answer a share of requests with VERSION"
    )
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--share", type=float, default=0.1, help="of requests, in (0, 1); 0.1")
    p.add_argument(
        "--guard", action="append", default=[], metavar="EXPR",
        help="a technical guard, e.g. 'error_rate<=0.01', 'p99_ms<=50', 'shift<=0.2' "
        "(repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--metric", choices=("value", "label"),
        help="the feedback field judged by the sequential test (higher is better)",
    )  # fmt: skip
    p.add_argument("--alpha", type=float, default=0.05, help="false-alarm level, 0.05")
    p.add_argument("--auto-rollback", action="store_true", help="abort when a guard fails")
    p.add_argument("--auto-promote", action="store_true", help="promote on a clear win")
    p.add_argument("--require", metavar="GATE", help="the gate an automatic promote passes")
    p = actions.add_parser(
        "shadow", parents=[parent], help="copy every request to VERSION; log, never return"
    )
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--guard", action="append", default=[], metavar="EXPR")
    p.add_argument("--auto-rollback", action="store_true", help="abort when a guard fails")
    p = actions.add_parser("status", parents=[parent], help="the running (or latest) deploy")
    p.add_argument("name")
    p = actions.add_parser(
        "promote", parents=[parent], help="promote the canary's version through the gate"
    )
    p.add_argument("name")
    p.add_argument("--require", metavar="GATE")
    p.add_argument("--reason")
    p = actions.add_parser("abort", parents=[parent], help="end the deploy; routing stops")
    p.add_argument("name")
    p.add_argument("--reason")


def _deploy(args: argparse.Namespace) -> None:
    from ..serving import deploy

    store = open_store(args)
    action = args.deploy_action
    if action in ("canary", "shadow"):
        row = deploy.start(
            store,
            args.name,
            args.version,
            kind=action,
            share=args.share if action == "canary" else 1.0,
            guards=args.guard,
            metric=getattr(args, "metric", None),
            alpha=getattr(args, "alpha", 0.05),
            auto_rollback=args.auto_rollback,
            auto_promote=getattr(args, "auto_promote", False),
            require=getattr(args, "require", None),
        )
        share = f" on {row['share']:.0%} of requests" if action == "canary" else ""
        emit(
            args,
            row,
            f"{action} of {row['model']} version {row['version']} started{share} next to "
            f"production version {row['production_version']} (deploy {row['id']})",
        )
    elif action == "status":
        doc = deploy.status(store, args.name)
        emit(args, doc, _status_text(doc))
    elif action == "promote":
        row = deploy.promote(store, args.name, require=args.require, reason=args.reason)
        emit(args, row, f"version {row['version']} of {row['model']} promoted to production")
    else:
        row = deploy.abort(store, args.name, args.reason)
        emit(args, row, f"{row['kind']} of {row['model']} version {row['version']} aborted")


def _status_text(doc: dict[str, Any]) -> str:
    c = doc["canary"]
    lines = [
        f"{doc['model']}: production version {doc['production']['version']}; {c['kind']} "
        f"version {c['version']} ({c['share']:.0%}) {c['state']}"
        + (f": {printable(c['reason'])}" if c["reason"] else ""),
        f"{'arm':<11} {'version':>7} {'requests':>9} {'errors':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'metric':>9} {'feedback':>9}",
    ]
    for arm in doc["arms"]:
        cells = [_cell(arm[k]) for k in ("p50_ms", "p99_ms", "metric_mean")]
        lines.append(
            f"{arm['role']:<11} {arm['version']:>7} {arm['requests']:>9} {arm['errors']:>7} "
            f"{cells[0]:>8} {cells[1]:>8} {cells[2]:>9} {arm['feedback']:>9}"
        )
    for guard in doc["guards"]:
        verdict = {True: "ok", False: "FAILED", None: "not enough data yet"}[guard["passed"]]
        lines.append(f"guard {guard['guard']}: {_cell(guard['value'])} {verdict}")
    test = doc["test"]
    if test is not None:
        lines.append(
            f"{test['metric']} (mSPRT, alpha {test['alpha']}): {test['verdict']}, p "
            f"{test['p_value']:.3g}, n {test['n_production']}+{test['n_canary']}"
        )
        expected = doc["expected"] or {}
        for label in ("observed", "detectable"):
            item = expected.get(label)
            if item and item["feedback_needed"]:
                left = item["seconds_left"]
                when = "unknown (no feedback rate yet)" if left is None else f"~{left:.0f} s"
                lines.append(
                    f"  to decide a {label} effect of {item['relative']:+.1%}: "
                    f"{item['feedback_needed']:,} feedback values, {when} at the current rate"
                )
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


COMMANDS = {"deploy": _deploy}
