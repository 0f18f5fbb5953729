"""DriftDashboard: the latest drift verdict per column, its charts, and the check history."""

from __future__ import annotations

import math
from html import escape
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .. import registry
from ..display import WATCH_SEVERITY, format_number, format_time, severity_level
from ..errors import NotFoundError
from .base import View, bar, count, figure_outputs, html_table, page, text

if TYPE_CHECKING:
    from ..monitoring.drift.report import ColumnResult, DriftReport
    from ..store import Store

#: Severity (statistic / the bar it must clear) from which a column is worth watching:
#: the same level the panel shows (:func:`mlops_nb.display.severity_level`).
WATCH = WATCH_SEVERITY

_CLASSES = {"drift": "sev-drift", "warning": "sev-watch", "ok": "sev-ok", "none": "sev-na"}


def severity_class(column: ColumnResult) -> str:
    """The CSS class a column's verdict is coloured with."""
    return _CLASSES[severity_level(column.drift, column.severity, column.testable)]


class DriftDashboard(View):
    """The drift checks recorded for a model: verdicts, charts and history.

    Shows the latest check's verdict per column, coloured by severity (red:
    drifted, amber: more than half-way to its bar, green: quiet), a plotly
    chart of the severities and one per drifted column, and a selector over
    every recorded check. Elsewhere it renders as static HTML and text.

    Parameters
    ----------
    name
        The model (``NAME``; an ``@ALIAS`` or ``:VERSION`` suffix is ignored).
    store
        The store (default: the notebook's).
    check
        The id of the check to show first (default: the latest).
    limit
        Only the last ``limit`` checks.
    interactive
        ``True`` always offers the live widget, ``False`` never, ``None``
        (default) when a live notebook frontend displays it.

    Examples
    --------
    >>> DriftDashboard("churn")  # doctest: +SKIP
    """

    def __init__(
        self,
        name: str,
        store: Store | None = None,
        *,
        check: int | None = None,
        limit: int | None = None,
        interactive: bool | None = None,
    ) -> None:
        from ..monitoring.monitor import history

        super().__init__(store, interactive)
        self.name = registry.parse_ref(name)[0]
        self.checks: list[dict[str, Any]] = history(self.store, self.name, limit)
        self._syncing = False
        self.report: DriftReport | None = None
        self.check_id: int | None = None
        if check is not None or self.checks:
            self.show(check if check is not None else self.checks[-1]["id"])

    def show(self, check_id: int) -> DriftReport:
        """Make check ``check_id`` the one shown, and return its report."""
        from ..monitoring.drift.report import DriftReport
        from ..monitoring.monitor import load_report

        if check_id not in {c["id"] for c in self.checks}:
            raise NotFoundError(f"{self.name} has no drift check {check_id}")
        self.report = DriftReport.from_json(load_report(self.store, check_id))
        self.check_id = check_id
        if self._controls is not None:
            self._sync()
        return self.report

    # -- static rendering ----------------------------------------------------

    def verdict_html(self) -> str:
        report = self.report
        if report is None:
            return f"<p class='muted'>no drift checks recorded for {escape(self.name)} yet</p>"
        cols = [*report.columns, *([report.prediction] if report.prediction else [])]
        cols.sort(key=lambda c: (not c.testable, -(c.severity if c.testable else 0.0)))
        top = max([2.0, *(c.severity for c in cols if c.testable and math.isfinite(c.severity))])
        rows, classes = [], []
        for c in cols:
            verdict = "drift" if c.drift else ("not testable" if not c.testable else "ok")
            sev = severity_class(c)
            rows.append(
                [
                    text(c.column),
                    text(c.role),
                    f"{'<b>' if c.drift else ''}{verdict}{'</b>' if c.drift else ''}",
                    text(c.method),
                    "" if c.statistic is None else format_number(c.statistic),
                    (
                        ""
                        if not c.testable
                        else bar(min(c.severity, top), top, c.drift) + format_number(c.severity)
                    ),
                    text(c.reason),
                ]
            )
            classes.append(sev)
        table = html_table(
            ["column", "role", "verdict", "method", "statistic", "severity", "why"], rows, classes
        )
        extra = "".join(
            f"<li><b>{escape(f['column'])}</b>: {escape(f['message'])}</li>"
            for f in report.findings
        )
        if report.performance:
            for metric, m in report.performance.get("metrics", {}).items():
                extra += (
                    f"<li>performance {escape(metric)}: {_num(m.get('reference'))} → "
                    f"{_num(m.get('current'))}"
                    + (" <b class='bad'>degraded</b>" if m.get("degraded") else "")
                    + "</li>"
                )
        extra += "".join(f"<li>{escape(n)}</li>" for n in report.notes)
        css = "bad" if report.alarm else "ok"
        return f"<p class='{css}'>{escape(report.summary_line())}</p>{table}" + (
            f"<ul>{extra}</ul>" if extra else ""
        )

    def history_html(self) -> str:
        if not self.checks:
            return ""
        rows = []
        for r in reversed(self.checks):
            drifted = [k for k, v in (r.get("summary") or {}).items() if v.get("drift")]
            rows.append(
                [
                    ("&#9656; " if r["id"] == self.check_id else "") + text(r["id"]),
                    text(format_time(r["at"])),
                    text(r["version"]),
                    text(r["batch"]),
                    "<b class='bad'>DRIFT</b>" if r["drift"] else "ok",
                    format_number(r["drift_share"]),
                    text(", ".join(drifted)),
                ]
            )
        return html_table(["check", "at", "version", "batch", "verdict", "share", "drifted"], rows)

    def to_html(self) -> str:
        css = "bad" if self.report is not None and self.report.alarm else "ok"
        title = f"drift of {self.name}: {count(len(self.checks), 'check')}"
        if self.check_id is not None:
            title += f", showing check {self.check_id}"
        body = self.verdict_html()
        if self.checks:
            body += f"<h4>history of {escape(self.name)}</h4>{self.history_html()}"
        return page(title, body, css)

    def __str__(self) -> str:
        lines = [f"drift of {self.name}: {count(len(self.checks), 'check')}"]
        if self.report is not None:
            lines.append(f"check {self.check_id}: " + str(self.report))
        for r in reversed(self.checks):
            lines.append(
                f"  #{r['id']:<4} {format_time(r['at'])}  v{r['version']}  "
                f"{'DRIFT' if r['drift'] else 'ok   '}  {r['batch'] or ''}"
            )
        return "\n".join(lines)

    def figures(self) -> list[Any]:
        """The plotly figures of the check shown: severities, then each drifted column."""
        return [] if self.report is None else self.report.figures()

    # -- the live widget -----------------------------------------------------

    def _build(self, widgets: Any) -> Any:
        c = SimpleNamespace(
            check=widgets.Dropdown(description="check", layout=widgets.Layout(width="480px")),
            verdict=widgets.HTML(),
            figures=widgets.Output(),
            history=widgets.Output(),
        )
        c.check.observe(self._on_check, names="value")
        self._controls = c
        self._sync()
        if len(self.checks) > 1:
            from ..monitoring.drift.report import DriftHistory

            c.history.outputs = figure_outputs([DriftHistory(self.name, self.checks).figure()])
        return widgets.VBox([c.check, c.verdict, c.figures, c.history])

    def _sync(self) -> None:
        c = self._controls
        self._syncing = True  # setting options fires value changes; they are ours
        try:
            c.check.options = [
                (
                    f"#{r['id']}  {format_time(r['at'])}  v{r['version']}  "
                    f"{'DRIFT' if r['drift'] else 'ok'}  {r['batch'] or ''}".rstrip(),
                    r["id"],
                )
                for r in reversed(self.checks)
            ]
            c.check.value = self.check_id
        finally:
            self._syncing = False
        c.verdict.value = self.to_html()
        c.figures.outputs = figure_outputs(self.figures())

    def _on_check(self, change: dict[str, Any]) -> None:
        if not self._syncing and change.get("new") is not None and change["new"] != self.check_id:
            self.show(change["new"])


def _num(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) else format_number(value)
