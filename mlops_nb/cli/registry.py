"""``mlops-nb models``, ``versions``, ``annotate``, ``promote``, ``rollback``, ``which``: the
registry."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .common import emit, open_store


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add the registry commands to the main parser."""
    cmd("models", "list models")
    p = cmd("versions", "list the versions of a model")
    p.add_argument("name")
    p = cmd("annotate", "edit the description and tags of NAME:VERSION (audited)")
    p.add_argument("ref", metavar="NAME:VERSION")
    p.add_argument("--description", metavar="TEXT", help="the new description ('' removes it)")
    p.add_argument(
        "--tag", action="append", default=[], metavar="KEY=VALUE", help="set a tag (repeatable)"
    )
    p.add_argument(
        "--untag", action="append", default=[], metavar="KEY", help="remove a tag (repeatable)"
    )
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


def _cmd_models(args: argparse.Namespace) -> None:
    from ..display import table_text

    models = open_store(args).list_models()
    emit(
        args,
        models,
        table_text(models, ["name", "versions", "latest_version", "aliases", "updated_at"]),
    )


def _cmd_versions(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..registry.names import check_model_name

    versions = [v.to_json() for v in open_store(args).list_versions(check_model_name(args.name))]
    emit(
        args,
        versions,
        table_text(
            versions,
            ["version", "created_at", "aliases", "metrics", "run_id", "format", "tags"],
        ),
    )


def _cmd_annotate(args: argparse.Namespace) -> None:
    from ..errors import InvalidInputError
    from ..registry import annotate, parse_ref

    name, _alias, number = parse_ref(args.ref)
    if number is None:
        raise InvalidInputError(f"annotate takes NAME:VERSION, e.g. {name}:3, not {args.ref!r:.60}")
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--tag takes KEY=VALUE, not {item!r:.60}")
        tags[key] = value
    version = annotate(
        open_store(args), name, number, description=args.description, tags=tags, untag=args.untag
    )
    emit(args, version.to_json(), str(version))


def _cmd_promote(args: argparse.Namespace) -> None:
    from ..errors import ApprovalRequiredError
    from ..registry import promote

    try:
        change = promote(
            open_store(args),
            args.name,
            args.version,
            args.alias,
            require=args.require,
            reason=args.reason,
        )
    except ApprovalRequiredError as exc:
        # The request is the outcome: shown on stdout, then exit 11 (nothing moved).
        request = exc.request
        emit(
            args,
            {"request": request},
            f"promotion request {request['request_id']} opened: {request['model']}@"
            f"{request['alias']} stays at version {request['from_version']} until approved",
        )
        raise
    emit(args, change.to_json(), str(change))


def _cmd_rollback(args: argparse.Namespace) -> None:
    from ..registry import rollback

    change = rollback(open_store(args), args.name, args.alias, reason=args.reason)
    emit(args, change.to_json(), str(change))


def _cmd_which(args: argparse.Namespace) -> None:
    from ..registry import which

    lineage = which(open_store(args), args.ref, args.at)
    emit(args, lineage.to_json(), str(lineage))


COMMANDS = {
    "models": _cmd_models,
    "versions": _cmd_versions,
    "annotate": _cmd_annotate,
    "promote": _cmd_promote,
    "rollback": _cmd_rollback,
    "which": _cmd_which,
}
