"""Canary and shadow deploys: start, status, the guards' decisions, promote, abort.

A deploy lives in the store (``deployments``), so every ``mlops-nb serve``
replica of the model picks it up like an alias move (see
:mod:`mlops_nb.serving.router`). Who judges the guards: every serving
process, off the request path, after writing its counts (each stats tick,
every log flush interval), on the counts of *all* processes summed; the
first process to record a decision wins, because
:meth:`~mlops_nb.store.Store.end_deployment` changes the row only while it
is still running, under the store's write lock. ``deploy status`` computes
the same numbers read-only and decides nothing.

Two clocks: the technical guards (:mod:`mlops_nb.serving.arms`) are judged
on the last minute of traffic of every replica, as soon as the canary
has answered a few dozen requests in it; the business
guard (``metric``) is the mSPRT of :mod:`mlops_nb.serving.sequential` on
the feedback values of each arm, valid at every look. A failed guard
aborts with ``auto_rollback`` (else raises one alert); a clear win of the
business metric promotes through the gate ``require`` with
``auto_promote`` (else raises one alert).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..errors import (
    ApprovalRequiredError,
    ConflictError,
    GateFailedError,
    InvalidInputError,
    NotFoundError,
)
from ..registry.names import DEFAULT_ALIAS, check_model_name, parse_version
from . import arms, sequential

if TYPE_CHECKING:
    from ..store import Store

METRIC_FIELDS = ("value", "label")
#: The relative effect ``deploy status`` states the time to a decision for.
DETECTABLE = 0.10


def start(
    store: Store,
    name: str,
    version: int | str,
    *,
    kind: str = "canary",
    share: float = 0.1,
    guards: list[str] | tuple[str, ...] = (),
    metric: str | None = None,
    alpha: float = sequential.ALPHA,
    auto_rollback: bool = False,
    auto_promote: bool = False,
    require: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Start a canary (``share`` of requests answered by ``version``) or a shadow
    (every request copied to ``version``, its answers logged, never returned).

    Raises
    ------
    InvalidInputError
        ``share`` is not strictly between 0 and 1, a guard cannot be read,
        ``metric`` is not a feedback field, ``alpha`` is not in (0, 1).
    NotFoundError
        No such model or version, or nobody holds ``NAME@production``.
    ConflictError
        ``version`` holds production already, or a deploy of the model runs.
    """
    name = check_model_name(name)
    if kind not in ("canary", "shadow"):
        raise InvalidInputError(f"a deploy is a canary or a shadow, not {kind!r}")
    number = parse_version(version)
    if kind == "canary":
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
            raise InvalidInputError(
                f"the canary's share must be strictly between 0 and 1, not {share}"
            )
    else:
        share = 1.0
    parsed = [str(arms.parse_guard(g)) for g in guards]
    if metric is not None and metric not in METRIC_FIELDS:
        raise InvalidInputError(
            f"the metric must be a feedback field ({' or '.join(METRIC_FIELDS)}), not {metric!r}"
        )
    try:
        sequential.check_alpha(alpha)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if kind == "shadow" and (metric or auto_promote):
        raise InvalidInputError("a shadow answers nobody: it takes no metric and no auto-promote")
    store.get_version(name, number)  # NotFoundError names the model or version
    holder = store.alias_holder(name, DEFAULT_ALIAS)
    if holder is None:
        raise NotFoundError(
            f"nobody holds {name}@{DEFAULT_ALIAS}: a {kind} is tried next to production; "
            f"promote a version first"
        )
    if holder.version == number:
        raise ConflictError(f"version {number} holds {name}@{DEFAULT_ALIAS} already")
    return store.start_deployment(
        {
            "model": name,
            "kind": kind,
            "version": number,
            "production_version": holder.version,
            "share": float(share),
            "guards": parsed,
            "metric": metric,
            "alpha": float(alpha),
            "auto_rollback": int(bool(auto_rollback)),
            "auto_promote": int(bool(auto_promote)),
            "require": require,
        },
        actor or default_actor(),
    )


def current(store: Store, name: str) -> dict[str, Any]:
    """The running deploy of ``name``, else its latest one.

    Raises
    ------
    NotFoundError
        The model never had one.
    """
    name = check_model_name(name)
    running = store.running_deployment(name)
    if running is not None:
        return running
    every = store.deployments_of(name)
    if not every:
        raise NotFoundError(f"{name} has had no canary or shadow deploy")
    return every[-1]


