"""Cron expressions: checked, read in an IANA time zone, in words, and their slots.

Five fields as in crontab(5), read by cronsim in the schedule's zone; on a
DST change a slot in the skipped hour runs once, right after the change, and
a slot in the repeated hour runs once. Every time given back is UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidInputError
from ..jsonutil import format_time

#: At most this many slots are considered per schedule and tick.
MAX_SLOTS = 1000


def to_utc(now: dt.datetime | dt.date | str | None) -> dt.datetime:
    """An aware UTC datetime from ``None`` (now), an ISO string, a date or a datetime.

    Strings, dates and naive datetimes are read by
    :func:`~mlops_nb.jsonutil.parse_time`: a bare date is the end of that
    day, a time without an offset is UTC.
    """
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    from ..jsonutil import parse_time

    return dt.datetime.fromisoformat(parse_time(now))


def zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    # a name too long for a file name, or not encodable as one, is no zone either
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise InvalidInputError(
            f"unknown time zone {name!r} (use an IANA name such as "
            "Europe/Berlin or America/New_York)"
        ) from None


#: The standard nicknames and the five fields each stands for.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = "minute hour day-of-month month day-of-week"
_RANGES = {
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31, L or LW, on a day the months named have",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT, 5L for the last Friday, 1#2 for the second Monday",
}


def check_cron(expr: str, tz: str = "UTC") -> str:
    """Validate a cron expression; return it as five space-separated fields.

    Five fields, ``minute hour day-of-month month day-of-week``, as in
    crontab(5): numbers, ``*``, ranges ``a-b``, steps ``*/n`` or ``a-b/n``,
    lists, and month and day names (``JAN``, ``MON``); when both day fields
    are restricted a day matching either runs. Also accepted: ``L`` (last
    day of the month) and ``LW`` (its last weekday) as the day of month,
    ``5L`` (the month's last Friday) and ``1#2`` (its second Monday) as the
    day of week, and the nicknames ``@hourly``, ``@daily`` (``@midnight``),
    ``@weekly``, ``@monthly`` and ``@yearly`` (``@annually``), stored as
    their five fields. Refused: a sixth (seconds) or seventh (years) field,
    ``@reboot``, ``W`` other than in ``LW``, a step on ``L``, values out of
    range, and days no month has (``30 2``), each with exit code 2.
    """
    from cronsim import CronSim, CronSimError

    text = " ".join(str(expr).split())
    if text.startswith("@"):
        if text.lower() not in NICKNAMES:
            why = "runs at no time" if text.lower() == "@reboot" else "is not a nickname"
            raise InvalidInputError(
                f"bad cron expression {expr!r}: {text} {why} (use five fields or one of "
                f"{', '.join(NICKNAMES)})"
            )
        text = NICKNAMES[text.lower()]
    fields = text.split(" ") if text else []
    if len(fields) != 5:
        raise InvalidInputError(
            f"bad cron expression {expr!r}: it needs exactly five fields ({_FIELDS}), "
            f"not {len(fields)}" + (" (no seconds or years field)" if len(fields) > 5 else "")
        )
    # cronsim reads "L/2" as plain "L" in the day of month: the step would be
    # dropped silently.
    if any(
        item.split("/")[0].upper() in ("L", "LW") for item in fields[2].split(",") if "/" in item
    ):
        raise InvalidInputError(f"bad cron expression {expr!r}: no step on L in the day-of-month")
    try:
        nxt = next(iter(CronSim(text, dt.datetime.now(zone(tz)))), None)
    except CronSimError as exc:
        # cronsim says "Bad <field>"; name the field's text and what it takes.
        for i, (name, hint) in enumerate(_RANGES.items()):
            if str(exc) == f"Bad {name}":
                raise InvalidInputError(
                    f"bad cron expression {expr!r}: {fields[i]!r} is not a valid {name} ({hint})"
                ) from None
        raise InvalidInputError(f"bad cron expression {expr!r}: {exc}") from None
    if nxt is None:
        raise InvalidInputError(f"bad cron expression {expr!r}: it never fires")
    return text


def _slots(cron: str, tz: str, after: dt.datetime) -> Iterator[dt.datetime]:
    """The cron's slots after ``after``, in UTC, for as long as dates go (year 9999)."""
    from cronsim import CronSim

    where = zone(tz)
    try:
        start = after.astimezone(where)
    except OverflowError:
        if after.year > 1:
            return  # the zone's local time passes year 9999: no slot after this
        # West of UTC, local time begins (1 January of year 1) after ``after``;
        # CronSim yields only times after its start, so check the first second.
        start = dt.datetime.min.replace(tzinfo=where)
        try:
            first = next(CronSim(cron, start + dt.timedelta(seconds=1), reverse=True))
            if first == start:
                yield first.astimezone(dt.timezone.utc)
        except (StopIteration, OverflowError):
            pass
    moments = iter(CronSim(cron, start))
    while True:
        try:
            # Near year 9999 the next slot, or its UTC time, is not a datetime.
            yield next(moments).astimezone(dt.timezone.utc)
        except (StopIteration, OverflowError):
            return


def fire_times(
    cron: str, tz: str, after: dt.datetime, until: dt.datetime, limit: int = MAX_SLOTS
) -> list[dt.datetime]:
    """Slots in (after, until], in UTC, at most ``limit`` (the newest ones)."""
    times: list[dt.datetime] = []
    for utc in _slots(cron, tz, after):
        if utc > until:
            break
        if utc > after:
            times.append(utc)
            if len(times) > limit:
                times.pop(0)
    return times


def describe_cron(expr: str, tz: str = "UTC") -> str:
    """A valid cron expression in words, with its time zone.

    ``"0 6 1 * *"`` in ``Europe/Berlin`` reads "At 06:00 on the first day of
    every month (Europe/Berlin)".
    """
    from cronsim import CronSim

    text = check_cron(expr, tz)
    return f"{CronSim(text, dt.datetime(2000, 1, 1)).explain()} ({tz})"


def upcoming(cron: str, tz: str, after: dt.datetime, count: int) -> list[str]:
    """The first ``count`` slots after ``after`` (UTC ISO); fewer near year 9999."""
    out: list[str] = []
    for utc in _slots(cron, tz, after):
        if utc > after:
            out.append(format_time(utc))
            if len(out) == count:
                break
    return out
