"""SQL for digests of alert channels: claiming a period, recording the sending,
and the facts a digest reports (mixed into Store).

A scheduled digest is claimed by inserting its row (channel, ``scheduled``,
end of period) under the store's write lock, after checking that no row for
that period exists; the unique key on it would abort a duplicate
rather than store it. So any number of ticks, in threads, processes or on
several machines sharing a PostgreSQL store, claim each period once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import NotFoundError
from . import schema as t
from .base import StoreBase, limited
from .monitor_sql import _decode


def _in_scope(column: Any, model: str) -> Any:
    """Rows about ``model``; for a channel of every model (``*``), all rows."""
    return sa.true() if model == "*" else column == model


class DigestSQL(StoreBase):
    # -- channels -------------------------------------------------------------

    def set_channel_config(
        self, channel_id: int, config: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        """Replace a channel's configuration (``channel.changed`` event)."""
        with self.write() as conn:
            row = self._update(
                conn,
                t.alert_channels,
                {"id": channel_id},
                {"config": config},
                "channel.changed",
                actor,
            )
            return _decode(row)

    def get_alert_channel(self, channel_id: int) -> dict[str, Any]:
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.alert_channels).where(t.alert_channels.c.id == channel_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no alert channel {channel_id}")
        return _decode(row)

    # -- claiming and recording ------------------------------------------------

    def claim_digest(
        self,
        channel_id: int,
        period: str,
        end: str,
        first_start: str,
        now: str,
        retry_before: str,
        claimed_by: str,
        actor: str,
    ) -> dict[str, Any] | None:
        """Claim the channel's next scheduled digest to send, or return None.

        First an earlier digest left to send again: ``failed``, or ``claimed``
        by a tick that has not finished it since ``retry_before`` (it crashed),
        and last tried before ``retry_before``. Otherwise the period ending at
        ``end`` if nothing claimed it yet; it starts where the channel's
        previous scheduled digest ended, or at ``first_start`` if that is
        later (the first, or the first since the mode was set again), so
        periods a stopped scheduler missed are covered, in one message.
        """
        d = t.digests.c
        mine = (d.channel_id == channel_id) & (d.trigger == "scheduled")
        with self.write() as conn:
            channel = conn.execute(
                sa.select(t.alert_channels.c.enabled).where(t.alert_channels.c.id == channel_id)
            ).first()
            if channel is None or not channel.enabled:
                return None
            again = conn.execute(
                sa.select(t.digests)
                .where(mine, d.status.in_(["failed", "claimed"]), d.claimed_at < retry_before)
                .order_by(d.period_end)
                .limit(1)
            ).first()
            if again is not None:
                changes = {
                    "status": "claimed",
                    "claimed_at": now,
                    "claimed_by": claimed_by,
                    "attempts": int(again.attempts) + 1,
                }
                row = self._update(
                    conn, t.digests, {"id": again.id}, changes, "digest.claimed", actor
                )
                return _decode(row)
            last = conn.execute(
                sa.select(d.period_end).where(mine).order_by(d.period_end.desc()).limit(1)
            ).first()
            if last is not None and last.period_end >= end:
                return None
            fields = {
                "channel_id": channel_id,
                "period": period,
                "trigger": "scheduled",
                "period_start": first_start if last is None else max(first_start, last.period_end),
                "period_end": end,
                "status": "claimed",
                "claimed_at": now,
                "claimed_by": claimed_by,
                "attempts": 1,
            }
            return _decode(self._insert(conn, t.digests, fields, "digest.claimed", actor))

    def digest_pending(self, channel_id: int, end: str, retry_before: str) -> bool:
        """Whether :meth:`claim_digest` may find something: a cheap read first, so a
        tick with nothing due takes no write lock."""
        d = t.digests.c
        mine = (d.channel_id == channel_id) & (d.trigger == "scheduled")
        with self.read() as conn:
            newest = conn.execute(sa.select(sa.func.max(d.period_end)).where(mine)).scalar()
            if newest is None or newest < end:
                return True
            again = conn.execute(
                sa.select(d.id)
                .where(mine, d.status.in_(["failed", "claimed"]), d.claimed_at < retry_before)
                .limit(1)
            ).first()
        return again is not None

    def record_digest(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record a digest sent on request (``trigger`` ``manual``), whole."""
        with self.write() as conn:
            kind = f"digest.{fields['status']}"
            return _decode(self._insert(conn, t.digests, fields, kind, actor))

    def finish_digest(self, digest_id: int, changes: dict[str, Any], actor: str) -> dict[str, Any]:
        """Mark a claimed digest ``sent`` or ``failed`` with its deliveries."""
        with self.write() as conn:
            kind = f"digest.{changes.get('status', 'updated')}"
            return _decode(self._update(conn, t.digests, {"id": digest_id}, changes, kind, actor))

    def digests(
        self, channel_id: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded digests, newest first."""
        query = sa.select(t.digests).order_by(t.digests.c.id.desc())
        if channel_id is not None:
            query = query.where(t.digests.c.channel_id == channel_id)
        with self.read() as conn:
            return [_decode(r) for r in conn.execute(limited(query, limit))]

    # -- what a digest reports ---------------------------------------------------

    def digest_facts(self, model: str, start: str, end: str) -> dict[str, Any]:
        """What happened to ``model``'s alerts (``*``: every model's) between
        ``start`` and ``end``, and the state now, in one read snapshot.

        ``live``: open and acknowledged alerts; ``raised``: alerts opened in
        the period; ``decided``: alerts acknowledged or resolved in it;
        ``models``: each model with its newest drift check (None: never);
        ``failed``: schedule slots that failed in it (``*`` only: schedules
        belong to no model); ``deployments``: canary and shadow deploys
        running now.
        """
        a, c = t.alerts.c, t.drift_checks.c
        state = sa.func.coalesce(a.state, "open")
        inbox = (a.id, a.model, a.kind, a.subject, a.at, a.count, a.last_at, a.group_columns)
        with self.read() as conn:
            live = conn.execute(
                sa.select(*inbox, state.label("state"))
                .where(_in_scope(a.model, model), state.in_(["open", "acknowledged"]))
                .order_by(a.id)
            ).all()
            raised = conn.execute(
                sa.select(sa.func.count()).where(
                    _in_scope(a.model, model), a.at >= start, a.at < end
                )
            ).scalar()
            decided = conn.execute(
                sa.select(
                    a.id,
                    a.model,
                    a.kind,
                    a.state,
                    a.acked_by,
                    a.acked_at,
                    a.ack_note,
                    a.resolved_by,
                    a.resolved_at,
                    a.resolve_note,
                    a.decision,
                )
                .where(
                    _in_scope(a.model, model),
                    sa.or_(
                        (a.acked_at >= start) & (a.acked_at < end),
                        (a.resolved_at >= start) & (a.resolved_at < end),
                    ),
                )
                .order_by(a.id)
            ).all()
            newest = (
                sa.select(c.model, sa.func.max(c.at).label("at"))
                .where(c.at < end)
                .group_by(c.model)
                .subquery()
            )
            models = conn.execute(
                sa.select(t.models.c.name, newest.c.at)
                .select_from(t.models.outerjoin(newest, newest.c.model == t.models.c.name))
                .where(_in_scope(t.models.c.name, model))
                .order_by(t.models.c.name)
            ).all()
            s = t.schedule_slots.c
            failed: list[Any] = []
            if model == "*":
                failed = list(
                    conn.execute(
                        sa.select(s.schedule, s.slot, s.ended_at, s.error, s.run_id)
                        .where(s.status == "failed", s.ended_at >= start, s.ended_at < end)
                        .order_by(s.ended_at)
                    ).all()
                )
            p = t.deployments.c
            deployments = conn.execute(
                sa.select(p.id, p.model, p.kind, p.version, p.share, p.started_at)
                .where(_in_scope(p.model, model), p.state == "running")
                .order_by(p.id)
            ).all()
        return {
            "live": [dict(r._mapping) for r in live],
            "raised": int(raised or 0),
            "decided": [dict(r._mapping) for r in decided],
            "models": [{"model": r.name, "last_checked_at": r.at} for r in models],
            "failed": [dict(r._mapping) for r in failed],
            "deployments": [dict(r._mapping) for r in deployments],
        }