def evidence(
    store: Store, deployment: dict[str, Any], window_start: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every arm's numbers summed over processes, the guards' verdicts, the test.

    The technical guards are judged on the counts since ``window_start``
    (each arm's merged counts at the window's start, see :func:`judge`), or
    since the deploy began; the arms and the test always cover the whole
    deploy. ``merged`` holds the counts, for the next window's start.
    """
    by_role: dict[str, list[dict[str, Any]]] = {}
    versions: dict[str, int] = {}
    for row in store.deployment_stats(deployment["id"]):
        by_role.setdefault(row["role"], []).append(row["counts"])
        versions[row["role"]] = row["version"]
    merged = {role: arms.merge(rows) for role, rows in by_role.items()}
    empty = arms.merge([])
    tried = "canary" if deployment["kind"] == "canary" else "shadow"
    production, candidate = merged.get("production", empty), merged.get(tried, empty)
    guards = [arms.parse_guard(g) for g in deployment["guards"]]
    window = {"since": "start"}
    judged = (candidate, production)
    if window_start is not None:
        judged = tuple(  # type: ignore[assignment]
            arms.subtract(merged.get(role, empty), window_start.get(role, empty))
            for role in (tried, "production")
        )
        window = {"since": window_start.get("at", "start")}
    out: dict[str, Any] = {
        "merged": merged,
        "window": window,
        "arms": [
            {
                "role": role,
                "version": deployment["production_version" if role == "production" else "version"],
                **arms.summary(merged.get(role, empty)),
            }
            for role in ("production", tried)
        ],
        "guards": arms.judge_guards(guards, *judged),
        "test": None,
        "expected": None,
    }
    if deployment["metric"] is not None:
        a, b = (
            sequential.Arm(int(c["metric"][0]), *c["metric"][1:]) for c in (production, candidate)
        )
        decision = sequential.evaluate(a, b, alpha=deployment["alpha"])
        out["test"] = {"metric": deployment["metric"], **decision.to_json()}
        out["expected"] = _expected(deployment, decision, a)
    return out


def _expected(
    deployment: dict[str, Any], decision: sequential.Decision, production: sequential.Arm
) -> dict[str, Any] | None:
    """Feedback values still needed, and the time that takes at the rate seen so far,
    for the effect observed and for a :data:`DETECTABLE` relative effect."""
    seen = decision.n_production + decision.n_canary
    if not decision.sigma or production.mean is None:
        return None
    elapsed = time.time() - dt.datetime.fromisoformat(deployment["started_at"]).timestamp()
    rate = seen / elapsed if elapsed > 0 else 0.0
    out: dict[str, Any] = {"feedback_per_s": round(rate, 4), "feedback_seen": seen}
    effects = {"observed": decision.difference, "detectable": DETECTABLE * production.mean}
    for label, effect in effects.items():
        if not effect:
            out[label] = None
            continue
        needed = sequential.expected_samples(
            effect / decision.sigma, deployment["share"], alpha=decision.alpha, tau=decision.tau
        )
        eta = None
        if needed is not None and rate > 0:
            eta = round(max(0, needed - seen) / rate, 1)
        out[label] = {
            "effect": round(effect, 8),
            "relative": round(effect / production.mean, 6) if production.mean else None,
            "feedback_needed": needed,
            "seconds_left": eta,
        }
    return out


def status(store: Store, name: str) -> dict[str, Any]:
    """What ``deploy status --json`` prints (see the README's Serving section)."""
    deployment = current(store, name)
    holder = store.alias_holder(deployment["model"], DEFAULT_ALIAS)
    found = evidence(store, deployment)
    return {
        "model": deployment["model"],
        "production": {"version": None if holder is None else holder.version},
        "canary": {
            "id": deployment["id"],
            "kind": deployment["kind"],
            "version": deployment["version"],
            "share": deployment["share"],
            "state": deployment["state"],
            "reason": deployment["reason"],
            "started_at": deployment["started_at"],
            "ended_at": deployment["ended_at"],
            "guards": deployment["guards"],
            "metric": deployment["metric"],
            "auto_rollback": bool(deployment["auto_rollback"]),
            "auto_promote": bool(deployment["auto_promote"]),
        },
        **{k: v for k, v in found.items() if k != "merged"},
        "decision": deployment["statistics"] or None,
    }


def judge(
    store: Store,
    deployment: dict[str, Any],
    actor: str,
    window_start: dict[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Judge a running deploy's guards once and act: ``(row, merged)``, the ended
    (or alerted) row when this call decided something, else ``None``, and the
    merged counts it judged (a later window starts from them)."""
    found = evidence(store, deployment, window_start)
    return _act(store, deployment, actor, found), found["merged"]


def _act(
    store: Store, deployment: dict[str, Any], actor: str, found: dict[str, Any]
) -> dict[str, Any] | None:
    failed = [g for g in found["guards"] if g["passed"] is False]
    test = found["test"]
    statistics = {
        "arms": found["arms"],
        "guards": found["guards"],
        "window": found["window"],
        "test": test,
    }
    if test is not None and test["verdict"] == "worse":
        failed.append({"guard": f"{deployment['metric']} (mSPRT)", "passed": False, **test})
    if failed:
        why = "guard failed: " + "; ".join(_describe(f) for f in failed)
        if deployment["auto_rollback"]:
            return store.end_deployment(deployment["id"], "aborted", why, statistics, actor)
        return _alert(store, deployment, failed[0]["guard"], why, statistics, actor)
    if test is not None and test["verdict"] == "better" and deployment["kind"] == "canary":
        why = f"{deployment['metric']} better (mSPRT): {_describe(test)}"
        if deployment["auto_promote"]:
            try:
                return promote(
                    store, deployment["model"], reason=why, actor=actor, stats=statistics
                )
            except GateFailedError as exc:
                return _alert(store, deployment, "gate", f"{why}; but {exc}", statistics, actor)
            except ApprovalRequiredError as exc:  # production is protected: a person decides
                return _alert(store, deployment, "approval", f"{why}; {exc}", statistics, actor)
        return _alert(store, deployment, "win", why, statistics, actor)
    return None


def _describe(item: dict[str, Any]) -> str:
    if "verdict" in item:
        rel = item.get("relative")
        change = "" if rel is None else f" ({rel:+.1%})"
        name = f"{item['guard']}: " if "guard" in item else ""
        return (
            f"{name}difference {item['difference']:+.4g}{change}, p {item['p_value']:.3g} "
            f"(n {item['n_production']}+{item['n_canary']})"
        )
    return f"{item['guard']} (value {item['value']})"


def _alert(
    store: Store,
    deployment: dict[str, Any],
    guard: str,
    why: str,
    statistics: dict[str, Any],
    actor: str,
) -> dict[str, Any] | None:
    from ..monitoring import alerting

    row = store.alert_deployment(deployment["id"], guard, statistics, actor)
    if row is None:
        return None  # alerted already, or ended meanwhile
    name = deployment["model"]
    message = (
        f"{deployment['kind']} of {name} version {deployment['version']} needs a decision: "
        f"{why}. Promote with `mlops-nb deploy promote {name}` or abort with "
        f"`mlops-nb deploy abort {name}`."
    )
    alerting.raise_alert(
        store,
        "canary",
        name,
        f"{name}:{deployment['version']}",
        message,
        {"deployment": deployment["id"], "guard": guard, "reason": why},
    )
    return row


def promote(
    store: Store,
    name: str,
    *,
    require: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
    stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Promote the running canary's version to production through the gate and end
    the deploy as ``promoted``.

    Raises
    ------
    NotFoundError
        No deploy of ``name`` is running.
    GateFailedError
        The gate refused (recorded as a refusal); the canary keeps running.
    ApprovalRequiredError
        Production is protected: a promotion request was opened; the canary keeps
        running until someone approves it and stops the deploy.
    """
    from ..registry import versions

    who = actor or default_actor()
    running = store.running_deployment(check_model_name(name))
    if running is None:
        raise NotFoundError(f"no canary or shadow of {name} is running")
    gate = require if require is not None else running["require"]
    why = reason or f"canary {running['id']} promoted"
    statistics = stats if stats is not None else _statistics(store, running)
    try:
        with store.transaction():
            ended = store.end_deployment(running["id"], "promoted", why, statistics, who)
            if ended is None:
                raise ConflictError(f"the deploy of {name} ended meanwhile")
            versions.promote(
                store, name, running["version"], DEFAULT_ALIAS, require=gate, reason=why, actor=who
            )
    except (GateFailedError, ApprovalRequiredError):
        # The refusal (or the promotion request of a protected alias) was rolled back
        # with the transaction: record it again on its own; the deploy keeps running.
        versions.promote(
            store, name, running["version"], DEFAULT_ALIAS, require=gate, reason=why, actor=who
        )
        raise
    return ended


def abort(
    store: Store, name: str, reason: str | None = None, actor: str | None = None
) -> dict[str, Any]:
    """End the running deploy of ``name`` as ``aborted`` (routing stops at the next poll).

    Raises
    ------
    NotFoundError
        No deploy of ``name`` is running.
    """
    running = store.running_deployment(check_model_name(name))
    if running is None:
        raise NotFoundError(f"no canary or shadow of {name} is running")
    why = reason or "aborted by hand"
    ended = store.end_deployment(
        running["id"], "aborted", why, _statistics(store, running), actor or default_actor()
    )
    if ended is None:
        raise ConflictError(f"the deploy of {name} ended meanwhile")
    return ended


def _statistics(store: Store, deployment: dict[str, Any]) -> dict[str, Any]:
    found = evidence(store, deployment)
    return {"arms": found["arms"], "guards": found["guards"], "test": found["test"]}
