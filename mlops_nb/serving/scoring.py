"""Batch scoring: a table through a registry version, logged like served requests.

:func:`score` checks every row against the version's training schema (the
same checks as ``POST /predict``), predicts them all, and writes them into
the model's prediction log as one batch: each row gets a request id
``BATCH-N`` (``N`` from 1), so drift checks of the log, feedback (a label
for a row, given later by request id) and "which version scored customer X"
work for batches as for served requests. Columns of the table that the
model was not trained on (a customer id, a name) are carried through to
the output and into the log, where erasure can find them.

The log's batch file, its rows and their audit events commit in one
transaction after every row is scored; the output file is put in place
only after that commit. A crash leaves either the whole batch logged or
nothing, and never an output file for a batch the log does not hold.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..environment import process_alive
from ..errors import InvalidInputError, SchemaMismatchError
from ..jsonutil import format_time
from ..store import faults

if TYPE_CHECKING:
    from ..store import Store
    from .predictor import Predictor

#: Columns the output adds beside the table's own (and ``probability_<class>``).
OUTPUT_COLUMNS = ("prediction", "version", "request_id", "batch_id")


def score(
    store: Store,
    ref: str,
    data: Any,
    *,
    output: str | os.PathLike[str] | None = None,
    trusted: tuple[str, ...] | list[str] = (),
    allow_pickle: bool = False,
    actor: str | None = None,
) -> Any:
    """Score ``data`` with ``ref`` (``NAME[@ALIAS|:VERSION]``, a bare name is
    ``NAME@production``) and log every row; return the scored table.

    Parameters
    ----------
    data
        A pandas DataFrame holding at least the training columns.
    output
        Also write the scored table to this Parquet file (in place only once
        the batch is logged).
    trusted, allow_pickle
        As for :func:`~mlops_nb.registry.load_model`.

    Returns
    -------
    pandas.DataFrame
        ``data``'s columns, then ``prediction``, ``probability_<class>`` for
        each class of a classifier, ``version``, ``request_id`` and ``batch_id``.

    Raises
    ------
    SchemaMismatchError
        Missing training columns or values of the wrong type, each named
        (nothing is logged or written).
    NotFoundError
        No such model, alias or version.
    """
    import numpy as np
    import pandas as pd

    from ..registry import resolve
    from .predictor import Predictor
    from .runtime import new_id, serving_ref

    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"score needs a pandas DataFrame, not {type(data).__name__}")
    if data.empty:
        raise InvalidInputError("the table to score has no rows")
    target = None if output is None else _output_path(output)
    name, alias, number = serving_ref(ref)
    found = resolve(store, f"{name}:{number}" if number is not None else f"{name}@{alias}")
    predictor = Predictor.load(
        store, name, found.version, trusted=tuple(trusted), allow_pickle=allow_pickle
    )
    data = data.rename(columns=str)
    classes = [] if predictor.classes is None else [f"probability_{c}" for c in predictor.classes]
    taken = sorted(set(data.columns) & {*OUTPUT_COLUMNS, *classes})
    if taken:
        raise InvalidInputError(
            f"the table already has columns the scores go in: {', '.join(taken)}"
        )
    began = time.perf_counter()
    rows = _rows(predictor, data)
    result = predictor.predict(rows)
    per_row_ms = (time.perf_counter() - began) * 1000.0 / len(data)
    batch_id = new_id()
    request_ids = np.array([f"{batch_id}-{n}" for n in range(1, len(data) + 1)], dtype=object)
    scored = data.reset_index(drop=True).copy()
    scored["prediction"] = result.predictions
    if result.probabilities is not None:
        for i, column in enumerate(classes):
            scored[column] = result.probabilities[:, i]
    scored["version"] = found.version
    scored["request_id"] = request_ids
    scored["batch_id"] = batch_id
    staged = None
    if target is not None:
        # written beside the target first, put in place once the log holds the batch
        _remove_stale(target)
        staged = target.with_name(f".{target.name}.{os.getpid()}-{batch_id}.tmp")
        scored.to_parquet(staged, index=False)
    try:
        _log(store, name, predictor, rows, data, result, request_ids, per_row_ms, batch_id, actor)
        if staged is not None and target is not None:
            os.replace(staged, target)
            staged = None
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    return scored


def _remove_stale(target: Path) -> None:
    """Delete the staged files a killed scoring process left beside ``target``.

    A staged file names the process that wrote it; one whose process is gone
    can never be put in place, while a live process's file is its own business
    (another score into the same file may be running).
    """
    for staged in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid, _, _ = staged.name[len(target.name) + 2 : -len(".tmp")].partition("-")
        if pid.isdigit() and not process_alive(int(pid)):
            staged.unlink(missing_ok=True)


def _output_path(output: str | os.PathLike[str]) -> Path:
    from .. import limits

    target = limits.output_file(output, "output file")
    if target.suffix.lower() not in (".parquet", ".pq"):
        raise InvalidInputError(f"output file {output} must end in .parquet")
    return target


def _rows(predictor: Predictor, data: Any) -> Any:
    """The table's training columns, checked as ``POST /predict`` checks a body."""
    import pandas as pd

    schema = predictor.schema
    missing = [c for c in schema.names if c not in data.columns]
    if missing:
        problems = [f"missing column '{c}'" for c in missing]
        raise SchemaMismatchError("; ".join(problems), problems)
    values = []
    for column in schema.columns:
        series = data[column.name]
        if pd.api.types.is_datetime64_any_dtype(series):
            # datetimes travel as ISO text, as in a request
            series = series.map(lambda t: None if pd.isna(t) else t.isoformat())
        values.append(series.astype(object).where(series.notna(), None).tolist())
    return schema.parse({"columns": schema.names, "data": [list(r) for r in zip(*values)]})


