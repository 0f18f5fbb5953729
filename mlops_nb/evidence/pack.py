"""Build the evidence pack of one model over one period, as JSON-able data.

Everything comes from the store as recorded: the alias history (who held
each alias, from when to when, set by whom, why, through which gate), each
version's lineage (data fingerprint and schema, the executed training
notebook, git commit, environment, test results), refused and accepted
promotions, drift checks, alerts with their decisions and notes, serving
events, and the audit chain's head with the result of ``audit verify`` run
while the pack was built. :mod:`mlops_nb.evidence.html` renders it.

Other parts of mlops-nb add sections (promotion requests, model cards)
through :data:`SECTIONS` or the ``sections`` argument of :func:`build`: a
provider is called as ``provider(store, model, start, end)`` and returns
JSON-able data (a list of objects renders as a table, an object as a
key/value table, text as preformatted text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..errors import InvalidInputError, NotFoundError
from ..jsonutil import parse_start, parse_time, utcnow
from ..records import AliasChange, ModelVersion
from ..registry.names import check_model_name

if TYPE_CHECKING:
    from ..store import Store

#: What a pack says it is (the ``kind`` of its JSON).
PACK_KIND = "mlops-nb evidence pack"
#: A section provider: ``(store, model, start, end) -> JSON-able data``.
Provider = Callable[["Store", str, str, str], Any]
#: Sections added to every pack on top of the built-in ones (:func:`builtin_sections`),
#: by key, in the order they render.
SECTIONS: dict[str, Provider] = {}
#: Keys a section may not take: they are the pack's own.
RESERVED = frozenset(
    {
        "kind",
        "model",
        "period",
        "generated_at",
        "generated_by",
        "store",
        "holders",
        "versions",
        "promotions",
        "drift_checks",
        "alerts",
        "serving",
        "audit",
        "sections",
    }
)


def period(start: Any, end: Any) -> tuple[str, str]:
    """The period ``[start, end]`` in the store's time format.

    A bare date means the start of that day for ``start`` and its end for
    ``end``, so ``2026-06-01`` to ``2026-08-31`` is the whole summer.

    Raises
    ------
    InvalidInputError
        A date that does not parse, or ``start`` after ``end``.
    """
    first, last = parse_start(start), parse_time(end)
    if first > last:
        raise InvalidInputError(f"the period starts ({first}) after it ends ({last})")
    return first, last


def builtin_sections() -> dict[str, Provider]:
    """The sections of other features every pack carries: promotion requests.

    Model cards (``cards``) are the pack's too: :func:`build` adds the card of
    every version it describes, unless ``sections`` gives its own ``cards``.
    """
    from ..registry.requests import promotion_requests

    return {"requests": promotion_requests}


def build(
    store: Store,
    name: str,
    start: Any,
    end: Any,
    *,
    sections: Mapping[str, Provider] | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """The evidence pack of model ``name`` from ``start`` to ``end`` (see the module doc).

    Parameters
    ----------
    store
        The store to read.
    name
        The model.
    start, end
        The period, as :func:`period` reads them.
    sections
        Extra sections by key, on top of :data:`SECTIONS` (same key: this wins).
    actor
        Who builds the pack (default: the usual actor).

    Raises
    ------
    InvalidInputError
        A bad date, a period that ends before it starts, a reserved section key.
    NotFoundError
        No model named ``name``.
    """
    name = check_model_name(name)
    first, last = period(start, end)
    providers = {**builtin_sections(), **SECTIONS, **(sections or {})}
    clash = sorted(set(providers) & RESERVED)
    if clash:
        raise InvalidInputError(f"section keys {clash} are the pack's own")
    generated = utcnow()
    changes = store.alias_changes(name)  # NotFoundError for an unknown model
    versions = {v.version: v for v in store.list_versions(name)}
    holders = _holders(changes, first, last, generated)
    refused = [r.to_json() for r in store.alias_refusals(name) if first <= r.at <= last]
    accepted = [c.to_json() for c in changes if first <= c.at <= last]
    checks = [_check(c) for c in store.drift_checks(name) if first <= c["at"] <= last]
    alerts = _alerts(store, name, first, last)
    wanted = (
        {h["version"] for h in holders}
        | {v for v, mv in versions.items() if first <= mv.created_at <= last}
        | {r["to_version"] for r in refused}
        | {c["to_version"] for c in accepted}
        | {c["version"] for c in checks if c["version"] is not None}
    )
    pack: dict[str, Any] = {
        "kind": PACK_KIND,
        "model": name,
        "period": {"from": first, "to": last},
        "generated_at": generated,
        "generated_by": actor or default_actor(),
        "store": {"backend": store.backend, "store_id": store.store_id},
        "holders": holders,
        "versions": [_lineage(store, versions[v]) for v in sorted(wanted) if v in versions],
        "promotions": {"accepted": accepted, "refused": refused},
        "drift_checks": checks,
        "alerts": alerts,
        "serving": _serving(store, name, first, last),
        "audit": _audit(store),
        "sections": list(providers),
    }
    for key, provider in providers.items():
        pack[key] = provider(store, name, first, last)
    if "cards" not in providers:
        from ..cards import card_for_pack

        pack["cards"] = [card_for_pack(store, name, v["version"]) for v in pack["versions"]]
        pack["sections"].append("cards")
    return pack


def _holders(changes: list[AliasChange], first: str, last: str, now: str) -> list[dict[str, Any]]:
    """Every version that held each alias in the period, its interval clipped to the period.

    ``from``/``to`` are the clipped interval; ``set_at`` is when the change
    that put the version there was made and ``until`` when the next change
    replaced it (``None``: it holds the alias still).
    """
    by_alias: dict[str, list[AliasChange]] = {}
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        by_alias.setdefault(change.alias, []).append(change)
    out: list[dict[str, Any]] = []
    for alias in sorted(by_alias):
        moves = by_alias[alias]
        for i, change in enumerate(moves):
            until = moves[i + 1].at if i + 1 < len(moves) else None
            begins = max(change.at, first)
            ends = min(until or now, last)
            if begins > last or (until is not None and until <= begins) or ends < begins:
                continue  # held it outside the period, or for no time (replaced at once)
            out.append(
                {
                    "alias": alias,
                    "version": change.to_version,
                    "from": begins,
                    "to": ends,
                    "set_at": change.at,
                    "until": until,
                    "set_by": change.actor,
                    "action": change.action,
                    "reason": change.reason,
                    "gate": change.gate,
                    "change_id": change.id,
                }
            )
    return out


def _lineage(store: Store, version: ModelVersion) -> dict[str, Any]:
    run = parent = None
    if version.run_id:
        try:
            run = store.get_run(version.run_id)
            if run.parent_run_id:
                parent = store.get_run(run.parent_run_id)
        except NotFoundError:
            pass
    data = dict(run.data) if run is not None else {}
    tests = store.model_tests(version.model, version.version)
    return {
        "version": version.version,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "run_id": version.run_id,
        "estimator": version.estimator,
        "artifact_sha256": version.artifact_sha256,
        "metrics": version.metrics,
        "description": version.description,
        "tags": version.tags,
        "data": {
            "sha256": version.data_sha256,
            "rows": data.get("rows"),
            "columns": data.get("columns"),
            "schema": data.get("schema") or [],
            "target": data.get("target"),
            "profile_sha256": version.profile_sha256,
        },
        "notebook": {
            "run_id": parent.run_id if parent is not None else None,
            "path": (parent.notebook_path if parent else None)
            or (run.notebook_path if run else None),
            "input_sha256": (parent.input_sha256 if parent else None)
            or (run.input_sha256 if run else None),
            "executed_sha256": parent.output_sha256 if parent is not None else None,
            "source_sha256": run.source_sha256 if run is not None else None,
        },
        "params": run.params if run is not None else {},
        "git": {
            "commit": run.git_commit if run is not None else None,
            "dirty": run.git_dirty if run is not None else None,
        },
        "environment": run.environment if run is not None else {},
        "tests": [t.to_json() for t in reversed(tests)],  # oldest first
    }


def _check(row: dict[str, Any]) -> dict[str, Any]:
    summary = row.get("summary") or {}
    return {
        "id": row["id"],
        "at": row["at"],
        "actor": row["actor"],
        "version": row["version"],
        "batch": row["batch"],
        "rows": row["rows"],
        "drift": bool(row["drift"]),
        "drift_share": row["drift_share"],
        "degraded": bool(row["degraded"]),
        "drifted_columns": sorted(c for c, v in summary.items() if v.get("drift")),
        "report_sha256": row["report_sha256"],
        "retrain_run_id": row["retrain_run_id"],
    }


def _alerts(store: Store, name: str, first: str, last: str) -> list[dict[str, Any]]:
    """Alerts open at some moment of the period, with their decisions and notes, oldest first."""
    from ..monitoring.inbox import item

    out = []
    for row in reversed(store.list_alerts(name)):
        resolved = row.get("resolved_at")
        if row["at"] > last or (resolved is not None and resolved < first):
            continue
        shown = item(row)
        shown.pop("actions", None)  # what one may do now, not evidence
        out.append(shown)
    return out


def _serving(store: Store, name: str, first: str, last: str) -> dict[str, Any]:
    """Serving processes' steps and canary/shadow deploys in the period."""
    events = [
        {
            k: row[k]
            for k in (
                "at",
                "action",
                "instance",
                "server",
                "host",
                "address",
                "alias",
                "from_version",
                "to_version",
                "reason",
            )
        }
        for row in store.deploys(name, until=last)
        if row["at"] >= first
    ]
    deployments = [
        {
            k: d.get(k)
            for k in (
                "id",
                "kind",
                "version",
                "production_version",
                "share",
                "state",
                "reason",
                "started_at",
                "ended_at",
                "actor",
            )
        }
        for d in store.deployments_of(name)
        if d["started_at"] <= last and (d.get("ended_at") is None or d["ended_at"] >= first)
    ]
    return {"events": events, "deployments": deployments}


def _audit(store: Store) -> dict[str, Any]:
    """The chain's head and the outcome of ``audit verify`` run now."""
    from ..store import audit

    newest = store.chain_head()
    seq, digest, at = (0, None, None) if newest is None else newest
    result = audit.verify(store)
    return {
        "head": {"seq": seq, "hash": digest or audit.head(store), "at": at},
        "verification": {
            "ok": result.ok,
            "verified_at": utcnow(),
            "events": result.events,
            "artifacts": result.artifacts,
            "head": result.head,
            "problem": result.problem,
            "seq": result.seq,
        },
    }
