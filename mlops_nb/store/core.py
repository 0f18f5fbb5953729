"""The store: metadata in SQLite or PostgreSQL, plus content-addressed artifacts.

This package is the only place with SQL. Writes are short transactions that
hold the store's write lock from their first statement (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: an advisory transaction lock, see
:mod:`mlops_nb.store.base`), so concurrent writers queue instead of failing,
and every state change appends its audit event in the same transaction as
the change itself: either both land or neither does.

By default the metadata is the SQLite file ``<home>/mlops.db``. A database
URL (``db_url=``, ``--db-url``, ``MLOPS_NB_DB_URL`` or ``db_url:`` in
``<home>/config.yaml``; see :mod:`mlops_nb.store.location`) puts it in
PostgreSQL instead, for a team sharing one store; the same migrations create
and upgrade both, and the folder still holds temporary files and logs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..errors import IntegrityError, InvalidInputError, NotFoundError
from ..jsonutil import loads, utcnow
from ..records import AuditEvent
from ..redaction import redact_url, scrub, url_secrets
from . import faults
from . import schema as t
from .artifacts import ArtifactBackend, ArtifactFolder
from .base import (
    BUSY_TIMEOUT_S,
    JSON_COLUMNS,
    postgresql_on_begin,
    sqlite_on_begin,
    sqlite_on_connect,
)
from .cards_sql import CardsSQL
from .deploy_sql import DeploySQL
from .digest_sql import DigestSQL
from .inbox_sql import InboxSQL
from .location import ENV_STORE_ID, StoreLocation, mask_url
from .monitor_sql import MonitorSQL
from .registry_sql import RegistrySQL
from .requests_sql import RequestsSQL
from .runs_sql import RunsSQL
from .schedule_sql import ScheduleSQL
from .serving_sql import ServingSQL
from .testing_sql import TestingSQL

if TYPE_CHECKING:
    from .objects import ObjectArtifacts


class Store(
    RunsSQL,
    CardsSQL,
    RegistrySQL,
    RequestsSQL,
    MonitorSQL,
    InboxSQL,
    ScheduleSQL,
    ServingSQL,
    TestingSQL,
    DeploySQL,
    DigestSQL,
):
    """Metadata database and artifact store of one mlops-nb home.

    Parameters
    ----------
    home
        The store folder, or a :class:`~mlops_nb.store.location.StoreLocation`
        resolved earlier (then ``db_url`` and ``artifacts`` must be left out).
        ``None`` applies the usual resolution (``MLOPS_NB_HOME``, nearest
        ``.mlops/``, ``~/.mlops``).
    db_url
        A PostgreSQL URL (``postgresql://user@host:5432/db``;
        ``postgresql+psycopg://`` and ``postgres://`` work too) holding the
        metadata. ``None`` applies ``MLOPS_NB_DB_URL``, then ``db_url`` in
        ``<home>/config.yaml``, then the SQLite file ``<home>/mlops.db``.
    artifacts
        An fsspec URL for the artifacts, resolved the same way
        (``MLOPS_NB_ARTIFACTS``, ``artifacts`` in the config file); by
        default the folder ``<home>/artifacts``.
    create
        Create the folder and the schema when missing. When ``False`` a
        missing store raises :class:`~mlops_nb.errors.NotFoundError`.

    Notes
    -----
    ``Store(store.location)`` opens the same store in another process or on
    another machine; ``store.location.env()`` gives the same as environment
    variables for child processes.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | StoreLocation | None = None,
        *,
        db_url: str | None = None,
        artifacts: str | None = None,
        create: bool = True,
    ) -> None:
        if isinstance(home, StoreLocation):
            if db_url is not None or artifacts is not None:
                raise TypeError("give a StoreLocation or home/db_url/artifacts, not both")
            self.location = home
        else:
            self.location = StoreLocation.resolve(home, db_url=db_url, artifacts=artifacts)
        self.home = self.location.home
        self.db_url, self.artifacts_url = self.location.db_url, self.location.artifacts
        # Before the database: a refused artifact location leaves nothing behind.
        self.artifacts: ArtifactBackend = self._open_artifacts()
        self.db_path: Path | None = None
        if self.db_url is None:
            self.db_path = self.home / "mlops.db"
            if not os.path.lexists(self.db_path):
                if not create:
                    raise NotFoundError(f"no mlops-nb store at {self.home} (run `mlops-nb init`)")
                self._make_home()
                _create_sqlite_file(self.db_path)
            _check_sqlite_file(self.db_path)
            self._engine = _sqlite_engine(self.db_path)
        else:
            self._engine = _postgresql_engine(self.db_url)
        # A store dropped without close() still returns its connections.
        self._release = weakref.finalize(self, self._engine.dispose)
        self._local = threading.local()
        try:
            self._migrate(create)
            # A PostgreSQL store's folder holds only local things (temporary
            # files, logs, the config file), so it is made whenever it is missing.
            self._make_home()
            self.artifacts.sweep()
        except BaseException:
            self.close()
            raise

    def _make_home(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(f"cannot create store at {self.home}: {exc}") from None

    def _open_artifacts(self) -> ArtifactBackend:
        return open_artifacts(self.artifacts_url, self.home)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: where the metadata lives."""
        return str(self._engine.dialect.name)

    @property
    def locator(self) -> dict[str, Any]:
        """What reopens this store elsewhere: ``Store(**store.locator)``.

        Keys ``home`` (the folder, as text), ``db_url`` (``None`` for the
        SQLite file in the folder) and ``artifacts`` (``None`` for the
        folder's ``artifacts/``). ``db_url`` may include a password: hand
        the locator to other processes directly, never print or record it.
        """
        return {"home": str(self.home), "db_url": self.db_url, "artifacts": self.artifacts_url}

    def locator_env(self) -> dict[str, str]:
        """Environment variables that make a child process find this same store.

        The location's variables plus this store's id, which a ``mlops-nb run``
        kernel checks before it records anything (see :mod:`mlops_nb.tracking`).
        """
        return {**self.location.env(), ENV_STORE_ID: self.store_id}

    def __repr__(self) -> str:
        extra = ""
        if self.db_url is not None:
            extra += f", db_url={mask_url(self.db_url)!r}"
        if self.artifacts_url is not None:
            extra += f", artifacts={redact_url(self.artifacts_url)!r}"
        return f"Store({str(self.home)!r}{extra})"

    def close(self) -> None:
        """Release database connections."""
        self._release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self, create: bool) -> None:
        current = self._read_schema_version()
        if current == t.LATEST:
            return
        if current is None and not create:
            raise NotFoundError(f"no mlops-nb store in {self._where} (run `mlops-nb init`)")
        # Two processes opening a new store at once: the write lock makes one
        # of them migrate and the other find the work done.
        try:
            with self.write() as conn:
                t.schema_version.create(conn, checkfirst=True)
                current = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
                current = self._known_schema(current or 0)
                for number in range(current + 1, t.LATEST + 1):
                    t.MIGRATIONS[number - 1](conn)
                    conn.execute(
                        t.schema_version.insert().values(version=number, applied_at=utcnow())
                    )
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            # PostgreSQL 15 and later let only the database owner create tables
            # in the public schema.
            raise InvalidInputError(
                f"cannot create the mlops-nb tables in {self._where}: "
                f"{self._driver_said(exc)}; make the user the database's "
                "owner or GRANT CREATE ON SCHEMA public TO it"
            ) from exc

    def _read_schema_version(self) -> int | None:
        """The schema version, or ``None`` when the database has no store yet."""
        with self.read() as conn:
            if self.backend == "postgresql":
                encoding = conn.exec_driver_sql("SHOW server_encoding").scalar()
                if encoding != "UTF8":
                    raise InvalidInputError(
                        f"database {self._where} uses encoding {encoding}; "
                        "mlops-nb needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"
                    )
            if not sa.inspect(conn).has_table(t.schema_version.name):
                return None
            current = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
        return None if current is None else self._known_schema(current)

    def _known_schema(self, version: int) -> int:
        if version > t.LATEST:
            raise InvalidInputError(
                f"store {self.home} has schema {version}, newer than this mlops-nb "
                f"understands ({t.LATEST}); upgrade mlops-nb"
            )
        return int(version)

    @property
    def store_id(self) -> str:
        """This store's id, made when it was created; copies get their own."""
        cached = getattr(self, "_store_id", None)
        if cached is None:
            with self.read() as conn:
                cached = conn.execute(
                    sa.select(t.store_info.c.text_value).where(t.store_info.c.key == "store_id")
                ).scalar_one()
            self._store_id: str | None = cached
        return str(cached)

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

    def chain_head(self) -> tuple[int, str, str] | None:
        """``(seq, hash, at)`` of the newest event; ``None`` for an empty chain."""
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.events.c.seq, t.events.c.hash, t.events.c.at)
                .order_by(t.events.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row.seq), str(row.hash), str(row.at))

    def raw_events(self) -> list[sa.Row[Any]]:
        """Events exactly as stored, payload as text, for verification."""
        with self.read() as conn:
            return list(conn.execute(sa.select(t.events).order_by(t.events.c.seq)).all())

    def snapshot_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table but ``events``, in one snapshot, for verification.

        Rows as the events record them (JSON columns decoded; text that is
        not JSON kept as :class:`UnreadableJSON`), plus ``event_seq``.
        """
        names = [*t.AUDITED, *t.DERIVED, *t.IDENTITY, t.schema_version.name]
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as conn:
            for table in (t.metadata.tables[name] for name in names):
                rows = conn.execute(sa.select(table)).all()
                out[table.name] = [
                    {**_snapshot(r), "event_seq": r._mapping.get("event_seq")} for r in rows
                ]
        return out

    # -- artifacts --------------------------------------------------------

    def put_artifact(self, data: bytes, kind: str, actor: str) -> str:
        """Store bytes as an immutable artifact and record it; return the SHA-256.

        The file is written (atomically, content-addressed) before its row:
        a crash in between leaves a file nobody refers to, never a row
        naming a file that is not there.
        """
        sha, _ = self.artifacts.write(data)
        faults.point("artifact", 4)
        self.record_artifact(sha, len(data), kind, actor)
        return sha

    def record_artifact(self, sha256: str, size: int, kind: str, actor: str) -> None:
        """Record a stored file (its row and ``artifact.stored`` event) unless known.

        For writers that store several files first and then record them with
        other rows in one :meth:`transaction`.
        """
        with self.write() as conn:
            exists = conn.execute(
                sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256 == sha256)
            ).first()
            if exists is None:
                row = {"sha256": sha256, "size": size, "kind": kind, "created_at": utcnow()}
                seq = self.append_event(conn, "artifact.stored", sha256, row, actor)
                conn.execute(t.artifacts.insert().values(**row, event_seq=seq))
                faults.point("artifact", 5)

    def get_artifact(self, sha256: str) -> bytes:
        """Bytes of a recorded artifact, verified against its SHA-256."""
        with self.read() as conn:
            known = conn.execute(
                sa.select(t.artifacts.c.sha256).where(t.artifacts.c.sha256 == sha256)
            ).first()
        if known is None:
            raise NotFoundError(f"no artifact {sha256}")
        return self._read_artifact(sha256)

    def get_artifacts(self, shas: list[str]) -> dict[str, bytes]:
        """Bytes of recorded artifacts keyed by SHA-256, each verified as by
        :meth:`get_artifact`, with one query for all of them (500 a statement)."""
        wanted = sorted(set(shas))
        column = t.artifacts.c.sha256
        known: set[str] = set()
        with self.read() as conn:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                known.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
        for sha256 in wanted:
            if sha256 not in known:
                raise NotFoundError(f"no artifact {sha256}")
        return {sha256: self._read_artifact(sha256) for sha256 in wanted}

    def _read_artifact(self, sha256: str) -> bytes:
        """A recorded artifact's bytes, each way they can be lost or altered named."""
        try:
            return self.artifacts.read(sha256)
        except FileNotFoundError:
            raise IntegrityError(
                f"artifact {sha256} is missing from {self.artifacts.root}"
            ) from None
        except (IsADirectoryError, NotADirectoryError):
            raise IntegrityError(
                f"artifact {sha256} in {self.artifacts.root} is not a file (a folder is in "
                "its place or its path)"
            ) from None
        except ValueError:
            raise IntegrityError(
                f"artifact {sha256} was altered: its content no longer matches its SHA-256"
            ) from None
        except OSError as exc:
            raise IntegrityError(
                f"artifact {sha256} cannot be read from {self.artifacts.root}: {exc}"
            ) from None


