"""The store: SQLite metadata plus a folder of content-addressed artifacts.

This package is the only place with SQL. Writes are short transactions that
take SQLite's write lock up front (``BEGIN IMMEDIATE``), so concurrent
writers queue on the busy timeout instead of failing with "database is
locked", and every state change appends its audit event in the same
transaction as the change itself: either both land or neither does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import InvalidInputError, NotFoundError
from ..jsonutil import loads, utcnow
from ..records import AuditEvent
from . import schema as t
from .artifacts import ArtifactFolder
from .base import BUSY_TIMEOUT_S, on_begin, on_connect, row_snapshot
from .location import find_home
from .monitor_sql import MonitorSQL
from .registry_sql import RegistrySQL
from .runs_sql import RunsSQL
from .schedule_sql import ScheduleSQL


class Store(RunsSQL, RegistrySQL, MonitorSQL, ScheduleSQL):
    """Metadata database and artifact folder of one mlops-nb home.

    Parameters
    ----------
    home
        The store folder. ``None`` applies the usual resolution
        (``MLOPS_NB_HOME``, nearest ``.mlops/``, ``~/.mlops``).
    create
        Create the folder and database when missing. When ``False`` a
        missing store raises :class:`~mlops_nb.errors.NotFoundError`.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.home = find_home(home)
        self.db_path = self.home / "mlops.db"
        if not self.db_path.exists():
            if not create:
                raise NotFoundError(f"no mlops-nb store at {self.home} (run `mlops-nb init`)")
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InvalidInputError(f"cannot create store at {self.home}: {exc}") from None
        self.artifacts = ArtifactFolder(self.home / "artifacts")
        self._engine = sa.create_engine(
            f"sqlite+pysqlite:///{self.db_path}",
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=4,
        )
        sa.event.listen(self._engine, "connect", on_connect)
        sa.event.listen(self._engine, "begin", on_begin)
        self._local = threading.local()
        self._migrate()
        self.artifacts.sweep()

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"

    def close(self) -> None:
        """Release database connections."""
        self._engine.dispose()

    def _migrate(self) -> None:
        with self.write() as conn:
            t.schema_version.create(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
            current = current or 0
            if current > t.LATEST:
                raise InvalidInputError(
                    f"store {self.home} has schema {current}, newer than this mlops-nb "
                    f"understands ({t.LATEST}); upgrade mlops-nb"
                )
            for number in range(current + 1, t.LATEST + 1):
                t.MIGRATIONS[number - 1](conn)
                conn.execute(t.schema_version.insert().values(version=number, applied_at=utcnow()))

    @property
    def schema_version(self) -> int:
        with self.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar() or 0
            )

    def iter_events(self, since: int = 0, kind: str | None = None) -> Iterator[AuditEvent]:
        """Events in sequence order, as stored (not verified)."""
        query = sa.select(t.events).where(t.events.c.seq > since).order_by(t.events.c.seq)
        if kind:
            query = query.where(t.events.c.kind == kind)
        with self.read() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            try:
                payload = loads(row.payload, {})
            except ValueError:
                payload = {"_unparseable": row.payload}
            yield AuditEvent(
                seq=row.seq,
                at=row.at,
                actor=row.actor,
                kind=row.kind,
                subject=row.subject,
                payload=payload,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )

    def raw_events(self) -> list[sa.Row[Any]]:
        """Events exactly as stored, payload as text, for verification."""
        with self.read() as conn:
            return list(conn.execute(sa.select(t.events).order_by(t.events.c.seq)).all())

    def snapshot_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every audited table, rows as the events record them, plus ``event_seq``."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as conn:
            for table in [*(t.metadata.tables[name] for name in t.AUDITED), t.aliases]:
                rows = conn.execute(sa.select(table)).all()
                out[table.name] = [
                    {**row_snapshot(r, skip=()), "event_seq": r._mapping.get("event_seq")}
                    for r in rows
                ]
        return out

    # -- artifacts --------------------------------------------------------

    def put_artifact(self, data: bytes, kind: str, actor: str) -> str:
        """Store bytes as an immutable artifact and record it; return the SHA-256."""
        sha, _ = self.artifacts.write(data)
        with self.write() as conn:
            exists = conn.execute(
                sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256 == sha)
            ).first()
            if exists is None:
                row = {"sha256": sha, "size": len(data), "kind": kind, "created_at": utcnow()}
                seq = self.append_event(conn, "artifact.stored", sha, row, actor)
                conn.execute(t.artifacts.insert().values(**row, event_seq=seq))
        return sha

    def get_artifact(self, sha256: str) -> bytes:
        """Bytes of a recorded artifact, verified against its SHA-256."""
        from ..errors import IntegrityError

        with self.read() as conn:
            known = conn.execute(
                sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256 == sha256)
            ).first()
        if known is None:
            raise NotFoundError(f"no artifact {sha256}")
        try:
            return self.artifacts.read(sha256)
        except FileNotFoundError:
            raise IntegrityError(
                f"artifact {sha256} is missing from {self.artifacts.root}"
            ) from None
        except ValueError:
            raise IntegrityError(
                f"artifact {sha256} was altered: its content no longer matches its SHA-256"
            ) from None


def open_store(home: str | os.PathLike[str] | Path | None = None, *, create: bool = True) -> Store:
    """Open (and by default create) the store that applies to ``home``."""
    return Store(home, create=create)
