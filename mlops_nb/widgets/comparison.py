"""RunComparison: the parameters and metrics of several runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..display import _short, table_text
from ..errors import InvalidInputError
from .base import View, bar, count, figure_outputs, heading, html_table, page, text

if TYPE_CHECKING:
    from ..records import Run
    from ..store import Store

_MISSING = object()
#: Facts shown but not counted as differences: they differ between any two runs.
_NOT_COMPARED = {"started"}


def _differs(values: list[Any], name: str = "") -> bool:
    if name in _NOT_COMPARED:
        return False
    first = values[0]
    return any(v is _MISSING or v != first for v in values[1:]) or first is _MISSING


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
        if isinstance(run_ids, str) or not isinstance(run_ids, Sequence) or not run_ids:
            raise InvalidInputError("RunComparison takes a non-empty list of run ids")
        runs: list[Run] = []
        for ref in run_ids:
            run_id = getattr(ref, "run_id", ref)
            if not isinstance(run_id, str):
                raise InvalidInputError(f"not a run id: {run_id!r}")
            run = self.store.get_run(run_id)
            if all(r.run_id != run.run_id for r in runs):
                runs.append(run)
        self.runs = runs
        self.only_differences = only_differences

    # -- the comparison ----------------------------------------------------------

    def labels(self) -> list[str]:
        """One column heading per run: its short id, and model version if any."""
        out = []
        for r in self.runs:
            what = f"{r.name}:{r.model_version}" if r.model_version else (r.name or r.kind)
            out.append(f"{r.run_id[:8]} {what}")
        return out

    def sections(self) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
        """``(section, [(row name, [value per run])])`` for facts, parameters, metrics, values."""

        def rows(attr: str) -> list[tuple[str, list[Any]]]:
            keys: list[str] = []
            for r in self.runs:
                keys.extend(k for k in getattr(r, attr) if k not in keys)
            return [
                (k, [getattr(r, attr).get(k, _MISSING) for r in self.runs]) for k in sorted(keys)
            ]

        facts = [
            ("status", [r.status for r in self.runs]),
            ("started", [r.started_at for r in self.runs]),
            ("by", [r.actor for r in self.runs]),
            ("data sha256", [r.data.get("sha256", _MISSING) for r in self.runs]),
            ("data rows", [r.data.get("rows", _MISSING) for r in self.runs]),
            ("git commit", [(r.git_commit or "")[:12] or _MISSING for r in self.runs]),
        ]
        out = [("run", facts), ("parameters", rows("params")), ("metrics", rows("metrics"))]
        if any(r.values for r in self.runs):
            out.append(("recorded values", rows("values")))
        return out

    def differences(self) -> dict[str, list[str]]:
        """Per section, the rows whose values differ between the runs."""
        return {
            section: [name for name, values in rows if _differs(values, name)]
            for section, rows in self.sections()
        }

    def shared_metrics(self) -> dict[str, list[float]]:
        """Metrics every run has, with each run's value."""
        shared: dict[str, list[float]] = {}
        for name in sorted(self.runs[0].metrics):
            values = [r.metrics.get(name) for r in self.runs]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                shared[name] = [float(v) for v in values if v is not None]
        return shared

    # -- static rendering ----------------------------------------------------

    def tables_html(self, only_differences: bool | None = None) -> str:
        only = self.only_differences if only_differences is None else only_differences
        labels = self.labels()
        parts = []
        for section, rows in self.sections():
            shown = [(n, v) for n, v in rows if _differs(v, n) or not only]
            if not shown:
                note = "the same in every run" if rows else "none"
                parts.append(f"{heading(section)}<p class='muted'>{note}</p>")
                continue
            cells = [[f"<b>{text(n)}</b>", *(_cell(v) for v in values)] for n, values in shown]
            classes = ["diff" if _differs(v, n) else "" for n, v in shown]
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

    def to_html(self) -> str:
        return page(self._title(), self.tables_html() + self.chart_html())

    def __str__(self) -> str:
        labels = self.labels()
        lines = [f"{count(len(self.runs), 'run')} compared (* = differs)"]
        for section, rows in self.sections():
            table = [
                {
                    "": ("* " if _differs(values, name) else "  ") + name,
                    **{lab: "—" if v is _MISSING else v for lab, v in zip(labels, values)},
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
    if value is _MISSING:
        return "<span class='muted'>—</span>"
    return text(value)
