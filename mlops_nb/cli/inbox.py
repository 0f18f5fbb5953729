"""``mlops-nb alerts inbox|ack|resolve``: the alert inbox from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from .common import whole


def add_actions(actions: Any, parent: argparse.ArgumentParser) -> None:
    """Add ``inbox``, ``ack`` and ``resolve`` to the ``alerts`` command's actions."""
    p = actions.add_parser(
        "inbox", parents=[parent], help="alerts to look at, repeats grouped (open by default)"
    )
    p.add_argument("name", nargs="?")
    p.add_argument(
        "--state",
        default="open",
        help="open (default), acknowledged, resolved, silenced or all",
    )
    p.add_argument("--limit", type=whole(), default=0, help="at most N alerts (0: all)")
    p = actions.add_parser("ack", parents=[parent], help="acknowledge an alert: someone saw it")
    p.add_argument("alert_id", metavar="ID")
    p.add_argument("--note")
    p = actions.add_parser(
        "resolve", parents=[parent], help="decide on an alert, and carry the decision out"
    )
    p.add_argument("alert_id", metavar="ID")
    p.add_argument(
        "--decision", required=True, help="retrain, rollback, ignore (with --until) or rebaseline"
    )
    p.add_argument("--note")
    p.add_argument("--until", metavar="DATE", help="ignore: silence this kind of alert until then")
    p.add_argument("--alias", default="production", help="rollback: the alias to roll back")


def run(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..monitoring import inbox
    from .common import emit, open_store

    store = open_store(args)
    if args.alerts_action == "inbox":
        items = inbox.inbox(store, args.name, args.state, args.limit)
        rows = [
            {
                **i,
                "columns": ", ".join(i["columns"])[:60],
                "decision": i["decision"] or "",
                "last_check_id": "" if i["last_check_id"] is None else i["last_check_id"],
            }
            for i in items
        ]
        shown = ["alert_id", "state", "model", "kind", "opened_at", "count", "last_check_id"]
        text = table_text(rows, [*shown, "columns", "decision"]) if rows else "no alerts"
        emit(args, items, text)
    elif args.alerts_action == "ack":
        done = inbox.ack(store, args.alert_id, args.note)
        emit(args, done, f"alert {done['alert_id']} acknowledged by {done['acknowledged']['by']}")
    else:
        done = inbox.resolve(
            store, args.alert_id, args.decision, args.note, until=args.until, alias=args.alias
        )
        emit(args, done, _resolved_text(done))


def _resolved_text(done: dict[str, Any]) -> str:
    detail = done["decision_detail"] or {}
    what = {
        "retrain": f"retrain started as run {str(detail.get('run_id'))[:12]}",
        "rollback": f"{done['model']}@{detail.get('alias')} rolled back from version "
        f"{detail.get('from_version')} to {detail.get('to_version')}",
        "ignore": f"{done['kind']} alerts of {done['model']} silenced until {detail.get('until')}",
        "rebaseline": f"check {detail.get('check_id')}'s batch is now the reference of "
        f"{done['model']}:{detail.get('version')}",
    }[done["decision"]]
    return f"alert {done['alert_id']} resolved by {done['resolved']['by']}: {what}"
