"""SQL for drift checks, alert channels, alerts and retrain triggers (mixed into Store)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import NotFoundError
from ..jsonutil import loads
from . import schema as t
from .base import StoreBase, limited

_JSON = (
    "summary",
    "config",
    "payload",
    "deliveries",
    "parameters",
    "group_columns",
    "decision_detail",
)  # decoded on read


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping if hasattr(row, "_mapping") else row)
    out.pop("event_seq", None)
    for key in _JSON:
        if key in out and isinstance(out[key], str):
            out[key] = loads(out[key])
    return out


class MonitorSQL(StoreBase):
    # -- drift checks ---------------------------------------------------------

    def record_drift_check(self, fields: dict[str, Any], actor: str) -> int:
        with self.write() as conn:
            return int(self._insert(conn, t.drift_checks, fields, "drift.checked", actor)["id"])

    def update_drift_check(self, check_id: int, changes: dict[str, Any], actor: str) -> None:
        with self.write() as conn:
            self._update(conn, t.drift_checks, {"id": check_id}, changes, "drift.updated", actor)

    def drift_checks(
        self, model: str | None = None, limit: int | None = None, before: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded checks, oldest first (the last ``limit`` of them, older than
        check ``before`` when given)."""
        query = sa.select(t.drift_checks).order_by(t.drift_checks.c.id.desc())
        if model is not None:
            query = query.where(t.drift_checks.c.model == model)
        if before is not None:
            query = query.where(t.drift_checks.c.id < before)
        query = limited(query, limit)
        with self.read() as conn:
            rows = [_decode(r) for r in conn.execute(query)]
        return rows[::-1]

    def get_drift_check(self, check_id: int) -> dict[str, Any]:
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.drift_checks).where(t.drift_checks.c.id == check_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no drift check {check_id}")
        return _decode(row)

    # -- alert channels and alerts --------------------------------------------

    def add_alert_channel(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        with self.write() as conn:
            return _decode(self._insert(conn, t.alert_channels, fields, "channel.added", actor))

    def disable_alert_channel(self, channel_id: int, actor: str) -> None:
        with self.write() as conn:
            self._update(
                conn, t.alert_channels, {"id": channel_id}, {"enabled": 0}, "channel.removed", actor
            )

    def alert_channels(
        self, model: str | None = None, enabled_only: bool = True
    ) -> list[dict[str, Any]]:
        """Channels for ``model`` (its own and those for every model, ``"*"``)."""
        query = sa.select(t.alert_channels).order_by(t.alert_channels.c.id)
        if model is not None:
            query = query.where(t.alert_channels.c.model.in_([model, "*"]))
        if enabled_only:
            query = query.where(t.alert_channels.c.enabled == 1)
        with self.read() as conn:
            return [_decode(r) for r in conn.execute(query)]

    def record_alert(self, fields: dict[str, Any], actor: str) -> int:
        with self.write() as conn:
            return int(self._insert(conn, t.alerts, fields, "alert.raised", actor)["id"])

    def update_alert(
        self, alert_id: int, changes: dict[str, Any], actor: str, kind: str = "alert.updated"
    ) -> None:
        with self.write() as conn:
            self._update(conn, t.alerts, {"id": alert_id}, changes, kind, actor)

    def list_alerts(
        self,
        model: str | None = None,
        limit: int | None = None,
        *,
        subjects: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts, newest first; with ``subjects``, only those about one of them
        (e.g. ``drift_check:12``)."""
        query = sa.select(t.alerts).order_by(t.alerts.c.id.desc())
        if model is not None:
            query = query.where(t.alerts.c.model == model)
        if subjects is not None:
            query = query.where(t.alerts.c.subject.in_(subjects))
        query = limited(query, limit)
        with self.read() as conn:
            return [_decode(r) for r in conn.execute(query)]

    def get_alert(self, alert_id: int) -> dict[str, Any]:
        with self.read() as conn:
            row = conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).first()
        if row is None:
            raise NotFoundError(f"no alert {alert_id}")
        return _decode(row)

    # -- retrain triggers -----------------------------------------------------

    def set_trigger(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        with self.write() as conn:
            exists = conn.execute(
                sa.select(t.retrain_triggers.c.model).where(
                    t.retrain_triggers.c.model == fields["model"]
                )
            ).first()
            if exists is None:
                row = self._insert(conn, t.retrain_triggers, fields, "trigger.set", actor)
            else:
                changes = {k: v for k, v in fields.items() if k != "model"}
                row = self._update(
                    conn,
                    t.retrain_triggers,
                    {"model": fields["model"]},
                    changes,
                    "trigger.set",
                    actor,
                )
            return _decode(row)

    def get_trigger(self, model: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.retrain_triggers).where(t.retrain_triggers.c.model == model)
            ).first()
        return None if row is None else _decode(row)

    def disable_trigger(self, model: str, actor: str) -> None:
        with self.write() as conn:
            self._update(
                conn, t.retrain_triggers, {"model": model}, {"enabled": 0}, "trigger.removed", actor
            )

    def claim_trigger(
        self, model: str, now: str, not_before: str, check_id: int | None, actor: str
    ) -> dict[str, Any] | None:
        """Fire the model's trigger if it is enabled and last fired before ``not_before``.

        The check and the update share one write transaction, so two drift
        checks finishing at once cannot both start a retrain.
        """
        with self.write() as conn:
            row = conn.execute(
                sa.select(t.retrain_triggers).where(t.retrain_triggers.c.model == model)
            ).first()
            if row is None or not row.enabled:
                return None
            if row.last_fired_at is not None and row.last_fired_at > not_before:
                return None
            updated = self._update(
                conn,
                t.retrain_triggers,
                {"model": model},
                {"last_fired_at": now, "last_check_id": check_id},
                "trigger.fired",
                actor,
            )
            return _decode(updated)
