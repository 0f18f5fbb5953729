"""Versions and aliases: resolve a reference, promote behind a gate, roll back, lineage.

Every alias move is kept forever; :func:`which` answers who held an alias at
any past time and what that version was trained on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..errors import ConflictError, GateFailedError, NotFoundError
from ..jsonutil import parse_time
from ..records import AliasChange, AliasRefusal, Lineage, ModelVersion
from ..text import check_label, check_text
from . import gates, requests, serialization
from .names import DEFAULT_ALIAS, check_alias, check_model_name, parse_ref, parse_version
from .trust import check_names, require_flag

if TYPE_CHECKING:  # the store pulls in SQLAlchemy; import it only when used
    from ..store import Store


def resolve(store: Store, ref: str) -> ModelVersion:
    """The version a reference points to now."""
    name, alias, version = parse_ref(ref)
    if version is not None:
        return store.get_version(name, version)
    if alias is not None:
        holder = store.alias_holder(name, alias)
        if holder is None:
            raise NotFoundError(f"nobody holds {name}@{alias}")
        return holder
    return store.latest_version(name)


def promote(
    store: Store,
    name: str,
    version: int | str,
    alias: str = DEFAULT_ALIAS,
    *,
    require: str | None = None,
    reason: str | None = None,
    run_id: str | None = None,
    actor: str | None = None,
) -> AliasChange:
    """Point ``alias`` at ``version``, if the gate ``require`` allows it.

    The gate is evaluated in the same transaction that moves the alias, so
    nobody can move it in between. A refused gate leaves the alias untouched,
    is kept in the alias's history and the audit log as an
    :class:`~mlops_nb.records.AliasRefusal` (who asked, for which version,
    which conditions failed), and then raises
    :class:`~mlops_nb.errors.GateFailedError` naming each failed condition.
    Promoting the version that already holds the alias changes nothing and
    returns the change that put it there.

    A protected alias (:func:`~mlops_nb.registry.requests.protect`) does not
    move: once the gate passes, a pending promotion request is recorded (or
    the same pending one found) and
    :class:`~mlops_nb.errors.ApprovalRequiredError` raised, carrying it.
    """
    name, alias = check_model_name(name), check_alias(alias)
    reason, who = _why_and_who(reason, actor)
    if require is not None:
        gates.parse(require)  # bad input is refused before anything is read
    request = None
    with store.transaction():
        target = (
            store.latest_version(name).version
            if str(version) == "latest"
            else parse_version(version)
        )
        candidate = store.get_version(name, target)
        current = store.alias_holder(name, alias)
        if current is not None and current.version == candidate.version:
            return store.alias_changes(name, alias)[-1]
        gate, failed = evaluate_gate(store, require, candidate, alias, current)
        protection = None if failed else store.get_protection(name, alias)
        if protection is not None:
            request = requests.file_request(
                store,
                protection,
                candidate,
                current,
                require=require,
                gate=gate,
                reason=reason,
                run_id=run_id,
                actor=who,
            )
        elif not failed:
            return store.change_alias(
                name,
                alias,
                target,
                action="promote",
                actor=who,
                reason=reason,
                run_id=run_id,
                gate=gate,
            )
        else:
            # Recorded in the transaction that read the holders the gate compared
            # against, and committed: the refusal is history even though nothing moved.
            store.record_refusal(
                {
                    "model": name,
                    "alias": alias,
                    "from_version": None if current is None else current.version,
                    "to_version": target,
                    "gate": str(require),
                    "failures": failed,
                    "reason": reason,
                    "run_id": run_id,
                },
                who,
            )
    if request is not None:
        raise requests.approval_required(request)
    raise GateFailedError(f"gate refused {name}:{target} for {alias}: " + "; ".join(failed), failed)


def evaluate_gate(
    store: Store,
    require: str | None,
    candidate: ModelVersion,
    alias: str,
    current: ModelVersion | None,
) -> tuple[str | None, list[str]]:
    """Evaluate the gate ``require`` for moving ``alias`` from ``current`` to ``candidate``.

    Returns the gate as recorded on the move (the expression and the
    conditions that passed; ``None`` without a gate) and the sentences of the
    conditions that failed. Call it inside the transaction that moves the alias.
    """
    if require is None:
        return None, []
    conditions = gates.parse(require)
    name = candidate.model

    def holder_metrics(other: str) -> tuple[int, dict[str, float]] | None:
        held = current if other == alias else store.alias_holder(name, other)
        return None if held is None else (held.version, held.metrics)

    passed, failed = gates.evaluate(
        conditions,
        candidate.metrics,
        holder_metrics,
        f"version {candidate.version}",
        lambda: store.latest_model_test(name, candidate.version),
    )
    return f"{require} [" + "; ".join(passed) + "]", failed


def rollback(
    store: Store,
    name: str,
    alias: str = DEFAULT_ALIAS,
    *,
    reason: str | None = None,
    actor: str | None = None,
) -> AliasChange:
    """Return ``alias`` to the version that held it before the current holder.

    Rolling back repeatedly walks further back through the promotions, like
    popping a stack (:func:`holder_stack`); it refuses when there is nothing
    earlier to return to. :func:`rollback_target` tells beforehand where it goes.
    """
    name, alias = check_model_name(name), check_alias(alias)
    reason, who = _why_and_who(reason, actor)
    with store.transaction():
        stack = holder_stack(store.alias_changes(name, alias))
        if not stack:
            raise NotFoundError(f"nobody holds {name}@{alias}: nothing to roll back")
        if len(stack) < 2:
            raise ConflictError(
                f"{name}@{alias} has had no holder before version {stack[-1]}: nothing to roll "
                "back to"
            )
        return store.change_alias(
            name, alias, stack[-2], action="rollback", actor=who, reason=reason
        )


def rollback_target(store: Store, name: str, alias: str = DEFAULT_ALIAS) -> int | None:
    """The version :func:`rollback` would return ``alias`` to now; ``None`` if there is none."""
    name, alias = check_model_name(name), check_alias(alias)
    stack = holder_stack(store.alias_changes(name, alias))
    return stack[-2] if len(stack) >= 2 else None


def alias_history(
    store: Store, name: str, alias: str | None = None
) -> list[AliasChange | AliasRefusal]:
    """Every move of a model's aliases and every refused promotion, oldest first.

    The moves are :class:`~mlops_nb.records.AliasChange`, the refusals
    :class:`~mlops_nb.records.AliasRefusal` (``action == "refused"``); only
    the moves decide who holds an alias.
    """
    name = check_model_name(name)
    if alias is not None:
        alias = check_alias(alias)
    moves: list[AliasChange | AliasRefusal] = list(store.alias_changes(name, alias))
    refusals = store.alias_refusals(name, alias)
    return sorted([*moves, *refusals], key=_history_order)


def alias_histories(store: Store) -> dict[str, list[AliasChange | AliasRefusal]]:
    """:func:`alias_history` of every model at once, keyed by model (two queries)."""
    moves, refusals = store.every_alias_record()
    out: dict[str, list[AliasChange | AliasRefusal]] = {}
    records: list[AliasChange | AliasRefusal] = [*moves, *refusals]
    for record in records:
        out.setdefault(record.model, []).append(record)
    return {model: sorted(records, key=_history_order) for model, records in out.items()}


def _history_order(record: AliasChange | AliasRefusal) -> tuple[str, bool]:
    # Both are stamped under the store's single write lock: time orders them.
    return (record.at, record.action == "refused")


def _why_and_who(reason: Any, actor: Any) -> tuple[str | None, str]:
    """The reason and the actor of an alias move, checked before anything is read."""
    if reason is not None:
        reason = check_text(reason, "reason")
    return reason, default_actor() if actor is None else check_label(actor, "actor")


def holder_stack(history: list[AliasChange] | list[AliasChange | AliasRefusal]) -> list[int]:
    """Replay an alias's history into the stack of holders rollback walks (refusals skipped)."""
    stack: list[int] = []
    for change in history:
        if change.action == "refused":  # an alias history may hold refusals: nothing moved
            continue
        if change.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != change.to_version:
                stack.append(change.to_version)
        elif not stack or stack[-1] != change.to_version:
            stack.append(change.to_version)
    return stack


