"""A version's model card as JSON-able data, filled from what the store holds.

Nothing here is written: the facts come from the version (data fingerprint,
schema, metrics, estimator), its lineage (:func:`mlops_nb.registry.which`),
its model tests, the moves and refusals of aliases naming it (each with the
gate asked for), and its drift checks (summarised). The written fields come
from :meth:`Store.card_fields`. Reading a card twice gives the same answer
until something new is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry.names import check_model_name, parse_version
from ..registry.versions import which

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["card", "card_for_pack"]

#: The newest test runs and drift checks a card lists one by one (all are counted).
RECENT = 5


def card(store: Store, name: str, version: int | str) -> dict[str, Any]:
    """The model card of ``name:version`` (raises NotFoundError for no such version).

    Keys: ``model``, ``version``, ``estimator``, ``format``, ``created_at``,
    ``created_by``, ``description``, ``tags``, ``aliases``, ``written`` (the
    written fields, ``None`` when never written, with ``written_at`` and
    ``written_by``), ``data`` (``sha256`` and ``schema``), ``metrics``,
    ``lineage``, ``tests``, ``promotions``, ``refusals`` and ``drift``.
    """
    name, number = check_model_name(name), parse_version(version)
    v = store.get_version(name, number)
    written = store.card_fields(name, number)
    lineage = which(store, f"{name}:{number}").to_json()
    for key in ("model", "version", "alias", "at", "set_at", "set_by", "reason", "refused"):
        lineage.pop(key, None)  # about an alias holder, not a version
    return {
        "model": name,
        "version": number,
        "estimator": v.estimator,
        "format": v.format,
        "created_at": v.created_at,
        "created_by": v.created_by,
        "description": v.description,
        "tags": v.tags,
        "aliases": v.aliases,
        "written": written["fields"],
        "written_at": written["at"],
        "written_by": written["actor"],
        "data": {"sha256": v.data_sha256, "schema": v.signature},
        "metrics": v.metrics,
        "lineage": lineage,
        "tests": _tests(store, name, number),
        "promotions": [
            {
                "alias": c.alias,
                "action": c.action,
                "at": c.at,
                "actor": c.actor,
                "reason": c.reason,
                "gate": c.gate,
                "from_version": c.from_version,
            }
            for c in store.alias_changes(name)
            if c.to_version == number
        ],
        "refusals": [
            {"alias": r.alias, "at": r.at, "actor": r.actor, "gate": r.gate, "failures": r.failures}
            for r in store.alias_refusals(name)
            if r.to_version == number
        ],
        "drift": _drift(store, name, number),
    }


def card_for_pack(store: Store, name: str, version: int | str) -> dict[str, Any]:
    """The card as the compliance evidence pack shows it: :func:`card` (JSON-able,
    nothing left out), for one version that held an alias in the period."""
    return card(store, name, version)


def _tests(store: Store, name: str, number: int) -> dict[str, Any]:
    runs = store.model_tests(name, number)
    return {
        "runs": len(runs),
        "passed": sum(1 for r in runs if r.passed),
        "recent": [
            {
                "id": r.id,
                "at": r.at,
                "suite": r.suite,
                "passed": r.passed,
                "against": r.against,
                "checks": [c.to_json() for c in r.checks],
            }
            for r in runs[:RECENT]
        ],
    }


def _drift(store: Store, name: str, number: int) -> dict[str, Any]:
    checks = [c for c in store.drift_checks(name) if c.get("version") == number]
    return {
        "checks": len(checks),
        "drifted": sum(1 for c in checks if c["drift"]),
        "degraded": sum(1 for c in checks if c.get("degraded")),
        "first_at": checks[0]["at"] if checks else None,
        "last_at": checks[-1]["at"] if checks else None,
        "recent": [
            {
                "id": c["id"],
                "at": c["at"],
                "rows": c["rows"],
                "drift": bool(c["drift"]),
                "drift_share": c["drift_share"],
                "degraded": bool(c.get("degraded")),
            }
            for c in checks[-RECENT:][::-1]
        ],
    }
