"""Self-contained HTML reports of executed notebooks, with a provenance header.

The executed notebook is read from the store (its SHA-256 checked), rendered
with nbconvert, and prefixed with who ran what, when, with which parameters,
code version, environment and results. Scripts from CDNs are left out so the
file opens offline and can be mailed or archived as it is.

A notebook's outputs are whatever its code printed, so the report must not
act on them: a Content-Security-Policy (:data:`CONTENT_SECURITY_POLICY`, a
``<meta http-equiv>`` tag ahead of everything else in the page) lets the
report use its own inline styles and ``data:`` images and fonts, and nothing
else: no script runs (a ``<script>``, an ``onerror=`` attribute, a
``javascript:`` link), nothing is fetched, no form is sent. The report needs
no script of its own: nbconvert's inline ones only load MathJax and mermaid
from URLs we leave empty. A ``<meta>`` in an output (``http-equiv="refresh"``
would take the reader elsewhere) is renamed to an inert element.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from ..display import format_number, format_time
from ..errors import NotFoundError
from ..jsonutil import utcnow
from ..records import Run
from ..store import Store

_EXTERNAL_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", re.IGNORECASE
)
_EMPTY_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"\"[^>]*>\s*</script>", re.IGNORECASE)
_META = re.compile(r"<meta(?=[\s/>])", re.IGNORECASE)

#: Everything a report may load or run: its own inline styles, ``data:`` images and fonts.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def notebook_run_for(store: Store, run_id: str) -> Run:
    """The notebook run that holds the executed notebook of ``run_id``."""
    run = store.get_run(run_id)
    if run.kind == "notebook":
        return run
    if run.kind == "pipeline":
        steps = ", ".join(
            f"{name} {s['run_id'][:12]}"
            for name, s in (run.data.get("steps") or {}).items()
            if s.get("run_id")
        )
        raise NotFoundError(
            f"run {run.run_id[:12]} is a pipeline; report one of its steps: {steps or 'none ran'}"
        )
    if run.kind == "test":
        raise NotFoundError(
            f"run {run.run_id[:12]} tested a model with the YAML suite {run.name}: it has no "
            "notebook; `mlops-nb show` lists its checks"
        )
    if run.parent_run_id:
        parent = store.get_run(run.parent_run_id)
        if parent.kind == "notebook":
            return parent
    raise NotFoundError(
        f"run {run.run_id[:12]} has no executed notebook: it was tracked interactively, not by "
        "`mlops-nb run`"
    )


def render(store: Store, run_id: str) -> str:
    """The HTML report of a run, as a string."""
    import nbformat
    from nbconvert import HTMLExporter

    nb_run = notebook_run_for(store, run_id)
    if not nb_run.output_sha256:
        raise NotFoundError(f"run {nb_run.run_id[:12]} is still running: no executed notebook yet")
    nb = nbformat.reads(store.get_artifact(nb_run.output_sha256).decode("utf-8"), as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        mathjax_url="",
        require_js_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    body = _EMPTY_SCRIPT.sub("", _EXTERNAL_SCRIPT.sub("", body))
    children = store.list_runs(parent_run_id=nb_run.run_id)
    header = provenance_html(store, nb_run, children)
    return _with_policy(body, header)


def _with_policy(page: str, header: str) -> str:
    """``page`` with the policy first in its head, ``header`` first in its body,
    and every ``<meta>`` of the notebook's content made inert."""
    policy = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    body = re.search(r"<body[^>]*>", page)
    if body is None:
        return policy + header + _META.sub("<mlops-nb-inert-meta", page)
    top, content = page[: body.end()], page[body.end() :]
    head = re.search(r"<head[^>]*>", top)
    top = top[: head.end()] + policy + top[head.end() :] if head else policy + top
    return top + header + _META.sub("<mlops-nb-inert-meta", content)


def provenance_html(store: Store, run: Run, children: list[Run]) -> str:
    """The header block: every fact an auditor asks for, escaped."""
    env = run.environment or {}
    git = run.git_commit or "not in a git work tree"
    if run.git_commit and run.git_dirty:
        git += " (uncommitted changes)"
    rows: list[tuple[str, Any]] = [
        ("run", run.run_id),
        ("status", run.status + (f": {run.error}" if run.error else "")),
        ("notebook", run.notebook_path),
        ("notebook SHA-256 (as run)", run.input_sha256),
        ("executed notebook SHA-256", run.output_sha256),
        ("started / ended", f"{format_time(run.started_at)} / {format_time(run.ended_at)}"),
        ("triggered by", run.actor),
        ("parameters", _pairs(run.params) or "none"),
        ("recorded values", _pairs(run.values) or "none"),
        ("git commit", git),
        (
            "environment",
            f"Python {env.get('python', '?')} on {env.get('platform', '?')}, "
            f"host {env.get('host', '?')}",
        ),
        ("store", str(store.home)),
    ]
    tracked = []
    for child in children:
        version = f"{child.name}:{child.model_version}" if child.model_version else child.name
        tracked.append(
            f"<li><code>{escape(child.run_id[:12])}</code> {escape(str(version))} — "
            f"{escape(child.status)}; metrics: {escape(_pairs(child.metrics) or 'none')}; "
            f"data SHA-256 {escape(str(child.data.get('sha256', 'n/a')))}</li>"
        )
    table = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th>"
        f"<td><code>{escape(str(v))}</code></td></tr>"
        for k, v in rows
    )
    color = "#1a7f37" if run.status == "finished" else "#cf222e"
    return (
        "<section id='mlops-nb-provenance' style='font-family:sans-serif;border:2px solid "
        f"{color};border-radius:6px;padding:12px 16px;margin:16px'>"
        f"<h2 style='margin-top:0'>Provenance — {escape(run.name or 'notebook')}</h2>"
        f"<table>{table}</table>"
        + (f"<h3>Tracked runs</h3><ul>{''.join(tracked)}</ul>" if tracked else "")
        + f"<p style='color:#555'>Report generated {escape(format_time(utcnow()))} by mlops-nb. "
        "Check that "
        "nothing changed since with <code>mlops-nb audit verify</code>.</p></section>"
    )


def _pairs(values: dict[str, Any]) -> str:
    """``k=v, …`` with numbers as every mlops-nb surface writes them."""
    return ", ".join(
        f"{k}={format_number(v) if isinstance(v, (int, float)) else v}" for k, v in values.items()
    )
