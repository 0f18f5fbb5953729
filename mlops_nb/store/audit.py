"""The tamper-evident audit log.

Every state change appends an event ``(seq, at, actor, kind, subject,
payload, prev_hash, hash)`` in the same transaction as the change, where
``hash = SHA-256(seq, at, actor, kind, subject, payload, prev_hash)``. So an
edited, deleted, inserted or reordered event breaks the chain from that
point on. :func:`verify` also re-hashes every artifact the events name and
checks that every audited table row is exactly what its latest event says,
so editing the tables directly (an alias moved by SQL, a model file
swapped, a run's metrics rewritten) is caught as well.

What a hash chain cannot catch on its own is someone deleting the *newest*
events together with the rows they describe; publish :func:`head` (the
last hash) somewhere else if you need that too.

The chain is the same on SQLite and PostgreSQL: every hashed field is text
written by mlops-nb (times included), so the same history hashes the same
on both, and appends are serialized by the store's single write lock
(:mod:`mlops_nb.store.base`), so concurrent writers never fork the chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..jsonutil import GENESIS, loads
from ..records import VerifyResult
from .chain import event_hash
from .schema import AUDITED, LATEST

if TYPE_CHECKING:
    from . import Store

# Which table each event kind describes (exact kinds first, then prefixes).
_EVENT_TABLES = {
    "run.value": "run_values",
    "artifact.": "artifacts",
    "run.": "runs",
    "version.": "model_versions",
    "alias.": "alias_changes",
    "drift.": "drift_checks",
    "channel.": "alert_channels",
    "alert.": "alerts",
    "trigger.": "retrain_triggers",
    "schedule.slot.": "schedule_slots",
    "schedule.": "schedules",
}


def table_for(kind: str) -> str | None:
    """The audited table an event kind describes, if any."""
    if kind in _EVENT_TABLES:
        return _EVENT_TABLES[kind]
    for prefix, table in _EVENT_TABLES.items():
        if prefix.endswith(".") and kind.startswith(prefix):
            return table
    return None


def head(store: Store) -> str:
    """The hash of the newest event (the chain's head), or the genesis value."""
    events = store.raw_events()
    return events[-1].hash if events else GENESIS


def verify(store: Store) -> VerifyResult:
    """Recompute the chain, re-hash artifacts and compare tables with events.

    Returns a :class:`~mlops_nb.records.VerifyResult` naming the first
    broken record (by event sequence number where there is one).
    """
    events = store.raw_events()
    problems: list[tuple[int, str]] = []
    prev = GENESIS
    latest: dict[tuple[str, tuple[Any, ...]], tuple[int, dict[str, Any]]] = {}
    artifact_count = 0
    for expected, ev in enumerate(events, start=1):
        label = f"event {ev.seq} ({ev.kind} {ev.subject})"
        if ev.seq != expected:
            problems.append(
                (expected, f"event {expected} is missing (next is {ev.seq}): the log was cut")
            )
            break
        if ev.prev_hash != prev:
            problems.append(
                (
                    ev.seq,
                    f"{label} does not follow event {ev.seq - 1}: events were "
                    "removed, inserted or reordered",
                )
            )
            break
        if (
            event_hash(ev.seq, ev.at, ev.actor, ev.kind, ev.subject, ev.payload, ev.prev_hash)
            != ev.hash
        ):
            problems.append((ev.seq, f"{label} was altered: its hash no longer matches"))
            break
        prev = ev.hash
        try:
            payload = loads(ev.payload, {})
        except ValueError:
            problems.append((ev.seq, f"{label} has an unreadable payload"))
            break
        table = table_for(ev.kind)
        if table is not None:
            key = tuple(payload.get(c) for c in AUDITED[table])
            latest[(table, key)] = (ev.seq, payload)
        if ev.kind == "artifact.stored":
            artifact_count += 1
            problem = _check_artifact(store, payload.get("sha256", ""))
            if problem:
                problems.append((ev.seq, f"{label}: {problem}"))
    if not problems:
        problems.extend(_check_tables(store, latest))
    head_hash = events[-1].hash if events else GENESIS
    if problems:
        problems.sort(key=lambda p: p[0])
        seq, text = problems[0]
        return VerifyResult(
            ok=False,
            events=len(events),
            artifacts=artifact_count,
            head=head_hash,
            problem=text,
            seq=seq or None,
        )
    return VerifyResult(ok=True, events=len(events), artifacts=artifact_count, head=head_hash)


def _check_artifact(store: Store, sha: str) -> str | None:
    # Each backend (the folder, object storage) re-hashes its own objects.
    return store.artifacts.check(sha)


def _check_tables(
    store: Store, latest: dict[tuple[str, tuple[Any, ...]], tuple[int, dict[str, Any]]]
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    tables = store.snapshot_tables()
    key_cols = AUDITED
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for table, rows in tables.items():
        if table not in key_cols:
            continue  # derived or bookkeeping: checked below
        cols = key_cols[table]
        for row in rows:
            key = tuple(row.get(c) for c in cols)
            seen.add((table, key))
            row_seq = row.pop("event_seq")
            name = f"{table} row {'/'.join(str(k) for k in key)}"
            recorded = latest.get((table, key))
            if recorded is None:
                problems.append(
                    (row_seq or 0, f"{name} has no audit event: it was added outside mlops-nb")
                )
                continue
            seq, payload = recorded
            # Columns added by later migrations are absent from older events.
            added = [v for k, v in row.items() if k not in payload]
            same = {k: v for k, v in row.items() if k in payload} == payload
            if row_seq != seq or not same or any(v is not None for v in added):
                problems.append(
                    (
                        seq,
                        f"{name} differs from what event {seq} recorded: it was "
                        "changed outside mlops-nb",
                    )
                )
    for (table, key), (seq, _payload) in latest.items():
        if (table, key) not in seen:
            problems.append(
                (
                    seq,
                    f"{table} row {'/'.join(str(k) for k in key)} recorded by "
                    f"event {seq} is missing",
                )
            )
    problems.extend(_check_aliases(tables))
    problems.extend(_check_models(tables))
    problems.extend(_check_migrations(tables))
    return problems


def _check_aliases(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[int, str]]:
    """The current alias table must be what the alias history says, field by field."""
    problems: list[tuple[int, str]] = []
    expected: dict[tuple[str, str], tuple[Any, ...]] = {}
    for change in sorted(tables["alias_changes"], key=lambda r: r["id"]):
        key = (change["model"], change["alias"])
        expected[key] = (change["to_version"], change["id"], change["at"])
    actual = {
        (a["model"], a["alias"]): (a["version"], a["change_id"], a["set_at"])
        for a in tables["aliases"]
    }
    for pair in sorted(set(expected) | set(actual)):
        want, have = expected.get(pair), actual.get(pair)
        if want == have:
            continue
        if want is not None and have is not None and want[0] == have[0]:
            text = (
                f"alias {pair[0]}@{pair[1]} says it was set by change {have[1]} at {have[2]} "
                f"but its history says change {want[1]} at {want[2]}: changed outside mlops-nb"
            )
        else:
            text = (
                f"alias {pair[0]}@{pair[1]} points to {(have or (None,))[0]} but its "
                f"history says {(want or (None,))[0]}: changed outside mlops-nb"
            )
        problems.append((0, text))
    return problems


def _check_models(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[int, str]]:
    """``models`` must be one row per model with versions, created with its first one."""
    problems: list[tuple[int, str]] = []
    first: dict[str, str] = {}
    for v in tables["model_versions"]:
        if v["model"] not in first or v["created_at"] < first[v["model"]]:
            first[v["model"]] = v["created_at"]
    rows = {m["name"]: m["created_at"] for m in tables["models"]}
    for name in sorted(set(first) | set(rows), key=str):
        if name not in first:
            text = f"models row {name} has no version: it was added outside mlops-nb"
        elif name not in rows:
            text = f"model {name} has versions but no models row: it was removed outside mlops-nb"
        elif rows[name] != first[name]:
            text = (
                f"models row {name} says created at {rows[name]} but its first version was "
                f"created at {first[name]}: changed outside mlops-nb"
            )
        else:
            continue
        problems.append((0, text))
    return problems


def _check_migrations(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[int, str]]:
    """``schema_version`` must list exactly the migrations that made this schema."""
    listed = sorted(r["version"] for r in tables["schema_version"])
    if listed == list(range(1, LATEST + 1)):
        return []
    return [
        (
            0,
            f"schema_version lists migrations {listed}, not 1 to {LATEST}: changed "
            "outside mlops-nb",
        )
    ]
