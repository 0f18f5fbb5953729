"""Privacy of the prediction log: retention, masked and hashed columns, erasure.

The log holds raw customer inputs, so each model may have a policy
(:func:`set_policy`): a retention period, after which the scheduler deletes
whole batches (:func:`expire`, run by every ``tick``), and input columns
that are masked (stored empty) or hashed (an HMAC-SHA256 keyed with the
policy's own random salt, so equal values still match but the value is not
stored) when a batch is written, by the server and by batch scoring alike.

:func:`erase` removes one subject's rows on request (``customer_id ==
'C123'``), from every prediction batch of the model and the feedback given
for those requests. Each batch it touches is written again without those
rows, the old file is deleted, and the batch's row, the old file's
erasure and a summary go into the audit chain in one transaction, so
``audit verify`` accepts the missing file as a recorded erasure and still
calls a file deleted without that record tampering. The summary holds a
SHA-256 of the expression, never the identifier itself: the audit chain is
kept for good and must not become the place the subject's id survives.

Crash safety: new files are stored first, then one transaction records the
change, then the old files are deleted. A crash before the commit leaves
the log as it was; a crash after it leaves old files that the next erasure
or expiry deletes (they are recorded as erased, so verify passes meanwhile).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import InvalidInputError
from ..jsonutil import format_time, utcnow
from ..records import _Record
from ..store import faults

if TYPE_CHECKING:
    from ..store import Store

#: Columns of a predictions file that are not inputs (a where clause may name them too).
_META = ("request_id", "batch_id", "version")
_IDENT = r"[A-Za-z_][A-Za-z0-9_.]*"
_LITERAL = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d+)?|true|false"
_CONDITION = re.compile(rf"\s*({_IDENT})\s*==\s*({_LITERAL})\s*", re.ASCII)
MAX_WHERE = 1000


@dataclass(frozen=True)
class Erasure(_Record):
    """What one :func:`erase` (or :func:`expire`) removed."""

    model: str
    rows: int
    requests: int
    feedback: int
    batches_rewritten: int
    batches_deleted: int
    files_deleted: int
    where_sha256: str | None = None


# -- the policy ----------------------------------------------------------------------


def set_policy(
    store: Store,
    model: str,
    *,
    retention: str | float | None = None,
    mask: list[str] | None = None,
    hash: list[str] | None = None,
) -> dict[str, Any]:
    """Set what model ``model``'s log keeps: ``retention`` (``"180d"``; ``"none"`` keeps
    batches until erased), and the input columns to ``mask`` or ``hash`` when written.

    Options left ``None`` keep their current value. Applies to batches written
    from now on; what is already logged is changed only by :func:`erase` and
    :func:`expire`.
    """
    from ..monitoring.retrain import parse_duration
    from ..registry.names import check_model_name

    model = check_model_name(model)
    store.latest_version(model)  # NotFoundError for an unknown model
    current = store.log_policy(model) or {}
    retention_s = current.get("retention_s")
    if retention is not None:
        if isinstance(retention, str) and retention.strip().lower() == "none":
            retention_s = None
        else:
            retention_s = parse_duration(retention, "retention")
            if retention_s <= 0:
                raise InvalidInputError("retention must be longer than zero, e.g. 180d, or none")
    masked = _columns(mask, "mask") if mask is not None else current.get("mask_columns", [])
    hashed = _columns(hash, "hash") if hash is not None else current.get("hash_columns", [])
    both = sorted(set(masked) & set(hashed))
    if both:
        raise InvalidInputError(f"a column is either masked or hashed, not both: {', '.join(both)}")
    return store.set_log_policy(
        {
            "model": model,
            "retention_s": retention_s,
            "mask_columns": masked,
            "hash_columns": hashed,
            "salt": current.get("salt") or secrets.token_hex(16),
            "updated_at": utcnow(),
        },
        environment.actor(),
    )


def _columns(names: Any, what: str) -> list[str]:
    if isinstance(names, str):
        names = names.split(",")
    out = []
    for name in names or []:
        if not isinstance(name, str) or not re.fullmatch(_IDENT, name.strip(), re.ASCII):
            raise InvalidInputError(f"--{what}: {name!r} is not a column name")
        if name.strip() in _META:
            raise InvalidInputError(f"--{what}: {name.strip()} is not an input column")
        out.append(name.strip())
    return sorted(set(out))


def shown(policy: dict[str, Any] | None, model: str) -> dict[str, Any]:
    """A policy as users see it (the salt is the hash key: never shown)."""
    policy = policy or {}
    return {
        "model": model,
        "retention_s": policy.get("retention_s"),
        "mask": policy.get("mask_columns", []),
        "hash": policy.get("hash_columns", []),
    }


def hash_value(salt: str, value: Any) -> str | None:
    """The logged form of a hashed value: ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, (int, float)):
        number = float(value)
        text = str(int(number)) if number.is_integer() else repr(number)
    else:
        text = str(value)
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def apply(policy: dict[str, Any] | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """Input columns (Arrow arrays) as the policy has them written."""
    if not policy:
        return inputs
    import pyarrow as pa

    out = dict(inputs)
    for name in policy.get("mask_columns", []):
        if name in out:
            out[name] = pa.nulls(len(out[name]), type=out[name].type)
    for name in policy.get("hash_columns", []):
        if name in out:
            values = out[name].to_pylist()
            out[name] = pa.array([hash_value(policy["salt"], v) for v in values], type=pa.string())
    return out


# -- erasure -------------------------------------------------------------------------


def parse_where(text: Any) -> list[tuple[str, Any]]:
    """``COLUMN == LITERAL [and COLUMN == LITERAL ...]`` as ``[(column, value)]``.

    Literals are quoted text, numbers, ``true`` or ``false``. Nothing else is
    accepted: the expression selects rows, it is never evaluated as code.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("--where needs an expression such as \"customer_id == 'C123'\"")
    if len(text) > MAX_WHERE:
        raise InvalidInputError(f"--where is longer than {MAX_WHERE} characters")
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = _CONDITION.fullmatch(part)
        if found is None:
            raise InvalidInputError(
                f"cannot read --where {part.strip()!r}: write COLUMN == 'text' or COLUMN == 42, "
                "joined by 'and'"
            )
        column, literal = found.group(1), found.group(2)
        if literal[0] in "'\"":
            value: Any = json.loads('"' + literal[1:-1].replace('"', '\\"') + '"')
        elif literal in ("true", "false"):
            value = literal == "true"
        else:
            value = float(literal) if "." in literal else int(literal)
        conditions.append((column, value))
    return conditions


def erase(store: Store, model: str, where: str) -> Erasure:
    """Remove every logged row of ``model`` matching ``where``, and the feedback given
    for those requests; return what was removed (nothing matching is not an error)."""
    from ..registry.names import check_model_name

    model = check_model_name(model)
    store.latest_version(model)  # NotFoundError for an unknown model
    conditions = parse_where(where)
    policy = store.log_policy(model)
    changes: list[tuple[dict[str, Any], bytes | None, int, int]] = []
    erased_ids: set[str] = set()
    rows = 0
    for batch in store.log_batches(model, "predictions"):
        table = _table(store, batch["file_sha256"])
        match = _match(table, conditions, policy)
        hits = _count(match)
        if not hits:
            continue
        import pyarrow.compute as pc

        gone = table.filter(match)
        erased_ids.update(gone.column("request_id").to_pylist())
        kept = table.filter(pc.invert(match))
        changes.append(_change(batch, kept))
        rows += hits
    feedback = 0
    if erased_ids:
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array(sorted(erased_ids), type=pa.string())
        for batch in store.log_batches(model, "feedback"):
            table = _table(store, batch["file_sha256"])
            match = pc.is_in(table.column("request_id"), value_set=wanted)
            hits = _count(match)
            if hits:
                changes.append(_change(batch, table.filter(pc.invert(match))))
                feedback += hits
    digest = hashlib.sha256(where.encode()).hexdigest()
    summary = {
        "model": model,
        "rows": rows,
        "requests": len(erased_ids),
        "feedback": feedback,
        "where_sha256": digest,
    }
    return _commit(store, "erase", model, changes, "erasure", summary, where_sha256=digest)


def expire(store: Store, now: dt.datetime | None = None) -> list[Erasure]:
    """Delete every batch older than its model's retention (run by each scheduler tick)."""
    moment = now or dt.datetime.now(dt.timezone.utc)
    done = []
    for policy in store.log_policies():
        if not policy.get("retention_s"):
            continue
        cutoff = format_time(moment - dt.timedelta(seconds=policy["retention_s"]))
        old = [
            b
            for kind in ("predictions", "feedback")
            for b in store.log_batches(policy["model"], kind)
            if b["last_at"] < cutoff
        ]
        if not old:
            continue
        rows = sum(b["rows"] for b in old if b["kind"] == "predictions")
        summary = {"model": policy["model"], "rows": rows, "before": cutoff, "batches": len(old)}
        changes: list[tuple[dict[str, Any], bytes | None, int, int]] = [
            (b, None, 0, 0) for b in old
        ]
        done.append(_commit(store, "expire", policy["model"], changes, "retention", summary))
    if not done:
        _delete_files(store)  # files a crashed run left behind
    return done


def _table(store: Store, sha256: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(store.get_artifact(sha256)))


def _match(table: Any, conditions: list[tuple[str, Any]], policy: dict[str, Any] | None) -> Any:
    """A boolean mask of the rows meeting every condition (``None``: a column is absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hashed = set((policy or {}).get("hash_columns", []))
    inputs = table.column("inputs").combine_chunks() if "inputs" in table.column_names else None
    names = [] if inputs is None else [f.name for f in inputs.type]
    mask = None
    for column, value in conditions:
        if column in table.column_names and column != "inputs":
            values = table.column(column)
        elif inputs is not None and column in names:
            values = inputs.field(names.index(column))
        else:
            return None  # this batch does not hold the column: nothing in it matches
        wanted = hash_value(policy["salt"], value) if policy and column in hashed else value
        try:
            literal = pa.scalar(wanted).cast(values.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None  # text compared with numbers: no row can match
        hit = pc.fill_null(pc.equal(values, literal), False)
        mask = hit if mask is None else pc.and_(mask, hit)
    return mask


def _count(mask: Any) -> int:
    """How many rows a boolean mask selects (``None``: none)."""
    if mask is None:
        return 0
    import pyarrow.compute as pc

    return int(pc.sum(mask).as_py() or 0)


def _change(batch: dict[str, Any], kept: Any) -> tuple[dict[str, Any], bytes | None, int, int]:
    """The batch, its file without the erased rows (``None``: nothing left), rows, requests."""
    if kept.num_rows == 0:
        return batch, None, 0, 0
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(kept, sink, compression="zstd")  # the schema keeps the file's metadata
    requests = len(set(kept.column("request_id").to_pylist()))
    return batch, bytes(sink.getvalue().to_pybytes()), kept.num_rows, requests


def _commit(
    store: Store,
    path: str,
    model: str,
    changes: list[tuple[dict[str, Any], bytes | None, int, int]],
    reason: str,
    summary: dict[str, Any],
    where_sha256: str | None = None,
) -> Erasure:
    """New files first, then one transaction for every row and event, then the old files go."""
    actor = environment.actor()
    stored = {}
    for batch, data, _, _ in changes:
        if data is not None:
            stored[batch["id"]] = store.artifacts.write(data)[0]
    faults.point(path, 1)
    rewritten = deleted = 0
    with store.transaction():
        for batch, data, rows, requests in changes:
            if data is None:
                store.delete_log_batch(batch["id"], reason, actor)
                deleted += 1
            else:
                sha = stored[batch["id"]]
                store.record_artifact(sha, len(data), batch["kind"], actor)
                changed = {"file_sha256": sha, "rows": rows, "requests": requests}
                store.rewrite_log_batch(batch["id"], changed, f"{batch['kind']}.erased", actor)
                rewritten += 1
            store.forget_artifact(batch["file_sha256"], reason, actor)
        store.record_event(f"{reason}.done", f"model:{model}", summary, actor)
        faults.point(path, 2)
    faults.point(path, 3)
    files = _delete_files(store)
    return Erasure(
        model=model,
        rows=int(summary.get("rows", 0)),
        requests=int(summary.get("requests", 0)),
        feedback=int(summary.get("feedback", 0)),
        batches_rewritten=rewritten,
        batches_deleted=deleted,
        files_deleted=files,
        where_sha256=where_sha256,
    )


def _delete_files(store: Store) -> int:
    """Delete the files of every artifact whose erasure is recorded; return how many were there."""
    return sum(1 for sha in store.erased_artifacts() if store.artifacts.delete(sha))
