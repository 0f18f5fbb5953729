"""What the panel shows, computed here: the server computes, the UIs display.

Each function answers one REST document from the core: which version a
rollback would return to (the registry's holder stack), which run, notebook,
pipeline and schedule produced a version, how loud each drift verdict is
(:func:`mlops_nb.display.severity_level`), which version a drift check was
against and whether the current holder was ever checked, the alerts a check
raised, whether a run has an executed notebook, whether a schedule can move
an alias, and how far a running slot has got. The panel adds no rule of its
own; the widgets in the kernel call the same core.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from ..display import severity_level
from ..errors import NotFoundError
from ..registry import DEFAULT_ALIAS, alias_history, check_model_name, holder_stack

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..records import AliasChange, AliasRefusal, ModelVersion, Run, RunLink
    from ..store import Store

    #: How one version appears in a model's document.
    VersionDoc = Callable[[Store, ModelVersion, dict[str, Run | RunLink | None]], dict[str, Any]]

#: A notebook that can move an alias: the magic, or a call of ``promote``.
_PROMOTES = re.compile(r"%mlops_promote\b|\bpromote\s*\(")
#: Notebook file content → whether it promotes (content-addressed, so never stale).
_promotes_cache: dict[str, bool] = {}


# -- models ---------------------------------------------------------------------------


def alias_order(alias: str) -> tuple[bool, str]:
    """The default alias first, then A to Z."""
    return (alias != DEFAULT_ALIAS, alias)


def model_detail(store: Store, name: str) -> dict[str, Any]:
    """``GET /models/{name}``: versions with what produced them, aliases, the full history.

    ``aliases`` lists each holder with ``rollback_to``, the version
    :func:`mlops_nb.registry.rollback` would return it to (``None``: nothing
    earlier). ``history`` holds the moves and the refused promotions
    (``action == "refused"``), oldest first.
    """
    name = check_model_name(name)
    return model_doc(store, name, store.list_versions(name), alias_history(store, name), {})


def model_doc(
    store: Store,
    name: str,
    versions: list[ModelVersion],
    history: list[AliasChange | AliasRefusal],
    runs: dict[str, Run | RunLink | None],
    shown: VersionDoc | None = None,
) -> dict[str, Any]:
    """:func:`model_detail` from what was read already: the model's versions, its alias
    history, and the runs known so far (``runs``, filled in as they are read).

    ``shown`` makes each version's part (:func:`version_doc`, the default; the
    panel's Models tab uses :func:`panel_version_doc`)."""
    shown = shown or version_doc
    holders = {alias: v.version for v in versions for alias in v.aliases}
    aliases = []
    for alias in sorted(holders, key=alias_order):
        stack = holder_stack([h for h in history if h.alias == alias])
        aliases.append(
            {
                "alias": alias,
                "version": holders[alias],
                "rollback_to": stack[-2] if len(stack) >= 2 else None,
            }
        )
    return {
        "name": name,
        "default_alias": DEFAULT_ALIAS,
        "aliases": aliases,
        "versions": [shown(store, v, runs) for v in versions],
        "history": [h.to_json() for h in history],
    }


def version_doc(
    store: Store, version: ModelVersion, runs: dict[str, Run | RunLink | None]
) -> dict[str, Any]:
    """A version with ``estimator_name`` (the class alone) and ``produced_by``.

    The fields are copied shallowly, not by ``to_json``: the document is only
    encoded, and for a listing of thousands of versions the deep copy was a
    tenth of the request.
    """
    doc = dict(vars(version))
    doc["estimator_name"] = (version.estimator or "").rsplit(".", 1)[-1] or None
    doc["produced_by"] = produced_by(store, version.run_id, runs)
    return doc


