"""What each tab of the JupyterLab panel shows, in one document per tab.

A refresh of a tab is one request (``GET /panel/models``, ``/panel/runs``,
``/panel/drift``; the Schedules tab's ``GET /schedules`` is one already),
answered from a fixed number of queries whatever the size of the registry:
the whole registry's versions, alias histories, drift checks and the runs
that produced the versions are each read at once, never once per model.
Each model's part is the same document as its own route's
(:func:`~.views.model_detail`, :func:`~.views.drift_view`), built by the
same functions from what was read; the Models tab's versions carry only what
the tab shows (the hashes of their files are a request away). The server keeps the Models and Drift
documents until the store changes (:class:`TabCache`), so the panel's
periodic refresh of an unchanged registry costs one query.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..registry import DEFAULT_ALIAS, alias_histories
from .views import drift_doc, model_doc, panel_version_doc, run_docs

if TYPE_CHECKING:
    from ..records import Run, RunLink
    from ..store import Store


def encode(document: Any) -> str:
    """A document as the REST API sends it: compact JSON, anything else as text."""
    return json.dumps(document, default=str, separators=(",", ":"))


class TabCache:
    """The last encoded document of each tab, kept until the store changes.

    Every change to a store appends an event to its audit chain in the same
    transaction, so the chain's head names the state a document was read
    in: a periodic refresh of an unchanged registry is one query. The head
    is read before the document, so a write landing in between leaves the
    document filed under the older head (built again next time), never a
    stale document under the newer one.
    """

    def __init__(self) -> None:
        self._bodies: dict[str, tuple[tuple[int, str] | None, str]] = {}

    def body(self, store: Store, tab: str, build: Callable[[Store], Any]) -> str:
        """The JSON of ``build(store)``, built again only when the store changed."""
        head = store.chain_head()
        state = None if head is None else (head[0], head[1])
        kept = self._bodies.get(tab)
        if kept is not None and kept[0] == state:
            return kept[1]
        body = encode(build(store))
        self._bodies[tab] = (state, body)
        return body


def models_tab(store: Store) -> dict[str, Any]:
    """``GET /panel/models``: every model's summary and detail, A to Z.

    ``{"models": [{"summary": ..., "detail": ...}]}``, each part as
    ``GET /models`` and ``GET /models/{name}`` give it, but each version with
    only what the tab shows (:func:`~.views.panel_version_doc`).
    """
    summaries = store.list_models()
    versions = store.versions_by_model()
    histories = alias_histories(store)
    runs: dict[str, Run | RunLink | None] = dict(store.version_lineage())
    return {
        "models": [
            {
                "summary": summary,
                "detail": model_doc(
                    store,
                    summary["name"],
                    versions.get(summary["name"], []),
                    histories.get(summary["name"], []),
                    runs,
                    panel_version_doc,
                ),
            }
            for summary in summaries
        ]
    }


@dataclass(frozen=True)
class RunSearch:
    """What a page of runs asks for: the arguments of ``GET /runs/search``."""

    #: the filter, e.g. ``auc > 0.8 and C = 1`` (:mod:`mlops_nb.tracking.search`)
    q: str | None = None
    #: only runs of this kind, besides ``q``
    kind: str | None = None
    #: ``started`` (``None``), ``metrics.auc``, ``params.C``, …
    sort: str | None = None
    order: str | None = None
    limit: int = 50
    offset: int = 0


def runs_tab(store: Store, search: RunSearch, selected: str | None) -> dict[str, Any]:
    """``GET /panel/runs``: a page of the runs a filter matches, and the selected run.

    ``page`` is ``GET /runs/search``'s document, or ``None`` with ``error``
    saying what is wrong when the filter ``q`` cannot be read (the tab keeps
    its last page and still shows the selected run). ``selected`` is
    ``GET /runs/{run_id}``'s document, or ``None`` with ``selected_error``
    when no run has that id.
    """
    from ..tracking.search import MAX_LENGTH, parse_query

    error = None
    # Within the documented length, a filter that cannot be read is the user's text
    # to correct; beyond it, the caller ignored the contract (a 400).
    if len(search.q or "") <= MAX_LENGTH:
        try:
            parse_query(search.q)
        except InvalidInputError as exc:
            error = str(exc)
    # Only the filter is text the user typed; a bad sort or page is the caller's
    # mistake and a 400, as on GET /runs/search.
    page = None if error else run_page(store, search)
    detail, detail_error = None, None
    if selected:
        try:
            detail = run_detail(store, selected)
        except (NotFoundError, InvalidInputError) as exc:
            detail_error = str(exc)
    return {"page": page, "error": error, "selected": detail, "selected_error": detail_error}


def run_page(store: Store, search: RunSearch) -> dict[str, Any]:
    """``GET /runs/search``: one page of the runs a filter matches, sorted, with the total."""
    from ..tracking.search import And, Compare, Field, parse_query, parse_sort

    query = parse_query(search.q)
    if search.kind:  # apart from q, so a message about q points into the user's own text
        only = Compare(Field("run", "kind"), "=", search.kind)
        query = only if query is None else And((only, query))
    key = parse_sort(search.sort, search.order)
    runs, total = store.search_runs(query, key, limit=search.limit, offset=search.offset)
    return {
        "runs": run_docs(store, runs),
        "total": total,
        "limit": search.limit,
        "offset": search.offset,
        "sort": search.sort or "started",
        "order": "desc" if key.descending else "asc",
    }


def run_detail(store: Store, ref: str) -> dict[str, Any]:
    """``GET /runs/{run_id}``: a run (by id or unique prefix) with the ids of its children,
    the files it left and the runs it started."""
    from .views import run_artifacts, run_tree

    run = store.get_run(ref)
    (doc,) = run_docs(store, [run])
    doc["children"] = [c.run_id for c in store.list_runs(parent_run_id=run.run_id)]
    doc["artifacts"] = run_artifacts(store, run)
    doc["started"] = run_tree(store, run)
    return doc


def drift_tab(store: Store) -> dict[str, Any]:
    """``GET /panel/drift``: every model's drift view, A to Z (``{"models": [...]}``, each
    as ``GET /drift/{name}`` gives it)."""
    from ..monitoring.monitor import load_reports

    summaries = store.list_models()
    checks: dict[str, list[dict[str, Any]]] = {}
    for row in store.drift_checks():
        if row["model"] is not None:  # a check against a bare profile belongs to no model
            checks.setdefault(row["model"], []).append(row)
    latest = [f"drift_check:{rows[-1]['id']}" for rows in checks.values()]
    alerts: dict[str, list[dict[str, Any]]] = {}
    for alert in store.list_alerts(subjects=latest) if latest else []:
        alerts.setdefault(alert["subject"], []).append(alert)
    reports = load_reports(store, [rows[-1] for rows in checks.values()])
    histories = alias_histories(store)
    out = []
    for summary in summaries:
        name = summary["name"]
        rows = checks.get(name, [])
        report = reports[rows[-1]["id"]] if rows else None
        about = alerts.get(f"drift_check:{rows[-1]['id']}", []) if rows else []
        holder = summary["aliases"].get(DEFAULT_ALIAS)
        out.append(drift_doc(name, rows, report, about, holder, histories.get(name, [])))
    return {"models": out}
