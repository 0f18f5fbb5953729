"""SQL for canary and shadow deploys (mixed into Store).

A ``deployments`` row is audited: its start is a ``deployment.started``
event and each end (``deployment.aborted``, ``.promoted``, ``.stopped``) or
alert (``deployment.alerted``) rewrites the row with its event, in one
transaction. :meth:`DeploySQL.end_deployment` changes the row only while it
is still ``running``, under the store's write lock, so when several serving
replicas judge the same guards at once exactly one decision is recorded
and the others learn that it was taken.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import ConflictError, NotFoundError
from ..jsonutil import canonical, loads, utcnow
from . import schema as t
from .base import StoreBase, row_snapshot

DEPLOY_KINDS = ("canary", "shadow")
DEPLOY_STATES = ("running", "aborted", "promoted", "stopped")


class DeploySQL(StoreBase):
    def start_deployment(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record a new running deploy; refuse while another one runs for the model.

        Raises
        ------
        ConflictError
            A canary or shadow of this model is running already.
        """
        with self.write() as conn:
            running = conn.execute(
                sa.select(t.deployments.c.id, t.deployments.c.kind, t.deployments.c.version)
                .where(t.deployments.c.model == fields["model"])
                .where(t.deployments.c.state == "running")
            ).first()
            if running is not None:
                raise ConflictError(
                    f"a {running.kind} of {fields['model']} (version {running.version}) is "
                    f"running already; promote or abort it first "
                    f"(mlops-nb deploy abort {fields['model']})"
                )
            row = {**fields, "state": "running", "started_at": utcnow(), "actor": actor}
            return row_snapshot(self._insert(conn, t.deployments, row, "deployment.started", actor))

    def end_deployment(
        self,
        deployment_id: int,
        state: str,
        reason: str | None,
        statistics: dict[str, Any],
        actor: str,
    ) -> dict[str, Any] | None:
        """End a running deploy (``aborted``, ``promoted`` or ``stopped``) with the
        statistics it was decided on; ``None`` when it had ended already (someone
        else decided first)."""
        if state not in DEPLOY_STATES[1:]:
            raise ValueError(f"a deploy ends {DEPLOY_STATES[1:]}, not {state!r}")
        with self.write() as conn:
            current = self._running(conn, deployment_id)
            if current is None:
                return None
            changes = {
                "state": state,
                "reason": reason,
                "statistics": statistics,
                "ended_at": utcnow(),
            }
            row = self._update(
                conn, t.deployments, {"id": deployment_id}, changes, f"deployment.{state}", actor
            )
        return row_snapshot(row)

    def alert_deployment(
        self, deployment_id: int, guard: str, statistics: dict[str, Any], actor: str
    ) -> dict[str, Any] | None:
        """Record that an alert was raised for ``guard`` (once per deploy); ``None``
        when the deploy has ended or an alert was recorded already."""
        with self.write() as conn:
            current = self._running(conn, deployment_id)
            if current is None or current.alerted is not None:
                return None
            changes = {"alerted": guard, "statistics": statistics}
            row = self._update(
                conn, t.deployments, {"id": deployment_id}, changes, "deployment.alerted", actor
            )
        return row_snapshot(row)

    def _running(self, conn: sa.Connection, deployment_id: int) -> Any:
        found = conn.execute(
            sa.select(t.deployments).where(t.deployments.c.id == deployment_id)
        ).first()
        if found is None:
            raise NotFoundError(f"no deploy {deployment_id}")
        return found if found.state == "running" else None

    def running_deployment(self, model: str) -> dict[str, Any] | None:
        """The deploy running for ``model``, if any (one small query, for polling)."""
        c = t.deployments.c
        with self.read() as conn:
            found = conn.execute(
                sa.select(t.deployments).where((c.model == model) & (c.state == "running"))
            ).first()
        return None if found is None else row_snapshot(found)

    def deployments_of(self, model: str) -> list[dict[str, Any]]:
        """Every deploy of ``model``, oldest first."""
        c = t.deployments.c
        with self.read() as conn:
            rows = conn.execute(sa.select(t.deployments).where(c.model == model).order_by(c.id))
            return [row_snapshot(r) for r in rows]

    def running_deployments(self) -> list[dict[str, Any]]:
        """Every deploy running now, of any model, by model."""
        c = t.deployments.c
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.deployments).where(c.state == "running").order_by(c.model)
            )
            return [row_snapshot(r) for r in rows]

    def deployment_events(self, deployment_ids: list[int], limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` audit events of these deploys (start, alert, end),
        newest first: ``{seq, at, actor, kind, payload}``."""
        if not deployment_ids:
            return []
        c = t.events.c
        subjects = [f"deployments:{i}" for i in deployment_ids]
        with self.read() as conn:
            rows = conn.execute(
                sa.select(c.seq, c.at, c.actor, c.kind, c.payload)
                .where(c.subject.in_(subjects))
                .order_by(c.seq.desc())
                .limit(limit)
            ).all()
        return [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "kind": r.kind,
                "payload": loads(r.payload, {}),
            }
            for r in rows
        ]

    def get_deployment(self, deployment_id: int) -> dict[str, Any]:
        with self.read() as conn:
            found = conn.execute(
                sa.select(t.deployments).where(t.deployments.c.id == deployment_id)
            ).first()
        if found is None:
            raise NotFoundError(f"no deploy {deployment_id}")
        return row_snapshot(found)

    # -- what serving processes counted per arm (heartbeats, not audited) ----------

    def put_deployment_stats(
        self, deployment_id: int, instance: str, role: str, version: int, counts: dict[str, Any]
    ) -> None:
        """Write one process's counts for one arm over its previous ones."""
        c = t.deployment_stats.c
        key = (c.deployment == deployment_id) & (c.instance == instance) & (c.role == role)
        values = {"version": version, "at": utcnow(), "counts": canonical(counts)}
        with self.write() as conn:
            changed = conn.execute(t.deployment_stats.update().where(key).values(**values)).rowcount
            if not changed:
                conn.execute(
                    t.deployment_stats.insert().values(
                        deployment=deployment_id, instance=instance, role=role, **values
                    )
                )

    def deployment_stats(self, deployment_id: int) -> list[dict[str, Any]]:
        """Every process's counts for every arm of one deploy."""
        c = t.deployment_stats.c
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.deployment_stats)
                .where(c.deployment == deployment_id)
                .order_by(c.role, c.instance)
            )
            return [{**dict(r._mapping), "counts": loads(r.counts)} for r in rows]
