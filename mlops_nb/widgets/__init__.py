"""Notebook widgets: browse the registry, watch drift, compare runs.

::

    from mlops_nb.widgets import AlertInbox, DriftDashboard, RegistryBrowser, RunComparison

    RegistryBrowser()              # models, versions, aliases; promote and roll back
    DriftDashboard("churn")        # the latest check per column, its charts, the history
    RunComparison([run_a, run_b])  # parameters and metrics side by side
    AlertInbox("churn")            # the alert inbox; acknowledge, resolve with a decision

Each is an ordinary object that IPython displays. Shown by a live notebook
frontend, its display bundle holds the ipywidgets view and, as a fallback,
self-contained HTML and text; where nobody is looking (papermill,
``nbconvert --execute``, ``mlops-nb run``, a terminal) it holds only the
HTML and text, so executed notebooks, HTML reports and GitHub show the same
content without a kernel. ``%mlops_models``, ``%mlops_drift NAME`` and
``%mlops_compare`` return them. ipywidgets and plotly load on first use.
"""

from __future__ import annotations

from .base import VIEW_MIME, WIDGET_VIEW, View, live_frontend
from .browser import RegistryBrowser
from .comparison import RunComparison
from .dashboard import DriftDashboard
from .inbox import AlertInbox

__all__ = [
    "VIEW_MIME",
    "WIDGET_VIEW",
    "AlertInbox",
    "DriftDashboard",
    "RegistryBrowser",
    "RunComparison",
    "View",
    "live_frontend",
]
