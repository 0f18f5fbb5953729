"""Compact HTML and plain-text renderings of records and tables, and how numbers and times read.

Numbers and times follow one rule on every surface (the CLI, the widgets, the
reports, the magics, the gate messages; the JupyterLab panel has the same rule in
``extension/src/format.ts``, and both sides pin the same examples in their tests):

- :func:`format_number`: 4 significant digits, trailing zeros dropped
  (``0.8287``, ``0.86``); from 1000 a whole number (``1235``); below 10^-4 or from
  10^15 scientific (``1.235e-7``); whole numbers in full; half away from zero.
- :func:`format_time`: ``Mon 2026-11-30 03:10 UTC`` — weekday, ISO date, 24-hour
  clock and the zone as its offset (``UTC``, ``UTC+1``, ``UTC+5:30``). Python
  surfaces show UTC; the panel shows the browser's zone, labelled the same way.

JSON output (``--json``, REST) keeps every number and time exactly as stored.

Everything that came from a user (names, parameters, errors) is escaped:
as HTML in HTML, and in text with control characters shown as escapes
(:func:`~mlops_nb.text.printable`), each value on its one line, so stored
text can never move a terminal's cursor or draw a line of its own. Nothing
here imports IPython, so the same output serves a live notebook, a
papermill-executed notebook, an HTML report and a terminal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from .text import printable

#: How many significant digits a number is shown with.
SIGNIFICANT = 4
#: The times mlops-nb stores (UTC, ISO 8601): shown with :func:`format_time` in text.
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _rounded(size: float, digits: int) -> Decimal:
    """``size`` (not negative) to ``digits`` significant digits, half up on its exact value."""
    exact = Decimal(size)
    quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return exact.quantize(quantum, rounding=ROUND_HALF_UP)


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: Any, digits: int = SIGNIFICANT) -> str:
    """A number as mlops-nb shows it everywhere (see the module docstring).

    >>> [format_number(v) for v in (0.8286657017313789, 0.86, 1200, 1234.5678, 1.2345e-7)]
    ['0.8287', '0.86', '1200', '1235', '1.235e-7']
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    size, sign = abs(number), "-" if number < 0 else ""
    if size.is_integer() and size < 1e15:
        return f"{sign}{int(size)}" if size else "0"
    if size >= 1e15 or size < 1e-4:
        rounded = _rounded(size, digits)
        exponent = rounded.adjusted()
        mantissa = _plain(rounded.scaleb(-exponent))
        return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if size >= 1000 and digits == SIGNIFICANT:
        return f"{sign}{Decimal(size).quantize(Decimal(1), rounding=ROUND_HALF_UP)}"
    return f"{sign}{_plain(_rounded(size, digits))}"


def format_apart(first: float, second: float) -> tuple[str, str]:
    """Two numbers compared side by side, with as many more digits as tell them apart.

    A gate that refuses 0.82855 against 0.8286 must not read "0.8286 is not >= 0.8286".
    """
    digits = SIGNIFICANT
    a, b = format_number(first), format_number(second)
    while a == b and first != second and digits < 17:
        digits += 1
        a, b = format_number(first, digits), format_number(second, digits)
    return a, b


#: A column whose drift statistic reached this share of its threshold is worth a look
#: (``warning``); the REST API hands the level to the panel, the widget colours by it.
WATCH_SEVERITY = 0.7


def severity_level(drift: Any, severity: float | None, testable: bool | None = True) -> str:
    """How loud to show a drift verdict: ``drift``, ``warning``, ``ok``, or ``none`` (untested)."""
    if drift:
        return "drift"
    if testable is False:
        return "none"
    if severity is not None and math.isfinite(severity) and severity >= WATCH_SEVERITY:
        return "warning"
    return "ok"


def zone_label(offset: dt.timedelta) -> str:
    """``UTC``, ``UTC+1``, ``UTC-5``, ``UTC+5:30`` for an offset from UTC."""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def format_time(value: str | dt.datetime | None, tz: dt.tzinfo | str | None = None) -> str:
    """A moment as ``Mon 2026-11-30 03:10 UTC``, in ``tz`` (default UTC, or a zone name).

    A time that cannot be read is returned as it is, rather than hidden.
    """
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)  # mlops-nb stores UTC
    if isinstance(tz, str):
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(tz)
    local = moment.astimezone(tz or dt.timezone.utc)
    offset = local.utcoffset() or dt.timedelta(0)
    return f"{_WEEKDAYS[local.weekday()]} {local:%Y-%m-%d %H:%M} {zone_label(offset)}"


_CSS = (
    "<style>.mlops-nb{font-family:var(--jp-ui-font-family,sans-serif);font-size:12px}"
    ".mlops-nb table{border-collapse:collapse;margin:2px 0}"
    ".mlops-nb td,.mlops-nb th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left;"
    "vertical-align:top}.mlops-nb .ok{color:#1a7f37}.mlops-nb .bad{color:#cf222e}"
    ".mlops-nb code{font-size:11px}</style>"
)

