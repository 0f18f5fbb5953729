"""Protected aliases and promotion requests: a second person between a model and production.

``protect(store, "churn", "production", approvers=1)`` makes every later
promotion of ``churn@production`` a pending *request* instead of a move
(:func:`~mlops_nb.registry.versions.promote` raises
:class:`~mlops_nb.errors.ApprovalRequiredError` carrying it, exit code 11).
The request's gate (``--require``) is evaluated when it is asked for (a
refusal then is an ordinary refused promotion, no request is opened) and
again at each approval: a gate that fails then refuses that approval, which
is kept on the request and as a refused promotion of the alias; the request
stays pending. The approval that completes the count (``approvers`` distinct
people) moves the alias in the same transaction that marks the request
``approved``, so two approvals arriving together move it once: the second
finds the request decided (:class:`~mlops_nb.errors.ConflictError`, 409 /
exit 4). A rejection needs a note and ends the request; the one who asked may
reject (withdraw) their own request.

Who is who: the same actor the audit log records (``MLOPS_NB_ACTOR`` or
``user@host`` for the CLI and Python, ``NAME (jupyter)`` through the server).
For the rule "someone other than the requester", two actors are the same
person when their user parts agree (:func:`person`: ``alice@laptop`` and
``alice@server (jupyter)`` are both ``alice``), which errs towards refusing.
That identity is declared by whoever runs the process, not proven: see the
README ("Protected aliases").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import (
    ApprovalRequiredError,
    ConflictError,
    ForbiddenError,
    GateFailedError,
    InvalidInputError,
)
from ..jsonutil import parse_start, parse_time, utcnow
from ..limits import whole_number
from ..text import check_label, check_text
from .names import check_alias, check_model_name

if TYPE_CHECKING:
    from ..records import AliasChange, ModelVersion
    from ..store import Store

STATES = ("pending", "approved", "rejected")
#: What can still be done to a request in each state (an item's ``actions``).
ACTIONS: dict[str, list[str]] = {"pending": ["approve", "reject"], "approved": [], "rejected": []}
#: The most approvers a protection may ask for.
MAX_APPROVERS = 20


def person(actor: str) -> str:
    """The person an actor names, for "someone other than the requester":
    ``alice@laptop``, ``Alice@server (jupyter)`` and ``alice`` are all ``alice``."""
    name = actor.strip()
    if name.endswith(" (jupyter)"):
        name = name[: -len(" (jupyter)")]
    return name.split("@", 1)[0].strip().casefold()


def _who(actor: Any) -> str:
    return environment.actor() if actor is None else check_label(actor, "actor")


# -- protections ----------------------------------------------------------------


def protect(
    store: Store,
    name: str,
    alias: str,
    *,
    approvers: Any = 1,
    allow_self_approval: bool = False,
    actor: str | None = None,
) -> dict[str, Any]:
    """Protect ``name@alias``: promotions to it wait for ``approvers`` distinct people.

    Protecting again changes the rule (for requests opened from then on).
    """
    name, alias, who = check_model_name(name), check_alias(alias), _who(actor)
    count = whole_number(approvers, "approvers", minimum=1, maximum=MAX_APPROVERS)
    if not isinstance(allow_self_approval, bool):
        raise InvalidInputError("allow_self_approval must be true or false")
    row = store.set_protection(
        {
            "model": name,
            "alias": alias,
            "approvers": count,
            "allow_self_approval": int(allow_self_approval),
            "at": utcnow(),
            "actor": who,
        },
        who,
    )
    return _protection(row)


def unprotect(store: Store, name: str, alias: str, *, actor: str | None = None) -> dict[str, Any]:
    """Remove the protection of ``name@alias``; pending requests stay and can still be decided."""
    name, alias, who = check_model_name(name), check_alias(alias), _who(actor)
    return _protection(store.remove_protection(name, alias, who))


def protections(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Every protected alias (of one model)."""
    return [
        _protection(r)
        for r in store.list_protections(None if name is None else check_model_name(name))
    ]


def _protection(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": row["model"],
        "alias": row["alias"],
        "approvers": row["approvers"],
        "allow_self_approval": bool(row["allow_self_approval"]),
        "at": row["at"],
        "by": row["actor"],
    }


# -- requests -------------------------------------------------------------------


