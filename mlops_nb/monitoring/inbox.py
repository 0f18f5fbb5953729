"""The alert inbox: who saw an alert, what they decided, and the decision carried out.

An alert is ``open`` when raised, ``acknowledged`` when someone has seen it
(with a note), ``resolved`` when someone decided what to do:

- ``retrain``: the model's retrain trigger starts now (its cool-down does not
  hold back a person's decision) and the run is linked to the alert;
- ``rollback``: the alias (``production`` unless named) goes back to its
  previous holder through the registry, recorded as any rollback is;
- ``ignore``: alerts of this kind for this model are silenced until a given
  time: later checks still record their findings, in an alert of state
  ``silenced`` that is never delivered;
- ``rebaseline``: the latest checked batch becomes the reference of later
  checks of that version, stored beside the training profile (never over it).

Each step records who (the same identity the registry records for a
promotion: the OS user, or the Jupyter user through the server), when and
the note, in the alert's row and an audit event; a decision and what it did
(the alias move, the trigger claim, the new reference) commit in one
transaction, or none of it does.

Grouping: while an alert is open or acknowledged, a repeat (same model, kind
and set of columns) adds one to its ``count`` and moves its latest check on;
it is not raised or delivered again, however much the count grows: the
inbox shows the count, and the first message already asked someone to look.
Once resolved, the next alarm opens a new alert and is delivered.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..jsonutil import loads, parse_time, utcnow
from ..limits import whole_number
from ..text import check_label, check_text

if TYPE_CHECKING:
    from ..store import Store

STATES = ("open", "acknowledged", "resolved", "silenced")
DECISIONS = ("retrain", "rollback", "ignore", "rebaseline")

#: What can still be done to an alert in each state (an item's ``actions``):
#: ``ack`` and ``resolve`` while open, ``resolve`` once acknowledged, nothing
#: once resolved or silenced. The panel offers these and no others.
ACTIONS: dict[str, list[str]] = {
    "open": ["ack", "resolve"],
    "acknowledged": ["resolve"],
    "resolved": [],
    "silenced": [],
}


def _states(state: str | None) -> tuple[str, ...]:
    if state is None or state == "open":
        return ("open",)
    if state == "all":
        return STATES
    if state not in STATES:
        raise InvalidInputError(f"state must be one of {(*STATES, 'all')}, not {state!r:.40}")
    return (state,)


def item(row: dict[str, Any]) -> dict[str, Any]:
    """An alert as the inbox shows it (CLI ``--json``, Python and REST alike).

    Shared values (a column list, a decision's detail) may be one object for
    several items: copy before changing one.
    """
    acked_at, resolved_at = row.get("acked_at"), row.get("resolved_at")
    return {
        "alert_id": row["id"],
        "model": row["model"],
        "kind": row["kind"],
        "state": row.get("state") or "open",
        "opened_at": row["at"],
        "count": row.get("count") or 1,
        "columns": row.get("group_columns") or [],
        "last_check_id": row.get("last_check_id"),
        "last_at": row.get("last_at") or row["at"],
        "subject": row["subject"],
        "message": row["message"],
        "acknowledged": None if acked_at is None else {"by": row["acked_by"], "at": acked_at},
        "ack_note": row.get("ack_note"),
        "resolved": None if resolved_at is None else {"by": row["resolved_by"], "at": resolved_at},
        "decision": row.get("decision"),
        "decision_detail": row.get("decision_detail"),
        "note": row.get("resolve_note"),
        "silenced_until": row.get("silenced_until"),
        "retrain_run_id": row.get("retrain_run_id"),
        "actions": ACTIONS.get(row.get("state") or "open", []),
    }


def inbox(
    store: Store, model: str | None = None, state: str | None = "open", limit: int | None = None
) -> list[dict[str, Any]]:
    """Alerts in ``state`` (``open`` by default; ``acknowledged``, ``resolved``,
    ``silenced`` or ``all``), newest first, optionally of one model."""
    if model is not None:
        from ..registry.names import check_model_name

        model = check_model_name(model)
    return _items(store.alert_inbox(model, _states(state), limit))


def _items(rows: list[Any]) -> list[dict[str, Any]]:
    """Inbox items straight from the store's tuples (:data:`INBOX_COLUMNS` order),
    each distinct JSON text decoded once: 10,000 alerts repeat a few hundred
    column sets. Equal values may be one shared object."""
    decoded: dict[str | None, Any] = {None: None}
    out = []
    for (
        alert_id, kind, model, subject, at, message, run_id, state, columns, count,
        last_check_id, last_at, _profile, acked_by, acked_at, ack_note, resolved_by,
        resolved_at, resolve_note, decision, detail, silenced_until,
    ) in rows:  # fmt: skip
        if columns not in decoded:
            decoded[columns] = loads(columns)
        if detail not in decoded:
            decoded[detail] = loads(detail)
        out.append(
            {
                "alert_id": alert_id,
                "model": model,
                "kind": kind,
                "state": state or "open",
                "opened_at": at,
                "count": count or 1,
                "columns": decoded[columns] or [],
                "last_check_id": last_check_id,
                "last_at": last_at or at,
                "subject": subject,
                "message": message,
                "acknowledged": None if acked_at is None else {"by": acked_by, "at": acked_at},
                "ack_note": ack_note,
                "resolved": None if resolved_at is None else {"by": resolved_by, "at": resolved_at},
                "decision": decision,
                "decision_detail": decoded[detail],
                "note": resolve_note,
                "silenced_until": silenced_until,
                "retrain_run_id": run_id,
                "actions": ACTIONS.get(state or "open", []),
            }
        )
    return out


def _alert_id(alert_id: Any) -> int:
    if isinstance(alert_id, str) and alert_id.strip().isdigit():
        alert_id = int(alert_id)
    return whole_number(alert_id, "alert id", minimum=1)


def _note(note: Any) -> str | None:
    return None if note is None or note == "" else check_text(note, "note")


def _who(actor: str | None) -> str:
    return environment.actor() if actor is None else check_label(actor, "actor")


def _open(row: dict[str, Any], doing: str) -> None:
    state = row.get("state") or "open"
    if state == "resolved":
        raise ConflictError(
            f"alert {row['id']} was resolved by {row.get('resolved_by')} at "
            f"{row.get('resolved_at')} ({row.get('decision')}): nothing left to {doing}"
        )
    if state == "silenced":
        raise ConflictError(
            f"alert {row['id']} was silenced (an ignore decision holds until "
            f"{row.get('silenced_until')}): nothing to {doing}"
        )


def ack(
    store: Store, alert_id: Any, note: str | None = None, *, actor: str | None = None
) -> dict[str, Any]:
    """Acknowledge an open alert: someone has seen it (repeats still group into it)."""
    alert_id, note, who = _alert_id(alert_id), _note(note), _who(actor)
    with store.transaction():
        row = store.get_alert(alert_id)
        _open(row, "acknowledge")
        if row.get("state") == "acknowledged":
            raise ConflictError(
                f"alert {alert_id} was acknowledged already by {row.get('acked_by')} at "
                f"{row.get('acked_at')}"
            )
        changed = store.change_alert(
            alert_id,
            {"state": "acknowledged", "acked_by": who, "acked_at": utcnow(), "ack_note": note},
            "alert.acknowledged",
            who,
        )
    return item(changed)


def resolve(
    store: Store,
    alert_id: Any,
    decision: str,
    note: str | None = None,
    *,
    until: str | dt.date | None = None,
    alias: str = "production",
    actor: str | None = None,
) -> dict[str, Any]:
    """Resolve an alert with a decision, and carry the decision out (module doc).

    Raises
    ------
    InvalidInputError
        An unknown decision; ``ignore`` without ``until`` or with one in the
        past; ``until`` given to another decision.
    NotFoundError
        No such alert.
    ConflictError
        The alert is resolved (or silenced) already; the decision cannot be
        carried out (no retrain trigger, nothing to roll back to, no checked
        batch to accept).
    """
    alert_id, note, who = _alert_id(alert_id), _note(note), _who(actor)
    if decision not in DECISIONS:
        raise InvalidInputError(f"decision must be one of {DECISIONS}, not {decision!r:.40}")
    silence = _until(decision, until)
    claimed = None
    with store.transaction():
        row = store.get_alert(alert_id)
        _open(row, "resolve")
        now = utcnow()
        detail: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        if decision == "retrain":
            claimed = _retrain(store, row, who)
            detail = {"run_id": claimed.run_id, "notebook": claimed.notebook}
            changes["retrain_run_id"] = claimed.run_id
        elif decision == "rollback":
            detail = _rollback(store, row, alias, note, who)
        elif decision == "ignore":
            detail = {"until": silence}
            changes["silenced_until"] = silence
        else:
            detail = _rebaseline(store, row, now, who)
        changed = store.change_alert(
            alert_id,
            {
                **changes,
                "state": "resolved",
                "resolved_by": who,
                "resolved_at": now,
                "resolve_note": note,
                "decision": decision,
                "decision_detail": detail,
            },
            "alert.resolved",
            who,
        )
    if claimed is not None:
        from .retrain import start

        start(store, claimed)
    return item(changed)


def _until(decision: str, until: Any) -> str | None:
    if decision != "ignore":
        if until is not None:
            raise InvalidInputError("--until goes with the ignore decision only")
        return None
    if until is None or until == "":
        raise InvalidInputError("ignore needs --until DATE: until when to silence these alerts")
    moment = parse_time(until)
    if moment <= utcnow():
        raise InvalidInputError(f"--until {until!s:.40} is in the past: nothing would be silenced")
    return moment


def _model(row: dict[str, Any], decision: str) -> str:
    if not row.get("model"):
        raise ConflictError(f"alert {row['id']} is about no model: {decision} does not apply")
    return str(row["model"])


def _retrain(store: Store, row: dict[str, Any], who: str) -> Any:
    from .retrain import claim_now

    model = _model(row, "retrain")
    check_id = row.get("last_check_id")
    claimed = claim_now(store, model, check_id, row["id"], who)
    if claimed is None:
        raise ConflictError(
            f"model {model} has no retrain trigger to start: set one with "
            f"`mlops-nb drift trigger {model} NOTEBOOK`"
        )
    return claimed


def _rollback(
    store: Store, row: dict[str, Any], alias: str, note: str | None, who: str
) -> dict[str, Any]:
    from ..registry import rollback

    model = _model(row, "rollback")
    reason = f"alert {row['id']}" + (f": {note}" if note else "")
    change = rollback(store, model, alias, reason=reason[:1000], actor=who)
    return {
        "alias": change.alias,
        "from_version": change.from_version,
        "to_version": change.to_version,
        "change_id": change.id,
    }


def _rebaseline(store: Store, row: dict[str, Any], now: str, who: str) -> dict[str, Any]:
    model = _model(row, "rebaseline")
    if row.get("kind") != "drift":
        raise ConflictError(
            f"alert {row['id']} is a {row.get('kind')} alert: rebaseline accepts a drifted "
            "batch as the reference of later drift checks; decide retrain, rollback or ignore"
        )
    sha, check_id = row.get("batch_profile_sha256"), row.get("last_check_id")
    if not sha or check_id is None:
        raise ConflictError(
            f"alert {row['id']} kept no profile of its checked batch (a broken batch, or "
            "an alert raised before the inbox): there is no batch to accept as the reference"
        )
    check = store.get_drift_check(int(check_id))
    if check.get("version") is None:
        raise NotFoundError(f"drift check {check_id} names no model version")
    store.set_drift_reference(
        {
            "model": model,
            "version": check["version"],
            "profile_sha256": sha,
            "check_id": int(check_id),
            "alert_id": row["id"],
            "at": now,
            "actor": who,
        },
        who,
    )
    return {"version": check["version"], "check_id": int(check_id), "profile_sha256": sha}