#: The fields of a version the Models tab shows (and the estimator's full name, its
#: title). The rest is left to ``GET /models/{name}/versions/{version}``, which the
#: tab asks when a version's input schema is unfolded: the model's name, the hashes
#: of its model file, data and profile, the file format, the input columns
#: themselves and the ids of the notebook and pipeline runs that produced it. On a
#: registry of thousands of versions those were more than half the tab's document.
PANEL_VERSION_FIELDS = (
    "version",
    "run_id",
    "created_at",
    "created_by",
    "estimator",
    "metrics",
    "aliases",
)
#: The parts of ``produced_by`` the tab names (its link is the version's ``run_id``).
PANEL_PRODUCER_FIELDS = ("notebook", "pipeline", "step", "schedule")


def panel_version_doc(
    store: Store, version: ModelVersion, runs: dict[str, Run | RunLink | None]
) -> dict[str, Any]:
    """A version as the Models tab shows it: :data:`PANEL_VERSION_FIELDS`, the
    ``estimator_name``, ``schema_columns`` (how many input columns; the columns come
    from ``GET /models/{name}/versions/{version}``), ``description`` and ``tags`` when
    it has them, and in ``produced_by`` the :data:`PANEL_PRODUCER_FIELDS` that apply
    (``produced_by`` is ``None`` for a version registered outside a run)."""
    doc = {key: getattr(version, key) for key in PANEL_VERSION_FIELDS}
    doc["estimator_name"] = (version.estimator or "").rsplit(".", 1)[-1] or None
    doc["schema_columns"] = len(version.signature)
    if version.description is not None:
        doc["description"] = version.description
    if version.tags:
        doc["tags"] = version.tags
    producer = produced_by(store, version.run_id, runs)
    doc["produced_by"] = (
        None
        if producer is None
        else {k: producer[k] for k in PANEL_PRODUCER_FIELDS if producer[k] is not None}
    )
    return doc


def produced_by(
    store: Store, run_id: str | None, runs: dict[str, Run | RunLink | None]
) -> dict[str, Any] | None:
    """Which run made a version, and the notebook, pipeline and schedule it ran in.

    ``{"run_id", "notebook", "notebook_run_id", "pipeline", "pipeline_run_id",
    "step", "schedule"}``, each ``None`` where it does not apply: a version
    tracked in an interactive notebook has a notebook and nothing else.
    """
    if not run_id:
        return None

    def get(rid: str | None) -> Run | RunLink | None:
        if not rid:
            return None
        if rid not in runs:
            try:
                runs[rid] = store.get_run(rid)
            except NotFoundError:
                runs[rid] = None
        return runs[rid]

    doc: dict[str, Any] = {
        "run_id": run_id,
        "notebook": None,
        "notebook_run_id": None,
        "pipeline": None,
        "pipeline_run_id": None,
        "step": None,
        "schedule": None,
    }
    run = get(run_id)
    seen: set[str] = set()
    while run is not None and run.run_id not in seen:
        seen.add(run.run_id)
        if run.kind == "notebook" and doc["notebook_run_id"] is None:
            doc["notebook_run_id"] = run.run_id
            doc["notebook"] = _basename(run.notebook_path) or run.name
            doc["step"] = run.tags.get("step")
        elif run.kind == "track" and run.notebook_path and doc["notebook"] is None:
            doc["notebook"] = _basename(run.notebook_path)
        elif run.kind == "pipeline" and doc["pipeline_run_id"] is None:
            doc["pipeline_run_id"], doc["pipeline"] = run.run_id, run.name
        doc["schedule"] = doc["schedule"] or run.tags.get("schedule")
        run = get(run.parent_run_id)
    return doc


def _basename(path: str | None) -> str | None:
    return _name_in(path) if path else None


@functools.lru_cache(maxsize=1024)
def _name_in(path: str) -> str:
    # cached: thousands of versions of a registry come from a few notebooks
    return PurePath(path).name


# -- runs -------------------------------------------------------------------------------


#: How many runs ``GET /runs/compare`` sets side by side.
MAX_COMPARED = 10