def which(store: Store, ref: str, at: str | None = None) -> Lineage:
    """Lineage of a version, or of whoever held an alias at time ``at``.

    ``at`` is an ISO date or datetime as :func:`~mlops_nb.jsonutil.parse_time`
    reads it (a bare date, ``2026-07-15`` or ``20260715``, means the end of
    that day, UTC; a time without offset is UTC). Without ``at`` the answer
    is about now. For an alias, ``refused`` lists the promotions a gate
    refused while that version held it (up to ``at``).

    ``servers`` lists the serving processes that followed the alias (or
    answered with the version) at that time, each with the version it
    answered with: during a swap, or after a refused one, that can differ
    from the alias's holder.
    """
    name, alias, number = parse_ref(ref)
    when = None if at is None else parse_time(at)
    refused: list[dict[str, Any]] = []
    if alias is not None:
        if when is None:
            changes = store.alias_changes(name, alias)
            change = changes[-1] if changes else None
        else:
            change = store.alias_change_at(name, alias, when)
        if change is None:
            suffix = f" at {when}" if when else ""
            raise NotFoundError(f"nobody held {name}@{alias}{suffix}")
        version = store.get_version(name, change.to_version)
        set_at, set_by, reason = change.at, change.actor, change.reason
        refused = [
            r.to_json()
            for r in store.alias_refusals(name, alias)
            if r.at >= change.at and (when is None or r.at <= when)
        ]
    else:
        if number is not None:
            version = store.get_version(name, number)
        elif when is None:
            version = store.latest_version(name)
        else:
            versions = [v for v in store.list_versions(name) if v.created_at <= when]
            if not versions:
                raise NotFoundError(f"model {name!r} had no versions at {when}")
            version = versions[-1]
        if when is not None and version.created_at > when:
            raise NotFoundError(f"{name}:{version.version} did not exist yet at {when}")
        set_at, set_by, reason = version.created_at, version.created_by, None
    from ..jsonutil import utcnow
    from ..serving.history import servers_at

    servers = servers_at(
        store,
        name,
        when or utcnow(),
        alias=alias,
        version=None if alias is not None else version.version,
    )
    return _lineage(store, version, alias, when, set_at, set_by, reason, refused, servers)