_HIDDEN_TEXT = {"environment", "signature", "data", "payload"}


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    if isinstance(value, str) and _STORED_TIME.fullmatch(value):
        return format_time(value)
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, dict):
        return ", ".join(f"{printable(str(k))}={_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return "" if value is None else printable(str(value))


def _title(record: Any) -> str:
    kind = type(record).__name__
    if kind == "Run":
        return f"run {record.run_id[:12]} · {record.name or ''} · {record.status}"
    if kind == "ModelVersion":
        aliases = f" [{', '.join(record.aliases)}]" if record.aliases else ""
        return f"{record.model} version {record.version}{aliases}"
    if kind == "Lineage":
        holder = f"@{record.alias}" if record.alias else ""
        return f"{record.model}{holder} → version {record.version}"
    if kind == "VerifyResult":
        return "audit log intact" if record.ok else "audit log BROKEN"
    if kind == "AliasChange":
        return f"{record.model}@{record.alias}: {record.from_version} → {record.to_version}"
    if kind == "ModelTest":
        verdict = "passed" if record.passed else f"FAILED ({len(record.failed)} checks)"
        return f"test of {record.model}:{record.version} with {record.suite} {verdict}"
    return kind


def _fields(record: Any) -> list[tuple[str, Any]]:
    return [
        (f.name, getattr(record, f.name))
        for f in dataclasses.fields(record)
        if getattr(record, f.name) not in (None, {}, [])
    ]


def record_text(record: Any) -> str:
    """A few readable lines for a terminal."""
    lines = [printable(_title(record))]
    for name, value in _fields(record):
        if name in _HIDDEN_TEXT:
            continue
        lines.append(f"  {name:<16} {_short(value)}")
    return "\n".join(lines)


def record_html(record: Any) -> str:
    """A compact two-column HTML table."""
    rows = []
    for name, value in _fields(record):
        if name == "environment" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "packages"}
        if isinstance(value, (dict, list)):
            cell = f"<code>{escape(json.dumps(value, default=str)[:2000])}</code>"
        else:
            cell = escape(_short(value))
        rows.append(f"<tr><th>{escape(name)}</th><td>{cell}</td></tr>")
    status = getattr(record, "status", None) or (
        ("ok" if record.ok else "failed") if hasattr(record, "ok") else None
    )
    css = "bad" if status in ("failed", "interrupted") else "ok"
    return (
        f"{_CSS}<div class='mlops-nb'><b class='{css}'>{escape(_title(record))}</b>"
        f"<table>{''.join(rows)}</table></div>"
    )


def table_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as aligned text columns."""
    if not rows:
        return "(none)"
    cells = [[_short(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in out)


def table_html(rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str = "") -> str:
    """Rows as an escaped HTML table."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_short(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    caption = f"<b>{escape(title)}</b>" if title else ""
    return f"{_CSS}<div class='mlops-nb'>{caption}<table><tr>{head}</tr>{body}</table></div>"


class Table:
    """A list of rows that renders as HTML in Jupyter and as text elsewhere."""

    def __init__(self, rows: list[dict[str, Any]], columns: Sequence[str], title: str = "") -> None:
        self.rows = rows
        self.columns = list(columns)
        self.title = title

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def to_json(self) -> list[dict[str, Any]]:
        return list(self.rows)

    def _repr_html_(self) -> str:
        return table_html(self.rows, self.columns, self.title)

    def __repr__(self) -> str:
        text = table_text(self.rows, self.columns)
        return f"{printable(self.title)}\n{text}" if self.title else text


def _summary_parts(active: Any) -> tuple[str, list[tuple[str, str]]]:
    run = active.run
    status = run.status if run else "running"
    head = f"{active.name} · run {active.run_id[:12]} · {status}"
    rows: list[tuple[str, str]] = []
    if active.version is not None:
        rows.append(
            (
                "version",
                f"{active.version.model}:{active.version.version} "
                f"({active.version.format}, {active.version.artifact_sha256[:12]})",
            )
        )
    if active.metrics:
        rows.append(("metrics", _short(active.metrics)))
    if active.params:
        rows.append(("params", _short(active.params)))
    if run is not None and run.data:
        rows.append(
            (
                "data",
                f"{run.data.get('rows')} rows × {run.data.get('columns')} cols, "
                f"sha256 {str(run.data.get('sha256'))[:12]}",
            )
        )
    if run is not None and run.git_commit:
        rows.append(("git", run.git_commit[:12] + (" (dirty)" if run.git_dirty else "")))
    if run is not None and run.error:
        rows.append(("error", run.error))
    rows.extend(("note", note) for note in active.notes)
    return head, rows


def run_summary_text(active: Any) -> str:
    """What a tracked cell prints in a terminal."""
    head, rows = _summary_parts(active)
    return "\n".join([printable(head), *(f"  {k:<8} {printable(v)}" for k, v in rows)])


def run_summary_html(active: Any) -> str:
    """What a tracked cell shows in Jupyter."""
    head, rows = _summary_parts(active)
    status = active.run.status if active.run else "running"
    css = "bad" if status == "failed" else "ok"
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (
        f"{_CSS}<div class='mlops-nb'><b class='{css}'>{escape(head)}</b>"
        f"<table>{body}</table></div>"
    )
