"""A digest as plain text (chat tools, e-mail) and as Markdown, user text escaped.

Notes, names, columns and errors come from users. In plain text every
control character (a newline too) is shown as an escape, so a note cannot
forge a line of the digest; in Markdown every character with a meaning is
escaped as well (:func:`mlops_nb.markdown.text`), so a note is never read as
markup, a link or HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import markdown
from ..text import printable

#: Entries listed per section; the rest are counted ("and 12 more").
SHOWN = 20


def _plain(value: Any) -> str:
    return printable(str(value))


def _day(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def title(digest: dict[str, Any]) -> str:
    """One line: which digest, and what is in it."""
    which = {"day": "daily", "week": "weekly"}.get(digest["period"], digest["period"])
    scope = "all models" if digest["model"] == "*" else _plain(digest["model"])
    if digest["empty"]:
        counts = "nothing to report"
    else:
        open_ = digest["open_alerts"]["alerts"]
        counts = ", ".join(
            [
                f"{open_} open alert{'s' * (open_ != 1)}",
                f"{len(digest['decisions'])} decision(s)",
                f"{len(digest['unchecked_models'])} model(s) not checked",
                f"{sum(f['failures'] for f in digest['failed_schedules'])} failed run(s)",
            ]
        )
    return f"{which} digest ({scope}) {_day(digest['from'])} to {_day(digest['to'])} UTC: {counts}"


def _sections(digest: dict[str, Any], esc: Callable[[Any], str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    groups = digest["open_alerts"]["groups"]
    lines = []
    for g in groups:
        model = "(no model)" if g["model"] is None else esc(g["model"])
        acked = f", {g['acknowledged']} acknowledged" if g["acknowledged"] else ""
        columns = f" on {esc(', '.join(g['columns'][:8]))}" if g["columns"] else ""
        ids = ", ".join(str(i) for i in g["alert_ids"][:10])
        lines.append(
            f"{model}: {esc(g['kind'])}{columns}, {g['alerts']} alert(s) holding "
            f"{g['checks']} check(s){acked}, latest {_day(g['latest'])} (alert {ids})"
        )
    out.append((f"Open alerts ({digest['open_alerts']['alerts']})", lines))
    out.append(("Raised in the period", [f"{digest['raised']} alert(s)"]))
    lines = []
    for d in digest["decisions"]:
        what = d["action"] if d["decision"] is None else f"resolved: {esc(d['decision'])}"
        note = f' ("{esc(d["note"])}")' if d["note"] else ""
        model = "(no model)" if d["model"] is None else esc(d["model"])
        lines.append(
            f"alert {d['alert_id']} ({model}, {esc(d['kind'])}) {what} by {esc(d['by'])} "
            f"at {_day(d['at'])}{note}"
        )
    out.append((f"Decisions ({len(digest['decisions'])})", lines))
    lines = [
        f"{esc(m['model'])}: "
        + (
            "never checked"
            if m["last_checked_at"] is None
            else f"last {_day(m['last_checked_at'])}"
        )
        for m in digest["unchecked_models"]
    ]
    out.append((f"Models not drift-checked in the period ({len(lines)})", lines))
    if digest["model"] == "*":
        lines = [
            f"{esc(f['schedule'])}: {f['failures']} failed run(s), last {_day(f['last_at'])}"
            + (f": {esc(str(f['last_error'])[:200])}" if f.get("last_error") else "")
            for f in digest["failed_schedules"]
        ]
        out.append((f"Failed schedules ({len(lines)})", lines))
    lines = [
        f"{esc(r['model'])}: {esc(r['kind'])} of version {r['version']} "
        f"({r['share']:.0%} of requests) since {_day(r['started_at'])}"
        for r in digest["running_deploys"]
    ]
    out.append((f"Running deploys ({len(lines)})", lines))
    return out


def _shown(lines: list[str]) -> list[str]:
    if not lines:
        return ["none"]
    more = len(lines) - SHOWN
    return lines[:SHOWN] + ([f"... and {more} more"] if more > 0 else [])


def plain(digest: dict[str, Any]) -> str:
    """The digest as plain text."""
    parts = [f"mlops-nb {title(digest)}"]
    if digest["empty"]:
        return parts[0] + "\n"
    for heading, lines in _sections(digest, _plain):
        parts.append("")
        parts.append(heading)
        parts.extend(f"  - {line}" for line in _shown(lines))
    return "\n".join(parts) + "\n"


def markdown_text(digest: dict[str, Any]) -> str:
    """The digest as Markdown."""
    parts = [f"## mlops-nb {markdown.text(title(digest))}"]
    if digest["empty"]:
        return parts[0] + "\n"
    for heading, lines in _sections(digest, markdown.text):
        parts.append("")
        parts.append(f"### {markdown.text(heading)}")
        parts.append("")
        parts.extend(f"- {line}" for line in _shown(lines))
    return "\n".join(parts) + "\n"