def _lineage(
    store: Store,
    version: ModelVersion,
    alias: str | None,
    when: str | None,
    set_at: str,
    set_by: str,
    reason: str | None,
    refused: list[dict[str, Any]],
    servers: list[dict[str, Any]],
) -> Lineage:
    run = parent = None
    if version.run_id:
        run = store.get_run(version.run_id)
        if run.parent_run_id:
            try:
                parent = store.get_run(run.parent_run_id)
            except NotFoundError:
                parent = None
    executed = parent.output_sha256 if parent is not None else None
    return Lineage(
        model=version.model,
        alias=alias,
        version=version.version,
        at=when,
        set_at=set_at,
        set_by=set_by,
        reason=reason,
        run_id=version.run_id,
        data_sha256=version.data_sha256,
        notebook_sha256=executed or (run.input_sha256 if run else None),
        notebook_path=(parent.notebook_path if parent else None)
        or (run.notebook_path if run else None),
        input_sha256=(parent.input_sha256 if parent else None)
        or (run.input_sha256 if run else None),
        git_commit=run.git_commit if run else None,
        git_dirty=run.git_dirty if run else None,
        artifact_sha256=version.artifact_sha256,
        estimator=version.estimator,
        params=run.params if run else {},
        metrics=version.metrics,
        environment=run.environment if run else {},
        parent_run_id=run.parent_run_id if run else None,
        refused=refused,
        servers=servers,
    )


def load_model(
    ref: str,
    store: Store,
    *,
    trusted: list[str] | tuple[str, ...] = (),
    allow_pickle: bool = False,
) -> Any:
    """Load the estimator a reference points to, after checking its SHA-256.

    ``trusted`` adds exact type or function names to the trust list for this
    call (prefixes are refused, see :mod:`~mlops_nb.registry.trust`);
    ``allow_pickle`` must be ``True`` to load a version saved with pickle.
    """
    require_flag(allow_pickle, "allow_pickle")
    check_names(trusted)
    version = resolve(store, ref)
    data = store.get_artifact(version.artifact_sha256)
    return serialization.load(data, version.format, trusted=trusted, allow_pickle=allow_pickle)
