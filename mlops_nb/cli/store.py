"""``mlops-nb init``, ``audit`` and ``store copy``: the store itself."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import IntegrityError, InvalidInputError
from ..text import printable
from .common import emit, open_store, whole


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``init``, ``audit`` and ``store`` to the main parser."""
    p = cmd("init", "create the store (./.mlops unless --home or MLOPS_NB_HOME say otherwise)")
    p.add_argument(
        "--artifacts",
        metavar="URL",
        help="keep artifacts in object storage (s3://bucket/prefix, gs://, az://, file://); "
        "with --db-url or this, the store's config.yaml records where the team store lives",
    )
    p = cmd("audit", "the tamper-evident audit log, and the evidence pack of a model")
    p.add_argument("action", choices=["log", "verify", "checkpoint", "report"])
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="report: the model whose evidence pack to build"
    )
    p.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        help="report: the period's first day or moment (a date: from its start, UTC)",
    )
    p.add_argument(
        "--to",
        dest="end",
        metavar="DATE",
        help="report: the period's last day or moment (a date: to its end, UTC)",
    )
    p.add_argument(
        "--since", type=whole(), default=0, help="log: events after this sequence number"
    )
    p.add_argument(
        "--limit", type=whole(), default=0, help="log: at most this many, the newest (0: all)"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="checkpoint: write the chain's head to FILE (JSON), to keep outside the store; "
        "report: write the evidence pack to FILE (self-contained HTML)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="verify: also require the chain to extend the head recorded in FILE "
        "(catches a history rewritten with write access to the database)",
    )
    store = cmd("store", "copy the store to a new place (another home, PostgreSQL)")
    actions = store.add_subparsers(dest="store_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "copy",
        parents=[parent],
        help="copy runs, versions, alias history, drift checks, schedules and artifacts "
        "into a new, empty store; the audit chain stays the same",
        description="Copy every record and artifact of the current store into a new, empty "
        "store, keeping ids and the audit hash chain. Safe to run again after a crash.",
    )
    p.add_argument(
        "--to",
        required=True,
        metavar="DB_URL_OR_HOME",
        help="a database URL (postgresql+psycopg://…, sqlite:///…) or a store folder",
    )
    p.add_argument(
        "--artifacts",
        metavar="URL",
        help="where the new store keeps artifacts (s3://bucket/prefix, gs://…, az://…, "
        "file:///path); credentials come from the provider's usual places",
    )
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip audit verify before and after (artifact hashes are still checked)",
    )


def _cmd_init(args: argparse.Namespace) -> None:
    from ..store import Store
    from ..store.location import ENV_HOME, write_config

    home = Path(args.home or os.environ.get(ENV_HOME) or str(Path.cwd() / ".mlops"))
    if args.db_url or args.artifacts:
        # Recorded in the folder, so every later process (kernels, cron, the Jupyter
        # server) that finds the folder finds the team store. Keep passwords out of
        # the URL: PGPASSWORD / ~/.pgpass and the object store's own credentials.
        Store(home, db_url=args.db_url, artifacts=args.artifacts).close()  # reachable?
        home.mkdir(parents=True, exist_ok=True)
        given = {"db_url": args.db_url, "artifacts": args.artifacts}
        write_config(home, **{key: value for key, value in given.items() if value})
    store = Store(home)
    emit(
        args,
        {
            "home": str(store.home),
            "schema_version": store.schema_version,
            "backend": store.backend,
        },
        f"store ready at {store.home} ({store.backend})",
    )


def _cmd_audit(args: argparse.Namespace) -> None:
    from ..store import audit

    for option, value, actions in (
        ("-o", args.output, ("checkpoint", "report")),
        ("--checkpoint", args.checkpoint, ("verify",)),
        ("NAME", args.name, ("report",)),
        ("--from", args.start, ("report",)),
        ("--to", args.end, ("report",)),
    ):
        if value is not None and args.action not in actions:
            raise InvalidInputError(
                f"{option} goes with `audit {' or '.join(actions)}`, not `audit {args.action}`"
            )
    if args.action == "report":
        _report(args)
        return
    store = open_store(args)
    if args.action == "checkpoint":
        _checkpoint(args, store)
        return
    if args.action == "log":
        events = [e.to_json() for e in store.iter_events(since=args.since)]
        if args.limit:
            events = events[-args.limit :]
        # Every field shown escaped: the log of a tampered store must not be able
        # to draw lines of its own, such as a fake verdict.
        text = "\n".join(
            f"{e['seq']:>6} {printable(e['at'])} {printable(e['actor']):<20} "
            f"{printable(e['kind']):<16} {printable(e['subject'])}"
            for e in events
        )
        emit(args, events, text or "(no events)")
        return
    result = audit.verify(store, checkpoint=args.checkpoint)
    emit(args, result.to_json(), str(result))
    if not result.ok:
        raise IntegrityError(f"audit verify failed: {result.problem}")


