"""The ``mlops-nb`` command line.

Every command takes ``--home PATH`` and ``--json``. Errors print one line on
stderr and exit non-zero; each error class carries its exit code, mapped
here in :func:`main` and nowhere else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .. import __version__
from ..errors import IntegrityError, MlopsError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlops-nb",
        description="Notebook-first MLOps: runs, models, "
        "aliases, audit log and papermill runs on SQLite plus a folder.",
    )
    parser.add_argument("--version", action="version", version=f"mlops-nb {__version__}")
    _common(parser, suppress=False)
    parent = _Parser(add_help=False)
    _common(parent, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def cmd(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[parent])

    p = cmd("init", "create the store (./.mlops unless --home or MLOPS_NB_HOME say otherwise)")
    p.add_argument(
        "--artifacts",
        metavar="URL",
        help="keep artifacts in object storage (s3://bucket/prefix, gs://, az://, file://); "
        "with --db-url or this, the store's config.yaml records where the team store lives",
    )
    p = cmd("runs", "list runs, newest first")
    p.add_argument("--model", help="only runs of this model")
    p.add_argument("--kind", choices=["track", "notebook", "pipeline"])
    p.add_argument("--limit", type=int, default=50)
    p.add_argument(
        "--watch",
        action="store_true",
        help="refresh until no run is running (pipeline steps shown)",
    )
    p.add_argument("--interval", type=float, default=2.0, help="--watch refresh, seconds")
    p = cmd("show", "show one run")
    p.add_argument("run_id")
    cmd("models", "list models")
    p = cmd("versions", "list the versions of a model")
    p.add_argument("name")
    p = cmd("promote", "point an alias at a version, if the gate allows")
    p.add_argument("name")
    p.add_argument("version", help="version number or 'latest'")
    p.add_argument("--alias", default="production")
    p.add_argument("--require", metavar="EXPR", help="gate, e.g. 'accuracy>=production'")
    p.add_argument("--reason", metavar="TEXT")
    p = cmd("rollback", "return an alias to the version that held it before")
    p.add_argument("name")
    p.add_argument("--alias", default="production")
    p.add_argument("--reason", metavar="TEXT")
    p = cmd("which", "lineage of NAME, NAME:VERSION or NAME@ALIAS (at a past time)")
    p.add_argument("ref")
    p.add_argument("--at", metavar="ISO_DATETIME", help="e.g. 2026-07-15 or 2026-07-15T09:00Z")
    p = cmd("audit", "the tamper-evident audit log")
    p.add_argument("action", choices=["log", "verify"])
    p.add_argument("--since", type=int, default=0, help="log: events after this sequence number")
    p.add_argument("--limit", type=int, default=0, help="log: at most this many (newest)")
    from . import monitor as cli_monitor
    from . import run as cli_run
    from . import schedule as cli_schedule
    from . import store as cli_store

    for module in (cli_run, cli_monitor, cli_schedule, cli_store):
        module.add_commands(cmd, parent)
    return parser


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


def _store(args: argparse.Namespace, create: bool = False) -> Any:
    from ..store import Store

    return Store(args.home, db_url=getattr(args, "db_url", None), create=create)


def _emit(args: argparse.Namespace, document: Any, text: str) -> None:
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(text)


def _run_json(run: Any) -> dict[str, Any]:
    doc = run.to_json()
    doc["model"] = run.model
    doc["notebook_sha256"] = run.output_sha256 or run.input_sha256
    return doc


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
    _emit(
        args,
        {
            "home": str(store.home),
            "schema_version": store.schema_version,
            "backend": store.backend,
        },
        f"store ready at {store.home} ({store.backend})",
    )


def _cmd_runs(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..tracking.recorder import recover_orphans

    store = _store(args)
    while True:
        recover_orphans(store)
        runs = store.list_runs(name=args.model, kind=args.kind, limit=args.limit)
        docs = [_run_json(r) for r in runs]
        rows = [
            {**d, "run_id": d["run_id"][:12], "steps": _steps(d) or _cells(store, d)} for d in docs
        ]
        text = table_text(
            rows,
            ["run_id", "kind", "name", "status", "started_at", "metrics", "model_version", "steps"],
        )
        busy = any(r.status == "running" for r in runs)
        if not args.watch or not busy:
            _emit(args, docs, text)
            return
        if not args.json:
            print(("\x1b[2J\x1b[H" if sys.stdout.isatty() else "") + text, flush=True)
        time.sleep(args.interval)


def _cells(store: Any, doc: dict[str, Any]) -> str:
    """``cell N of M`` for a notebook run in progress (papermill saves after each cell)."""
    if doc["kind"] != "notebook" or doc["status"] != "running":
        return ""
    from ..execution.runner import progress

    done = progress(store, doc["run_id"])
    return f"cell {done[0]} of {done[1]}" if done else ""


def _steps(doc: dict[str, Any]) -> str:
    steps = (doc.get("data") or {}).get("steps") or {}
    return " ".join(f"{name}:{s.get('status')}" for name, s in steps.items())


def _cmd_show(args: argparse.Namespace) -> None:
    store = _store(args)
    run = store.get_run(args.run_id)
    doc = _run_json(run)
    doc["children"] = [c.run_id for c in store.list_runs(parent_run_id=run.run_id)]
    _emit(args, doc, str(run))


def _cmd_models(args: argparse.Namespace) -> None:
    from ..display import table_text

    models = _store(args).list_models()
    _emit(
        args,
        models,
        table_text(models, ["name", "versions", "latest_version", "aliases", "updated_at"]),
    )


def _cmd_versions(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..registry.versions import check_model_name

    versions = [v.to_json() for v in _store(args).list_versions(check_model_name(args.name))]
    _emit(
        args,
        versions,
        table_text(versions, ["version", "created_at", "aliases", "metrics", "run_id", "format"]),
    )


def _cmd_promote(args: argparse.Namespace) -> None:
    from ..registry.versions import promote

    change = promote(
        _store(args), args.name, args.version, args.alias, require=args.require, reason=args.reason
    )
    _emit(args, change.to_json(), str(change))


def _cmd_rollback(args: argparse.Namespace) -> None:
    from ..registry.versions import rollback

    change = rollback(_store(args), args.name, args.alias, reason=args.reason)
    _emit(args, change.to_json(), str(change))


def _cmd_which(args: argparse.Namespace) -> None:
    from ..registry.versions import which

    lineage = which(_store(args), args.ref, args.at)
    _emit(args, lineage.to_json(), str(lineage))


def _cmd_audit(args: argparse.Namespace) -> None:
    from ..store import audit

    store = _store(args)
    if args.action == "log":
        events = [e.to_json() for e in store.iter_events(since=args.since)]
        if args.limit:
            events = events[-args.limit :]
        text = "\n".join(
            f"{e['seq']:>6} {e['at']} {e['actor']:<20} {e['kind']:<16} {e['subject']}"
            for e in events
        )
        _emit(args, events, text or "(no events)")
        return
    result = audit.verify(store)
    _emit(args, result.to_json(), str(result))
    if not result.ok:
        raise IntegrityError(f"audit verify failed: {result.problem}")


COMMANDS = {
    "init": _cmd_init,
    "runs": _cmd_runs,
    "show": _cmd_show,
    "models": _cmd_models,
    "versions": _cmd_versions,
    "promote": _cmd_promote,
    "rollback": _cmd_rollback,
    "which": _cmd_which,
    "audit": _cmd_audit,
}


def _dispatch(args: argparse.Namespace) -> None:
    from . import monitor as cli_monitor
    from . import run as cli_run
    from . import schedule as cli_schedule
    from . import store as cli_store

    for table in (COMMANDS, cli_run.COMMANDS, cli_monitor.COMMANDS, cli_schedule.COMMANDS):
        if args.command in table:
            table[args.command](args)
            return
    cli_store.COMMANDS[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlops-nb``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        _dispatch(args)
    except MlopsError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"mlops-nb: error: {message}", file=sys.stderr)
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
            f"mlops-nb: internal error: {type(exc).__name__}: {exc} (set MLOPS_NB_DEBUG=1 for "
            "a traceback)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