@dataclasses.dataclass(frozen=True)
class UnreadableJSON:
    """Text in a JSON column that does not parse; equal to nothing an event records."""

    text: str


def _snapshot(row: sa.Row[Any]) -> dict[str, Any]:
    """A row as the audit payload records it, and a bad JSON column kept comparable."""
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if key in JSON_COLUMNS and isinstance(value, str):
            try:
                value = loads(value)
            except ValueError:  # written by hand: no event can match it
                value = UnreadableJSON(value)
        out[key] = value
    return out


def open_store(
    home: str | os.PathLike[str] | Path | None = None,
    *,
    db_url: str | None = None,
    artifacts: str | None = None,
    create: bool = True,
) -> Store:
    """Open (and by default create) the store that applies to ``home``."""
    return Store(home, db_url=db_url, artifacts=artifacts, create=create)


def open_artifacts(
    url: str | os.PathLike[str] | None, home: Path
) -> ArtifactFolder | ObjectArtifacts:
    """The artifact backend for ``url``; the home's own folder when ``url`` is empty.

    Parameters
    ----------
    url
        An fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``az://…``,
        ``file:///path``, ``memory://name``) or a local path. Credentials
        are never taken from the store: fsspec and the provider's library
        find them in the environment and the provider's config files.
    home
        The store folder, whose ``artifacts/`` folder is used by default.
    """
    if url is None or str(url) == "":
        folder = home / "artifacts"
        if os.path.lexists(folder) and not folder.is_dir():
            raise IntegrityError(
                f"the store's artifact folder {folder} is not a folder; restore it from a backup"
            )
        return ArtifactFolder(folder)
    try:
        from .objects import ObjectArtifacts
    except ImportError:
        raise InvalidInputError(
            f"artifacts at {redact_url(str(url))} need fsspec: pip install 'mlops-nb[team]'"
        ) from None
    return ObjectArtifacts(str(url))


