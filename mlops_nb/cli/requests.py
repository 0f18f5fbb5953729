"""``mlops-nb alias protect|unprotect|protections`` and ``mlops-nb requests list|approve|reject``:
protected aliases and the promotion requests that wait for their approvers."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .common import emit, open_store, whole


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    alias = cmd("alias", "protect an alias: its promotions then wait for approval")
    actions = alias.add_subparsers(dest="alias_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "protect", parents=[parent], help="promotions to NAME@ALIAS become requests to approve"
    )
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument(
        "--approvers", type=whole(1), default=1, help="distinct people who must approve (1)"
    )
    p.add_argument(
        "--allow-self-approval",
        action="store_true",
        help="the one who asked may approve (a team of one)",
    )
    p = actions.add_parser("unprotect", parents=[parent], help="promote NAME@ALIAS directly again")
    p.add_argument("name")
    p.add_argument("alias")
    p = actions.add_parser("protections", parents=[parent], help="the protected aliases")
    p.add_argument("name", nargs="?")

    requests = cmd("requests", "promotion requests of protected aliases")
    actions = requests.add_subparsers(dest="requests_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("list", parents=[parent], help="requests, newest first (pending)")
    p.add_argument("name", nargs="?")
    p.add_argument("--state", default="pending", help="pending (default), approved, rejected, all")
    p.add_argument("--limit", type=whole(), default=0, help="at most N requests (0: all)")
    p = actions.add_parser(
        "approve", parents=[parent], help="approve a request; the last approval moves the alias"
    )
    p.add_argument("request_id", metavar="ID")
    p.add_argument("--note")
    p = actions.add_parser("reject", parents=[parent], help="reject a request, saying why")
    p.add_argument("request_id", metavar="ID")
    p.add_argument("--note", required=True)


def _alias(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..registry import requests

    store = open_store(args)
    if args.alias_action == "protect":
        done = requests.protect(
            store,
            args.name,
            args.alias,
            approvers=args.approvers,
            allow_self_approval=args.allow_self_approval,
        )
        who = " (the one who asks may be one)" if done["allow_self_approval"] else ""
        emit(
            args,
            done,
            f"{done['model']}@{done['alias']} protected: a promotion waits for "
            f"{done['approvers']} approver{'' if done['approvers'] == 1 else 's'}{who}",
        )
    elif args.alias_action == "unprotect":
        done = requests.unprotect(store, args.name, args.alias)
        emit(args, done, f"{done['model']}@{done['alias']} is no longer protected")
    else:
        rows = requests.protections(store, args.name)
        text = (
            table_text(rows, ["model", "alias", "approvers", "allow_self_approval", "at", "by"])
            if rows
            else "no protected aliases"
        )
        emit(args, rows, text)


def _requests(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..registry import requests

    store = open_store(args)
    if args.requests_action == "list":
        items = requests.requests(store, args.name, args.state, args.limit or None)
        rows = [
            {**i, "approved": f"{len(i['approvals'])}/{i['approvers']}", "by": i["requested_by"]}
            for i in items
        ]
        shown = ["request_id", "state", "model", "alias", "version", "by", "requested_at"]
        text = table_text(rows, [*shown, "approved"]) if rows else "no promotion requests"
        emit(args, items, text)
    elif args.requests_action == "approve":
        done = requests.approve(store, args.request_id, args.note)
        emit(args, done, _approved_text(done))
    else:
        done = requests.reject(store, args.request_id, args.note)
        emit(args, done, f"promotion request {done['request_id']} rejected by {done['decided_by']}")


def _approved_text(done: dict[str, Any]) -> str:
    if done["state"] == "approved":
        return (
            f"promotion request {done['request_id']} approved by {done['decided_by']}: "
            f"{done['model']}@{done['alias']} now holds version {done['version']}"
        )
    return (
        f"promotion request {done['request_id']}: approval {len(done['approvals'])} of "
        f"{done['approvers']} recorded; it waits for more"
    )


COMMANDS = {"alias": _alias, "requests": _requests}