def compare_view(store: Store, run_ids: list[str]) -> dict[str, Any]:
    """``GET /runs/compare``: runs side by side, as the RunComparison widget has them,
    and how each later run's code differs from the first run's.

    ``runs`` gives each run's id and column label; ``sections`` the facts (data
    fingerprint, git commit, …), parameters, metrics and recorded values, each
    row with one value per run (``null`` where a run has none: ``missing``
    says which) and ``differs``; ``shared_metrics`` the metrics every run has.
    """
    from ..errors import InvalidInputError
    from ..tracking.comparison import MISSING, Comparison, differs

    if not 2 <= len(run_ids) <= MAX_COMPARED:
        raise InvalidInputError(
            f"compare takes 2 to {MAX_COMPARED} run ids (ids=a,b,...), not {len(run_ids)}"
        )
    compared = Comparison(store, run_ids)
    if len(compared.runs) < 2:
        raise InvalidInputError("compare needs two different runs")
    return {
        "runs": [
            {"run_id": r.run_id, "label": label}
            for r, label in zip(compared.runs, compared.labels(), strict=True)
        ],
        "sections": [
            {
                "name": section,
                "rows": [
                    {
                        "name": name,
                        "values": [None if v is MISSING else v for v in values],
                        "missing": [v is MISSING for v in values],
                        "differs": differs(values, name),
                    }
                    for name, values in rows
                ],
            }
            for section, rows in compared.sections()
        ],
        "shared_metrics": compared.shared_metrics(),
        "code": [d.to_json() for d in compared.code_diffs()],
    }


def run_docs(store: Store, runs: list[Run]) -> list[dict[str, Any]]:
    """Runs with ``has_notebook``: whether ``runs/{id}/notebook`` has one to show."""
    kinds = {r.run_id: r.kind for r in runs}

    def kind(run_id: str) -> str | None:
        if run_id not in kinds:
            try:
                kinds[run_id] = store.get_run(run_id).kind
            except NotFoundError:
                return None
        return kinds[run_id]

    out = []
    for run in runs:
        doc = run.to_json()
        doc["has_notebook"] = run.kind == "notebook" or (
            run.kind == "track"
            and run.parent_run_id is not None
            and kind(run.parent_run_id) == "notebook"
        )
        out.append(doc)
    return out


#: How deep ``GET runs/{id}`` follows the runs a run started (pipeline -> steps ->
#: tracked runs), and how many it lists under one run.
TREE_DEPTH = 2
TREE_WIDTH = 100


def run_tree(store: Store, run: Run, depth: int = TREE_DEPTH) -> dict[str, Any]:
    """The runs ``run`` started, oldest first, each with the runs it started in turn.

    ``{"runs": [...], "truncated": bool}``: a pipeline's steps with the runs
    each step tracked, a notebook's tracked runs. Each run is ``{run_id, kind,
    name, status, model_version, started_at, started}`` where ``started`` is
    its own tree (empty below TREE_DEPTH); ``truncated`` says that more than
    TREE_WIDTH runs were started and only the latest are listed.
    """
    if depth <= 0:
        return {"runs": [], "truncated": False}
    found = store.list_runs(parent_run_id=run.run_id, limit=TREE_WIDTH + 1)
    return {
        "runs": [
            {
                "run_id": child.run_id,
                "kind": child.kind,
                "name": child.name,
                "status": child.status,
                "model_version": child.model_version,
                "started_at": child.started_at,
                "started": run_tree(store, child, depth - 1),
            }
            # listed newest first: the latest TREE_WIDTH, in the order they ran
            for child in reversed(found[:TREE_WIDTH])
        ],
        "truncated": len(found) > TREE_WIDTH,
    }


#: What ``runs/{id}/artifacts/{kind}`` serves, and as what.
ARTIFACT_KINDS = {
    "model": "application/octet-stream",
    "profile": "application/json",
    "source": "application/json",
}


