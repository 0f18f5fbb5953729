"""The prediction log: every served request, in Parquet batches among the store's artifacts.

The request path only appends a record to a list in memory (a few
microseconds). A writer thread turns what has gathered into batches, one
per model version, every ``flush_every`` seconds or as soon as
``batch_rows`` rows wait, whichever comes first: a Parquet file (one row
per predicted row: request id, row number, time, version, latency, the
prediction, the class probabilities, and the inputs as a struct with the
training columns' names and types), stored content-addressed like every
artifact (fsspec for team stores), and recorded with its ``log_batches``
row and their audit events in one transaction. Feedback (a label or a
business value given later for a request) goes the same way into feedback
batches.

What a crash can lose: :meth:`PredictionLog.close` (SIGTERM, Ctrl-C, the
end of ``with``) writes everything before it returns. A SIGKILL or a power
cut loses what was accepted since the last committed batch: at most
``flush_every`` seconds of traffic plus the time one batch takes to write,
and never more than ``max_pending_rows`` rows (when the store cannot be
written for longer than that, the oldest waiting records are dropped and
the next batch's row counts them in ``dropped``). Nothing is ever half
written: a batch's file, its row and its events land together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..jsonutil import format_time, utcnow
from ..store import faults

if TYPE_CHECKING:
    from ..store import Store
    from .inputs import Rows
    from .predictor import Output, Predictor

#: Defaults of ``mlops-nb serve --log-flush/--log-batch``.
FLUSH_EVERY_S = 2.0
BATCH_ROWS = 10_000
#: The format of the batch files; kept in each file's metadata.
FILE_FORMAT = 1
#: The Parquet key-value metadata holding what a file is.
META_KEY = b"mlops_nb"


@dataclass
class Prediction:
    """One served (and sampled) request, as the log keeps it until written."""

    seq: int
    request_id: str
    at: float  # seconds since the epoch
    predictor: Predictor
    rows: Rows
    output: Output
    latency_ms: float


@dataclass
class Feedback:
    """What someone reported about a request after the fact."""

    request_id: str
    at: float
    label: Any  # a JSON value, or None
    value: float | None


class PredictionLog:
    """Batches of served predictions and feedback of one serving process, written off the
    request path.

    Parameters
    ----------
    store
        Where batches go (files among its artifacts, rows in its database).
    model
        The model served.
    instance
        The serving process's id (the first part of its request ids).
    sample
        The share of requests logged (recorded with each batch).
    flush_every, batch_rows, max_pending_rows
        When batches are written and how much may wait; see the module docstring.
    tick
        Called by the writer thread after each wake-up, off the request path
        (the serving numbers' heartbeat, :class:`~mlops_nb.serving.stats.StatsBeat`);
        it must not raise.
    """

    def __init__(
        self,
        store: Store,
        model: str,
        instance: str,
        *,
        sample: float = 1.0,
        flush_every: float = FLUSH_EVERY_S,
        batch_rows: int = BATCH_ROWS,
        max_pending_rows: int | None = None,
        actor: str | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.tick = tick
        self.instance = instance
        self.sample = sample
        self.flush_every = flush_every
        self.batch_rows = batch_rows
        self.max_pending_rows = max_pending_rows or 2 * batch_rows
        self.actor = actor or default_actor()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time: thread or close()
        self._pending: list[Prediction] = []
        self._pending_rows = 0
        self._feedback: list[Feedback] = []
        self._shadow: list[Prediction] = []  # answers of a shadow version, never returned
        self._seqs: set[int] = set()  # requests accepted and not yet committed
        self._dropped = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._complained = False
        #: Counters for ``/health`` and the benchmarks.
        self.batches = 0
        self.rows_written = 0
        self.committed_seq = 0

    # -- the request path ------------------------------------------------------------

    def add(self, record: Prediction) -> None:
        """Keep one served request until its batch is written (never blocks on I/O)."""
        with self._lock:
            self._pending.append(record)
            self._seqs.add(record.seq)
            self._pending_rows += record.rows.count
            full = self._pending_rows >= self.batch_rows
            if self._pending_rows > self.max_pending_rows:
                self._drop_oldest()
        if full:
            self._wake.set()

    def add_shadow(self, record: Prediction) -> None:
        """Keep one answer of a shadow version (its request's id and number)."""
        with self._lock:
            self._shadow.append(record)
            if len(self._shadow) > self.max_pending_rows:
                del self._shadow[0]
                self._dropped += 1

    def add_feedback(self, record: Feedback) -> None:
        with self._lock:
            self._feedback.append(record)
            if len(self._feedback) >= self.batch_rows:
                self._wake.set()

    def waiting(self, seq: int) -> bool:
        """Whether request ``seq`` of this process is logged but not yet committed."""
        with self._lock:
            return seq in self._seqs

    def _drop_oldest(self) -> None:
        # Called with the lock held, when the store has refused writes for long.
        while self._pending and self._pending_rows > self.max_pending_rows:
            gone = self._pending.pop(0)
            self._pending_rows -= gone.rows.count
            self._seqs.discard(gone.seq)
            self._dropped += gone.rows.count

    # -- the writer ------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="mlops-nb prediction log", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_every)
            self._wake.clear()
            if self._stop.is_set():
                break
            self.flush(raise_errors=False)
            if self.tick is not None:
                self.tick()

    def flush(self, raise_errors: bool = True) -> int:
        """Write every waiting record now; return how many rows were written.

        On a store error the records stay waiting (up to ``max_pending_rows``)
        for the next attempt; with ``raise_errors`` the error is raised too.
        """
        with self._write_lock:
            with self._lock:
                taken, self._pending, self._pending_rows = self._pending, [], 0
                feedback, self._feedback = self._feedback, []
                shadow, self._shadow = self._shadow, []
                dropped, self._dropped = self._dropped, 0
            written = 0
            try:
                for version, records in _by_version(taken):
                    written += self._write_predictions(version, records, dropped)
                    dropped = 0
                if feedback:
                    self._write_feedback(feedback)
                    feedback = []
                for version, records in _by_version(shadow):
                    self._write_predictions(version, records, 0, kind="shadow")
                    shadow = [r for r in shadow if r not in records]
            except Exception as exc:
                self._keep(taken, feedback, dropped)
                with self._lock:
                    self._shadow = shadow + self._shadow
                if raise_errors:
                    raise
                self._complain(exc)
                return written
            self._complained = False
            return written

    def _keep(self, taken: list[Prediction], feedback: list[Feedback], dropped: int) -> None:
        """Put what could not be written back in front of what came meanwhile."""
        with self._lock:
            left = [r for r in taken if r.seq in self._seqs]  # committed ones were removed
            self._pending = left + self._pending
            self._pending_rows = sum(r.rows.count for r in self._pending)
            self._feedback = feedback + self._feedback
            self._dropped += dropped
            if self._pending_rows > self.max_pending_rows:
                self._drop_oldest()

    def _complain(self, exc: Exception) -> None:
        if not self._complained:
            print(
                f"mlops-nb serve: cannot write the prediction log yet, will retry: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            self._complained = True

    def _write_predictions(
        self, version: int, records: list[Prediction], dropped: int, kind: str = "predictions"
    ) -> int:
        faults.point("log", 1)
        # read at each batch: a policy set while serving applies from the next batch
        data = predictions_file(self.model, records, self.store.log_policy(self.model))
        rows = sum(r.rows.count for r in records)
        sha, _ = self.store.artifacts.write(data)
        faults.point("log", 2)
        with self.store.transaction():
            self.store.record_artifact(sha, len(data), kind, self.actor)
            self.store.record_log_batch(
                {
                    "model": self.model,
                    "kind": kind,
                    "version": version,
                    "instance": self.instance,
                    "first_seq": records[0].seq,
                    "last_seq": records[-1].seq,
                    "first_at": _iso(records[0].at),
                    "last_at": _iso(records[-1].at),
                    "requests": len(records),
                    "rows": rows,
                    "sample": float(self.sample),
                    "dropped": dropped,
                    "file_sha256": sha,
                    "recorded_at": utcnow(),
                },
                self.actor,
            )
            faults.point("log", 3)
        faults.point("log", 4)
        if kind == "shadow":
            self.batches += 1
            return 0
        with self._lock:
            self._seqs.difference_update(r.seq for r in records)
            self.committed_seq = max(self.committed_seq, records[-1].seq)
        self.batches += 1
        self.rows_written += rows
        return rows

    def _write_feedback(self, records: list[Feedback]) -> None:
        faults.point("feedback", 1)
        data = feedback_file(self.model, records)
        sha, _ = self.store.artifacts.write(data)
        faults.point("feedback", 2)
        with self.store.transaction():
            self.store.record_artifact(sha, len(data), "feedback", self.actor)
            self.store.record_log_batch(
                {
                    "model": self.model,
                    "kind": "feedback",
                    "version": None,
                    "instance": self.instance,
                    "first_at": _iso(min(r.at for r in records)),
                    "last_at": _iso(max(r.at for r in records)),
                    "requests": len(records),
                    "rows": len(records),
                    "sample": 1.0,
                    "dropped": 0,
                    "file_sha256": sha,
                    "recorded_at": utcnow(),
                },
                self.actor,
            )
            faults.point("feedback", 3)
        faults.point("feedback", 4)
        self.batches += 1

    def close(self, timeout: float = 60.0) -> None:
        """Stop the writer and write everything still waiting (retrying briefly).

        Raises the last store error if something could still not be written.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.flush()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    @property
    def pending_rows(self) -> int:
        with self._lock:
            return self._pending_rows


def _by_version(records: list[Prediction]) -> list[tuple[int, list[Prediction]]]:
    """The records of each version, in order, versions in the order they first appear.

    One batch per version and flush, not per run of consecutive records: a
    canary interleaves two versions request by request, and a batch per run
    would write a file per request. The request numbers of two versions'
    batches may then overlap (``batches_holding`` returns both; the file says
    which holds a request).
    """
    groups: dict[int, list[Prediction]] = {}
    for record in records:
        groups.setdefault(record.predictor.number, []).append(record)
    return list(groups.items())


def _iso(at: float) -> str:
    return format_time(dt.datetime.fromtimestamp(at, dt.timezone.utc))


# -- the files --------------------------------------------------------------------------


def predictions_file(
    model: str, records: list[Prediction], policy: dict[str, Any] | None = None
) -> bytes:
    """One Parquet file of predictions made by one version (every record's)."""
    import numpy as np

    predictor = records[0].predictor
    counts = [r.rows.count for r in records]
    inputs = {
        column.name: input_array(
            column.kind, [v for r in records for v in r.rows.columns[column.name]]
        )
        for column in predictor.schema.columns
    }
    probabilities = None
    if predictor.classes is not None:
        probabilities = np.concatenate([r.output.probabilities for r in records])
    return predictions_table(
        model,
        predictor,
        request_ids=np.repeat(np.array([r.request_id for r in records], dtype=object), counts),
        row_numbers=np.concatenate([np.arange(n, dtype="int32") for n in counts]),
        micros=np.repeat(
            np.array([round(r.at * 1_000_000) for r in records], dtype="int64"), counts
        ),
        latency=np.repeat(np.array([r.latency_ms for r in records], dtype="float64"), counts),
        predictions=np.concatenate([np.asarray(r.output.predictions) for r in records]),
        probabilities=probabilities,
        inputs=inputs,
        policy=policy,
    )


def predictions_table(
    model: str,
    predictor: Predictor,
    *,
    request_ids: Any,
    row_numbers: Any,
    micros: Any,
    latency: Any,
    predictions: Any,
    probabilities: Any,
    inputs: dict[str, Any],
    batch_id: str | None = None,
    policy: dict[str, Any] | None = None,
) -> bytes:
    """A predictions file from its columns (numpy arrays, one value per predicted row;
    ``inputs``: Arrow arrays by column name); scored batches also carry ``batch_id``.
    The model's log ``policy`` masks and hashes input columns (see ``privacy``)."""
    import numpy as np
    import pyarrow as pa

    from .privacy import apply

    inputs = apply(policy, inputs)
    total = len(request_ids)
    version = predictor.number
    columns: dict[str, Any] = {
        "request_id": pa.array(request_ids, type=pa.string()),
        "row": pa.array(row_numbers, type=pa.int32()),
        "at": pa.array(micros, type=pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "version": pa.array(np.full(total, version, dtype="int32")),
        "latency_ms": pa.array(latency),
        "prediction": _arrow(predictions),
    }
    if batch_id is not None:
        columns["batch_id"] = pa.array(np.full(total, batch_id, dtype=object), type=pa.string())
    if probabilities is not None:
        width = probabilities.shape[1]
        flat = pa.array(probabilities.reshape(-1), type=pa.float64())
        columns["probabilities"] = pa.FixedSizeListArray.from_arrays(flat, width)
    if inputs:
        columns["inputs"] = pa.StructArray.from_arrays(list(inputs.values()), list(inputs))
    meta = {
        "format": FILE_FORMAT,
        "kind": "predictions",
        "model": model,
        "version": version,
        "classes": predictor.classes,
        "signature": predictor.version.signature,
    }
    if batch_id is not None:
        meta["batch_id"] = batch_id
    return _parquet(pa.table(columns), meta)


def feedback_file(model: str, records: list[Feedback]) -> bytes:
    """One Parquet file of feedback."""
    import pyarrow as pa

    columns = {
        "request_id": pa.array([r.request_id for r in records], type=pa.string()),
        "at": pa.array([round(r.at * 1_000_000) for r in records], type=pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        ),
        "label": pa.array(
            [None if r.label is None else json.dumps(r.label) for r in records],
            type=pa.string(),
        ),
        "value": pa.array([r.value for r in records], type=pa.float64()),
    }
    meta = {"format": FILE_FORMAT, "kind": "feedback", "model": model}
    return _parquet(pa.table(columns), meta)


def _parquet(table: Any, meta: dict[str, Any]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _arrow(values: Any) -> Any:
    """A numpy array of predictions as an Arrow array; mixed objects as JSON text."""
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([json.dumps(_plain(v)) for v in values.tolist()], type=pa.string())


def input_array(kind: str, values: list[Any]) -> Any:
    """Logged values of one input column as an Arrow array of its training kind."""
    import pyarrow as pa

    typed = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "text": pa.string()}
    if kind in typed:
        return pa.array(values, type=typed[kind])
    if kind == "datetime":
        return pa.array(values, type=pa.string())  # as sent: ISO text
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else json.dumps(v) for v in values], type=pa.string())


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
