"""``mlops-nb store …``: moving a store somewhere else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``store`` to the main parser."""
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


def _store_command(args: argparse.Namespace) -> None:
    from ..store.copy import copy_store, ensure_empty, open_target, remember_artifacts
    from . import _emit, _store

    source = _store(args)
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
    _emit(args, {**result.to_json(), "notes": notes}, "\n".join(lines))


def _progress(text: str) -> None:
    print(f"mlops-nb: {text}…", file=sys.stderr, flush=True)


COMMANDS = {"store": _store_command}