def run_artifacts(store: Store, run: Run) -> list[dict[str, Any]]:
    """The files a run left that can be downloaded: ``{kind, sha256, filename}`` each.

    ``model`` is the version the run registered (skops or pickle, as stored),
    ``profile`` the drift reference profile of its training data, ``source``
    the code it ran (session cells and the tracked cell). The executed
    notebook has its own route (``runs/{id}/notebook``).
    """
    short = run.run_id[:8]
    base = run.name or run.kind
    out = []
    if run.kind == "track" and run.name and run.model_version:
        version = store.get_version(run.name, run.model_version)
        suffix = "skops" if version.format == "skops" else "pkl"
        out.append(
            {
                "kind": "model",
                "sha256": version.artifact_sha256,
                "filename": f"{run.name}-v{version.version}.{suffix}",
            }
        )
        base = f"{run.name}-v{version.version}"
    profile = run.data.get("profile_sha256") if isinstance(run.data, dict) else None
    if isinstance(profile, str) and profile:
        out.append({"kind": "profile", "sha256": profile, "filename": f"{base}-profile.json"})
    if run.source_sha256:
        out.append(
            {"kind": "source", "sha256": run.source_sha256, "filename": f"{base}-{short}-code.json"}
        )
    return out


def run_artifact(store: Store, run_id: str, kind: str) -> tuple[bytes, str, str]:
    """``(bytes, content type, filename)`` of one of :func:`run_artifacts`."""
    from ..errors import InvalidInputError

    if kind not in ARTIFACT_KINDS:
        raise InvalidInputError(f"artifact kind must be one of {', '.join(ARTIFACT_KINDS)}")
    run = store.get_run(run_id)
    found = next((a for a in run_artifacts(store, run) if a["kind"] == kind), None)
    if found is None:
        raise NotFoundError(f"run {run.run_id[:12]} has no {kind} file")
    return store.get_artifact(found["sha256"]), ARTIFACT_KINDS[kind], found["filename"]


# -- drift ------------------------------------------------------------------------------


def drift_report_html(store: Store, name: str, check_id: str) -> str:
    """``GET /drift/{name}/checks/{id}/report``: a recorded check as a standalone HTML page."""
    from ..errors import InvalidInputError
    from ..monitoring.drift.report import DriftReport
    from ..monitoring.monitor import load_report

    name = check_model_name(name)
    if not re.fullmatch(r"[1-9][0-9]{0,17}", check_id):
        raise InvalidInputError(f"a drift check id is a positive whole number, not {check_id!r}")
    row = store.get_drift_check(int(check_id))
    if row["model"] != name:
        raise NotFoundError(f"{name} has no drift check {check_id}")
    return DriftReport.from_json(load_report(store, int(check_id))).to_html()


def report_level(report: dict[str, Any]) -> str:
    """How loud a whole check is: ``drift``; ``warning`` when columns came close, the
    schema changed or performance (realised or estimated) degraded; else ``ok``."""
    if report.get("drift"):
        return "drift"
    prediction = [report["prediction"]] if report.get("prediction") else []
    columns = [*(report.get("columns") or []), *prediction]
    schema = report.get("schema") or {}
    if (
        any(c.get("level") in ("drift", "warning") for c in columns)
        or (report.get("performance") or {}).get("degraded")
        or (report.get("estimated_performance") or {}).get("degraded")
        or schema.get("missing")
        or schema.get("dtype_changes")
    ):
        return "warning"
    return "ok"


def with_levels(report: dict[str, Any]) -> dict[str, Any]:
    def level(column: dict[str, Any]) -> dict[str, Any]:
        shown = severity_level(column.get("drift"), column.get("severity"), column.get("testable"))
        return {**column, "level": shown}

    out = {**report, "columns": [level(c) for c in report.get("columns") or []]}
    if report.get("prediction"):
        out["prediction"] = level(report["prediction"])
    out["level"] = report_level(out)
    return out


