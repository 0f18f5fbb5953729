"""SQL for protected aliases and promotion requests (mixed into :class:`Store`).

Every method writes under the store's write lock, or joins the caller's
:meth:`~StoreBase.transaction`: :mod:`mlops_nb.registry.requests` reads a
request's state and moves the alias in one transaction, so two approvals
arriving together are taken one after the other and the second sees the first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import NotFoundError
from . import schema as t
from .base import StoreBase, limited, row_snapshot


class RequestsSQL(StoreBase):
    # -- protections ----------------------------------------------------------

    def set_protection(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Protect ``fields['model']@fields['alias']``, or change its rule."""
        table = t.alias_protections
        key = {"model": fields["model"], "alias": fields["alias"]}
        with self.write() as conn:
            self._require_model(conn, key["model"])  # type: ignore[attr-defined]
            if self._protection_row(conn, **key) is None:
                return self._insert(conn, table, fields, "protection.set", actor)
            changes = {k: v for k, v in fields.items() if k not in key}
            return self._update(conn, table, key, changes, "protection.set", actor)

    def remove_protection(self, model: str, alias: str, actor: str) -> dict[str, Any]:
        """Delete the protection (an event ``protection.removed`` says so); return it."""
        table = t.alias_protections
        with self.write() as conn:
            row = self._protection_row(conn, model, alias)
            if row is None:
                raise NotFoundError(f"{model}@{alias} is not protected")
            payload = {"model": model, "alias": alias, "_deleted": True}
            self.append_event(
                conn, "protection.removed", f"{table.name}:{model}/{alias}", payload, actor
            )
            conn.execute(table.delete().where(table.c.model == model, table.c.alias == alias))
        return row_snapshot(row)

    def get_protection(self, model: str, alias: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = self._protection_row(conn, model, alias)
        return None if row is None else row_snapshot(row)

    def list_protections(self, model: str | None = None) -> list[dict[str, Any]]:
        table = t.alias_protections
        query = sa.select(table).order_by(table.c.model, table.c.alias)
        if model is not None:
            query = query.where(table.c.model == model)
        with self.read() as conn:
            return [row_snapshot(r) for r in conn.execute(query)]

    def _protection_row(self, conn: sa.Connection, model: str, alias: str) -> Any:
        table = t.alias_protections
        return conn.execute(
            sa.select(table).where(table.c.model == model, table.c.alias == alias)
        ).first()

    # -- requests ---------------------------------------------------------------

    def open_request(self, fields: dict[str, Any], actor: str) -> dict[str, Any]:
        """Record a pending promotion request (``request.opened``); return its row."""
        with self.write() as conn:
            row = self._insert(conn, t.promotion_requests, fields, "request.opened", actor)
        return row_snapshot(row)

    def change_request(
        self, request_id: int, changes: dict[str, Any], kind: str, actor: str
    ) -> dict[str, Any]:
        """Record a step of a request (an approval, a refusal, the decision)."""
        with self.write() as conn:
            row = self._update(conn, t.promotion_requests, {"id": request_id}, changes, kind, actor)
        return row_snapshot(row)

    def get_request(self, request_id: int) -> dict[str, Any]:
        table = t.promotion_requests
        with self.read() as conn:
            row = conn.execute(sa.select(table).where(table.c.id == request_id)).first()
        if row is None:
            raise NotFoundError(f"no promotion request {request_id}")
        return row_snapshot(row)

    def pending_request(self, model: str, alias: str, version: int) -> dict[str, Any] | None:
        """The pending request to move ``model@alias`` to ``version``, if one is open."""
        table = t.promotion_requests
        with self.read() as conn:
            row = conn.execute(
                sa.select(table)
                .where(
                    table.c.model == model,
                    table.c.alias == alias,
                    table.c.version == version,
                    table.c.state == "pending",
                )
                .order_by(table.c.id)
                .limit(1)
            ).first()
        return None if row is None else row_snapshot(row)

    def list_requests(
        self,
        model: str | None = None,
        states: tuple[str, ...] | None = None,
        *,
        start: str | None = None,
        end: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Requests newest first, optionally of one model, in ``states``, and asked
        for or decided between ``start`` and ``end`` (ISO times, inclusive)."""
        table = t.promotion_requests
        query = sa.select(table).order_by(table.c.id.desc())
        if model is not None:
            query = query.where(table.c.model == model)
        if states is not None:
            query = query.where(table.c.state.in_(states))
        if end is not None:
            query = query.where(table.c.requested_at <= end)
        if start is not None:
            # Asked for before the period but still open, or decided in it, count too.
            query = query.where(
                (table.c.requested_at >= start)
                | table.c.decided_at.is_(None)
                | (table.c.decided_at >= start)
            )
        query = limited(query, limit)
        with self.read() as conn:
            return [row_snapshot(r) for r in conn.execute(query)]
