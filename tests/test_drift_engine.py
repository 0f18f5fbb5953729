"""Verdicts, noise floors and bad input for drift checks of frames."""

import json

import numpy as np
import pandas as pd
import pytest

from mlops_nb.errors import InvalidInputError
from mlops_nb.monitoring.drift import check_frame, profile


def frame(n, seed, shift=0.0, p_first=0.25):
    rng = np.random.default_rng(seed)
    rest = (1 - p_first) / 3
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.lognormal(0, 1, n),
            "c": rng.integers(0, 1000, n).astype(float),
            "kind": rng.choice(["w", "x", "y", "z"], n, p=[p_first, rest, rest, rest]),
            "flag": rng.random(n) < 0.3,
            "small_int": rng.integers(0, 5, n),
        }
    )


@pytest.fixture(scope="module")
def reference():
    return profile(frame(200_000, 0))


def test_kinds_are_chosen_sensibly(reference):
    kinds = {c.name: c.kind for c in reference.columns.values()}
    assert kinds == {
        "a": "numeric",
        "b": "numeric",
        "c": "numeric",
        "kind": "categorical",
        "flag": "categorical",
        "small_int": "categorical",
    }
    sizes = [len(json.dumps(c)) for c in reference.to_json()["columns"]]
    assert max(sizes) < 16_000


@pytest.mark.parametrize("rows", [200, 2_000, 1_000_000])
def test_same_distribution_raises_no_alarm_at_any_batch_size(reference, rows):
    for seed in range(1, 4 if rows < 1_000_000 else 2):
        report = check_frame(reference, frame(rows, seed))
        assert not report.drift, str(report)
        assert report.drifted == []


def test_a_shifted_column_in_a_million_rows_is_the_one_flagged(reference):
    current = frame(1_000_000, 21)
    current["a"] += 0.5  # half a standard deviation
    report = check_frame(reference, current)
    assert report.drifted == ["a"], str(report)
    a, *quiet = report.columns  # the drifted column is sorted first
    # KS distance of N(0, 1) and N(0.5, 1): 2 * Phi(0.25) - 1 = 0.197
    assert a.column == "a" and a.statistic == pytest.approx(0.197, abs=0.01)
    assert len(quiet) == 5 and not any(c.drift for c in quiet), str(report)


def test_real_shift_is_flagged_and_sorted_first(reference):
    report = check_frame(reference, frame(5_000, 9, shift=0.5, p_first=0.55))
    assert report.drift and set(report.drifted) == {"a", "kind"}
    assert [c.column for c in report.columns[:2]] == report.drifted
    a = next(c for c in report.columns if c.column == "a")
    assert a.method == "ks" and a.severity > 1 and a.p_adjusted <= 1e-6
    # the chart: shares per bin on one grid, whose centre of mass moved by the shift
    chart = a.chart
    assert chart["type"] == "hist" and chart["x"] == sorted(chart["x"])
    assert len(chart["x"]) == len(chart["reference"]) == len(chart["current"]) >= 10
    assert sum(chart["reference"]) == pytest.approx(1, abs=1e-3)
    assert sum(chart["current"]) + chart["outside"] == pytest.approx(1, abs=1e-3)
    centre = {
        side: np.dot(chart["x"], chart[side]) / sum(chart[side])
        for side in ("reference", "current")
    }
    assert centre["current"] - centre["reference"] == pytest.approx(0.5, abs=0.1)
    kind = next(c for c in report.columns if c.column == "kind")
    assert kind.method == "jensenshannon" and kind.chart["type"] == "bar"


def test_noise_floor_rises_for_small_batches(reference):
    small = check_frame(reference, frame(100, 5, shift=0.3))
    large = check_frame(reference, frame(100_000, 5, shift=0.3))
    a_small = next(c for c in small.columns if c.column == "a")
    a_large = next(c for c in large.columns if c.column == "a")
    assert a_small.noise_floor > a_small.threshold > a_large.noise_floor
    assert a_large.drift and not a_small.drift


def test_findings_for_missing_out_of_range_unseen_and_constant(reference):
    cur = frame(5_000, 11)
    cur.loc[:2_000, "b"] = np.nan
    cur.loc[:300, "c"] = 5_000.0
    cur.loc[:400, "kind"] = "brand-new"
    cur["a"] = 0.5
    report = check_frame(reference, cur)
    text = {(f["column"], f["check"]): f["message"] for f in report.findings}
    assert "missing values 0.0% in the reference, 40.0% now" in text[("b", "missing")]
    assert "outside the reference range" in text[("c", "out_of_range")]
    assert "'brand-new'" in text[("kind", "unseen")]
    assert "constant in this batch" in text[("a", "constant")]


def test_infinities_are_counted_not_crashed_on(reference):
    cur = frame(3_000, 12)
    cur.loc[:100, "a"] = np.inf
    cur.loc[101:150, "a"] = -np.inf
    report = check_frame(reference, cur)
    a = next(c for c in report.columns if c.column == "a")
    assert a.testable and a.checks["out_of_range"]["statistic"] > 0.01


def test_schema_changes_are_named(reference):
    cur = frame(2_000, 13).drop(columns=["b"]).assign(extra=1.0)
    cur["c"] = cur["c"].astype(str)
    report = check_frame(reference, cur)
    assert report.schema["missing"] == ["b"] and report.schema["extra"] == ["extra"]
    assert report.schema["dtype_changes"] == [
        {"column": "c", "reference": "float64", "current": "str"}
    ]
    messages = [f["message"] for f in report.findings if f["check"] == "schema"]
    assert "missing from this batch" in messages and "not in the reference" in messages


