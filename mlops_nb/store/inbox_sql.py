"""SQL for the alert inbox: grouping repeats, the lifecycle, accepted references.

Mixed into Store. Every method writes under the store's write lock (or joins
the caller's transaction), so a repeat is grouped into the alert it repeats
by whichever check takes the lock first and no two checks open the same alert.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..jsonutil import canonical
from . import schema as t
from .base import StoreBase, limited
from .monitor_sql import _decode

#: States a repeat joins (an alert someone is still looking at).
LIVE = ("open", "acknowledged")

#: The columns an inbox item shows, in this order (the payload and deliveries
#: stay out).
INBOX_COLUMNS = (
    "id",
    "kind",
    "model",
    "subject",
    "at",
    "message",
    "retrain_run_id",
    *(name for name, _ in t.ALERT_INBOX_COLUMNS),
)


def _same_model(model: str | None) -> Any:
    return t.alerts.c.model.is_(None) if model is None else t.alerts.c.model == model


class InboxSQL(StoreBase):
    def file_alert(
        self, fields: dict[str, Any], now: str, actor: str, *, group: bool = True
    ) -> tuple[int, str]:
        """Record an alert, or count it into the one it repeats; return its id and
        what happened: ``raised`` (a new open alert, to deliver), ``grouped``
        (a repeat of an open or acknowledged alert) or ``silenced`` (an
        ``ignore`` decision on the model's alerts of this kind holds until a
        later time: recorded, never delivered).

        ``fields`` are the alert's columns with ``group_columns`` (a list),
        ``last_check_id`` and ``batch_profile_sha256`` as known.
        """
        a = t.alerts.c
        columns = canonical(sorted(set(fields.get("group_columns") or [])))
        model, kind = fields["model"], fields["kind"]
        repeat = {
            "last_check_id": fields.get("last_check_id"),
            "last_at": fields["at"],
            "batch_profile_sha256": fields.get("batch_profile_sha256"),
        }
        with self.write() as conn:
            silence = conn.execute(
                sa.select(a.id, a.silenced_until)
                .where(
                    _same_model(model),
                    a.kind == kind,
                    a.state == "resolved",
                    a.decision == "ignore",
                    a.silenced_until > now,
                )
                .order_by(a.silenced_until.desc())
                .limit(1)
            ).first()
            states: tuple[str, ...] = ("silenced",) if silence is not None else LIVE
            if silence is not None or group:
                query = sa.select(a.id, a.count).where(
                    _same_model(model),
                    a.kind == kind,
                    a.state.in_(states),
                    a.group_columns == columns,
                )
                if silence is not None:
                    query = query.where(a.silenced_until == silence.silenced_until)
                joined = conn.execute(query.order_by(a.id.desc()).limit(1)).first()
                if joined is not None:
                    changes = {**repeat, "count": (joined[1] or 1) + 1}
                    self._update(conn, t.alerts, {"id": joined.id}, changes, "alert.grouped", actor)
                    return int(joined.id), "grouped" if silence is None else "silenced"
            row = {**fields, **repeat, "group_columns": columns, "count": 1, "state": "open"}
            if silence is not None:
                row["state"] = "silenced"
                row["silenced_until"] = silence.silenced_until
                row["decision_detail"] = {"silenced_by": silence.id}
            kind_of_event = "alert.raised" if silence is None else "alert.silenced"
            inserted = self._insert(conn, t.alerts, row, kind_of_event, actor)
            return int(inserted["id"]), "raised" if silence is None else "silenced"

    def alert_inbox(
        self, model: str | None = None, states: tuple[str, ...] = LIVE, limit: int | None = None
    ) -> list[Any]:
        """Alerts in ``states``, newest first, as rows of :data:`INBOX_COLUMNS`
        (JSON columns still text; a page of 10,000 alerts decodes no payload).
        An alert raised before the inbox existed has no state: it counts as open."""
        a = t.alerts.c
        state = sa.func.coalesce(a.state, "open")
        query = sa.select(*(a[name] for name in INBOX_COLUMNS)).order_by(a.id.desc())
        if model is not None:
            query = query.where(a.model == model)
        query = query.where(state.in_(states))
        query = limited(query, limit)
        with self.read() as conn:
            return list(conn.execute(query).all())  # rows unpack as tuples

    def change_alert(
        self, alert_id: int, changes: dict[str, Any], kind: str, actor: str
    ) -> dict[str, Any]:
        """Apply a lifecycle step to an alert (joins an open transaction)."""
        with self.write() as conn:
            return _decode(self._update(conn, t.alerts, {"id": alert_id}, changes, kind, actor))

    # -- accepted drift references --------------------------------------------

    def set_drift_reference(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Make a checked batch's profile the version's reference (joins a transaction)."""
        key = {"model": fields["model"], "version": fields["version"]}
        with self.write() as conn:
            known = conn.execute(
                sa.select(t.drift_references.c.model).where(
                    t.drift_references.c.model == key["model"],
                    t.drift_references.c.version == key["version"],
                )
            ).first()
            if known is None:
                return self._insert(conn, t.drift_references, fields, "reference.set", actor)
            changes = {k: v for k, v in fields.items() if k not in key}
            return self._update(conn, t.drift_references, key, changes, "reference.set", actor)

    def get_drift_reference(self, model: str, version: int) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.drift_references).where(
                    t.drift_references.c.model == model, t.drift_references.c.version == version
                )
            ).first()
        return None if row is None else _decode(row)