def item(row: dict[str, Any]) -> dict[str, Any]:
    """A request as the CLI's ``--json``, Python and REST show it."""
    return {
        "request_id": row["id"],
        "model": row["model"],
        "alias": row["alias"],
        "version": row["version"],
        "from_version": row["from_version"],
        "require": row["require"],
        "gate": row["gate"],
        "reason": row["reason"],
        "run_id": row["run_id"],
        "requested_by": row["requested_by"],
        "requested_at": row["requested_at"],
        "state": row["state"],
        "approvers": row["approvers"],
        "allow_self_approval": bool(row["allow_self_approval"]),
        "approvals": list(row["approvals"] or []),
        "refusals": list(row["refusals"] or []),
        "decided_by": row["decided_by"],
        "decided_at": row["decided_at"],
        "note": row["note"],
        "change_id": row["change_id"],
        "actions": ACTIONS.get(row["state"], []),
    }


def file_request(
    store: Store,
    protection: dict[str, Any],
    candidate: ModelVersion,
    current: ModelVersion | None,
    *,
    require: str | None,
    gate: str | None,
    reason: str | None,
    run_id: str | None,
    actor: str,
) -> dict[str, Any]:
    """Open a pending request (or find the same one pending); called by
    :func:`~mlops_nb.registry.versions.promote` inside its transaction."""
    model, alias = candidate.model, protection["alias"]
    pending = store.pending_request(model, alias, candidate.version)
    if pending is not None:
        return item(pending)
    row = store.open_request(
        {
            "model": model,
            "alias": alias,
            "version": candidate.version,
            "from_version": None if current is None else current.version,
            "require": require,
            "gate": gate,
            "reason": reason,
            "run_id": run_id,
            "requested_by": actor,
            "requested_at": utcnow(),
            "approvers": protection["approvers"],
            "allow_self_approval": protection["allow_self_approval"],
            "state": "pending",
            "approvals": [],
            "refusals": [],
        },
        actor,
    )
    return item(row)


def approval_required(request: dict[str, Any]) -> ApprovalRequiredError:
    """The error :func:`~mlops_nb.registry.versions.promote` raises for a filed request."""
    rid, needed = request["request_id"], request["approvers"]
    return ApprovalRequiredError(
        f"{request['model']}@{request['alias']} is protected: promotion request {rid} "
        f"(version {request['version']}) waits for {needed} approval"
        f"{'' if needed == 1 else 's'}; `mlops-nb requests approve {rid}`",
        request,
    )


def _states(state: str | None) -> tuple[str, ...] | None:
    if state is None or state == "pending":
        return ("pending",)
    if state == "all":
        return None
    if state not in STATES:
        raise InvalidInputError(f"state must be one of {(*STATES, 'all')}, not {state!r:.40}")
    return (state,)


def requests(
    store: Store, name: str | None = None, state: str | None = "pending", limit: int | None = None
) -> list[dict[str, Any]]:
    """Promotion requests in ``state`` (pending by default; approved, rejected or
    all), newest first, optionally of one model."""
    model = None if name is None else check_model_name(name)
    return [item(r) for r in store.list_requests(model, _states(state), limit=limit)]


def promotion_requests(store: Store, name: str, start: Any, end: Any) -> list[dict[str, Any]]:
    """Every request of model ``name`` asked for, open or decided between
    ``start`` and ``end`` (ISO dates or times as ``which --at`` reads them; a
    bare ``start`` date is the beginning of that day, a bare ``end`` its end),
    oldest first, as :func:`item` shows them: for the compliance evidence pack."""
    model = check_model_name(name)
    first, last = parse_start(start), parse_time(end)
    if first > last:
        raise InvalidInputError(f"the period starts ({first}) after it ends ({last})")
    rows = store.list_requests(model, None, start=first, end=last)
    return [item(r) for r in reversed(rows)]


def _request_id(request_id: Any) -> int:
    if isinstance(request_id, str) and request_id.strip().isdigit():
        request_id = int(request_id)
    return whole_number(request_id, "request id", minimum=1, maximum=2**31 - 1)


def _pending(row: dict[str, Any], doing: str) -> None:
    if row["state"] != "pending":
        raise ConflictError(
            f"promotion request {row['id']} was {row['state']} by {row['decided_by']} at "
            f"{row['decided_at']}: nothing left to {doing}"
        )


