"""The store's one time format and the one reader of user-given times (parse_time)."""

import datetime as dt

import pytest

from mlops_nb.errors import InvalidInputError
from mlops_nb.jsonutil import format_time, parse_time

UTC = dt.timezone.utc
END = "T23:59:59.999999+00:00"


@pytest.mark.parametrize(
    "text, stored",
    [
        # A bare date is the end of that day, UTC, however it is spelled.
        ("2026-11-30", "2026-11-30" + END),
        ("20261130", "2026-11-30" + END),
        (" 2026-11-30 ", "2026-11-30" + END),
        ("0999-12-31", "0999-12-31" + END),
        ("0001-01-01", "0001-01-01" + END),
        ("9999-12-31", "9999-12-31" + END),
        # A time without an offset is UTC; an offset is converted.
        ("2026-11-30T12:00", "2026-11-30T12:00:00.000000+00:00"),
        ("2026-11-30 12:00:05", "2026-11-30T12:00:05.000000+00:00"),
        ("2026-11-30t12:00:05.5z", "2026-11-30T12:00:05.500000+00:00"),
        ("20261130T12:00Z", "2026-11-30T12:00:00.000000+00:00"),
        ("2026-11-30T12:00-05:00", "2026-11-30T17:00:00.000000+00:00"),
        ("2026-11-30T12:00+0530", "2026-11-30T06:30:00.000000+00:00"),
        ("2026-11-30T01:00+02:00", "2026-11-29T23:00:00.000000+00:00"),
        # The limits themselves.
        ("0001-01-01T00:00Z", "0001-01-01T00:00:00.000000+00:00"),
        ("0001-01-01T04:00-04:00", "0001-01-01T08:00:00.000000+00:00"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31" + END),
        ("9999-12-31T23:59+00:00", "9999-12-31T23:59:00.000000+00:00"),
    ],
)
def test_accepted_spellings(text, stored):
    assert parse_time(text) == stored


@pytest.mark.parametrize(
    "text",
    [
        "2026-W48-1",  # week date
        "2026W481",
        "2026-11-30T12",  # an hour alone
        "2026-334",  # ordinal date
        "２０２６-11-30",  # digits, but not ASCII ones
        "2026-1130",  # half compact
        "2026-11-30Z",  # an offset needs a time
        "+2026-11-30",
        "26-11-30",
        "2026-11-30T12:00:00.1234567",  # finer than the store keeps
        "2026-11-30T12:00 Europe/Berlin",
        "yesterday",
        "",
    ],
)
def test_other_spellings_are_refused(text):
    with pytest.raises(InvalidInputError, match="not an ISO date or datetime"):
        parse_time(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2026-13-01",
        "0000-01-01",
        "2026-11-30T24:00",
        "2026-11-30T12:60",
        "2026-11-30T12:00:60",
        "2026-11-30T12:00+24:00",
        "2026-11-30T12:00-05:60",
    ],
)
def test_impossible_dates_and_times_are_refused(text):
    with pytest.raises(InvalidInputError, match="not a valid date or time"):
        parse_time(text)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00+05:00",  # before year 1 in UTC
        "9999-12-31T23:00-05:00",  # after year 9999 in UTC
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-1))),
    ],
)
def test_moments_outside_the_years_1_to_9999_are_refused(value):
    with pytest.raises(InvalidInputError, match="out of range"):
        parse_time(value)


def test_dates_and_datetimes_follow_the_same_rules():
    assert parse_time(dt.date(2026, 11, 30)) == "2026-11-30" + END
    assert parse_time(dt.datetime(2026, 11, 30, 12)) == "2026-11-30T12:00:00.000000+00:00"
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert parse_time(dt.datetime(2026, 11, 30, 12, tzinfo=berlin)).startswith("2026-11-30T11:00")
    with pytest.raises(InvalidInputError, match="not int"):
        parse_time(20261130)  # type: ignore[arg-type]


def test_stored_times_sort_as_text_in_time_order():
    moments = [
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(99, 6, 1, tzinfo=UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1000, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 7, 15, 9, 30, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    texts = [format_time(m) for m in moments]
    assert sorted(texts) == texts
    assert len({len(t) for t in texts}) == 1  # one fixed width
    assert [dt.datetime.fromisoformat(t) for t in texts] == moments  # and read back exactly
    # A parsed user time compares with stored times the same way.
    assert parse_time("0999-12-31") < format_time(moments[4]) < parse_time("9999-12-31")
