"""The result of a drift check: per-column verdicts, findings and the dataset verdict.

Two verdicts, each alarming on its own: **drift** (the distributions moved)
and **data quality** (the batch is broken: a column missing or empty, values
of the wrong type, infinities, many categories the model never saw, a model
that cannot score the batch). It renders as an HTML table sorted by
severity plus plotly charts in a live notebook, as the same in an executed
notebook, and as text in a terminal; ``to_json()`` is the document the CLI
prints.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields
from html import escape
from typing import Any

from ...text import printable
from .stats import summary_floats


@dataclass(frozen=True)
class ColumnResult:
    """The verdict on one column."""

    column: str
    role: str
    kind: str
    drift: bool
    method: str | None
    statistic: float | None
    threshold: float | None = None
    noise_floor: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    severity: float = 0.0
    testable: bool = True
    reason: str | None = None
    weight: float | None = None
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] = field(default_factory=dict)


#: What a data-quality issue can be, and what it means.
QUALITY_KINDS = {
    "missing_column": "a feature of the reference is not in the batch",
    "all_missing": "a feature has no value at all in the batch",
    "type_change": "values cannot be read as the reference's type (text in a number column)",
    "infinite": "±inf in a feature that had none in the reference",
    "unseen_categories": "many rows hold categories the reference never had",
    "model_error": "the model cannot score the batch",
}


@dataclass(frozen=True)
class QualityIssue:
    """One data-quality break; ``column`` is ``None`` for the batch as a whole."""

    column: str | None
    kind: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class DataQuality:
    """The data-quality verdict: ``ok`` unless there is an issue."""

    issues: tuple[QualityIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    def with_issues(self, *more: QualityIssue) -> DataQuality:
        return DataQuality((*self.issues, *more))

    def by_column(self) -> dict[str, str]:
        """The first issue kind per column (batch-wide issues left out)."""
        out: dict[str, str] = {}
        for issue in self.issues:
            if issue.column is not None:
                out.setdefault(issue.column, issue.kind)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "issues": [i.to_json() for i in self.issues]}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> DataQuality:
        """From :meth:`to_json`'s document; reports recorded before it existed have none."""
        issues = (doc or {}).get("issues") or []
        return cls(tuple(QualityIssue(i.get("column"), i["kind"], i["detail"]) for i in issues))


