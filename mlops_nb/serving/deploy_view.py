"""What the panel's Serving view shows of a model's deploys: the running (or
latest) deploy's status and the history of its starts, alerts and decisions.

The numbers are :func:`mlops_nb.serving.deploy.status`'s, computed here on
the server; the history is read from the audit chain (``deployment.*``
events), each with the statistics the decision was taken on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..registry.names import check_model_name
from . import deploy

if TYPE_CHECKING:
    from ..store import Store

#: Events of a model's deploys shown, newest first.
HISTORY = 20
#: Deploys of a model whose events are looked at (the newest).
RECENT_DEPLOYS = 10


def deploy_view(store: Store, name: str, limit: int = HISTORY) -> dict[str, Any]:
    """``{"model", "deploy": <deploy status> | None, "history": [...]}``.

    Each history item: ``seq, at, actor, event`` (``started``, ``alerted``,
    ``aborted``, ``promoted``, ``stopped``), ``deployment, kind, version,
    production_version, share, state, reason, alerted`` and ``test`` (the
    sequential test the event recorded, or ``None``) and ``failed_guards``.

    Raises
    ------
    InvalidInputError
        ``name`` is not a model name.
    """
    name = check_model_name(name)
    try:
        status: dict[str, Any] | None = deploy.status(store, name)
    except NotFoundError:
        status = None
    ids = [d["id"] for d in store.deployments_of(name)][-RECENT_DEPLOYS:]
    history = []
    for event in store.deployment_events(ids, limit):
        row = event["payload"]
        statistics = row.get("statistics") or {}
        history.append(
            {
                "seq": event["seq"],
                "at": event["at"],
                "actor": event["actor"],
                "event": event["kind"].removeprefix("deployment."),
                "deployment": row.get("id"),
                **{
                    k: row.get(k)
                    for k in ("kind", "version", "production_version", "share", "state")
                },
                "reason": row.get("reason"),
                "alerted": row.get("alerted"),
                "test": statistics.get("test"),
                "failed_guards": [
                    g for g in statistics.get("guards") or [] if g.get("passed") is False
                ],
            }
        )
    return {"model": name, "deploy": status, "history": history}


def deploys_now(store: Store, served: list[str]) -> list[dict[str, Any]]:
    """:func:`deploy_view` of every model served now or with a running deploy."""
    names = sorted({*served, *(d["model"] for d in store.running_deployments())})
    views = [deploy_view(store, name, limit=HISTORY) for name in names]
    return [v for v in views if v["deploy"] is not None]
