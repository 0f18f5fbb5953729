"""What every part of the store shares: transactions, the audit append, row helpers.

One rule makes every guarantee hold on both databases: **a write transaction
holds the store's single write lock from its first statement to its
commit.** On SQLite that is the database lock, taken up front with ``BEGIN
IMMEDIATE``. On PostgreSQL it is a transaction-scoped advisory lock
(``pg_advisory_xact_lock``) on one fixed key, taken as the transaction's
first statement at ``READ COMMITTED``, so every later statement sees all
that was committed before the lock was granted. Within that lock a writer
reads the chain head and appends the next event, picks the next version
number, checks an alias's holder or whether a schedule slot is taken, and
writes, with no other writer in between. Metadata writes are a few
milliseconds, so one writer at a time costs little and keeps the audit
chain strictly ordered (no gaps, no forks). Unique keys (event ``seq``,
``(schedule, slot)``, version numbers) back this up: were the lock ever
bypassed, a duplicate would abort its transaction rather than be stored.

Read transactions take no lock: SQLite's WAL and PostgreSQL's
``REPEATABLE READ, READ ONLY`` each give one consistent snapshot, and on
PostgreSQL a write attempted inside :meth:`StoreBase.read` fails.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    MlopsError,
    NotFoundError,
    UnavailableError,
)
from ..jsonutil import GENESIS, canonical, loads, utcnow
from ..limits import whole_number
from ..redaction import scrub, url_secrets
from ..text import storable
from . import schema as t
from .audit import table_for
from .chain import event_hash
from .location import mask_url

#: How long a writer waits for the write lock before giving up.
BUSY_TIMEOUT_S = 60.0
#: The PostgreSQL advisory lock key of the write lock (``b"mlops_nb"`` as an
#: integer). Advisory locks are per database, so stores in different
#: databases never wait for each other.
PG_WRITE_LOCK = 0x6D6C6F70735F6E62

# Columns holding JSON text; audit payloads carry them decoded.
JSON_COLUMNS = frozenset(
    {
        "params",
        "metrics",
        "tags",
        "data",
        "environment",
        "signature",
        "value",
        "summary",
        "config",
        "payload",
        "deliveries",
        "parameters",
        "failures",
        "checks",
        "mask_columns",
        "hash_columns",
        "guards",
        "statistics",
        "group_columns",
        "decision_detail",
        "approvals",
        "refusals",
    }
)


def row_snapshot(row: sa.Row[Any] | dict[str, Any], skip: tuple[str, ...] = ("event_seq",)) -> dict:
    """A row as the audit payload records it."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in skip:
            continue
        out[key] = loads(value) if key in JSON_COLUMNS and isinstance(value, str) else value
    return out


def encode_json(fields: dict[str, Any]) -> dict[str, Any]:
    """JSON columns as canonical text, the way they are stored."""
    out = dict(fields)
    for key in JSON_COLUMNS:
        if key in out and not isinstance(out[key], str):
            out[key] = canonical(out[key])
    return out


def check_row(table: sa.Table, payload: dict[str, Any]) -> None:
    """Refuse a value the database would keep differently from how its event records it.

    An event hashes the values it is given, the database keeps them as its
    column's type: SQLite quietly stores the integer 42 in a text column as
    the text ``'42'`` (and ``'7'`` in an integer column as 7), so ``audit
    verify`` later found the row "changed outside mlops-nb" and could no
    longer tell that from real tampering; PostgreSQL refused such a value,
    and a NUL in text, with a driver error. So every value must already be
    what its column holds, the same on both databases: text for text, a
    whole number in range for an integer, a finite number for a float. JSON
    columns are stored as the canonical text of what the event records, so
    they agree by construction; they only need to be encodable.
    """
    for column in table.columns:
        name = column.name
        value = payload.get(name)
        if value is None:
            continue
        if name in JSON_COLUMNS:
            storable(canonical(value), name)
        elif isinstance(column.type, sa.Integer):
            # Plain integer columns are 32-bit on PostgreSQL; BIGINT ones 64-bit.
            bits = 63 if column.type is t.BIGINT else 31
            if not isinstance(value, int) or not -(2**bits) <= value < 2**bits:
                raise InvalidInputError(
                    f"{name} must be a whole number below 2**{bits}, not {value!r:.60}"
                )
        elif isinstance(column.type, sa.Float):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidInputError(f"{name} must be a finite number, not {value!r:.60}")
        elif isinstance(value, str):
            storable(value, name)
        else:
            raise InvalidInputError(f"{name} must be text, not {type(value).__name__}")


def limited(query: sa.Select[Any], limit: int | None) -> sa.Select[Any]:
    """``query`` returning at most ``limit`` rows; ``None`` or 0 means all of them.

    The limit is checked first: a negative one means "no limit" to SQLite but
    is an error on PostgreSQL, and a huge one overflows either driver.
    """
    if limit:
        query = query.limit(whole_number(limit, "limit"))
    return query