def test_empty_constant_and_all_nan_columns_are_not_testable():
    ref = pd.DataFrame(
        {
            "const": [3.0] * 100,
            "empty": [np.nan] * 100,
            "ok": np.arange(100.0),
            "none": [None] * 100,
        }
    )
    prof = profile(ref)
    assert prof.columns["empty"].kind == "empty" and prof.columns["none"].kind == "empty"
    cur = pd.DataFrame(
        {
            "const": [3.0] * 50 + [9.0] * 50,
            "empty": np.arange(100.0),
            "ok": [np.nan] * 100,
            "none": ["x"] * 100,
        }
    )
    report = check_frame(prof, cur)
    why = {c.column: c.reason for c in report.columns}
    assert why["const"].startswith("constant in the reference (every value was 3.0)")
    assert why["empty"] == "no values in the reference"
    assert why["ok"] == "no values in this batch"
    assert not report.drift and report.drift_share == 0.0
    assert any(f["column"] == "const" and f["check"] == "out_of_range" for f in report.findings)


def test_mixed_type_object_columns_are_compared_as_text():
    ref = pd.DataFrame({"m": pd.Series([1, "1", 2.5, "a", None] * 200, dtype=object)})
    prof = profile(ref)
    col = prof.columns["m"]
    assert col.kind == "categorical" and "mixed value types" in col.notes[0]
    assert dict(zip(col.values, col.counts, strict=True)) == {"1": 400, "2.5": 200, "a": 200}
    assert not check_frame(prof, ref).drift


def test_datetimes_are_checked_but_not_counted():
    ref = pd.DataFrame(
        {"when": pd.date_range("2026-01-01", periods=1000, freq="h"), "x": np.arange(1000.0)}
    )
    later = ref.assign(when=ref["when"] + pd.Timedelta(days=365))
    report = check_frame(profile(ref), later)
    when = next(c for c in report.columns if c.column == "when")
    assert when.kind == "datetime" and when.drift
    assert not report.drift and report.drift_share == 0.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (pd.DataFrame({"a": []}), "no rows"),
        ([1, 2, 3], "DataFrame"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names"),
    ],
)
def test_bad_batches_are_refused(reference, bad, message):
    with pytest.raises(InvalidInputError, match=message):
        check_frame(reference, bad)


def test_bad_profiles_are_refused():
    with pytest.raises(InvalidInputError, match="DataFrame"):
        profile([[1, 2]])
    with pytest.raises(InvalidInputError, match="without columns"):
        profile(pd.DataFrame())
    with pytest.raises(InvalidInputError, match="target has 2 rows"):
        profile(pd.DataFrame({"a": [1, 2, 3]}), target=pd.Series([1, 2]))


def test_importance_weights_the_verdict():
    ref = pd.DataFrame({f"f{i}": np.random.default_rng(i).normal(size=5000) for i in range(5)})
    heavy = profile(ref, importance={"f0": 0.9, "f1": 0.025, "f2": 0.025, "f3": 0.025, "f4": 0.025})
    plain = profile(ref)
    cur = ref.assign(f0=ref["f0"] + 1.0)
    assert check_frame(heavy, cur).drift and check_frame(heavy, cur).drift_share == 0.9
    assert not check_frame(plain, cur).drift and check_frame(plain, cur).drift_share == 0.2


def test_report_json_and_renderings(reference):
    report = check_frame(reference, frame(3_000, 14, shift=1.0, p_first=0.6), batch="<b>week</b>")
    doc = json.loads(json.dumps(report.to_json()))
    assert doc["drift"] is True
    for col in doc["columns"]:
        assert {"column", "drift", "method", "statistic"} <= set(col)
    html = report._repr_html_()
    assert "&lt;b&gt;week&lt;/b&gt;" in html and "<b>week</b>" not in html
    assert "DRIFT" in str(report)
    figures = report.figures()
    assert len(figures) == 1 + len(report.drifted)
    assert report.to_html().count("<div") >= len(figures)


def test_chart_categories_of_numbers_and_booleans_come_in_natural_order():
    rng = np.random.default_rng(3)

    def batch(n):
        return pd.DataFrame(
            {
                # 4 is the most common value and 0 the rarest; True outnumbers False
                "calls": rng.choice([0, 1, 2, 3, 4, 10], n, p=[0.05, 0.1, 0.15, 0.2, 0.4, 0.1]),
                "flag": rng.random(n) < 0.8,
                "kind": rng.choice(["w", "x", "y"], n, p=[0.2, 0.5, 0.3]),
            }
        )

    report = check_frame(profile(batch(20_000)), batch(5_000))
    charts = {c.column: c.chart for c in report.columns}
    assert charts["calls"]["x"] == ["0", "1", "2", "3", "4", "10"]  # not 4, 3, 2, 10, 1, 0
    assert charts["flag"]["x"] == ["False", "True"]
    assert charts["kind"]["x"] == ["x", "y", "w"]  # words: the most common first, as before
    shares = dict(zip(charts["calls"]["x"], charts["calls"]["reference"], strict=True))
    assert shares["4"] == pytest.approx(0.4, abs=0.02)  # each share moved with its label
