"""SQL for serving: the prediction log's batches and what each server did (mixed into Store).

A batch row names one Parquet file among the artifacts and what it holds;
a deploy row is one step of one serving process (started, swapped,
refused, stopped). Both are append-only and audited: each row has its
event, written in the same transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import schema as t
from .base import StoreBase, row_snapshot

#: The deploy actions, in the order a serving process goes through them.
DEPLOY_ACTIONS = ("started", "swapped", "refused", "stopped")
LOG_KINDS = ("predictions", "feedback", "shadow")


def _plain(row: Any) -> dict[str, Any]:
    out = dict(row._mapping)
    out.pop("event_seq", None)
    return out


class ServingSQL(StoreBase):
    # -- the prediction log ------------------------------------------------------

    def record_log_batch(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record one batch file of the prediction log (or of feedback) and its event.

        Joins an open :meth:`transaction`, so the file's artifact row and its
        batch row land together.
        """
        kind = fields["kind"]
        if kind not in LOG_KINDS:
            raise ValueError(f"log batch kind must be one of {LOG_KINDS}, not {kind!r}")
        with self.write() as conn:
            return self._insert(conn, t.log_batches, fields, f"{kind}.logged", actor)

    def log_batches(
        self,
        model: str,
        kind: str = "predictions",
        *,
        since: str | None = None,
        until: str | None = None,
        version: int | None = None,
    ) -> list[dict[str, Any]]:
        """Batches of ``model``'s log holding anything from ``since`` to ``until``, oldest first."""
        c = t.log_batches.c
        query = sa.select(t.log_batches).where((c.model == model) & (c.kind == kind))
        if since is not None:
            query = query.where(c.last_at >= since)
        if until is not None:
            query = query.where(c.first_at <= until)
        if version is not None:
            query = query.where(c.version == version)
        with self.read() as conn:
            return [_plain(r) for r in conn.execute(query.order_by(c.first_at, c.id))]

    def batches_holding(self, model: str, instance: str, seq: int) -> list[dict[str, Any]]:
        """The prediction batches of ``instance`` whose request numbers span ``seq``."""
        c = t.log_batches.c
        query = sa.select(t.log_batches).where(
            (c.model == model)
            & (c.kind == "predictions")
            & (c.instance == instance)
            & (c.first_seq <= seq)
            & (c.last_seq >= seq)
        )
        with self.read() as conn:
            return [_plain(r) for r in conn.execute(query.order_by(c.id))]

    def last_logged_seq(self, instance: str) -> int | None:
        """The highest request number ``instance`` has a committed batch for."""
        c = t.log_batches.c
        with self.read() as conn:
            found = conn.execute(
                sa.select(sa.func.max(c.last_seq)).where(
                    (c.instance == instance) & (c.kind == "predictions")
                )
            ).scalar()
        return None if found is None else int(found)

    def rewrite_log_batch(
        self, batch_id: int, changes: dict[str, Any], kind: str, actor: str
    ) -> dict[str, Any]:
        """Point a batch at its file with rows erased (``kind``: ``predictions.erased`` or
        ``feedback.erased``), with its event. Joins an open :meth:`transaction`."""
        with self.write() as conn:
            return self._update(conn, t.log_batches, {"id": batch_id}, changes, kind, actor)

    def delete_log_batch(self, batch_id: int, reason: str, actor: str) -> None:
        """Delete a batch row with the event saying so (every row of it erased or expired)."""
        with self.write() as conn:
            row = conn.execute(sa.select(t.log_batches).where(t.log_batches.c.id == batch_id))
            found = row.first()
            if found is None:
                return
            kind = f"{found._mapping['kind']}.deleted"
            payload = {"id": batch_id, "_deleted": True, "reason": reason}
            self.append_event(conn, kind, f"log_batches:{batch_id}", payload, actor)
            conn.execute(t.log_batches.delete().where(t.log_batches.c.id == batch_id))

    def forget_artifact(self, sha256: str, reason: str, actor: str) -> None:
        """Delete an artifact's row with an ``artifact.erased`` event; its file is deleted
        after the commit (see :meth:`erased_artifacts`)."""
        with self.write() as conn:
            known = conn.execute(
                sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256 == sha256)
            ).first()
            if known is None:
                return
            payload = {"sha256": sha256, "_deleted": True, "reason": reason}
            self.append_event(conn, "artifact.erased", sha256, payload, actor)
            conn.execute(t.artifacts.delete().where(t.artifacts.c.sha256 == sha256))

    def record_event(self, kind: str, subject: str, payload: dict[str, Any], actor: str) -> int:
        """Append an event about no table (what an erasure or expiry did, in summary)."""
        with self.write() as conn:
            return self.append_event(conn, kind, subject, payload, actor)

    def erased_artifacts(self) -> list[str]:
        """Hashes whose latest record is their erasure (their files must be gone)."""
        e = t.events.c
        with self.read() as conn:
            erased = {
                r[0]
                for r in conn.execute(
                    sa.select(e.subject).where(e.kind == "artifact.erased").distinct()
                )
            }
            if not erased:
                return []
            present = {
                r[0]
                for r in conn.execute(
                    sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256.in_(erased))
                )
            }
        return sorted(erased - present)

    # -- who may be logged how: per-model policies ---------------------------------

    def set_log_policy(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Create or change a model's log policy, with its ``logpolicy.set`` event."""
        with self.write() as conn:
            known = conn.execute(
                sa.select(t.log_policies.c.model).where(t.log_policies.c.model == fields["model"])
            ).first()
            if known is None:
                row = self._insert(conn, t.log_policies, fields, "logpolicy.set", actor)
            else:
                changes = {k: v for k, v in fields.items() if k != "model"}
                key = {"model": fields["model"]}
                row = self._update(conn, t.log_policies, key, changes, "logpolicy.set", actor)
        return row_snapshot(row)

    def log_policy(self, model: str) -> dict[str, Any] | None:
        """A model's log policy, or ``None`` when it has none (kept for good, nothing masked)."""
        with self.read() as conn:
            found = conn.execute(
                sa.select(t.log_policies).where(t.log_policies.c.model == model)
            ).first()
        return None if found is None else row_snapshot(found)

    def log_policies(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.log_policies).order_by(t.log_policies.c.model))
            return [row_snapshot(r) for r in rows]

    # -- deploys: what each serving process did -----------------------------------

    def record_deploy(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record one step of a serving process (``fields['action']``) and its event."""
        action = fields["action"]
        if action not in DEPLOY_ACTIONS:
            raise ValueError(f"deploy action must be one of {DEPLOY_ACTIONS}, not {action!r}")
        with self.write() as conn:
            return self._insert(conn, t.deploys, fields, f"serve.{action}", actor)

    def deploys(
        self,
        model: str | None = None,
        *,
        instance: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """Deploy rows, oldest first."""
        c = t.deploys.c
        query = sa.select(t.deploys)
        if model is not None:
            query = query.where(c.model == model)
        if instance is not None:
            query = query.where(c.instance == instance)
        if until is not None:
            query = query.where(c.at <= until)
        with self.read() as conn:
            return [_plain(r) for r in conn.execute(query.order_by(c.id))]

    def open_instances(self, host: str | None = None) -> list[dict[str, Any]]:
        """The latest row of every serving process that has not recorded its stop."""
        c = t.deploys.c
        latest = sa.select(sa.func.max(c.id).label("id")).group_by(c.instance).scalar_subquery()
        query = sa.select(t.deploys).where(c.id.in_(latest) & (c.action != "stopped"))
        if host is not None:
            query = query.where(c.host == host)
        with self.read() as conn:
            return [_plain(r) for r in conn.execute(query.order_by(c.id))]

    def alias_version(self, model: str, alias: str) -> int | None:
        """The version ``model@alias`` points to, in one small query (for polling)."""
        with self.read() as conn:
            found = conn.execute(
                sa.select(t.aliases.c.version).where(
                    (t.aliases.c.model == model) & (t.aliases.c.alias == alias)
                )
            ).scalar()
        return None if found is None else int(found)

    # -- live numbers of serving processes (not audited: see schema.DERIVED) ---------

    def put_serving_stats(self, fields: dict[str, Any]) -> None:
        """Write a serving process's numbers over its previous ones (one row per process).

        Only that process writes its row, so update-then-insert under the
        store's write lock cannot race with another writer of the same row.
        """
        c = t.serving_stats.c
        row = {col.name: fields[col.name] for col in t.serving_stats.columns}
        with self.write() as conn:
            changed = conn.execute(
                t.serving_stats.update().where(c.instance == row["instance"]).values(**row)
            ).rowcount
            if not changed:
                conn.execute(t.serving_stats.insert().values(**row))

    def serving_stats(self, instances: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """The latest numbers of serving processes, by instance (those of ``instances``)."""
        query = sa.select(t.serving_stats)
        if instances is not None:
            if not instances:
                return {}
            query = query.where(t.serving_stats.c.instance.in_(instances))
        with self.read() as conn:
            return {r.instance: dict(r._mapping) for r in conn.execute(query)}

    def delete_serving_stats(self, instance: str) -> None:
        """Remove a stopped process's numbers."""
        with self.write() as conn:
            conn.execute(t.serving_stats.delete().where(t.serving_stats.c.instance == instance))

    def deploys_of(self, instances: list[str]) -> list[dict[str, Any]]:
        """Every deploy row of the given serving processes, oldest first (one query)."""
        if not instances:
            return []
        c = t.deploys.c
        query = sa.select(t.deploys).where(c.instance.in_(instances)).order_by(c.id)
        with self.read() as conn:
            return [_plain(r) for r in conn.execute(query)]
