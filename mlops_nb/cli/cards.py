"""``mlops-nb card NAME:VERSION`` and ``mlops-nb card edit NAME:VERSION``: model cards."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from .common import emit, open_store

#: The written fields and their command-line options.
OPTIONS = {
    "intended_use": "--intended-use",
    "limitations": "--limitations",
    "ethical_considerations": "--ethical-considerations",
    "training_procedure": "--training-procedure",
}


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``card`` to the main parser."""
    p = cmd(
        "card",
        "show the model card of NAME:VERSION, or with 'edit' write its fields (audited)",
    )
    p.add_argument("words", nargs="+", metavar="[edit] NAME:VERSION")
    p.add_argument("--markdown", metavar="FILE", help="write the card as Markdown ('-': stdout)")
    p.add_argument("--force", action="store_true", help="overwrite the --markdown FILE")
    for field, option in OPTIONS.items():
        p.add_argument(option, dest=field, metavar="TEXT", help="edit: the new text ('' clears it)")


def _cmd_card(args: argparse.Namespace) -> None:
    from ..errors import InvalidInputError

    words = list(args.words)
    editing = len(words) == 2 and words[0] == "edit"
    if len(words) != (2 if editing else 1):
        raise InvalidInputError("write 'card NAME:VERSION' or 'card edit NAME:VERSION'")
    name, number = _version_ref(words[-1])
    given = {f: getattr(args, f) for f in OPTIONS if getattr(args, f) is not None}
    if editing:
        _edit(args, name, number, given)
    elif given:
        raise InvalidInputError(f"{OPTIONS[next(iter(given))]} edits: write 'card edit {words[0]}'")
    else:
        _show(args, name, number)


def _version_ref(ref: str) -> tuple[str, int]:
    from ..errors import InvalidInputError
    from ..registry import parse_ref

    name, _alias, number = parse_ref(ref)
    if number is None:
        raise InvalidInputError(f"card takes NAME:VERSION, e.g. {name}:3, not {ref!r:.60}")
    return name, number


def _edit(args: argparse.Namespace, name: str, number: int, given: dict[str, str]) -> None:
    from ..cards import edit_card
    from ..errors import InvalidInputError

    if not given:
        raise InvalidInputError(
            f"nothing to edit: give at least one of {', '.join(OPTIONS.values())}"
        )
    if args.markdown:
        raise InvalidInputError("--markdown writes a card shown, not edited")
    done = edit_card(open_store(args), name, number, **given)
    changed = ", ".join(done["changed"]) or "nothing (the same text)"
    emit(args, done, f"{name}:{number} card: changed {changed}")


def _show(args: argparse.Namespace, name: str, number: int) -> None:
    from ..cards import card, to_markdown
    from ..text import printable

    doc = card(open_store(args), name, number)
    if args.markdown:
        markdown = to_markdown(doc)
        if args.markdown == "-":
            print(markdown, end="")
            return
        _write(Path(args.markdown), markdown, args.force)
        if not args.json:
            print(f"wrote {printable(args.markdown)}")
            return
    emit(args, doc, _summary(doc))


def _write(path: Path, markdown: str, force: bool) -> None:
    """Write the file whole or not at all (a temporary file renamed over it)."""
    from ..errors import ConflictError

    if path.exists() and not force:
        raise ConflictError(f"{path} exists; add --force to overwrite it")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(markdown, encoding="utf-8")
    os.replace(tmp, path)


def _summary(doc: dict) -> str:
    from ..text import printable

    lines = [f"{doc['model']}:{doc['version']}  {doc['estimator']}"]
    for field, option in OPTIONS.items():
        value = doc["written"][field]
        shown = printable(value)[:100] if value else "(not written)"
        lines.append(f"  {option[2:]}: {shown}")
    metrics = ", ".join(f"{k}={v:g}" for k, v in sorted(doc["metrics"].items()))
    lines.append(f"  metrics: {metrics or 'none'}")
    tests = doc["tests"]
    lines.append(f"  tests: {tests['passed']} of {tests['runs']} runs passed")
    drift = doc["drift"]
    lines.append(f"  drift: {drift['drifted']} of {drift['checks']} checks found drift")
    moves = ", ".join(f"{p['action']} {p['alias']}" for p in doc["promotions"])
    lines.append(f"  promotions: {moves or 'none'}; refused {len(doc['refusals'])}")
    return "\n".join(lines)


COMMANDS = {"card": _cmd_card}