def _log(
    store: Store,
    name: str,
    predictor: Predictor,
    rows: Any,
    data: Any,
    result: Any,
    request_ids: Any,
    per_row_ms: float,
    batch_id: str,
    actor: str | None,
) -> None:
    """One predictions batch for the whole table: file stored, then its rows in one transaction."""
    import numpy as np

    from .log import input_array, predictions_table

    actor = actor or default_actor()
    count = len(request_ids)
    moment = dt.datetime.now(dt.timezone.utc)
    now = format_time(moment)
    micros = round(moment.timestamp() * 1_000_000)
    inputs = {
        column.name: input_array(column.kind, rows.columns[column.name])
        for column in predictor.schema.columns
    }
    for column in data.columns:
        if column not in inputs:
            inputs[column] = _carried(data[column])
    faults.point("score", 1)
    file = predictions_table(
        name,
        predictor,
        request_ids=request_ids,
        row_numbers=np.zeros(count, dtype="int32"),
        micros=np.full(count, micros, dtype="int64"),
        latency=np.full(count, per_row_ms, dtype="float64"),
        predictions=np.asarray(result.predictions),
        probabilities=result.probabilities,
        inputs=inputs,
        batch_id=batch_id,
        policy=store.log_policy(name),
    )
    sha, _ = store.artifacts.write(file)
    faults.point("score", 2)
    with store.transaction():
        store.record_artifact(sha, len(file), "predictions", actor)
        store.record_log_batch(
            {
                "model": name,
                "kind": "predictions",
                "version": predictor.number,
                "instance": batch_id,
                "first_seq": 1,
                "last_seq": count,
                "first_at": now,
                "last_at": now,
                "requests": count,
                "rows": count,
                "sample": 1.0,
                "dropped": 0,
                "file_sha256": sha,
                "recorded_at": now,
            },
            actor,
        )
        faults.point("score", 3)
    faults.point("score", 4)


def _carried(series: Any) -> Any:
    """A column the model does not use, as Arrow takes it (text when it will not)."""
    import json

    import pyarrow as pa

    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array(
            [None if v is None or v != v else json.dumps(v, default=str) for v in series],
            type=pa.string(),
        )
