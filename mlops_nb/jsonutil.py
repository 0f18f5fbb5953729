"""Canonical JSON and UTC time, shared by the store and the audit chain."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Serialise ``obj`` the one way the audit chain hashes it.

    Keys sorted, no whitespace, non-finite floats refused.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


def jsonable(value: Any) -> Any:
    """Convert numpy scalars, tuples and paths into plain JSON values.

    Raises ``TypeError`` for anything that has no faithful JSON form and
    ``ValueError`` for NaN or infinity.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        # numpy scalar / 0-d array
        return jsonable(item())
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    fspath = getattr(value, "__fspath__", None)
    if callable(fspath):
        return str(fspath())
    raise TypeError(f"{type(value).__name__} has no JSON form")


def utcnow() -> str:
    """Now, as an ISO-8601 UTC string with microseconds (sorts as text)."""
    return format_time(dt.datetime.now(dt.timezone.utc))


def format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def parse_time(text: str) -> str:
    """Parse a user-given ISO date or datetime into the store's time format.

    A date without a time means the end of that day; a time without an
    offset is taken as UTC.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max, tzinfo=dt.timezone.utc)
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not an ISO date or datetime: {text!r} (try 2026-07-15 or 2026-07-15T12:00:00Z)"
        ) from None
    return format_time(moment)
