"""Plotly figures for drift reports and drift history (plotly loads on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class ChartedColumn(Protocol):
    """What the charts read of a column's result (a :class:`~.report.ColumnResult`)."""

    @property
    def column(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def method(self) -> str | None: ...
    @property
    def statistic(self) -> float | None: ...
    @property
    def severity(self) -> float: ...
    @property
    def drift(self) -> bool: ...
    @property
    def testable(self) -> bool: ...
    @property
    def chart(self) -> dict[str, Any]: ...


_REF = "#6e7781"
_CUR = "#d1242f"
_OK = "#1a7f37"


def score_figure(columns: Sequence[ChartedColumn], summary: str) -> Any:
    """Severity per column: the statistic divided by the bar it had to clear."""
    import plotly.graph_objects as go

    cols = [c for c in columns if c.testable]
    fig = go.Figure(
        go.Bar(
            x=[c.severity for c in cols],
            y=[c.column for c in cols],
            orientation="h",
            marker_color=[_CUR if c.drift else _OK for c in cols],
            customdata=[[c.method, c.statistic] for c in cols],
            hovertemplate="%{y}: %{customdata[0]} = %{customdata[1]:.4f}<br>severity %{x:.2f}"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=1.0, line_dash="dash", line_color=_REF)
    fig.update_layout(
        title=f"Drift severity per column (>1 = drift) — {summary}",
        height=max(240, 28 * len(cols) + 120),
        margin={"l": 160},
        xaxis_title="statistic / threshold",
        yaxis={"autorange": "reversed"},
        title_font_size=12,
    )
    return fig


def column_figure(column: ChartedColumn) -> Any:
    """Reference vs current shares on the shared grid (or per category)."""
    import plotly.graph_objects as go

    chart = column.chart
    fig = go.Figure()
    fig.add_bar(
        x=chart["x"], y=chart["reference"], name="reference", marker_color=_REF, opacity=0.7
    )
    fig.add_bar(x=chart["x"], y=chart["current"], name="current", marker_color=_CUR, opacity=0.7)
    mode = "overlay" if chart.get("type") == "hist" else "group"
    stat = "" if column.statistic is None else f"{column.method} = {column.statistic:.3f}"
    extra = ""
    if chart.get("outside"):
        extra = f"; {chart['outside']:.1%} of current values outside the reference range"
    reference_range = chart.get("range")
    if reference_range and chart.get("bounds") != reference_range:
        # the bins reach past the reference range: shade the range itself
        fig.add_vrect(
            x0=reference_range[0], x1=reference_range[1], fillcolor=_REF, opacity=0.08, line_width=0
        )
    fig.update_layout(
        barmode=mode,
        title=f"{column.column} ({column.role}): {stat}{extra}",
        yaxis_title="share of rows",
        height=320,
        title_font_size=12,
    )
    return fig


def history_figure(rows: list[dict[str, Any]], title: str) -> Any:
    """Severity of each column over the recorded checks."""
    import plotly.graph_objects as go

    fig = go.Figure()
    columns = sorted({name for r in rows for name in r["columns"]})
    for name in columns:
        points = [(r["at"], r["columns"][name]) for r in rows if name in r["columns"]]
        fig.add_scatter(
            x=[p[0] for p in points],
            y=[p[1]["severity"] for p in points],
            mode="lines+markers",
            name=name,
            text=[f"{p[1]['method']} = {p[1]['statistic']}" for p in points],
        )
    fig.add_hline(y=1.0, line_dash="dash", line_color=_REF)
    fig.update_layout(
        title=title, yaxis_title="severity (>1 = drift)", height=360, title_font_size=12
    )
    return fig
