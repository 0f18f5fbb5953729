"""The tamper-evident audit log.

Every state change appends an event ``(seq, at, actor, kind, subject,
payload, prev_hash, hash)`` in the same transaction as the change, where
``hash = SHA-256(seq, at, actor, kind, subject, payload, prev_hash)``. So an
edited, deleted, inserted or reordered event breaks the chain from that
point on. :func:`verify` also re-hashes every artifact the events name and
checks every table: audited rows must be exactly what their latest event
says (and absent when that event deleted them: an erased log batch, an
artifact erased for privacy or retention, whose file then need not
exist), derived tables (``models``, ``aliases``) what their source says (see
:mod:`mlops_nb.store.schema`; ``serving_stats``, the live numbers each serving
process overwrites every few seconds, is derived too but not chained or
checked: heartbeats are not history), so editing the tables directly (an alias
moved by SQL, a model file swapped, a run's metrics rewritten, a model
inserted) is caught as well.

What a hash chain cannot catch on its own is a rewrite by someone who can
write to the database: change a row and its event, recompute every hash
after it, or delete the newest events with their rows, and the chain is
consistent again. A :class:`Checkpoint` closes that gap: :func:`checkpoint`
records the head (sequence number, hash, time) to keep where the store's
writers cannot change it (a file elsewhere, a ticket, a git commit), and
``verify(store, checkpoint=...)`` then also requires the chain to extend
that head. With ``MLOPS_NB_CHECKPOINT_KEY`` set, checkpoints carry an
HMAC-SHA256 of their content, so one kept in a place others can write
cannot be replaced by a forged one without the key.

The chain is the same on SQLite and PostgreSQL: every hashed field is text
written by mlops-nb (times included), so the same history hashes the same
on both, and appends are serialized by the store's single write lock
(:mod:`mlops_nb.store.base`), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInputError, NotFoundError
from ..jsonutil import GENESIS, canonical, loads, utcnow
from ..records import VerifyResult, _Record
from .chain import event_hash
from .schema import AUDITED, LATEST

if TYPE_CHECKING:
    from . import Store

#: The environment variable holding the key that signs checkpoints (optional).
ENV_CHECKPOINT_KEY = "MLOPS_NB_CHECKPOINT_KEY"
#: What a checkpoint file says it is, so another JSON file is not taken for one.
CHECKPOINT_KIND = "mlops-nb audit checkpoint"
_HASH = re.compile(r"[0-9a-f]{64}")

# Which table each event kind describes (exact kinds first, then prefixes).
_EVENT_TABLES = {
    "run.value": "run_values",
    "alias.refused": "alias_refusals",
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
    "predictions.": "log_batches",
    "feedback.": "log_batches",
    "shadow.": "log_batches",
    "serve.": "deploys",
    "logpolicy.": "log_policies",
    "test.": "model_tests",
    "deployment.": "deployments",
    "reference.": "drift_references",
    "digest.": "digests",
    "protection.": "alias_protections",
    "request.": "promotion_requests",
    "card.": "model_cards",
}


def table_for(kind: str) -> str | None:
    """The audited table an event kind describes, if any."""
    if kind in _EVENT_TABLES:
        return _EVENT_TABLES[kind]
    for prefix, table in _EVENT_TABLES.items():
        if prefix.endswith(".") and kind.startswith(prefix):
            return table
    return None


@dataclass(frozen=True)
class Checkpoint(_Record):
    """The head of the audit chain at one moment, to keep outside the store.

    ``seq`` and ``hash`` name the newest event (0 and the genesis value for
    an empty chain), ``at`` is when it was written, ``taken_at`` when the
    checkpoint was taken. ``signature`` is an HMAC-SHA256 of the rest with
    the key in ``MLOPS_NB_CHECKPOINT_KEY``, when that was set.
    """

    seq: int
    hash: str
    at: str | None
    taken_at: str
    signature: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": CHECKPOINT_KIND, **super().to_json()}

    def signed(self, key: str) -> Checkpoint:
        """This checkpoint with its signature made with ``key``."""
        return Checkpoint(self.seq, self.hash, self.at, self.taken_at, self._mac(key))

    def _mac(self, key: str) -> str:
        content = canonical(
            {
                "kind": CHECKPOINT_KIND,
                "seq": self.seq,
                "hash": self.hash,
                "at": self.at,
                "taken_at": self.taken_at,
            }
        )
        return hmac.new(key.encode(), content.encode(), hashlib.sha256).hexdigest()


def head(store: Store) -> str:
    """The hash of the newest event (the chain's head), or the genesis value."""
    newest = store.chain_head()
    return GENESIS if newest is None else newest[1]


def checkpoint(
    store: Store, path: str | os.PathLike[str] | None = None, *, check: bool = True
) -> Checkpoint:
    """The chain's head as a :class:`Checkpoint`, written to ``path`` if given.

    Keep it where the store's writers cannot change it; later,
    ``verify(store, checkpoint=...)`` proves the chain still extends it.

    Parameters
    ----------
    store
        The store whose chain to checkpoint.
    path
        Where to write the checkpoint as JSON (replaced atomically).
    check
        Verify the store first and refuse to checkpoint a broken chain;
        ``False`` skips that (and the cost of re-hashing every artifact).

    Raises
    ------
    IntegrityError
        The store fails :func:`verify`: it gets no checkpoint to vouch for it.
    """
    newest = store.chain_head()
    seq, digest, at = (0, GENESIS, None) if newest is None else newest
    taken = Checkpoint(seq=seq, hash=digest, at=at, taken_at=utcnow())
    if check:
        # Against the head just read, so events appended meanwhile are checked too.
        result = _verify(store, taken, signatures=False)
        if not result.ok:
            raise IntegrityError(
                f"the audit chain fails verification, so it gets no checkpoint: {result.problem}"
            )
    key = os.environ.get(ENV_CHECKPOINT_KEY)
    if key:
        taken = taken.signed(key)
    if path is not None:
        write_checkpoint(taken, path)
    return taken


def write_checkpoint(taken: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Write ``taken`` as JSON to ``path`` (all or nothing); return the path."""
    target = Path(path).expanduser()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(taken.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write checkpoint {target}: {exc.strerror}") from None
    return target


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """The :class:`Checkpoint` in a file written by :func:`checkpoint`.

    Raises
    ------
    NotFoundError
        There is no such file.
    InvalidInputError
        The file is not a checkpoint.
    """
    source = Path(path).expanduser()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"checkpoint file {source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read checkpoint {source}: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    return _checkpoint_from(doc, f"{source}")


def _checkpoint_from(doc: Any, where: str) -> Checkpoint:
    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(f"{where} is not an mlops-nb audit checkpoint: {why}")

    if not isinstance(doc, dict) or doc.get("kind") != CHECKPOINT_KIND:
        raise bad(f"expected a JSON object with kind {CHECKPOINT_KIND!r}")
    seq, digest, at = doc.get("seq"), doc.get("hash"), doc.get("at")
    taken_at, signature = doc.get("taken_at"), doc.get("signature")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise bad("seq must be a whole number, 0 or more")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise bad("hash must be 64 hexadecimal digits")
    if not (at is None or isinstance(at, str)) or not isinstance(taken_at, str):
        raise bad("at and taken_at must be times")
    if not (signature is None or (isinstance(signature, str) and _HASH.fullmatch(signature))):
        raise bad("signature must be 64 hexadecimal digits")
    return Checkpoint(seq=seq, hash=digest, at=at, taken_at=taken_at, signature=signature)


def verify(
    store: Store, checkpoint: Checkpoint | str | os.PathLike[str] | None = None
) -> VerifyResult:
    """Recompute the chain, re-hash artifacts and compare every table with the events.

    Parameters
    ----------
    store
        The store to verify.
    checkpoint
        A :class:`Checkpoint` (or the file holding one) taken earlier: the
        chain must also still extend it, which catches a consistent rewrite
        of the history and newest events removed together with their rows.

    Returns
    -------
    VerifyResult
        ``ok``, or the first broken record (by event sequence number where
        there is one).

    Raises
    ------
    InvalidInputError
        The checkpoint is unreadable, or signed while ``MLOPS_NB_CHECKPOINT_KEY`` is unset.
    NotFoundError
        The checkpoint file does not exist.
    """
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = read_checkpoint(checkpoint)
    return _verify(store, checkpoint, signatures=True)


def _verify(store: Store, checkpoint: Checkpoint | None, signatures: bool) -> VerifyResult:
    events = store.raw_events()
    problems: list[tuple[int, str]] = []
    prev = GENESIS
    latest: dict[tuple[str, tuple[Any, ...]], tuple[int, dict[str, Any]]] = {}
    stored: dict[str, tuple[int, str]] = {}  # artifacts whose files must be intact
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
            stored[payload.get("sha256", "")] = (ev.seq, label)
        elif ev.kind == "artifact.erased":
            # A recorded erasure (privacy, retention): the file is meant to be gone.
            stored.pop(payload.get("sha256", ""), None)
    for sha, (seq, label) in stored.items():
        problem = _check_artifact(store, sha)
        if problem:
            problems.append((seq, f"{label}: {problem}"))
    if not problems:
        problems.extend(_check_tables(store, latest))
    if checkpoint is not None:
        if signatures:
            problems.extend(_check_signature(checkpoint))
        problems.extend(_check_checkpoint(events, checkpoint))
    head_hash = events[-1].hash if events else GENESIS
    checked = None if checkpoint is None else checkpoint.seq
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
            checkpoint=checked,
        )
    return VerifyResult(
        ok=True, events=len(events), artifacts=artifact_count, head=head_hash, checkpoint=checked
    )


def _check_signature(taken: Checkpoint) -> list[tuple[int, str]]:
    key = os.environ.get(ENV_CHECKPOINT_KEY)
    if taken.signature and not key:
        raise InvalidInputError(
            f"the checkpoint is signed: set {ENV_CHECKPOINT_KEY} to the key it was signed with"
        )
    if not key:
        return []
    if not taken.signature:
        return [
            (
                taken.seq,
                f"the checkpoint is not signed but {ENV_CHECKPOINT_KEY} is set: anyone who "
                "could write the file could have made it",
            )
        ]
    if not hmac.compare_digest(taken.signature, taken._mac(key)):
        return [
            (
                taken.seq,
                f"the checkpoint's signature does not match {ENV_CHECKPOINT_KEY}: the "
                "checkpoint was altered or signed with another key",
            )
        ]
    return []


def _check_checkpoint(events: list[Any], taken: Checkpoint) -> list[tuple[int, str]]:
    """The chain must still hold the checkpoint's head, as it was."""
    if taken.seq == 0:
        if taken.hash != GENESIS:
            return [(0, "the checkpoint of an empty chain names a hash: it is not one we wrote")]
        return []
    held = next((ev for ev in events if ev.seq == taken.seq), None)
    if held is None:
        return [
            (
                taken.seq,
                f"the chain has {len(events)} events but the checkpoint taken at "
                f"{taken.taken_at} has event {taken.seq} ({taken.hash[:12]}…) as its head: "
                "the newest events were removed",
            )
        ]
    if held.hash != taken.hash:
        return [
            (
                taken.seq,
                f"event {taken.seq} has hash {held.hash[:12]}… but the checkpoint taken at "
                f"{taken.taken_at} recorded {taken.hash[:12]}…: the history up to it was "
                "rewritten",
            )
        ]
    return []


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
            if payload.get("_deleted") is True:
                problems.append(
                    (
                        seq,
                        f"{name} was deleted by event {seq} but is there: it was put back "
                        "outside mlops-nb",
                    )
                )
                continue
            # Columns added by later migrations are absent from older events. Keys
            # starting with "_" are about the event, not columns (``_changes``: what
            # an edit changed, old and new).
            columns = {k: v for k, v in payload.items() if not k.startswith("_")}
            added = [v for k, v in row.items() if k not in columns]
            same = {k: v for k, v in row.items() if k in columns} == columns
            if row_seq != seq or not same or any(v is not None for v in added):
                problems.append(
                    (
                        seq,
                        f"{name} differs from what event {seq} recorded: it was "
                        "changed outside mlops-nb",
                    )
                )
    for (table, key), (seq, payload) in latest.items():
        if (table, key) not in seen and payload.get("_deleted") is not True:
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
    problems.extend(_check_identity(tables))
    return problems


def _check_identity(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[int, str]]:
    """``store_info`` must hold exactly the store's id: one row, 32 hex digits."""
    rows = tables["store_info"]
    value = rows[0].get("text_value") if len(rows) == 1 else None
    if (
        len(rows) == 1
        and rows[0].get("key") == "store_id"
        and isinstance(value, str)
        and len(value) == 32
        and all(c in "0123456789abcdef" for c in value)
    ):
        return []
    return [(0, "store_info no longer holds just the store's id: changed outside mlops-nb")]


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
