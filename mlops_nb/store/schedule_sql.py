"""SQL for schedules and their slots (mixed into Store).

A slot is one firing of a schedule (its cron time in UTC). Slots are claimed
by inserting a row under a unique (schedule, slot) key inside the write
transaction that also advances the schedule's cursor, so any number of
schedulers and ticks on one store fire each slot exactly once, and every
slot that was considered is recorded: run, queued or skipped with a reason.

The same holds for schedulers on several machines sharing a PostgreSQL
store: the write transaction holds the store's write lock (see
:mod:`mlops_nb.store.base`), so the "is this slot taken?" check, the insert
and the cursor move happen with no other claimer in between, and the
unique key would abort a duplicate claim rather than store it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..errors import ConflictError, NotFoundError
from ..jsonutil import loads
from . import faults
from . import schema as t
from .base import StoreBase, limited

_JSON = ("parameters",)

#: Given the schedule row and its cursor, return the slots to record now as
#: (slot, status, error) and the new cursor.
Planner = Callable[[dict[str, Any]], tuple[list[tuple[str, str, str | None]], str]]


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row._mapping if hasattr(row, "_mapping") else row)
    out.pop("event_seq", None)
    for key in _JSON:
        if isinstance(out.get(key), str):
            out[key] = loads(out[key])
    return out


class ScheduleSQL(StoreBase):
    def add_schedule(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        with self.write() as conn:
            if self._schedule_row(conn, fields["name"]) is not None:
                raise ConflictError(f"schedule {fields['name']!r} exists; use `schedule update`")
            return _decode(self._insert(conn, t.schedules, fields, "schedule.added", actor))

    def update_schedule(
        self, name: str, changes: dict[str, Any], actor: str, kind: str = "schedule.updated"
    ) -> dict[str, Any]:
        with self.write() as conn:
            if self._schedule_row(conn, name) is None:
                raise NotFoundError(f"no schedule named {name!r}")
            return _decode(self._update(conn, t.schedules, {"name": name}, changes, kind, actor))

    def delete_schedule(self, name: str, actor: str, now: str) -> dict[str, Any]:
        """Delete a schedule's row with a ``schedule.removed`` event; return the row.

        Its slots stay; one still queued becomes skipped, since nothing would
        start it. A running slot refuses the deletion, so no run outlives its
        schedule's row.
        """
        with self.write() as conn:
            row = self._schedule_row(conn, name)
            if row is None:
                raise NotFoundError(f"no schedule named {name!r}")
            slots = t.schedule_slots
            waiting = conn.execute(
                sa.select(slots.c.id, slots.c.status)
                .where((slots.c.schedule == name) & slots.c.status.in_(["running", "queued"]))
                .order_by(slots.c.id)
            ).all()
            running = [s.id for s in waiting if s.status == "running"]
            if running:
                raise ConflictError(
                    f"schedule {name} is running (slot {running[0]}): cancel it or let it end, "
                    "then remove the schedule"
                )
            for slot in waiting:
                changes = {"status": "skipped", "error": "schedule removed", "ended_at": now}
                self._update(conn, slots, {"id": slot.id}, changes, "schedule.slot.skipped", actor)
            payload = {"name": name, "_deleted": True}
            self.append_event(conn, "schedule.removed", f"schedules:{name}", payload, actor)
            conn.execute(t.schedules.delete().where(t.schedules.c.name == name))
            return _decode(row)

    def get_schedule(self, name: str) -> dict[str, Any]:
        with self.read() as conn:
            row = self._schedule_row(conn, name)
        if row is None:
            raise NotFoundError(f"no schedule named {name!r}")
        return _decode(row)

    def list_schedules(self, enabled_only: bool = False) -> list[dict[str, Any]]:
        query = sa.select(t.schedules).order_by(t.schedules.c.name)
        if enabled_only:
            query = query.where(t.schedules.c.enabled == 1)
        with self.read() as conn:
            return [_decode(r) for r in conn.execute(query)]

    def slot_stats(self) -> dict[str, dict[str, Any]]:
        """Per schedule: how many runs it fired and the status of the newest slot."""
        with self.read() as conn:
            counts = conn.execute(
                sa.select(t.schedule_slots.c.schedule, sa.func.count())
                .where(t.schedule_slots.c.status.notin_(["skipped"]))
                .group_by(t.schedule_slots.c.schedule)
            ).all()
            latest = conn.execute(
                sa.select(
                    t.schedule_slots.c.schedule, t.schedule_slots.c.status, t.schedule_slots.c.id
                ).order_by(t.schedule_slots.c.id)
            ).all()
        out: dict[str, dict[str, Any]] = {
            name: {"runs": n, "last_status": None} for name, n in counts
        }
        for row in latest:
            out.setdefault(row.schedule, {"runs": 0})["last_status"] = row.status
        return out

    def _schedule_row(self, conn: sa.Connection, name: str) -> Any:
        return conn.execute(sa.select(t.schedules).where(t.schedules.c.name == name)).first()

    # -- slots ----------------------------------------------------------------

    def claim_slots(
        self, name: str, plan: Planner, claimed_by: str, now: str, actor: str
    ) -> list[dict[str, Any]]:
        """Record the slots ``plan`` decides on and advance the cursor, atomically.

        Returns the recorded slot rows (any status). A slot another scheduler
        recorded first is left alone.
        """
        with self.write() as conn:
            row = self._schedule_row(conn, name)
            if row is None or not row.enabled:
                return []
            schedule = _decode(row)
            running = (
                conn.execute(
                    sa.select(sa.func.count()).where(
                        (t.schedule_slots.c.schedule == name)
                        & t.schedule_slots.c.status.in_(["running", "queued"])
                    )
                ).scalar()
                or 0
            )
            schedule["active"] = int(running)
            decided, cursor = plan(schedule)
            recorded = []
            for slot, status, error in decided:
                exists = conn.execute(
                    sa.select(t.schedule_slots.c.id).where(
                        (t.schedule_slots.c.schedule == name) & (t.schedule_slots.c.slot == slot)
                    )
                ).first()
                if exists is not None:
                    continue
                fields = {
                    "schedule": name,
                    "slot": slot,
                    "status": status,
                    "claimed_at": now,
                    "claimed_by": claimed_by,
                    "error": error,
                    "parameters": schedule["parameters"],
                }
                if status == "skipped":
                    fields["ended_at"] = now
                recorded.append(
                    _decode(
                        self._insert(
                            conn, t.schedule_slots, fields, f"schedule.slot.{status}", actor
                        )
                    )
                )
            if cursor != schedule["cursor"]:
                self._update(
                    conn,
                    t.schedules,
                    {"name": name},
                    {"cursor": cursor},
                    "schedule.advanced",
                    actor,
                )
            if recorded:
                faults.point("slot", 1)
            return recorded

    def add_slot(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record one slot outside the cron plan (run-now)."""
        with self.write() as conn:
            row = self._insert(
                conn, t.schedule_slots, fields, f"schedule.slot.{fields['status']}", actor
            )
            faults.point("slot", 1)
            return _decode(row)

    def update_slot(self, slot_id: int, changes: dict[str, Any], actor: str) -> dict[str, Any]:
        with self.write() as conn:
            status = changes.get("status", "updated")
            return _decode(
                self._update(
                    conn,
                    t.schedule_slots,
                    {"id": slot_id},
                    changes,
                    f"schedule.slot.{status}",
                    actor,
                )
            )

    def start_queued_slot(
        self, name: str, max_concurrent: int, actor: str, started: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Move the earliest queued slot of ``name`` to running if there is room.

        Queued slots are cron times in one fixed-width UTC format, so their
        text order is slot order: a backlog starts oldest first.
        """
        with self.write() as conn:
            running = (
                conn.execute(
                    sa.select(sa.func.count()).where(
                        (t.schedule_slots.c.schedule == name)
                        & (t.schedule_slots.c.status == "running")
                    )
                ).scalar()
                or 0
            )
            if running >= max_concurrent:
                return None
            row = conn.execute(
                sa.select(t.schedule_slots.c.id)
                .where(
                    (t.schedule_slots.c.schedule == name) & (t.schedule_slots.c.status == "queued")
                )
                .order_by(t.schedule_slots.c.slot, t.schedule_slots.c.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            return _decode(
                self._update(
                    conn,
                    t.schedule_slots,
                    {"id": row.id},
                    {**started, "status": "running"},
                    "schedule.slot.running",
                    actor,
                )
            )

    def get_slot(self, slot_id: int) -> dict[str, Any]:
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.schedule_slots).where(t.schedule_slots.c.id == slot_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no schedule slot {slot_id}")
        return _decode(row)

    def slots(
        self, name: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Slots, newest first."""
        query = sa.select(t.schedule_slots).order_by(t.schedule_slots.c.id.desc())
        if name is not None:
            query = query.where(t.schedule_slots.c.schedule == name)
        if status is not None:
            query = query.where(t.schedule_slots.c.status == status)
        query = limited(query, limit)
        with self.read() as conn:
            return [_decode(r) for r in conn.execute(query)]