def _report(args: argparse.Namespace) -> None:
    from ..evidence import period, report

    missing = [
        o for o, v in (("NAME", args.name), ("--from", args.start), ("--to", args.end)) if v is None
    ]
    if missing:
        raise InvalidInputError(f"audit report needs {', '.join(missing)}")
    period(args.start, args.end)  # bad dates refused before the store is opened
    pack = report(open_store(args), args.name, args.start, args.end)
    if args.output:
        pack.save(args.output)
    data = pack.to_json()
    stamp = data["audit"]["verification"]
    lines = [
        f"evidence pack of {printable(data['model'])} from {data['period']['from']} to "
        f"{data['period']['to']}",
        f"{len(data['holders'])} alias holders, {len(data['versions'])} versions, "
        f"{len(data['promotions']['accepted'])} promotions accepted and "
        f"{len(data['promotions']['refused'])} refused, {len(data['drift_checks'])} drift "
        f"checks, {len(data['alerts'])} alerts",
    ]
    lines += [
        f"  {printable(h['alias'])}: version {h['version']} from {h['from']} to {h['to']} "
        f"(set by {printable(h['set_by'])})"
        for h in data["holders"]
    ]
    lines.append(
        f"audit verify {'passed' if stamp['ok'] else 'FAILED'} at {stamp['verified_at']}, "
        f"chain head {stamp['head']}"
    )
    if args.output:
        lines.append(f"written to {args.output}")
    emit(args, data, "\n".join(lines))
    if not stamp["ok"]:
        # The pack is written and says so; the exit code says so to a script.
        raise IntegrityError(f"audit verify failed: {stamp['problem']}")


def _checkpoint(args: argparse.Namespace, store: Any) -> None:
    from ..store import audit

    taken = audit.checkpoint(store, args.output)
    lines = [
        f"head of the audit chain: event {taken.seq}, hash {taken.hash}"
        + (f", written {taken.at}" if taken.at else " (empty chain)"),
        "signed with MLOPS_NB_CHECKPOINT_KEY" if taken.signature else "not signed",
    ]
    if args.output:
        lines.append(
            f"saved to {args.output}: keep it where the store's writers cannot change it, "
            f"and check with `mlops-nb audit verify --checkpoint {args.output}`"
        )
    emit(args, taken.to_json(), "\n".join(lines))


def _store_command(args: argparse.Namespace) -> None:
    from ..store.copy import copy_store, ensure_empty, open_target, remember_artifacts

    source = open_store(args)
    target = open_target(args.to, args.artifacts)
    notes = []
    try:
        ensure_empty(target)
        # Before any copying, so a copy resumed after a crash finds its artifacts.
        remembered = (
            args.artifacts
            and "://" not in args.to
            and remember_artifacts(target.home, args.artifacts)
        )
        if remembered:
            notes.append(f"artifact location recorded in {target.home / 'config.yaml'}")
        progress = None if args.json or not sys.stderr.isatty() else _progress
        result = copy_store(source, target, verify=args.verify, progress=progress)
    finally:
        target.close()
    rows = ", ".join(f"{n} {name}" for name, n in result.rows.items() if n)
    lines = [
        f"records copied: {rows or 'none'}",
        f"artifacts copied: {result.artifacts} ({result.artifacts_written} written, "
        f"{result.artifact_bytes} bytes)",
        f"into {result.target['db']}, artifacts at {result.target['artifacts']}",
        f"chain head {result.head}"
        + (": audit verify passed on the copy" if result.verified else " (not verified)"),
        *notes,
    ]
    emit(args, {**result.to_json(), "notes": notes}, "\n".join(lines))


def _progress(text: str) -> None:
    print(f"mlops-nb: {text}…", file=sys.stderr, flush=True)


COMMANDS = {"init": _cmd_init, "audit": _cmd_audit, "store": _store_command}
