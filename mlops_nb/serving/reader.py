"""Reading the prediction log back: one DataFrame of what was predicted, with its feedback.

Each batch file is read through the store (checked against its SHA-256, as
every artifact), so a log file altered after the fact is refused, not read.
One row per predicted row: ``request_id``, ``at`` (UTC), ``version``,
``row`` (its place in the request), ``prediction``, ``probabilities`` (for
classifiers, in the order of the version's classes), ``latency_ms``,
``batch_id`` (rows scored by :func:`~mlops_nb.serving.scoring.score`; empty
for served requests), the input columns under their training names (and a
scored table's other columns), and the latest feedback given
for the request: ``label``, ``value``, ``feedback_at``. An input column
whose name is one of those is renamed ``input.<name>``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..jsonutil import format_time, parse_time
from .log import META_KEY

if TYPE_CHECKING:
    from ..store import Store

META_COLUMNS = (
    "request_id",
    "at",
    "version",
    "row",
    "prediction",
    "probabilities",
    "latency_ms",
    "batch_id",
    "label",
    "value",
    "feedback_at",
)
_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.ASCII)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BARE_DATE = re.compile(r"\d{4}-?\d{2}-?\d{2}", re.ASCII)


def since_time(text: str | dt.datetime | None, now: dt.datetime | None = None) -> str | None:
    """A ``--since`` value as a store time: ``7d``, ``12h``, ``30m``, ``90s``, ``2w`` ago,
    a date (from its start, UTC) or an ISO date and time."""
    if text is None:
        return None
    if isinstance(text, dt.datetime):
        return parse_time(text)
    if not isinstance(text, str):
        raise InvalidInputError(f"since must be text such as 7d or 2026-07-01, not {text!r}")
    value = text.strip()
    found = _AGO.fullmatch(value)
    if found:
        seconds = float(found.group(1)) * _UNIT_S[found.group(2)]
        if seconds > 100 * 366 * 86400:
            raise InvalidInputError(f"since {value!r} reaches back more than a century")
        moment = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(seconds=seconds)
        return format_time(moment)
    if _BARE_DATE.fullmatch(value):
        day = value.replace("-", "")
        return parse_time(f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00Z")
    return parse_time(value)


def predictions(
    store: Store,
    name: str,
    *,
    since: str | dt.datetime | None = None,
    until: str | dt.datetime | None = None,
    version: int | None = None,
    batch: str | None = None,
    feedback: bool = True,
) -> Any:
    """The prediction log of model ``name`` as a pandas DataFrame (see the module docstring).

    Parameters
    ----------
    since, until
        Only predictions made from / up to these times (``since`` also takes
        ``7d``, ``12h`` ...; a date means its start for ``since``, its end
        for ``until``).
    version
        Only predictions made by this version.
    batch
        Only the rows of this scored batch (its ``batch_id``).
    feedback
        Join the latest feedback given for each request (``label``, ``value``,
        ``feedback_at``).

    Raises
    ------
    NotFoundError
        There is no model ``name``.
    IntegrityError
        A batch file is missing or was altered.
    """
    import pandas as pd

    from ..registry.names import check_model_name, parse_version

    name = check_model_name(name)
    store.list_versions(name)  # NotFoundError for a model that does not exist
    start = since_time(since)
    end = None if until is None else parse_time(until)
    number = None if version is None else parse_version(version)
    found = store.log_batches(name, "predictions", since=start, until=end, version=number)
    if batch is not None:
        found = [b for b in found if b["instance"] == batch]
    frames = [_frame(store, b["file_sha256"]) for b in found]
    if not frames:
        return _empty(feedback)
    frame = pd.concat(frames, ignore_index=True, sort=False)
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame["at"] >= pd.Timestamp(start)
    if end is not None:
        keep &= frame["at"] <= pd.Timestamp(end)
    frame = _in_order(frame[keep])
    if feedback:
        frame = _with_feedback(store, name, frame, start)
    first = [c for c in META_COLUMNS[:8] if c in frame.columns]
    last = [c for c in META_COLUMNS[8:] if c in frame.columns]
    middle = [c for c in frame.columns if c not in META_COLUMNS]
    return frame[first + middle + last]


def _in_order(frame: Any) -> Any:
    """Rows by time, then by the process that answered and its request number.

    A request id is ``INSTANCE-NUMBER``; its number is compared as a number,
    so request 10 follows request 9 when both carry the same time.
    """
    if frame.empty:
        return frame.reset_index(drop=True)
    parts = frame["request_id"].str.rpartition("-")
    keys = frame.assign(_instance=parts[0], _number=parts[2].astype("int64"))
    keys = keys.sort_values(["at", "_instance", "_number", "row"], kind="stable")
    return keys.drop(columns=["_instance", "_number"]).reset_index(drop=True)


def _frame(store: Store, sha256: str) -> Any:
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(store.get_artifact(sha256)))
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    inputs = None
    if "inputs" in table.column_names:
        inputs = table.column("inputs").combine_chunks()
        table = table.drop_columns(["inputs"])
    frame = table.to_pandas()
    if meta.get("classes") is not None and "probabilities" in frame:
        frame["probabilities"] = frame["probabilities"].map(list)
    if inputs is not None:
        for field, values in zip(inputs.type, inputs.flatten()):
            column = field.name if field.name not in META_COLUMNS else f"input.{field.name}"
            frame[column] = values.to_pandas()
    return frame


def _with_feedback(store: Store, name: str, frame: Any, since: str | None) -> Any:
    import pandas as pd
    import pyarrow.parquet as pq

    parts = [
        pq.read_table(io.BytesIO(store.get_artifact(batch["file_sha256"]))).to_pandas()
        for batch in store.log_batches(name, "feedback", since=since)
    ]
    if not parts:
        for column in ("label", "value", "feedback_at"):
            frame[column] = None
        return frame
    given = pd.concat(parts, ignore_index=True).sort_values("at", kind="stable")
    latest = given.drop_duplicates("request_id", keep="last").rename(columns={"at": "feedback_at"})
    # A missing label reads back as NaN (pandas' text columns): no label given.
    latest["label"] = (
        latest["label"]
        .astype(object)
        .map(lambda text: json.loads(text) if isinstance(text, str) else None)
    )
    return frame.merge(latest, on="request_id", how="left")


def _empty(feedback: bool) -> Any:
    import pandas as pd

    names = [c for c in META_COLUMNS if feedback or c not in ("label", "value", "feedback_at")]
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in names})
    frame["at"] = pd.Series(dtype="datetime64[us, UTC]")
    return frame


def items(frame: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """JSON items of a predictions frame (``--json``): meta fields plus ``inputs``."""
    from .predictor import json_values

    rows = frame if not limit else frame.tail(limit)
    out = []
    features = [c for c in rows.columns if c not in META_COLUMNS]
    for record in rows.to_dict("records"):
        item: dict[str, Any] = {}
        for key in META_COLUMNS:
            if key not in record:
                continue
            value = record[key]
            if key in ("at", "feedback_at"):
                value = None if value is None or value != value else format_time(value)
            else:
                value = json_values(value) if hasattr(value, "tolist") else _plain(value)
            item[key] = value
        item["inputs"] = {c: _plain(record[c]) for c in features}
        out.append(item)
    return out


def _plain(value: Any) -> Any:
    import math

    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value
