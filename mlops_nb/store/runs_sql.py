"""SQL for runs and the values recorded on them (mixed into :class:`Store`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..jsonutil import canonical, loads, utcnow
from ..records import Run
from . import schema as t
from .base import StoreBase, limited

_RUN_JSON = ("params", "metrics", "tags", "data", "environment")
MIN_PREFIX = 6


class RunsSQL(StoreBase):
    def insert_run(self, fields: dict[str, Any], actor: str) -> str:
        """Insert a run row and its ``run.started`` event; return the run id."""
        from .base import full_row, row_snapshot

        row = full_row(t.runs, _encode({"actor": actor, **fields}))
        with self.write() as conn:
            seq = self.append_event(conn, "run.started", row["run_id"], row_snapshot(row), actor)
            conn.execute(t.runs.insert().values(**row, event_seq=seq))
        return str(row["run_id"])

    def update_run(
        self,
        run_id: str,
        changes: dict[str, Any],
        actor: str,
        kind: str = "run.finished",
        *,
        expect_status: str | None = None,
    ) -> None:
        """Change a run and append an event carrying the run's new full state.

        With ``expect_status`` the change applies only while the run still has
        that status (checked inside the write transaction); otherwise
        :class:`~mlops_nb.errors.ConflictError`. Ending a run uses
        ``expect_status="running"``, so an outcome is decided once: a worker
        declared lost cannot later overwrite that verdict, and the watcher
        cannot fail a run that has just finished.
        """
        from .base import row_snapshot

        with self.write() as conn:
            current = conn.execute(sa.select(t.runs).where(t.runs.c.run_id == run_id)).first()
            if current is None:
                raise NotFoundError(f"no run {run_id}")
            if expect_status is not None and current.status != expect_status:
                raise ConflictError(
                    f"run {run_id[:12]} is {current.status}, not {expect_status}; left as it is"
                )
            row = {**dict(current._mapping), **_encode(changes)}
            row.pop("event_seq")
            seq = self.append_event(conn, kind, run_id, row_snapshot(row), actor)
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_id == run_id)
                .values(**_encode(changes), event_seq=seq)
            )

    def set_run_value(self, run_id: str, key: str, value: Any, actor: str) -> None:
        """Attach a JSON value to a run under ``key`` (a later value replaces it)."""
        from .base import row_snapshot

        row = {"run_id": run_id, "key": key, "value": canonical(value), "recorded_at": utcnow()}
        with self.write() as conn:
            if (
                conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == run_id)).first()
                is None
            ):
                raise NotFoundError(f"no run {run_id}")
            seq = self.append_event(conn, "run.value", run_id, row_snapshot(row), actor)
            where = (t.run_values.c.run_id == run_id) & (t.run_values.c.key == key)
            conn.execute(t.run_values.delete().where(where))
            conn.execute(t.run_values.insert().values(**row, event_seq=seq))

    def running_runs(self, host: str) -> list[dict[str, Any]]:
        """Runs still marked running that were started on ``host``."""
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.runs.c.run_id, t.runs.c.pid).where(
                    (t.runs.c.status == "running") & (t.runs.c.host == host)
                )
            ).all()
        return [{"run_id": r.run_id, "pid": r.pid} for r in rows]

    def resolve_run_id(self, ref: str) -> str:
        """Full run id from an id or a unique prefix of at least six characters."""
        ref = ref.strip().lower()
        if not ref or not all(c in "0123456789abcdef" for c in ref):
            raise InvalidInputError(f"not a run id: {ref!r}")
        with self.read() as conn:
            if len(ref) >= 32:
                hit = conn.execute(sa.select(t.runs.c.run_id).where(t.runs.c.run_id == ref)).first()
                if hit is None:
                    raise NotFoundError(f"no run {ref}")
                return str(hit.run_id)
            if len(ref) < MIN_PREFIX:
                raise InvalidInputError(f"run id prefix {ref!r} is too short (need {MIN_PREFIX}+)")
            hits = conn.execute(
                sa.select(t.runs.c.run_id).where(t.runs.c.run_id.like(ref + "%")).limit(2)
            ).all()
        if not hits:
            raise NotFoundError(f"no run {ref}")
        if len(hits) > 1:
            raise InvalidInputError(f"run id prefix {ref!r} is ambiguous")
        return str(hits[0].run_id)

    def get_run(self, ref: str) -> Run:
        """One run by id or unique prefix."""
        run_id = self.resolve_run_id(ref)
        runs = self._select_runs(t.runs.c.run_id == run_id, limit=1)
        return runs[0]

    def list_runs(
        self,
        name: str | None = None,
        kind: str | None = None,
        parent_run_id: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs, newest first, optionally filtered."""
        cond: Any = sa.true()
        if name is not None:
            cond = cond & (t.runs.c.name == name)
        if kind is not None:
            cond = cond & (t.runs.c.kind == kind)
        if parent_run_id is not None:
            cond = cond & (t.runs.c.parent_run_id == parent_run_id)
        return self._select_runs(cond, limit=limit)

    def _select_runs(self, cond: Any, limit: int | None) -> list[Run]:
        if limit is not None and not (isinstance(limit, int) and 0 <= limit < 2**31):
            raise InvalidInputError(
                f"limit must be a whole number from 0 (no limit) to 2**31-1, not {limit!r:.40}"
            )
        query = sa.select(t.runs).where(cond).order_by(t.runs.c.started_at.desc(), t.runs.c.run_id)
        query = limited(query, limit)
        with self.read() as conn:
            rows = conn.execute(query).all()
            ids = [r.run_id for r in rows]
            values: dict[str, dict[str, Any]] = {i: {} for i in ids}
            versions: dict[str, int] = {}
            for chunk in _chunks(ids, 500):
                for v in conn.execute(
                    sa.select(t.run_values).where(t.run_values.c.run_id.in_(chunk))
                ):
                    values[v.run_id][v.key] = loads(v.value)
                for mv in conn.execute(
                    sa.select(t.model_versions.c.run_id, t.model_versions.c.version).where(
                        t.model_versions.c.run_id.in_(chunk)
                    )
                ):
                    versions[mv.run_id] = mv.version
        return [_to_run(r, values[r.run_id], versions.get(r.run_id)) for r in rows]


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for key in _RUN_JSON:
        if key in out and not isinstance(out[key], str):
            out[key] = canonical(out[key] or {})
    if "git_dirty" in out and out["git_dirty"] is not None:
        out["git_dirty"] = int(bool(out["git_dirty"]))
    return out


def _to_run(row: Any, values: dict[str, Any], version: int | None) -> Run:
    return Run(
        run_id=row.run_id,
        kind=row.kind,
        name=row.name,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        actor=row.actor,
        parent_run_id=row.parent_run_id,
        params=loads(row.params, {}),
        metrics=loads(row.metrics, {}),
        values=values,
        tags=loads(row.tags, {}),
        data=loads(row.data, {}),
        environment=loads(row.environment, {}),
        git_commit=row.git_commit,
        git_dirty=None if row.git_dirty is None else bool(row.git_dirty),
        notebook_path=row.notebook_path,
        input_sha256=row.input_sha256,
        output_sha256=row.output_sha256,
        source_sha256=row.source_sha256,
        error=row.error,
        model_version=version,
    )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
