"""What every widget shares: a static rendering, a lazily built ipywidgets view, and the choice.

A widget object is not itself an ipywidget. It renders to HTML and text on
its own, and builds its ipywidgets tree only when a live frontend is going to
show it (or when asked for :attr:`View.widget`). Its display bundle is the
one ipywidgets would give (``application/vnd.jupyter.widget-view+json``)
with the static HTML and text added, so a frontend that cannot render the
widget still has something to show.

A saved notebook outlives its kernel: reopened later, the widget's model is
gone, and JupyterLab, which prefers the widget to the HTML, would say "model
not found". So a live bundle also carries :data:`VIEW_MIME`, which the
mlops-nb JupyterLab extension renders as the live widget while its model
exists and as the stored HTML otherwise (frontends without the extension
ignore it). The object is shown with a display id, and every action taken in
the widget re-sends the bundle (:meth:`View.refresh_display`), so the HTML
saved with the notebook says what the widget said last.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from .. import api
from ..display import _CSS, _short
from ..tracking import context

if TYPE_CHECKING:
    from ..store import Store

#: The mime type ipywidgets puts in a display bundle for a live view.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Marks a bundle whose live view falls back to its ``text/html`` once the model is gone.
VIEW_MIME = "application/vnd.mlops-nb.view+json"
#: ``1`` always offers the live view, ``0`` never; unset decides per display.
ENV_WIDGETS = "MLOPS_NB_WIDGETS"
PLOTLY_MIME = "application/vnd.plotly.v1+json"

_CSS_EXTRA = (
    "<style>.mlops-nb h4{margin:10px 0 2px;font-size:12px}"
    ".mlops-nb tr.diff td,.mlops-nb tr.diff th{background:#fff8c5}"
    ".mlops-nb tr.sev-ok td{background:#dafbe1}.mlops-nb tr.sev-watch td{background:#fff1c2}"
    ".mlops-nb tr.sev-drift td{background:#ffd8d3}.mlops-nb tr.sev-na td{color:#6e7781}"
    ".mlops-nb .bar{display:inline-block;height:9px;background:#8c959f;"
    "vertical-align:middle;margin-right:4px}.mlops-nb .bar.bad{background:#cf222e}"
    ".mlops-nb .muted{color:#6e7781}</style>"
)


def ipywidgets_module() -> Any | None:
    """The ``ipywidgets`` module, or ``None`` when it cannot be imported."""
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def live_frontend() -> bool:
    """Whether a person is likely looking at this kernel through a notebook frontend.

    ``MLOPS_NB_WIDGETS=1`` or ``0`` decides outright. Otherwise there must be
    a kernel (not a terminal or plain Python), the notebook must not be
    executing under ``mlops-nb run``, and the cell must have been sent by a
    frontend that accepts ``input()``: JupyterLab, Notebook and VS Code send
    ``allow_stdin``, batch executors (nbclient, hence papermill and
    ``nbconvert --execute``) do not. In batch runs a live view would only be
    a dead reference in the saved notebook, and nbconvert would prefer it to
    the HTML once the widget state is saved, so those get the HTML alone.
    """
    override = os.environ.get(ENV_WIDGETS, "").strip()
    if override in ("0", "1"):
        return override == "1"
    if context.parent_run_id():
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    return bool(getattr(kernel, "_allow_stdin", True))


class View:
    """Base of the notebook widgets: subclasses give ``to_html``, ``__str__`` and ``_build``."""

    def __init__(self, store: Store | None, interactive: bool | None) -> None:
        self.store = api.get_store(store=store)
        self.interactive = interactive
        self._widget: Any = None
        self._controls: Any = None  # set by _build: the named ipywidgets
        self._handles: list[Any] = []  # where IPython shows this object (display handles)

    # -- the live view ------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The ipywidgets tree, built on first use; ``None`` without ipywidgets."""
        if self._widget is None:
            widgets = ipywidgets_module()
            if widgets is None:
                return None
            self._widget = self._build(widgets)
        return self._widget

    @property
    def controls(self) -> Any:
        """The named ipywidgets inside :attr:`widget` (a namespace), built on first use."""
        if self.widget is None:
            raise ImportError(f"{type(self).__name__} needs ipywidgets to be interactive")
        return self._controls

    def _build(self, widgets: Any) -> Any:
        raise NotImplementedError

    def _offers_view(self) -> bool:
        return live_frontend() if self.interactive is None else self.interactive

    # -- display ------------------------------------------------------------

    def to_html(self) -> str:
        """A self-contained HTML rendering (no scripts), every user-given name escaped."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if self._offers_view():
            widget = self.widget
            # ipywidgets drops its own method from a closed widget.
            own = getattr(widget, "_repr_mimebundle_", None)
            if callable(own):
                bundle.update(own(include=include, exclude=exclude) or {})
            if WIDGET_VIEW in bundle:
                bundle[VIEW_MIME] = {"fallback": "text/html"}
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = str(self)
        return bundle

    def _ipython_display_(self) -> None:
        """Show the bundle under a display id, so :meth:`refresh_display` can replace it."""
        from IPython.display import display

        handle = display(self._repr_mimebundle_(), raw=True, display_id=True)
        if handle is not None:
            self._handles.append(handle)

    def refresh_display(self) -> None:
        """Re-send the bundle wherever this object is shown (the saved HTML follows the widget)."""
        if not self._handles:
            return
        bundle = self._repr_mimebundle_()
        for handle in self._handles:
            handle.update(bundle, raw=True)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


# -- HTML pieces ----------------------------------------------------------------


def text(value: Any) -> str:
    """A value as escaped, shortened HTML text."""
    return escape(_short(value))


def page(title: str, body: str, css: str = "ok") -> str:
    """The outer frame every widget's static HTML uses (``title`` is escaped here)."""
    return (
        f"{_CSS}{_CSS_EXTRA}<div class='mlops-nb'><b class='{css}'>{escape(title)}</b>{body}</div>"
    )


def count(n: int, noun: str) -> str:
    """``1 model``, ``2 models``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def heading(title: str) -> str:
    return f"<h4>{escape(title)}</h4>"


def html_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    row_classes: Iterable[str] | None = None,
) -> str:
    """A table of cells that are HTML already (escape them with :func:`text`)."""
    classes = list(row_classes or [])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for i, cells in enumerate(rows):
        css = f" class='{classes[i]}'" if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def bar(value: float | None, top: float, bad: bool = False) -> str:
    """A small horizontal bar, ``value`` of ``top`` wide (numbers only, nothing escaped)."""
    if value is None or top <= 0 or value != value:
        return ""
    width = max(1, min(120, round(120 * max(value, 0.0) / top)))
    return f"<span class='bar{' bad' if bad else ''}' style='width:{width}px'></span>"


def figure_outputs(figures: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """Plotly figures as outputs for an ``ipywidgets.Output`` (rendered by JupyterLab's plotly)."""
    outputs = []
    for fig in figures:
        spec = json.loads(fig.to_json())
        spec["config"] = {"displaylogo": False, "responsive": True}
        title = fig.layout.title.text or "chart"
        outputs.append(
            {
                "output_type": "display_data",
                "data": {PLOTLY_MIME: spec, "text/plain": f"<plotly figure: {title}>"},
                "metadata": {},
            }
        )
    return tuple(outputs)