@dataclass(frozen=True)
class DriftReport:
    """A drift check of one batch against one model version's reference profile."""

    model: str | None
    version: int | None
    batch: str | None
    at: str
    rows: int
    drift: bool
    drift_share: float
    share_threshold: float
    columns: list[ColumnResult]
    schema: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    prediction: ColumnResult | None = None
    performance: dict[str, Any] | None = None
    check_id: int | None = None
    alert_ids: list[int] = field(default_factory=list)
    retrain_run_id: str | None = None
    notes: list[str] = field(default_factory=list)
    quality: DataQuality = field(default_factory=DataQuality)
    #: Which profile the batch was compared with: the training profile, or a
    #: checked batch a person accepted as the new normal (``rebaseline``).
    reference: dict[str, Any] | None = None
    #: The label-free estimate of a classifier's performance on the batch
    #: (:mod:`mlops_nb.monitoring.estimate`); ``{"available": False, "reason": ...}``
    #: when the version cannot have one.
    estimated_performance: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DriftReport:
        """Rebuild a report from a recorded check's JSON (keys it does not know are left out)."""

        def known(kind: type, values: dict[str, Any]) -> dict[str, Any]:
            names = {f.name for f in fields(kind)}
            return {k: v for k, v in values.items() if k in names}

        def column(values: dict[str, Any]) -> ColumnResult:
            found = known(ColumnResult, values)
            if found.get("severity") is None:  # recorded as null when it was not finite
                found["severity"] = math.inf if found.get("drift") else 0.0
            return ColumnResult(**found)

        found = known(cls, doc)
        found["columns"] = [column(c) for c in doc.get("columns") or []]
        found["prediction"] = column(doc["prediction"]) if doc.get("prediction") else None
        found["quality"] = DataQuality.from_json(doc.get("quality"))
        return cls(**found)

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted columns, most severe first."""
        return [c.column for c in self.columns if c.drift]

    @property
    def degraded(self) -> bool:
        return bool(self.performance and self.performance.get("degraded"))

    @property
    def estimated_degraded(self) -> bool:
        """The estimate says performance dropped, and no realised performance was measured."""
        est = self.estimated_performance
        realised = bool(self.performance and self.performance.get("current"))
        return bool(est and est.get("degraded")) and not realised

    @property
    def alarm(self) -> bool:
        """Whether this check should alert: drift, broken data or degraded performance."""
        return self.drift or not self.quality.ok or self.degraded

    def to_json(self) -> dict[str, Any]:
        """The JSON document: every field, plus ``drifted_columns`` and ``alarm``.

        Built field by field rather than with ``dataclasses.asdict``, whose
        deep copy of every chart list costs more than the check itself.
        """
        doc: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "columns":
                value = [_column_json(c) for c in value]
            elif f.name == "prediction":
                value = None if value is None else _column_json(value)
            elif f.name == "quality":
                value = value.to_json()
            else:
                value = _plain(value)
            doc[f.name] = value
        doc["drifted_columns"] = self.drifted
        doc["alarm"] = self.alarm
        return doc

    def with_updates(self, **changes: Any) -> DriftReport:
        from dataclasses import replace

        return replace(self, **changes)

    # -- display -------------------------------------------------------------

    def summary_line(self) -> str:
        subject = f"{self.model}:{self.version}" if self.model else "reference profile"
        batch = f" batch {self.batch!r}" if self.batch else ""
        verdict = "DRIFT" if self.drift else "no drift"
        if not self.quality.ok:
            count = len(self.quality.issues)
            verdict = f"DATA QUALITY ({count} issue{'s' if count > 1 else ''}), " + (
                "and DRIFT" if self.drift else "distributions unchanged"
            )
        testable = [c for c in self.columns if c.testable and c.role == "feature"]
        drifted = [c for c in testable if c.drift]
        text = (
            f"{verdict} in {subject}{batch}: {len(drifted)} of {len(testable)} features "
            f"drifted (weighted share {self.drift_share:.2f}, threshold "
            f"{self.share_threshold:.2f}), {self.rows} rows"
        )
        if self.prediction is not None and self.prediction.drift:
            text += "; predictions drifted"
        if self.performance and self.performance.get("degraded"):
            text += "; performance degraded"
        if self.estimated_degraded:
            text += "; estimated performance degraded"
        return text

    def __str__(self) -> str:
        lines = [self.summary_line()]
        for issue in self.quality.issues:
            where = issue.column if issue.column is not None else "(batch)"
            lines.append(f"  BROKEN {where}: {issue.kind}: {issue.detail}")
        for c in self.columns:
            stat = "—" if c.statistic is None else f"{c.statistic:.4f}"
            flag = "DRIFT" if c.drift else ("n/a" if not c.testable else "ok")
            why = f"  ({printable(c.reason)})" if c.reason else ""
            # Column names come from the user's data: one escaped line each.
            lines.append(f"  {flag:<5} {printable(c.column):<24} {c.method or '':<14} {stat}{why}")
        for finding in self.findings:
            lines.append(
                f"  note  {printable(str(finding['column']))}: {printable(finding['message'])}"
            )
        if self.performance:
            for name, m in self.performance.get("metrics", {}).items():
                lines.append(
                    f"  perf  {name}: {m['reference']:.4g} -> {m['current']:.4g}"
                    + (" (degraded)" if m.get("degraded") else "")
                )
        est = self.estimated_performance
        if est and est.get("available"):
            interval = est["interval"]
            lines.append(
                f"  est   accuracy: {est['holdout_accuracy']:.4g} (holdout) -> "
                f"{est['accuracy']:.4g} [{interval['low']:.4g}, {interval['high']:.4g}]"
                + (" (degraded)" if est.get("degraded") else "")
            )
            lines.extend(f"  est   not trusted: {printable(w)}" for w in est["trust"]["warnings"])
        elif est:
            lines.append(f"  est   unavailable: {printable(est['reason'])}")
        lines.extend(f"  note  {printable(n)}" for n in self.notes)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return report_html(self)

    def figures(self) -> list[Any]:
        """Plotly figures: the per-column score chart and one per drifted column."""
        from .charts import column_figure, score_figure

        figs = [score_figure(self.columns, self.summary_line())]
        figs.extend(column_figure(c) for c in self.columns if c.drift and c.chart)
        if self.prediction is not None and self.prediction.chart:
            figs.append(column_figure(self.prediction))
        return figs

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if _rich_frontend():
            display(HTML(report_html(self)))
            for fig in self.figures():
                display(fig)
        else:
            print(str(self))

    def to_html(self, path: str | None = None) -> str:
        """A standalone HTML page (plotly.js inlined once); written to ``path`` if given."""
        figs = self.figures()
        parts = [
            f"<html><head><meta charset='utf-8'><title>{escape(self.summary_line())}"
            "</title></head><body>",
            report_html(self),
        ]
        for i, fig in enumerate(figs):
            parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
        parts.append("</body></html>")
        page = "\n".join(parts)
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(page)
        return page


def _rich_frontend() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def report_html(report: DriftReport) -> str:
    """The summary table, most severe columns first, every name escaped."""
    from ...display import _CSS

    rows = []
    for c in [*report.columns, *([report.prediction] if report.prediction else [])]:
        flag = (
            "<b class='bad'>drift</b>"
            if c.drift
            else ("not testable" if not c.testable else "<span class='ok'>ok</span>")
        )
        stat = "" if c.statistic is None else f"{c.statistic:.4f}"
        bar = max(c.threshold or 0, c.noise_floor or 0)
        p = "" if c.p_adjusted is None else f"{c.p_adjusted:.2g}"
        rows.append(
            f"<tr><td>{escape(c.column)}</td><td>{escape(c.role)}</td><td>{flag}</td>"
            f"<td>{escape(c.method or '')}</td><td>{stat}</td><td>{bar:.4f}</td>"
            f"<td>{c.severity:.2f}</td><td>{p}</td><td>{escape(c.reason or '')}</td></tr>"
        )
    findings = "".join(
        f"<li><b>{escape(f['column'])}</b>: {escape(f['message'])}</li>" for f in report.findings
    )
    perf = ""
    if report.performance:
        items = "".join(
            f"<li>{escape(name)}: {m['reference']:.4g} → {m['current']:.4g}"
            f"{' <b class=bad>degraded</b>' if m.get('degraded') else ''}</li>"
            for name, m in report.performance.get("metrics", {}).items()
        )
        perf = f"<p>Performance on labelled rows:</p><ul>{items}</ul>"
    if report.estimated_performance:
        from ..estimate import estimate_html

        perf += estimate_html(report.estimated_performance)
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    quality = ""
    if report.quality.issues:
        items = "".join(
            f"<li><b class='bad'>{escape(i.kind)}</b> "
            f"{escape(i.column if i.column is not None else '(batch)')}: {escape(i.detail)}</li>"
            for i in report.quality.issues
        )
        quality = f"<p><b class='bad'>Data quality</b>: the batch is broken</p><ul>{items}</ul>"
    css = "bad" if report.alarm else "ok"
    head = (
        "<tr><th>column</th><th>role</th><th>verdict</th><th>method</th><th>statistic</th>"
        "<th>bar</th><th>severity</th><th>p (BH)</th><th>why</th></tr>"
    )
    return (
        f"{_CSS}<div class='mlops-nb'><b class='{css}'>{escape(report.summary_line())}</b>"
        + quality
        + f"<table>{head}{''.join(rows)}</table>"
        + (f"<ul>{findings}</ul>" if findings else "")
        + perf
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</div>"
    )


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    return summary_floats(values)


def _column_json(c: ColumnResult) -> dict[str, Any]:
    return {f.name: _plain(getattr(c, f.name)) for f in fields(c)}


def _plain(value: Any) -> Any:
    """A copy of JSON-shaped values (dicts, lists) so callers cannot change the report."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return list(value)  # chart series: flat lists of numbers
        return [_plain(v) for v in value]
    return value