def approve(
    store: Store, request_id: Any, note: str | None = None, *, actor: str | None = None
) -> dict[str, Any]:
    """Approve a pending request; the approval that completes its count moves the alias.

    Raises
    ------
    NotFoundError
        No such request.
    ConflictError
        The request is approved or rejected already, or this person approved it already.
    ForbiddenError
        The approver asked for the promotion and the protection does not allow self-approval.
    GateFailedError
        The request's gate fails now: the approval is refused and recorded, the
        request stays pending.
    """
    from . import versions

    rid, who = _request_id(request_id), _who(actor)
    note = None if note is None or note == "" else check_text(note, "note")
    failed: list[str] = []
    with store.transaction():
        row = store.get_request(rid)
        _pending(row, "approve")
        me = person(who)
        if me == person(row["requested_by"]) and not row["allow_self_approval"]:
            raise ForbiddenError(
                f"{who} asked for promotion request {rid} and may not approve it: someone "
                "else must (or protect the alias with --allow-self-approval)"
            )
        if any(person(a["by"]) == me for a in row["approvals"]):
            raise ConflictError(
                f"{who} approved promotion request {rid} already: it needs "
                f"{row['approvers']} distinct approvers"
            )
        candidate = store.get_version(row["model"], row["version"])
        current = store.alias_holder(row["model"], row["alias"])
        gate, failed = versions.evaluate_gate(
            store, row["require"], candidate, row["alias"], current
        )
        now = utcnow()
        if failed:
            refusal = {"by": who, "at": now, "note": note, "failures": failed}
            store.change_request(
                rid, {"refusals": [*row["refusals"], refusal]}, "request.refused", who
            )
            store.record_refusal(
                {
                    "model": row["model"],
                    "alias": row["alias"],
                    "from_version": None if current is None else current.version,
                    "to_version": row["version"],
                    "gate": str(row["require"]),
                    "failures": failed,
                    "reason": f"approval of promotion request {rid}",
                    "run_id": row["run_id"],
                },
                who,
            )
            changed = None
        else:
            approvals = [*row["approvals"], {"by": who, "at": now, "note": note}]
            if len(approvals) < row["approvers"]:
                changed = store.change_request(
                    rid, {"approvals": approvals}, "request.approval", who
                )
            else:
                change = _move(store, row, candidate, current, gate, who)
                changed = store.change_request(
                    rid,
                    {
                        "approvals": approvals,
                        "state": "approved",
                        "decided_by": who,
                        "decided_at": now,
                        "note": note,
                        "change_id": change.id,
                    },
                    "request.approved",
                    who,
                )
    if changed is None:
        raise GateFailedError(
            f"gate refused the approval of promotion request {rid} ({row['model']}:"
            f"{row['version']} for {row['alias']}): " + "; ".join(failed) + "; it stays pending",
            failed,
        )
    return item(changed)


def _move(
    store: Store,
    row: dict[str, Any],
    candidate: ModelVersion,
    current: ModelVersion | None,
    gate: str | None,
    who: str,
) -> AliasChange:
    if current is not None and current.version == candidate.version:
        return store.alias_changes(row["model"], row["alias"])[-1]  # moved there meanwhile
    reason = f"promotion request {row['id']} of {row['requested_by']}"
    if row["reason"]:
        reason += f": {row['reason']}"
    return store.change_alias(
        row["model"],
        row["alias"],
        candidate.version,
        action="promote",
        actor=who,
        reason=reason[:10000],
        run_id=row["run_id"],
        gate=gate,
    )


def reject(
    store: Store, request_id: Any, note: str | None, *, actor: str | None = None
) -> dict[str, Any]:
    """Reject a pending request with a note saying why (the requester may withdraw theirs)."""
    rid, who = _request_id(request_id), _who(actor)
    if note is None or (isinstance(note, str) and not note.strip()):
        raise InvalidInputError("a rejection needs a note saying why (--note)")
    note = check_text(note, "note")
    with store.transaction():
        row = store.get_request(rid)
        _pending(row, "reject")
        changed = store.change_request(
            rid,
            {"state": "rejected", "decided_by": who, "decided_at": utcnow(), "note": note},
            "request.rejected",
            who,
        )
    return item(changed)


def get(store: Store, request_id: Any) -> dict[str, Any]:
    """One request (:class:`~mlops_nb.errors.NotFoundError` if there is none)."""
    return item(store.get_request(_request_id(request_id)))
