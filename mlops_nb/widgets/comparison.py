"""RunComparison: the parameters and metrics of several runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..display import _short, table_text
from ..tracking.comparison import MISSING, Comparison, differs
from .base import View, bar, count, figure_outputs, heading, html_table, page, text

if TYPE_CHECKING:
    from ..records import Run
    from ..store import Store


class RunComparison(View):
    """Runs side by side: facts, parameters and metrics, differences highlighted.

    Rows whose values differ between the runs are highlighted; a bar chart
    (plotly in a live notebook, plain bars in the static HTML) compares the
    metrics every run has. In a live notebook a toggle hides the rows that
    are the same everywhere.

    Parameters
    ----------
    run_ids
        Run ids (or unique prefixes of six or more characters), or runs.
    store
        The store (default: the notebook's).
    only_differences
        Start with the rows that are the same everywhere hidden.
    interactive
        ``True`` always offers the live widget, ``False`` never, ``None``
        (default) when a live notebook frontend displays it.

    Examples
    --------
    >>> RunComparison([r.run_id for r in mlops_nb.runs("churn", limit=3)])  # doctest: +SKIP
    """

    def __init__(
        self,
        run_ids: Sequence[str | Run],
        store: Store | None = None,
        *,
        only_differences: bool = False,
        interactive: bool | None = None,
    ) -> None:
        super().__init__(store, interactive)
        self.comparison = Comparison(self.store, run_ids)
        self.runs = self.comparison.runs
        self.only_differences = only_differences

    # -- the comparison ----------------------------------------------------------

    def labels(self) -> list[str]:
        """One column heading per run: its short id, and model version if any."""
        return self.comparison.labels()

    def sections(self) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
        """``(section, [(row name, [value per run])])`` for facts, parameters, metrics, values."""
        return self.comparison.sections()

    def differences(self) -> dict[str, list[str]]:
        """Per section, the rows whose values differ between the runs."""
        return self.comparison.differences()

    def shared_metrics(self) -> dict[str, list[float]]:
        """Metrics every run has, with each run's value."""
        return self.comparison.shared_metrics()

    # -- static rendering ----------------------------------------------------

    def tables_html(self, only_differences: bool | None = None) -> str:
        only = self.only_differences if only_differences is None else only_differences
        labels = self.labels()
        parts = []
        for section, rows in self.sections():
            shown = [(n, v) for n, v in rows if differs(v, n) or not only]
            if not shown:
                note = "the same in every run" if rows else "none"
                parts.append(f"{heading(section)}<p class='muted'>{note}</p>")
                continue
            cells = [[f"<b>{text(n)}</b>", *(_cell(v) for v in values)] for n, values in shown]
            classes = ["diff" if differs(v, n) else "" for n, v in shown]
            parts.append(heading(section) + html_table([section, *labels], cells, classes))
        return "".join(parts)

    def chart_html(self) -> str:
        shared = self.shared_metrics()
        if not shared:
            return ""
        labels = self.labels()
        rows = []
        for name, values in shared.items():
            top = max(abs(v) for v in values) or 1.0
            for i, value in enumerate(values):
                rows.append(
                    [
                        f"<b>{text(name)}</b>" if i == 0 else "",
                        text(labels[i]),
                        bar(abs(value), top) + escape(_short(value)),
                    ]
                )
        return heading("shared metrics") + html_table(["metric", "run", "value"], rows)

    def code_html(self) -> str:
        """How each later run's code differs from the first run's, as a unified diff."""
        labels = self.labels()
        parts = []
        for i, diff in enumerate(self.comparison.code_diffs(), start=1):
            title = f"code: {labels[i]} against {labels[0]}"
            if not diff.changed:
                same = "the same code" if diff.source else "no code kept for one of the runs"
                parts.append(f"{heading(title)}<p class='muted'>{same}</p>")
                continue
            shown = "\n".join(_diff_line(line) for line in diff.lines)
            parts.append(f"{heading(title)}<pre class='mlops-diff'>{shown}</pre>")
        return "".join(parts)

    def to_html(self) -> str:
        return page(self._title(), self.tables_html() + self.chart_html() + self.code_html())

    def __str__(self) -> str:
        labels = self.labels()
        lines = [f"{count(len(self.runs), 'run')} compared (* = differs)"]
        for section, rows in self.sections():
            table = [
                {
                    "": ("* " if differs(values, name) else "  ") + name,
                    **{lab: "—" if v is MISSING else v for lab, v in zip(labels, values)},
                }
                for name, values in rows
            ]
            lines.append(f"{section}:")
            lines.append(table_text(table, ["", *labels]) if table else "  (none)")
        return "\n".join(lines)

    def figure(self) -> Any:
        """A plotly bar chart of the shared metrics, one bar per run."""
        import plotly.graph_objects as go

        shared = self.shared_metrics()
        fig = go.Figure()
        for i, label in enumerate(self.labels()):
            fig.add_bar(x=list(shared), y=[values[i] for values in shared.values()], name=label)
        fig.update_layout(
            barmode="group",
            title="Metrics every run has",
            height=320,
            title_font_size=12,
            legend_title_text="run",
        )
        return fig

    # -- the live widget -----------------------------------------------------

    def _build(self, widgets: Any) -> Any:
        c = SimpleNamespace(
            only=widgets.Checkbox(value=self.only_differences, description="only differences"),
            tables=widgets.HTML(),
            chart=widgets.Output(),
        )
        c.only.observe(self._on_only, names="value")
        self._controls = c
        c.tables.value = page(self._title(), self.tables_html())
        if self.shared_metrics():
            c.chart.outputs = figure_outputs([self.figure()])
        return widgets.VBox([c.only, c.tables, c.chart])

    def _title(self) -> str:
        diff = sum(len(v) for v in self.differences().values())
        return f"{count(len(self.runs), 'run')} compared: {count(diff, 'row')} differ"

    def _on_only(self, change: dict[str, Any]) -> None:
        self.only_differences = bool(change.get("new"))
        self._controls.tables.value = page(self._title(), self.tables_html())


def _cell(value: Any) -> str:
    if value is MISSING:
        return "<span class='muted'>—</span>"
    return text(value)


def _diff_line(line: str) -> str:
    """One diff line, escaped; added lines green, removed red, hunk headings muted."""
    if line.startswith(("+++", "---")):
        return f"<b>{escape(line)}</b>"
    colour = {"+": "#1a7f37", "-": "#cf222e", "@": "#6e7781"}.get(line[:1])
    return f"<span style='color:{colour}'>{escape(line)}</span>" if colour else escape(line)
