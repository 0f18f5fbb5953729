"""Copy a whole store into a new, empty one: moving up without losing history.

``mlops-nb store copy --to URL`` takes an embedded store (SQLite plus a
folder) to a team store (PostgreSQL plus object storage), or to any other
store. Every metadata row is copied as it is — run ids, version numbers,
alias change ids, drift check ids, schedule slots and every audit event
with its sequence number and hash — so the copy carries *the same* hash
chain, and ``audit verify`` on it reports the same head as on the source.

Order of work, so a failure leaves nothing half-done:

1. refuse a target that already holds anything, and (by default) a source
   that fails ``audit verify``;
2. copy every artifact the source records, each read back against its
   SHA-256. Objects are content-addressed and immutable, so this step is
   safe to repeat: after a crash, running the command again skips what is
   already there;
3. insert every row in one transaction on the target: all rows or none;
4. (by default) run ``audit verify`` on the target and compare chain heads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..errors import ConflictError, IntegrityError, InvalidInputError
from ..jsonutil import GENESIS
from ..records import _Record
from ..redaction import mask_db_url, redact_url
from . import schema as t
from .location import ENV_ARTIFACTS

if TYPE_CHECKING:
    from .core import Store

__all__ = [
    "CopyResult",
    "copied_tables",
    "copy_store",
    "describe",
    "ensure_empty",
    "open_target",
    "remember_artifacts",
]

_BATCH = 1000
_UPLOADERS = 8


@dataclass(frozen=True)
class CopyResult(_Record):
    """What ``store copy`` did: rows per table, artifacts, and the chain head."""

    source: dict[str, str]
    target: dict[str, str]
    rows: dict[str, int]
    events: int
    artifacts: int
    artifacts_written: int
    artifact_bytes: int
    head: str
    verified: bool


def copied_tables() -> list[sa.Table]:
    """Every table a copy fills, parents before children.

    ``schema_version`` and ``store_info`` are left out: the target's own
    migrations wrote them, and a copy is a store of its own with its own id.
    So are the heartbeat tables (:data:`~mlops_nb.store.schema.HEARTBEATS`):
    ``serving_stats`` holds the live numbers of the source's serving
    processes, which serve the source, not the copy.
    """
    own = {"schema_version", "store_info", *t.HEARTBEATS}
    return [table for table in t.metadata.sorted_tables if table.name not in own]


def describe(store: Store) -> dict[str, str]:
    """Where a store lives, with passwords and secret URL parts removed."""
    # Not SQLAlchemy's hide_password: it leaves ``?password=`` in the query.
    url = store._engine.url.render_as_string(hide_password=False)
    out = {"home": str(store.home), "db": mask_db_url(url)}
    out["artifacts"] = redact_url(str(store.artifacts.root))
    return out


def open_target(to: str, artifacts: str | None = None) -> Store:
    """Open (creating it) the store named by ``--to``: a database URL or a home folder.

    A database target also needs an artifact location (``artifacts`` or
    ``MLOPS_NB_ARTIFACTS``): its files cannot live in a home folder it does
    not have.
    """
    from .core import Store

    if not to.strip():
        # Path("") is the working directory: never copy into wherever one stands.
        raise InvalidInputError("--to is empty; name a database URL or a store folder")
    if "://" in to:
        if not artifacts and not os.environ.get(ENV_ARTIFACTS):
            raise InvalidInputError(
                "copying into a database needs --artifacts URL (or MLOPS_NB_ARTIFACTS): "
                "where the new store keeps its files"
            )
        return Store(db_url=to, artifacts=artifacts or None)
    return Store(Path(to), artifacts=artifacts or None)


def remember_artifacts(home: Path, url: str) -> bool:
    """Record ``url`` as the artifact location in ``home/config.yaml``.

    So later commands that find this folder find its artifacts too. Only the
    redacted URL is written: credentials stay with the provider. Returns
    whether the file changed; a different location already there is refused.
    """
    from .location import read_config, write_config

    wanted = redact_url(url)
    current = read_config(home).get("artifacts")
    if current == wanted:
        return False
    if current:
        raise InvalidInputError(
            f"{home / 'config.yaml'} keeps artifacts at {redact_url(current)}, "
            f"not {wanted}; change or remove that line first"
        )
    write_config(home, artifacts=wanted)
    return True


def ensure_empty(target: Store) -> None:
    """Raise :class:`~mlops_nb.errors.ConflictError` unless ``target`` holds no rows."""
    with target.read() as conn:
        _refuse_filled(conn, copied_tables(), target)


def copy_store(
    source: Store,
    target: Store,
    *,
    verify: bool = True,
    progress: Callable[[str], None] | None = None,
) -> CopyResult:
    """Copy every row and artifact of ``source`` into the empty store ``target``.

    Parameters
    ----------
    source, target
        Open stores. ``target`` must hold no rows (its schema may exist).
    verify
        Run ``audit verify`` on the source before and on the target after the
        copy, and require equal chain heads. Artifacts are checked against
        their SHA-256 either way.
    progress
        Called with a short line of text as each step starts.

    Raises
    ------
    ConflictError
        The target already holds records.
    IntegrityError
        The source fails verification, one of its artifacts is missing or
        altered, or the copy does not verify.
    """
    from . import audit

    say = progress or (lambda _text: None)
    if source._engine.url == target._engine.url:
        raise InvalidInputError(
            f"the target is the store being copied ({describe(source)['db']}); give a new "
            "location (MLOPS_NB_DB_URL applies to a --to folder too: unset it)"
        )
    if source.schema_version != target.schema_version:
        raise InvalidInputError(
            f"source schema {source.schema_version} and target schema "
            f"{target.schema_version} differ; open both with the same mlops-nb"
        )
    tables = copied_tables()
    ensure_empty(target)
    if verify:
        say("verifying the source")
        before = audit.verify(source)
        if not before.ok:
            raise IntegrityError(
                f"the source store fails audit verify, so nothing was copied: {before.problem}"
            )
    with _snapshot(source) as sconn:
        listed = [
            (row.sha256, row.size)
            for row in sconn.execute(
                sa.select(t.artifacts.c.sha256, t.artifacts.c.size).order_by(t.artifacts.c.sha256)
            )
        ]
        say(f"copying {len(listed)} artifacts")
        written, nbytes = _copy_artifacts(source, target, listed)
        say("copying records")
        with target.write() as tconn:
            _refuse_filled(tconn, tables, target)
            rows = {table.name: _copy_rows(sconn, tconn, table) for table in tables}
            _reset_sequences(tconn, tables)
        head = (
            sconn.execute(
                sa.select(t.events.c.hash).order_by(t.events.c.seq.desc()).limit(1)
            ).scalar()
            or GENESIS
        )
    verified = False
    if verify:
        say("verifying the copy")
        after = audit.verify(target)
        if not after.ok:
            raise IntegrityError(f"the copy fails audit verify: {after.problem}")
        if after.head != head:
            raise IntegrityError(f"the copy's chain head {after.head} is not the source's {head}")
        verified = True
    return CopyResult(
        source=describe(source),
        target=describe(target),
        rows=rows,
        events=rows.get("events", 0),
        artifacts=len(listed),
        artifacts_written=written,
        artifact_bytes=nbytes,
        head=head,
        verified=verified,
    )


@contextlib.contextmanager
def _snapshot(store: Store) -> Iterator[sa.Connection]:
    """One read transaction that sees a single consistent state of ``store``."""
    if store._engine.dialect.name != "postgresql":
        # SQLite: a read transaction is a snapshot already.
        with store.read() as conn:
            yield conn
        return
    with (
        store._engine.connect().execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        ) as conn,
        conn.begin(),
    ):
        yield conn


def _refuse_filled(conn: sa.Connection, tables: list[sa.Table], target: Store) -> None:
    filled = []
    for table in tables:
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            filled.append(table.name)
    if filled:
        where = describe(target)
        raise ConflictError(
            f"the target store ({where['db']}) is not empty (it has {', '.join(filled)}); "
            "store copy only fills a new, empty store"
        )


def _copy_artifacts(source: Store, target: Store, listed: list[tuple[str, int]]) -> tuple[int, int]:
    """Copy each artifact, verified on read; return (objects written, bytes copied)."""

    def one(item: tuple[str, int]) -> tuple[bool, int]:
        sha, _size = item
        try:
            data = source.artifacts.read(sha)
        except FileNotFoundError:
            raise IntegrityError(
                f"source artifact {sha} is missing from {source.artifacts.root}; "
                "no records were copied"
            ) from None
        except ValueError:
            raise IntegrityError(
                f"source artifact {sha} was altered (content no longer matches its SHA-256); "
                "no records were copied"
            ) from None
        stored, created = target.artifacts.write(data)
        if stored != sha:  # pragma: no cover - write() hashes what read() verified
            raise IntegrityError(f"artifact {sha} was stored as {stored}")
        if not created:
            # Already there (a resumed copy, or shared storage): make sure it is intact.
            problem = target.artifacts.check(sha)
            if problem:
                raise IntegrityError(f"the target's copy is bad: {problem}")
        return created, len(data)

    written = nbytes = 0
    with ThreadPoolExecutor(max_workers=_UPLOADERS) as pool:
        for created, size in pool.map(one, listed):
            written += created
            nbytes += size
    return written, nbytes


def _copy_rows(sconn: sa.Connection, tconn: sa.Connection, table: sa.Table) -> int:
    order = list(table.primary_key.columns) or list(table.columns)
    query = sa.select(table).order_by(*order).execution_options(yield_per=_BATCH)
    copied = 0
    for batch in sconn.execute(query).partitions():
        tconn.execute(table.insert(), [dict(row._mapping) for row in batch])
        copied += len(batch)
    return copied


def _reset_sequences(conn: sa.Connection, tables: list[sa.Table]) -> None:
    """Move PostgreSQL sequences past the ids just inserted explicitly.

    Rows keep their ids, so a serial or identity column's sequence has not
    advanced; the next insert would otherwise collide with a copied row.
    """
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        column = keys[0]
        sequence = conn.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.fullname, column.name))
        ).scalar()
        if not sequence:
            continue
        top = conn.execute(sa.select(sa.func.max(column))).scalar() or 0
        conn.execute(sa.select(sa.func.setval(sequence, top + 1, False)))
