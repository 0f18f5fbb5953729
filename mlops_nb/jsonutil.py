"""Canonical JSON and UTC time, shared by the store and the audit chain."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import threading
from collections.abc import Iterator
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
    """Now, as an ISO-8601 UTC string with microseconds (sorts as text).

    Inside :func:`simulated_clock`, the simulated time instead.
    """
    if _simulated is not None:
        return format_time(_simulated.read())
    return format_time(dt.datetime.now(dt.timezone.utc))


class SimulatedClock:
    """The time every record gets inside :func:`simulated_clock`.

    Each reading returns the clock's moment and then moves it one
    millisecond on, so records made one after another keep their order.
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def read(self) -> dt.datetime:
        with self._lock:
            moment, self._now = self._now, self._now + dt.timedelta(milliseconds=1)
            return moment

    def now(self) -> str:
        """The moment the next record will get (the clock does not move)."""
        return format_time(self._now)

    def set(self, moment: str | dt.date) -> None:
        """Move the clock to ``moment`` (a bare date: the start of that day); never back."""
        from .errors import InvalidInputError

        target = _moment(parse_start(moment))
        with self._lock:
            if target < self._now:
                raise InvalidInputError(
                    f"the simulated clock is at {format_time(self._now)}: it does not go back "
                    f"to {format_time(target)}"
                )
            self._now = target

    def advance(self, **delta: float) -> None:
        """Move the clock on by ``datetime.timedelta(**delta)``, e.g. ``days=7``."""
        step = dt.timedelta(**delta)
        if step < dt.timedelta(0):
            from .errors import InvalidInputError

            raise InvalidInputError("the simulated clock does not go back")
        with self._lock:
            self._now += step


_simulated: SimulatedClock | None = None


@contextlib.contextmanager
def simulated_clock(start: str | dt.date) -> Iterator[SimulatedClock]:
    """Record everything in this block at simulated times, from ``start`` on.

    For demonstrations and tests that tell a story over months (a model
    trained, promoted and checked "last summer") in seconds. Every time
    mlops-nb records in this process, in every record and audit event, comes
    from the returned clock; move it with ``clock.set(...)`` or
    ``clock.advance(days=7)``. It proves nothing about real time: the audit
    chain proves order and integrity, and a checkpoint kept elsewhere
    (``mlops-nb audit checkpoint``) proves when. Not for a real store.
    """
    global _simulated
    from .errors import ConflictError

    if _simulated is not None:
        raise ConflictError("a simulated clock is already running in this process")
    _simulated = SimulatedClock(_moment(parse_start(start)))
    try:
        yield _simulated
    finally:
        _simulated = None


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def format_time(moment: dt.datetime) -> str:
    """``moment`` in the store's one time format: UTC, microseconds, a four-digit year.

    Every stored time has this fixed width, so comparing two as text
    compares them as times (years before 1000 included).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


# The spellings parse_time accepts, and no others: a date (extended or
# compact), optionally a time to the minute, second or microsecond, and an
# offset only after a time. ASCII digits only. Python's own fromisoformat
# accepts much more (week dates, hour-only times, any digits), and what it
# accepts changes between versions.
_MOMENT = re.compile(
    r"""
    (?P<year>\d{4}) (?P<dash>-?) (?P<month>\d{2}) (?P=dash) (?P<day>\d{2})
    (?:
        [T\ ] (?P<hour>\d{2}) : (?P<minute>\d{2})
        (?: : (?P<second>\d{2}) (?: \. (?P<fraction>\d{1,6}) )? )?
        (?P<offset> Z | (?P<sign>[+-]) (?P<off_h>\d{2}) :? (?P<off_m>\d{2}) )?
    )?
    """,
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)


def parse_time(value: str | dt.date) -> str:
    """Parse a user-given date or datetime into the store's time format.

    Accepted: ``2026-07-15`` or ``20260715`` (a bare date: the **end** of that
    day, UTC), or a date with a time, ``2026-07-15T09:30``, ``…T09:30:15`` or
    ``…T09:30:15.250``, a space allowed for the ``T``, then optionally ``Z`` or
    an offset such as ``+02:00``; a time without an offset is UTC. A
    :class:`datetime.date` or :class:`datetime.datetime` is read the same
    way. The result must lie within the years 1 to 9999 in UTC.

    Raises
    ------
    InvalidInputError
        For any other spelling, an impossible date or time, or a moment
        outside that range.
    """
    from .errors import InvalidInputError

    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
        shown = value.isoformat()
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time.max, tzinfo=dt.timezone.utc)
        shown = value.isoformat()
    elif isinstance(value, str):
        moment, shown = _parse(value.strip()), value.strip()
    else:
        raise InvalidInputError(
            f"a time must be an ISO date or datetime string, not {type(value).__name__}"
        )
    try:
        return format_time(moment)
    except OverflowError:
        raise InvalidInputError(
            f"{shown!r} is out of range: times must lie within the years 1 to 9999 in UTC"
        ) from None


def parse_start(value: str | dt.date) -> str:
    """Like :func:`parse_time`, but a bare date means the **start** of that day, UTC.

    For the first moment of a period (``--from 2026-06-01``), where
    :func:`parse_time`'s end of the day would leave the day itself out.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_time(dt.datetime.combine(value, dt.time.min, tzinfo=dt.timezone.utc))
    if isinstance(value, str):
        found = _MOMENT.fullmatch(value.strip())
        if found is not None and found["hour"] is None:
            end = dt.datetime.fromisoformat(parse_time(value))
            return format_time(end.replace(hour=0, minute=0, second=0, microsecond=0))
    return parse_time(value)


def _parse(text: str) -> dt.datetime:
    from .errors import InvalidInputError

    found = _MOMENT.fullmatch(text)
    if found is None:
        raise InvalidInputError(
            f"not an ISO date or datetime: {text!r} (try 2026-07-15 or 2026-07-15T12:00:00Z)"
        )
    n = {k: int(v) for k, v in found.groupdict().items() if v and v.isdigit()}
    try:
        day = dt.date(n["year"], n["month"], n["day"])
        if found["hour"] is None:
            return dt.datetime.combine(day, dt.time.max, tzinfo=dt.timezone.utc)
        zone = dt.timezone.utc
        if found["sign"]:
            if n["off_h"] > 23 or n["off_m"] > 59:
                raise ValueError("a UTC offset lies between -23:59 and +23:59")
            shift = dt.timedelta(hours=n["off_h"], minutes=n["off_m"])
            zone = dt.timezone(-shift if found["sign"] == "-" else shift)
        micro = int((found["fraction"] or "0").ljust(6, "0"))
        clock = dt.time(n["hour"], n["minute"], n.get("second", 0), micro)
    except ValueError as exc:  # Feb 30, 24:00, year 0
        raise InvalidInputError(f"not a valid date or time: {text!r} ({exc})") from None
    return dt.datetime.combine(day, clock, tzinfo=zone)