class DriftHistory:
    """Every recorded check of a model: a table, and a severity-over-time chart."""

    def __init__(self, model: str, rows: list[dict[str, Any]]) -> None:
        self.model = model
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def to_json(self) -> list[dict[str, Any]]:
        return [{**r, "columns": r["summary"]} for r in self.rows]

    def columns(self) -> dict[str, list[tuple[str, float | None]]]:
        """Per column, its (time, statistic) pairs."""
        out: dict[str, list[tuple[str, float | None]]] = {}
        for row in self.rows:
            for name, result in row["summary"].items():
                out.setdefault(name, []).append((row["at"], result.get("statistic")))
        return out

    def figure(self) -> Any:
        from .charts import history_figure

        return history_figure(
            [{"at": r["at"], "columns": r["summary"]} for r in self.rows],
            f"Drift history of {self.model} ({len(self.rows)} checks)",
        )

    def __str__(self) -> str:
        lines = [f"drift history of {self.model}: {len(self.rows)} checks"]
        for r in self.rows:
            drifted = [k for k, v in r["summary"].items() if v.get("drift")]
            broken = [f"{k} ({v['quality']})" for k, v in r["summary"].items() if v.get("quality")]
            verdict = "DRIFT" if r["drift"] else "ok   "
            if broken:
                verdict = "QUALITY" + (" + DRIFT" if r["drift"] else "")
            lines.append(
                f"  #{r['id']:<4} {r['at'][:19]}  v{r['version']}  "
                f"{verdict}  {printable(r['batch'] or ''):<16} "
                f"{printable(', '.join([*drifted, *broken]))}"
            )
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from ...display import table_html

        rows = [
            {
                "id": r["id"],
                "at": r["at"][:19],
                "version": r["version"],
                "batch": r["batch"],
                "drift": r["drift"],
                "share": r["drift_share"],
                "drifted": ", ".join(k for k, v in r["summary"].items() if v.get("drift")),
            }
            for r in self.rows
        ]
        return table_html(
            rows,
            ["id", "at", "version", "batch", "drift", "share", "drifted"],
            f"drift history of {self.model}",
        )

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if _rich_frontend():
            display(HTML(self._repr_html_()))
            if self.rows:
                display(self.figure())
        else:
            print(str(self))
