"""One rule for numbers and times on every surface (the panel pins the same examples)."""

import json
import math
from pathlib import Path

import pytest

from mlops_nb.display import format_apart, format_number, format_time, table_text

EXAMPLES = json.loads((Path(__file__).parent / "format_examples.json").read_text("utf-8"))


@pytest.mark.parametrize("value, shown", EXAMPLES["numbers"], ids=lambda v: repr(v))
def test_numbers_read_as_the_panel_writes_them(value, shown):
    assert format_number(value) == shown


def test_numbers_json_cannot_carry():
    assert format_number(math.nan) == "NaN"
    assert (format_number(math.inf), format_number(-math.inf)) == ("∞", "-∞")
    assert format_number(True) == "true"  # a flag, not the number 1


@pytest.mark.parametrize("iso, zone, shown", EXAMPLES["times"])
def test_times_carry_their_zone(iso, zone, shown):
    assert format_time(iso, zone) == shown


def test_python_surfaces_show_utc_and_keep_what_they_cannot_read():
    assert format_time("2026-11-30T03:10:09.123456+00:00") == "Mon 2026-11-30 03:10 UTC"
    assert format_time("2026-11-30T03:10:09") == "Mon 2026-11-30 03:10 UTC"  # stored as UTC
    assert format_time("last tuesday") == "last tuesday"
    assert format_time(None) == "–"


def test_compared_numbers_get_the_digits_that_tell_them_apart():
    assert format_apart(0.82855, 0.8286) == ("0.82855", "0.8286")
    assert format_apart(0.86, 0.9) == ("0.86", "0.9")
    assert format_apart(0.5, 0.5) == ("0.5", "0.5")


def test_tables_use_the_rule_for_numbers_and_stored_times():
    text = table_text(
        [{"version": 1, "accuracy": 0.8286657017313789, "at": "2026-11-30T03:10:09.1+00:00"}],
        ["version", "accuracy", "at"],
    )
    assert "0.8287" in text and "Mon 2026-11-30 03:10 UTC" in text
    assert "0.828666" not in text and "T03:10" not in text