def check_level(row: dict[str, Any]) -> str:
    if row.get("drift"):
        return "drift"
    summary = row.get("summary") or {}
    close = any(severity_level(c.get("drift"), c.get("severity")) != "ok" for c in summary.values())
    return "warning" if close or row.get("degraded") else "ok"


def drift_view(store: Store, name: str) -> dict[str, Any]:
    """``GET /drift/{name}``: the checks, the latest report with a level per column,
    which version it checked, who holds the default alias now and when that version
    was last checked, the alerts the latest check raised, and the default alias's
    moves."""
    from ..monitoring.monitor import history, load_report

    name = check_model_name(name)
    checks = history(store, name)
    alerts = []
    if checks:
        alerts = store.list_alerts(model=name, subjects=[f"drift_check:{checks[-1]['id']}"])
    holder = store.alias_holder(name, DEFAULT_ALIAS)
    report = load_report(store, checks[-1]["id"]) if checks else None
    version = None if holder is None else holder.version
    return drift_doc(name, checks, report, alerts, version, alias_history(store, name))


def drift_doc(
    name: str,
    checks: list[dict[str, Any]],
    report: dict[str, Any] | None,
    alerts: list[dict[str, Any]],
    holder: int | None,
    moves: Sequence[AliasChange | AliasRefusal] = (),
) -> dict[str, Any]:
    """:func:`drift_view` from what was read already: the model's checks (oldest first),
    the full report of the latest, the alerts about it, the version holding the
    default alias, and the model's alias history (``alias_moves``: the default
    alias's moves, which the check timeline marks)."""
    rows = [{**r, "level": check_level(r)} for r in checks]
    latest = None
    raised: list[dict[str, Any]] = []
    if rows:
        last = rows[-1]
        latest = {**with_levels(report or {}), "check_id": last["id"]}
        raised = raised_alerts(alerts, f"drift_check:{last['id']}")
    current = None
    if holder is not None:
        held = [r for r in rows if r["version"] == holder]
        current = {
            "alias": DEFAULT_ALIAS,
            "version": holder,
            "last_checked_at": held[-1]["at"] if held else None,
            "checks": len(held),
        }
    return {
        "model": name,
        "history": rows,
        "latest": latest,
        "holder": current,
        "alerts": raised,
        "alias_moves": alias_moves(moves),
    }


def alias_moves(history: Sequence[AliasChange | AliasRefusal]) -> list[dict[str, Any]]:
    """The moves of the default alias (refusals left out), oldest first: where the
    check timeline marks that another version began to serve."""
    return [
        {
            "at": h.at,
            "alias": h.alias,
            "action": h.action,
            "from_version": h.from_version,
            "to_version": h.to_version,
        }
        for h in history
        if h.alias == DEFAULT_ALIAS and h.action != "refused"
    ]


def raised_alerts(alerts: list[dict[str, Any]], subject: str) -> list[dict[str, Any]]:
    """The alerts about ``subject`` (a check), each with how many channels took it."""
    return [
        {
            "id": a["id"],
            "at": a["at"],
            "kind": a["kind"],
            "message": a["message"],
            "delivered": sum(1 for d in a.get("deliveries") or [] if d.get("ok")),
            "channels": len(a.get("deliveries") or []),
        }
        for a in alerts
        if a["subject"] == subject
    ]


# -- schedules ---------------------------------------------------------------------------


#: How many of a schedule's newest slots ``GET /schedules`` lists.
RECENT_SLOTS = 10


