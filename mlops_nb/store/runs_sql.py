"""SQL for runs and the values recorded on them (mixed into :class:`Store`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..jsonutil import canonical, loads, utcnow
from ..records import Run, RunLink
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

    def version_lineage(self) -> dict[str, RunLink]:
        """The run of every model version and its parents, grandparents…, keyed by id.

        One recursive query for the whole registry, reading only what tells
        what produced a version (:class:`~mlops_nb.records.RunLink`), where
        :meth:`get_run` per version and parent would be a query each.
        """
        mv, runs = t.model_versions, t.runs
        chain = (
            sa.select(mv.c.run_id.label("run_id"))
            .where(mv.c.run_id.is_not(None))
            .cte("chain", recursive=True)
        )
        # UNION, not UNION ALL: a run reached twice (or a cycle) is followed once.
        chain = chain.union(
            sa.select(runs.c.parent_run_id)
            .join(chain, runs.c.run_id == chain.c.run_id)
            .where(runs.c.parent_run_id.is_not(None))
        )
        query = sa.select(
            runs.c.run_id,
            runs.c.kind,
            runs.c.name,
            runs.c.parent_run_id,
            runs.c.notebook_path,
            runs.c.tags,
        ).where(runs.c.run_id.in_(sa.select(chain.c.run_id)))
        with self.read() as conn:
            rows = conn.execute(query).all()
        out: dict[str, RunLink] = {}
        tags: dict[str, dict[str, str]] = {}  # runs of one pipeline share their tags' text
        # Unpacked as tuples: a Row's attribute lookups were half of this method's time.
        for run_id, kind, name, parent, notebook, text in rows:
            if text not in tags:
                tags[text] = loads(text, {})
            out[run_id] = RunLink(run_id, kind, name, parent, notebook, tags[text])
        return out

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

    def search_runs(
        self,
        query: Any = None,
        sort: Any = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Run], int]:
        """One page of the runs matching ``query``, and how many match in all.

        Parameters
        ----------
        query : Query or None
            A filter read by :func:`mlops_nb.tracking.search.parse_query`; ``None``
            matches every run.
        sort : SortKey or None
            The order (default: newest first); runs without the sort field come
            last, ties newest first.
        limit, offset : int
            The page: at most ``limit`` runs (1 to 1000) after skipping ``offset``.
        """
        from ..tracking.search import SortKey, parse_sort

        if not (isinstance(limit, int) and 1 <= limit <= 1000):
            raise InvalidInputError(
                f"limit must be a whole number from 1 to 1000, not {limit!r:.40}"
            )
        if not (isinstance(offset, int) and 0 <= offset < 2**31):
            raise InvalidInputError(f"offset must be a whole number from 0, not {offset!r:.40}")
        key: SortKey = sort if sort is not None else parse_sort(None)
        sql = _SearchSQL(self._engine.dialect.name)
        cond = sql.condition(query) if query is not None else sa.true()
        with self.read() as conn:
            total = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(t.runs).where(cond)
                ).scalar_one()
            )
            ids = [
                r.run_id
                for r in conn.execute(
                    sa.select(t.runs.c.run_id)
                    .where(cond)
                    .order_by(*sql.order(key), t.runs.c.started_at.desc(), t.runs.c.run_id)
                    .limit(limit)
                    .offset(offset)
                )
            ]
        if not ids:
            return [], total
        found = {r.run_id: r for r in self._select_runs(t.runs.c.run_id.in_(ids), limit=None)}
        return [found[i] for i in ids if i in found], total


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


# -- searching runs: the filter language of tracking/search.py in SQL ------------------


class _SearchSQL:
    """Filters and sort keys as SQL for one backend (SQLite's JSON1 or PostgreSQL's jsonb)."""

    def __init__(self, backend: str) -> None:
        self.postgres = backend == "postgresql"

    # A JSON field of a run: its type, its text and its number (NULL unless it is one).
    def typeof(self, column: Any, key: str) -> Any:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import JSONB

            return sa.func.jsonb_typeof(sa.cast(column, JSONB)[key])
        return sa.func.json_type(column, _json_path(key))

    def text(self, column: Any, key: str) -> Any:
        if self.postgres:
            from sqlalchemy.dialects.postgresql import JSONB

            return sa.cast(column, JSONB)[key].astext
        return sa.func.json_extract(column, _json_path(key))

    def number(self, column: Any, key: str) -> Any:
        kind = self.typeof(column, key)
        if self.postgres:
            return sa.case((kind == "number", sa.cast(self.text(column, key), sa.Float)))
        return sa.case((kind.in_(("integer", "real")), self.text(column, key)))

    def string(self, column: Any, key: str) -> Any:
        kind = self.typeof(column, key)
        return sa.case((kind == ("string" if self.postgres else "text"), self.text(column, key)))

    def condition(self, query: Any) -> Any:
        from ..tracking.search import And, Compare, Not, Or

        if isinstance(query, And):
            return sa.and_(*(self.condition(q) for q in query.items))
        if isinstance(query, Or):
            return sa.or_(*(self.condition(q) for q in query.items))
        if isinstance(query, Not):
            return sa.not_(self.condition(query.item))
        assert isinstance(query, Compare)
        # Two-valued: a run without the field matches no comparison, and `not` keeps it.
        return sa.func.coalesce(self.compare(query), sa.false())

    def compare(self, query: Any) -> Any:
        field, op, value = query.field, query.op, query.value
        if field.source == "run":
            return _apply(t.runs.c[field.name], op, value)
        if field.source == "time":
            column = t.runs.c["started_at" if field.name == "started" else "ended_at"]
            return _time(column, op, str(value))
        if field.source == "model":
            registered = sa.exists().where(
                (t.model_versions.c.run_id == t.runs.c.run_id)
                & _apply(t.model_versions.c.model, "~" if op == "~" else "=", value)
            )
            tracked = (t.runs.c.kind == "track") & _apply(
                t.runs.c.name, "~" if op == "~" else "=", value
            )
            either = sa.or_(registered, tracked)
            return sa.not_(either) if op == "!=" else either
        if field.source == "value":
            metric = self.json_compare(t.runs.c.metrics, field.name, op, value)
            param = self.json_compare(t.runs.c.params, field.name, op, value)
            missing = self.typeof(t.runs.c.metrics, field.name).is_(None)
            return sa.or_(sa.func.coalesce(metric, sa.false()), missing & param)
        return self.json_compare(t.runs.c[field.source], field.name, op, value)

    def json_compare(self, column: Any, key: str, op: str, value: float | str) -> Any:
        if isinstance(value, float):
            return _apply(self.number(column, key), op, value)
        return _apply(self.string(column, key), op, value)

    def order(self, key: Any) -> list[Any]:
        field = key.field
        if field.source in ("run", "time"):
            name = {"started": "started_at", "ended": "ended_at"}.get(field.name, field.name)
            exprs = [t.runs.c[name]]
        else:
            column = t.runs.c[field.source]
            # numbers first by value, then text: a parameter may hold either
            exprs = [self.number(column, field.name), self.string(column, field.name)]
        return [(e.desc() if key.descending else e.asc()).nulls_last() for e in exprs]


def _json_path(key: str) -> str:
    # search.py admits no '"' or '\\' in names, so quoting the key is enough.
    return f'$."{key}"'


def _apply(expr: Any, op: str, value: Any) -> Any:
    if op == "~":
        return sa.func.lower(expr).contains(str(value).lower(), autoescape=True)
    return {
        "=": expr == value,
        "!=": expr != value,
        "<": expr < value,
        "<=": expr <= value,
        ">": expr > value,
        ">=": expr >= value,
    }[op]


def _time(column: Any, op: str, value: str) -> Any:
    """Compare a stored time (text that sorts) with a moment, or with a whole day."""
    import datetime as dt

    if len(value) != 10:  # a moment, in the store's own format
        return _apply(column, op, value)
    day_after = (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()
    return {
        "=": (column >= value) & (column < day_after),
        "!=": (column < value) | (column >= day_after),
        "<": column < value,
        "<=": column < day_after,
        ">": column >= day_after,
        ">=": column >= value,
    }[op]