def full_row(table: sa.Table, fields: dict[str, Any]) -> dict[str, Any]:
    """Every column of ``table`` (but ``event_seq``), defaults filled, so the
    audit payload and the stored row always carry the same keys."""
    unknown = set(fields) - set(table.c.keys())
    if unknown:
        raise TypeError(f"unknown {table.name} columns: {sorted(unknown)}")
    row: dict[str, Any] = {}
    for col in table.columns:
        if col.name == "event_seq":
            continue
        value = fields.get(col.name)
        if value is None and col.server_default is not None:
            value = col.server_default.arg  # type: ignore[attr-defined]
            # The default is SQL text; store and audit it as the column's type.
            if isinstance(col.type, sa.Integer):
                value = int(value)
            elif isinstance(col.type, sa.Float):
                value = float(value)
        row[col.name] = value
    return row


class StoreBase:
    """Transactions and the audit chain; the SQL mixins and :class:`Store` build on it."""

    home: Path
    db_url: str | None
    db_path: Path | None
    _engine: sa.Engine
    _local: threading.local

    # -- transactions -----------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One unit of work: every write (and read) in the block joins one transaction.

        Like :meth:`write`, but the ``*_sql`` methods called inside the block
        use this same connection instead of opening their own, so a tracked
        run, an alias move or a drift check with its alert lands whole or not
        at all, under one hold of the write lock. Nested calls join the
        outer transaction. Keep the block to database work: compute first,
        then open it, because every other writer waits while it is open.
        """
        joined = getattr(self._local, "conn", None)
        if joined is not None:
            yield joined
            return
        with self._write_connection() as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A short write transaction holding the store's write lock (see the module doc).

        Inside :meth:`transaction` it is that transaction.
        """
        joined = getattr(self._local, "conn", None)
        if joined is not None:
            yield joined
            return
        with self._write_connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _write_connection(self) -> Iterator[sa.Connection]:
        with (
            self._database_errors(),
            self._engine.connect().execution_options(mlops_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read transaction: one consistent snapshot, no lock held.

        Inside :meth:`transaction` it reads through that transaction, so the
        block sees its own writes.
        """
        joined = getattr(self._local, "conn", None)
        if joined is not None:
            yield joined
            return
        with self._database_errors(), self._engine.connect() as conn, conn.begin():
            yield conn

    @property
    def _where(self) -> str:
        """The metadata database, for messages (never with a password)."""
        return str(self.db_path) if self.db_url is None else mask_url(self.db_url)

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        # The one place where what a database driver raises becomes the error
        # class a user can act on: one line naming the database, not a driver
        # traceback. The transaction has been rolled back by then.
        try:
            yield
        except sa.exc.DBAPIError as exc:
            mapped = database_error(exc, self._where, self._driver_said(exc))
            if mapped is None:  # a bug of ours (bad SQL), not something a user can fix
                raise
            raise mapped from exc
        except OverflowError as exc:  # SQLite's driver, for ints past 64 bits
            raise InvalidInputError(
                f"a number is too large for the metadata database {self._where}: {exc}"
            ) from exc

    def _driver_said(self, exc: sa.exc.DBAPIError) -> str:
        """The first line of a driver error, without any piece of the password.

        A resolver error quotes the host, and a password with an unencoded
        ``@`` spills into the host the driver read.
        """
        lines = str(exc.orig or exc).strip().splitlines() or [type(exc).__name__]
        return scrub(lines[0], url_secrets(self.db_url, user_is_secret=False))

    # -- generic audited insert / update ----------------------------------

    def _insert(
        self, conn: sa.Connection, table: sa.Table, fields: dict[str, Any], kind: str, actor: str
    ) -> dict[str, Any]:
        row = full_row(table, encode_json(fields))
        if "id" in table.c and row.get("id") is None:
            row["id"] = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
        key = "/".join(str(row[c]) for c in t.AUDITED[table.name])
        seq = self.append_event(conn, kind, f"{table.name}:{key}", row_snapshot(row), actor)
        conn.execute(table.insert().values(**row, event_seq=seq))
        return row

    def _update(
        self,
        conn: sa.Connection,
        table: sa.Table,
        key: dict[str, Any],
        changes: dict[str, Any],
        kind: str,
        actor: str,
    ) -> dict[str, Any]:
        where = sa.and_(*(table.c[k] == v for k, v in key.items()))
        current = conn.execute(sa.select(table).where(where)).first()
        if current is None:
            raise NotFoundError(f"no {table.name} row {key}")
        row = {**dict(current._mapping), **encode_json(changes)}
        row.pop("event_seq")
        label = "/".join(str(row[c]) for c in t.AUDITED[table.name])
        seq = self.append_event(conn, kind, f"{table.name}:{label}", row_snapshot(row), actor)
        conn.execute(table.update().where(where).values(**encode_json(changes), event_seq=seq))
        return row

    # -- audit chain ------------------------------------------------------

    def append_event(
        self, conn: sa.Connection, kind: str, subject: str, payload: dict[str, Any], actor: str
    ) -> int:
        """Append one event to the chain inside the caller's write transaction.

        The caller's :meth:`write` transaction holds the write lock, so the
        head read here is the chain's true head and nobody can append between
        the read and the insert: sequence numbers have no gaps and each event
        names its predecessor's hash. (A database sequence would not do: a
        rolled-back transaction leaves a gap in it.)
        """
        table = table_for(kind)
        if table is not None:
            check_row(t.metadata.tables[table], payload)
        if not isinstance(actor, str):
            raise InvalidInputError(f"actor must be text, not {type(actor).__name__}")
        storable(actor, "actor")
        head = conn.execute(
            sa.select(t.events.c.seq, t.events.c.hash).order_by(t.events.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        at = utcnow()
        body = canonical(payload)
        digest = event_hash(seq, at, actor, kind, subject, body, prev)
        conn.execute(
            t.events.insert().values(
                seq=seq,
                at=at,
                actor=actor,
                kind=kind,
                subject=subject,
                payload=body,
                prev_hash=prev,
                hash=digest,
            )
        )
        return seq


# SQLite error names and PostgreSQL SQLSTATEs that call for their own class.
_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "23505"})
# Prefixes, so SQLite's extended names (SQLITE_BUSY_SNAPSHOT ...) count; 55P03: lock_not_available.
_LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED", "55P03")
_NO_SCHEMA = ("no such table", "no such column", "42P01", "42703")  # undefined table / column


def database_error(
    exc: sa.exc.DBAPIError, where: str, detail: str | None = None
) -> MlopsError | None:
    """The :mod:`mlops_nb.errors` class for a database driver's error, or ``None``.

    - the database is unreachable, or stayed locked longer than
      :data:`BUSY_TIMEOUT_S`: :class:`~mlops_nb.errors.UnavailableError`;
    - a unique key was taken (the record was stored earlier, or a concurrent
      writer stored it first): :class:`~mlops_nb.errors.ConflictError`;
    - another constraint failed, a table is missing, or the file is not a
      readable database: :class:`~mlops_nb.errors.IntegrityError`;
    - a value the column cannot hold: :class:`~mlops_nb.errors.InvalidInputError`.

    ``None`` for the rest (SQL that is wrong whatever the data), which are bugs.
    ``detail`` is the driver's message as it may be shown (the store passes it
    with any piece of a password removed); by default its first line.
    """
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None) or ""
    if detail is None:
        lines = str(orig or exc).strip().splitlines() or [type(exc).__name__]
        detail = lines[0]
    if code in _NO_SCHEMA or detail.startswith(_NO_SCHEMA):
        return IntegrityError(f"the metadata database {where} lacks part of its schema: {detail}")
    if isinstance(exc, sa.exc.OperationalError):
        if code.startswith(_LOCKED):
            return UnavailableError(
                f"the metadata database {where} is busy: another writer kept it locked for "
                f"over {BUSY_TIMEOUT_S:g} s ({detail}); try again"
            )
        return UnavailableError(f"cannot use the metadata database {where}: {detail}")
    if isinstance(exc, sa.exc.IntegrityError):
        if code in _UNIQUE:
            return ConflictError(
                "the record already exists (stored earlier, or just now by another "
                f"writer); nothing was written ({detail})"
            )
        return IntegrityError(
            f"the metadata database {where} refused an inconsistent write: {detail}"
        )
    if isinstance(exc, sa.exc.DataError):
        return InvalidInputError(f"the metadata database {where} cannot hold a value: {detail}")
    if type(exc) is sa.exc.DatabaseError:  # SQLite: "file is not a database", "malformed"
        return IntegrityError(
            f"the metadata database {where} is damaged: {detail}; restore it from a backup"
        )
    return None


def sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite would defer it).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def sqlite_on_begin(conn: sa.Connection) -> None:
    if conn.get_execution_options().get("mlops_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def postgresql_on_begin(conn: sa.Connection) -> None:
    # psycopg opens the transaction implicitly; these are its first statements.
    if conn.get_execution_options().get("mlops_write"):
        # READ COMMITTED whatever the server's default: each statement after
        # the lock is granted must see what the previous writer committed.
        conn.exec_driver_sql(
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; "
            f"SET LOCAL lock_timeout = '{int(BUSY_TIMEOUT_S * 1000)}ms'; "
            f"SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"
        )
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