def schedules_view(store: Store, cancellable: set[int]) -> list[dict[str, Any]]:
    """``GET /schedules``: each schedule with ``promotes`` (the notebooks in it that can
    move an alias, so the panel asks before *Run now*), its running slots with their
    progress, its last finished slot, its ``recent`` slots (newest first: ran, queued,
    skipped and why), its cron expression in words (``cron_text``) and, for a pipeline,
    the ``steps`` of its approved snapshot (``None`` for a notebook)."""
    from ..schedules.schedule import describe_cron, listing
    from .pipelines import snapshot_steps

    out = []
    for schedule in listing(store):
        slots = store.slots(schedule["name"], limit=20)
        running = [slot_view(store, s, cancellable) for s in slots if s["status"] == "running"]
        ended = [s for s in slots if s["status"] not in ("running", "queued")]
        out.append(
            {
                **schedule,
                "promotes": promoting_notebooks(store, schedule),
                "default_alias": DEFAULT_ALIAS,
                "running": running,
                "last_slot": ended[0] if ended else None,
                "recent": slots[:RECENT_SLOTS],
                "cron_text": describe_cron(schedule["cron"], schedule["tz"]),
                "steps": snapshot_steps(store, schedule),
            }
        )
    return out


def slot_view(store: Store, slot: dict[str, Any], cancellable: set[int]) -> dict[str, Any]:
    """A slot with ``progress`` while it runs and ``cancellable`` (it runs in this server)."""
    return {
        **slot,
        "progress": slot_progress(store, slot) if slot["status"] == "running" else None,
        "cancellable": slot["status"] == "running" and slot["id"] in cancellable,
    }


def slot_progress(store: Store, slot: dict[str, Any]) -> dict[str, Any]:
    """How far a running slot has got: steps of a pipeline, cells of the notebook running.

    ``{"run_id", "step", "steps_done", "steps_total", "cells_done", "cells_total"}``;
    the counts are ``None`` until they can be told (the kernel is still starting).
    """
    from ..execution.runner import progress

    doc: dict[str, Any] = {
        "run_id": slot["run_id"],
        "step": None,
        "steps_done": None,
        "steps_total": None,
        "cells_done": None,
        "cells_total": None,
    }
    if not slot["run_id"]:
        return doc
    try:
        run = store.get_run(slot["run_id"])
    except NotFoundError:
        return doc  # the run is recorded while its kernel starts
    notebook_run: str | None = run.run_id
    if run.kind == "pipeline":
        steps = (run.data or {}).get("steps") or {}
        doc["steps_total"] = len(steps) or None
        doc["steps_done"] = sum(1 for s in steps.values() if s.get("status") == "finished")
        # the cells of the step running now (the first, when several run side by side)
        children = [c for c in store.list_runs(parent_run_id=run.run_id) if c.status == "running"]
        notebook_run = children[0].run_id if children else None
        doc["step"] = children[0].tags.get("step") if children else None
    cells = progress(store, notebook_run) if notebook_run else None
    if cells is not None:
        doc["cells_done"], doc["cells_total"] = cells
    return doc


def promoting_notebooks(store: Store, schedule: dict[str, Any]) -> list[str]:
    """The notebooks of a schedule's approved snapshot that call ``promote``."""
    sha = schedule["snapshot_sha256"]
    if schedule["kind"] == "notebook":
        files = {PurePath(schedule["target"]).name: sha}
    else:
        try:
            files = json.loads(store.get_artifact(sha).decode())["files"]
        except (NotFoundError, ValueError, KeyError, TypeError):
            return []
    return sorted(
        PurePath(path).name
        for path, content in files.items()
        if path.endswith(".ipynb") and _notebook_promotes(store, content)
    )


def _notebook_promotes(store: Store, sha: str) -> bool:
    if sha not in _promotes_cache:
        try:
            cells = json.loads(store.get_artifact(sha).decode()).get("cells", [])
        except (NotFoundError, ValueError, AttributeError):
            cells = []
        sources = (
            "".join(c.get("source", ""))
            if isinstance(c.get("source"), list)
            else str(c.get("source", ""))
            for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code"
        )
        _promotes_cache[sha] = any(_PROMOTES.search(text) for text in sources)
    return _promotes_cache[sha]