# Pooled connections must not cross a fork: a child process (multiprocessing,
# joblib) opens its own instead of talking over its parent's.
_ENGINES: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)


def _create_sqlite_file(path: Path) -> None:
    """Create an empty SQLite database at ``path`` in one step, unless one appears first.

    The file is made under a temporary name (header written, WAL mode set)
    and hard-linked into place, so ``mlops.db`` is never seen empty: an
    empty or headerless file there is damage (:func:`_check_sqlite_file`),
    not a store another process is still creating.
    """
    import sqlite3
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mlops.db.")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    except OSError as exc:
        raise InvalidInputError(f"cannot create {path}: {exc.strerror or exc}") from None
    finally:
        for leftover in (tmp, f"{tmp}-wal", f"{tmp}-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a ``mlops.db`` that is not an mlops-nb database, before the store opens it.

    SQLite would take an empty file for a new database and migrate it (and
    another program's database too), and report garbage only as a driver
    error. Whatever is wrong, the file is left exactly as it was, for
    whoever restores it.
    """
    problem = _file_problem(path)
    if problem is None:
        # A read-only look, which cannot change the file: SQLite in WAL mode
        # may still add its -wal/-shm files, so those are removed again when
        # they were not there before and the file is refused.
        sidecars = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        existed = [p for p in sidecars if os.path.lexists(p)]
        problem = _tables_problem(path)
        if problem is not None:
            for extra in sidecars:
                if extra not in existed:
                    with contextlib.suppress(FileNotFoundError):
                        extra.unlink()
    if problem:
        raise IntegrityError(
            f"the metadata database {path} {problem}; restore it from a backup or move it "
            "away (it was left untouched)"
        )


def _file_problem(path: Path) -> str | None:
    """What makes ``path`` something other than a database file, if anything.

    Only ``stat``: opening and closing the file outside SQLite would drop the
    locks SQLite holds on it for other stores open in this process (POSIX
    locks belong to the process, and any ``close`` releases them all).
    """
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_size == 0:
        return "is empty"
    return None


def _tables_problem(path: Path) -> str | None:
    """What makes the SQLite file at ``path`` something other than a store, if anything."""
    import sqlite3

    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
        )
    except sqlite3.Error:
        return None  # cannot even open it read-only: the store's own open says why
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.OperationalError:
        return None  # locked or unreadable now, not known to be damaged: as above
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        return "is not a SQLite database" if "not a database" in str(exc) else f"is damaged ({exc})"
    finally:
        conn.close()
    if names and t.schema_version.name not in names:
        shown = ", ".join(sorted(names)[:5])
        return f"is not an mlops-nb database (it holds {shown})"
    return None


def _sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(
        f"sqlite+pysqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        poolclass=sa.pool.QueuePool,
        pool_size=2,
        max_overflow=4,
    )
    sa.event.listen(engine, "connect", sqlite_on_connect)
    sa.event.listen(engine, "begin", sqlite_on_begin)
    _ENGINES.add(engine)
    return engine


def _postgresql_engine(url: str) -> sa.Engine:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise InvalidInputError(
            "a PostgreSQL store needs psycopg 3: pip install 'mlops-nb[team]'"
        ) from None
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        # A port that is not a number, often a password's '@' or ':' read as
        # the end of the host; the parser's message may quote that piece.
        raise InvalidInputError(
            f"db_url {mask_url(url)} is not a valid database URL "
            f"({scrub(str(exc), url_secrets(url, user_is_secret=False))}); "
            "percent-encode '@', ':' and '/' in a password (%40, %3A, %2F) or leave the "
            "password out and use PGPASSWORD or ~/.pgpass"
        ) from None
    defaults = {"connect_timeout": 10, "application_name": "mlops-nb"}
    engine = sa.create_engine(
        parsed,
        # Settings in the URL win over these defaults.
        connect_args={k: v for k, v in defaults.items() if k not in parsed.query},
        pool_size=2,
        max_overflow=4,
        # A long-lived scheduler or server outlives server restarts.
        pool_pre_ping=True,
    )
    sa.event.listen(engine, "begin", postgresql_on_begin)
    _ENGINES.add(engine)
    return engine
