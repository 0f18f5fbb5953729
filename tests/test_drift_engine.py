"""Verdicts, noise floors and bad input for drift checks of frames."""

import json

import numpy as np
import pandas as pd
import pytest

from mlops_nb.errors import InvalidInputError
from mlops_nb.monitoring.drift import CheckResult, DriftCheck, check_frame, profile
from mlops_nb.monitoring.drift.charts import column_figure
from mlops_nb.monitoring.drift.current import CHART_BINS, summarize


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
    # values past the reference range are drawn too; only far outliers are clipped
    assert sum(chart["current"]) + chart["clipped"] == pytest.approx(1, abs=1e-3)
    centre = {
        side: np.dot(chart["x"], chart[side]) / sum(chart[side])
        for side in ("reference", "current")
    }
    assert centre["current"] - centre["reference"] == pytest.approx(0.5, abs=0.1)
    kind = next(c for c in report.columns if c.column == "kind")
    assert kind.method == "jensenshannon" and kind.chart["type"] == "bar"


def test_the_chart_reaches_where_the_current_data_went():
    rng = np.random.default_rng(4)
    train = pd.DataFrame({"x": rng.uniform(0.0, 30.0, 3_000)})
    shifted = pd.DataFrame({"x": np.concatenate([rng.uniform(20.0, 45.0, 999), [1_000.0]])})
    column = check_frame(profile(train), shifted).columns[0]
    chart = column.chart
    low, high = chart["range"]
    assert 0.0 <= low < 0.1 and 29.9 < high <= 30.0
    width = (high - low) / CHART_BINS
    # same-width bins go on past the range as far as the data went, up to two
    # reference ranges (60 bins): the value at 1,000 is clipped, and says so
    assert chart["bounds"][0] == low
    reach = high + 2 * (high - low)
    assert chart["bounds"][1] == pytest.approx(reach, abs=1e-9)
    assert len(chart["x"]) == CHART_BINS + 60
    past = [i for i, x in enumerate(chart["x"]) if x > high]
    assert len(past) == 60 and all(chart["reference"][i] == 0 for i in past)
    assert sum(chart["current"][i] for i in past) == pytest.approx(
        float(shifted["x"].between(high, reach, inclusive="right").sum()) / 1000, abs=1e-5
    )
    lit = [chart["x"][i] for i in past if chart["current"][i] > 0]
    assert max(lit) == pytest.approx(45.0, abs=width)  # where the shifted values end
    assert chart["clipped"] == pytest.approx(0.001)
    assert chart["outside"] == pytest.approx(float((shifted["x"] > high).sum()) / 1000)
    assert sum(chart["current"]) + chart["clipped"] == pytest.approx(1, abs=1e-5)
    assert sum(chart["reference"]) == pytest.approx(1, abs=1e-5)
    # the notebook's plotly figure shades the reference range inside the wider axis
    (band,) = column_figure(column).layout.shapes
    assert (band.x0, band.x1) == (low, high)


def test_a_chart_inside_the_range_keeps_the_reference_grid():
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"x": rng.normal(size=2_000)})
    inside = pd.DataFrame({"x": rng.uniform(-0.5, 0.5, 500)})
    chart = check_frame(profile(train), inside).columns[0].chart
    assert chart["bounds"] == chart["range"] and len(chart["x"]) == CHART_BINS
    assert chart["clipped"] == 0 and chart["outside"] == 0
    assert sum(chart["current"]) == pytest.approx(1, abs=1e-5)
    # every current value lies in the bins around the middle of the range
    lit = [x for x, share in zip(chart["x"], chart["current"], strict=True) if share]
    assert -0.5 - (chart["range"][1] - chart["range"][0]) / CHART_BINS <= min(lit)
    assert max(lit) <= 0.5 + (chart["range"][1] - chart["range"][0]) / CHART_BINS


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


# -- data quality: breaks that are their own verdict, apart from drift -------------


def issues_of(report):
    return {(i["column"], i["kind"]) for i in report.to_json()["quality"]["issues"]}


def test_an_all_nan_batch_is_a_quality_alarm_not_a_clean_bill(reference):
    cur = frame(2_000, 30)
    blank = pd.DataFrame({c: pd.Series([np.nan] * len(cur), dtype=object) for c in cur.columns})
    for batch in (blank, cur.mask(np.ones(cur.shape, dtype=bool))):
        report = check_frame(reference, batch)
        doc = report.to_json()
        assert doc["quality"]["ok"] is False and doc["alarm"] is True and report.alarm
        assert issues_of(report) == {(c, "all_missing") for c in cur.columns}
        assert not report.drift  # distribution drift is a separate verdict
        assert "no drift" not in str(report).splitlines()[0]
        assert "DATA QUALITY" in str(report) and "all_missing" in report._repr_html_()


@pytest.mark.parametrize("column", ["a", "kind", "flag", "small_int"])
def test_a_column_that_became_all_missing_alarms(reference, column):
    cur = frame(2_000, 31)
    cur[column] = None
    report = check_frame(reference, cur)
    assert issues_of(report) == {(column, "all_missing")} and report.alarm
    result = next(c for c in report.columns if c.column == column)
    assert not result.testable and result.reason == "no values in this batch"
    assert not any("check failed" in f["message"] for f in report.findings)


def test_a_missing_column_alarms(reference):
    report = check_frame(reference, frame(2_000, 32).drop(columns=["b", "kind"]))
    assert issues_of(report) == {("b", "missing_column"), ("kind", "missing_column")}
    assert report.alarm and report.to_json()["schema"]["missing"] == ["b", "kind"]


@pytest.mark.parametrize("label", ["a", "prediction", "target"])
def test_a_target_named_like_a_feature_keeps_the_feature(label):
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"a": rng.normal(size=4_000), "b": rng.normal(size=4_000)})
    if label != "a":
        ref = ref.rename(columns={"b": label})
    target = pd.Series(rng.integers(0, 2, 4_000), name=label)
    prof = profile(ref, target=target, predictions=rng.random(4_000))
    assert [c.name for c in prof.features()] == list(ref.columns)
    assert {c.role for c in prof.columns.values()} == {"feature", "target", "prediction"}
    shifted = ref.assign(**{ref.columns[1]: ref[ref.columns[1]] + 5.0})
    report = check_frame(prof, shifted, target=target)
    assert report.drift and ref.columns[1] in report.drifted, str(report)
    assert check_frame(prof, ref, target=target).quality.ok


def ints_written_as_floats(data):
    out = data.copy()
    for name in out.columns:
        if out[name].dtype.kind in "iu":
            out[name] = out[name].astype(float)
    return out


def test_the_training_rows_with_ints_written_as_floats_do_not_drift():
    rng = np.random.default_rng(5)
    train = pd.DataFrame(
        {
            "calls": rng.integers(0, 6, 5_000),  # low cardinality: compared as categories
            "tenure": rng.integers(1, 73, 5_000),  # many values: compared as numbers
            "x": rng.normal(size=5_000),
        }
    )
    prof = profile(train)
    floats = ints_written_as_floats(train)
    with_nan = floats.copy()
    with_nan.loc[0, ["calls", "tenure"]] = np.nan  # what one NaN does to an int column
    as_objects = floats.astype(object)
    nullable = train.astype({"calls": "Int64", "tenure": "Int64"})
    for batch in (floats, with_nan, as_objects, nullable):
        report = check_frame(prof, batch)
        assert report.drifted == [] and report.quality.ok, str(report)
        assert report.schema["dtype_changes"] == [], report.schema
        assert not [f for f in report.findings if f["check"] in ("unseen", "chi2")]
    # and the other way round: trained with a NaN (floats), checked with ints
    assert check_frame(profile(with_nan), train).drifted == []


def test_text_in_a_numeric_column_is_a_type_change(reference):
    cur = frame(2_000, 33)
    cur["a"] = cur["a"].astype(object)
    cur.loc[:4, "a"] = "n.a."
    cur.loc[5:6, "a"] = "12,5"
    report = check_frame(reference, cur)
    (issue,) = report.to_json()["quality"]["issues"]
    assert issue["column"] == "a" and issue["kind"] == "type_change"
    assert "7 of 2000 values are not numbers" in issue["detail"] and "'n.a.'" in issue["detail"]
    a = next(c for c in report.columns if c.column == "a")
    assert a.testable and not a.drift  # the readable values are still compared


def test_a_column_that_became_text_entirely_is_a_type_change_not_all_missing(reference):
    cur = frame(2_000, 34)
    cur["c"] = "unknown"
    assert issues_of(check_frame(reference, cur)) == {("c", "type_change")}


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinities_where_training_had_none_are_a_quality_break(reference, value):
    cur = frame(2_000, 35)
    cur.loc[:2, "b"] = value  # 0.15 %: below every drift finding's threshold
    report = check_frame(reference, cur)
    (issue,) = report.to_json()["quality"]["issues"]
    assert (issue["column"], issue["kind"]) == ("b", "infinite") and "3 infinite" in issue["detail"]
    assert report.alarm and not report.drift


def test_unseen_categories_beyond_a_share_are_a_quality_break(reference):
    few = frame(5_000, 36)
    few.loc[:99, "kind"] = "brand-new"  # 2 %: a finding only
    many = frame(5_000, 36)
    many.loc[:999, "kind"] = "brand-new"  # 20 %
    assert check_frame(reference, few).quality.ok
    assert any(f["check"] == "unseen" for f in check_frame(reference, few).findings)
    report = check_frame(reference, many)
    (issue,) = report.to_json()["quality"]["issues"]
    assert (issue["column"], issue["kind"]) == ("kind", "unseen_categories")
    assert "20.0% of rows" in issue["detail"] and "'brand-new'" in issue["detail"]


def test_pandas_categoricals_with_new_categories(reference):
    cur = frame(5_000, 37)
    cur["kind"] = pd.Categorical(cur["kind"], categories=["w", "x", "y", "z", "unused"])
    assert check_frame(reference, cur).quality.ok  # a declared but unused category is nothing
    cur["kind"] = cur["kind"].cat.add_categories(["new"])
    cur.loc[:2_000, "kind"] = "new"
    assert ("kind", "unseen_categories") in issues_of(check_frame(reference, cur))


def test_bool_columns_read_back_as_numbers_or_text_do_not_drift(reference):
    base = frame(5_000, 38)
    for flag in (
        base["flag"].astype(int),
        base["flag"].astype(float),
        base["flag"].astype(str),
        base["flag"].astype(object).where(base.index > 0, None),  # bools with a missing one
    ):
        report = check_frame(reference, base.assign(flag=flag))
        assert "flag" not in report.drifted and report.quality.ok, str(report)


def test_datetime_columns_from_text_and_with_garbage():
    when = pd.Series(pd.date_range("2026-01-01", periods=2_000, freq="h"))
    prof = profile(pd.DataFrame({"when": when, "x": np.arange(2_000.0)}))
    as_text = pd.DataFrame({"when": when.astype(str), "x": np.arange(2_000.0)})
    report = check_frame(prof, as_text)
    assert report.quality.ok and report.drifted == [], str(report)
    aware = pd.DataFrame({"when": when.dt.tz_localize("UTC"), "x": np.arange(2_000.0)})
    assert check_frame(prof, aware).drifted == []
    garbage = as_text.assign(when=as_text["when"].where(as_text.index > 9, "soon"))
    assert issues_of(check_frame(prof, garbage)) == {("when", "type_change")}


def test_mixed_types_in_a_numeric_column(reference):
    cur = frame(2_000, 39)
    cur["c"] = cur["c"].astype(object)
    cur.loc[:99, "c"] = [str(v) for v in cur.loc[:99, "c"]]  # numbers as text are numbers
    assert check_frame(reference, cur).quality.ok
    values = cur["c"].to_numpy(dtype=object, copy=True)
    values[100] = {"not": "a number"}
    cur["c"] = values
    assert issues_of(check_frame(reference, cur)) == {("c", "type_change")}


def test_a_one_row_batch_has_a_defined_result(reference):
    report = check_frame(reference, frame(1, 40))
    assert report.rows == 1 and not report.drift and report.quality.ok
    assert any("too few rows" in n for n in report.notes), report.notes
    assert not any("check failed" in f["message"] for f in report.findings)


def test_checks_never_fail_inside_a_report(reference):
    odd = {
        "all inf": frame(500, 41).assign(a=np.inf, b=-np.inf),
        "all nan": frame(500, 42).assign(a=np.nan, kind=None),
        "constant": frame(500, 43).assign(a=1.0, kind="w"),
        "one row": frame(1, 44),
    }
    for name, batch in odd.items():
        report = check_frame(reference, batch)
        failed = [f for f in report.findings if "failed" in f["message"]]
        assert not failed and not any("failed" in n for n in report.notes), (name, failed)


def test_a_failing_plugin_check_is_named_in_the_notes_not_the_findings():
    from mlops_nb.monitoring.drift import DriftCheck, KolmogorovSmirnov

    class Broken(DriftCheck):
        name = "broken"
        decides = False

        def score(self, current):
            raise IndexError("index 4 is out of bounds")

    ref = pd.DataFrame({"x": np.arange(1_000.0)})
    report = check_frame(profile(ref), ref, checks=[KolmogorovSmirnov(), Broken()])
    assert not [f for f in report.findings if "IndexError" in f["message"]]
    (note,) = [n for n in report.notes if "broken" in n]
    assert "the check 'broken' (Broken) failed on column 'x'" in note
    assert report.columns[0].testable and report.columns[0].method == "ks"


def test_quality_json_keeps_the_contract_keys(reference):
    cur = frame(2_000, 45).drop(columns=["b"])
    doc = json.loads(json.dumps(check_frame(reference, cur).to_json()))
    assert {"drift", "columns", "drift_share", "schema", "findings"} <= set(doc)
    for col in doc["columns"]:
        assert {"column", "drift", "method", "statistic"} <= set(col)
    assert doc["quality"] == {
        "ok": False,
        "issues": [{"column": "b", "kind": "missing_column", "detail": "missing from this batch"}],
    }
    assert doc["alarm"] is True and doc["drift"] is False


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


# -- the engine's rules, one at a time, on small frames -------------------------


@pytest.mark.parametrize(
    ("dtype", "values", "family"),
    [
        ("int64", None, "number"),
        ("Int64", None, "number"),
        ("uint8", None, "number"),
        ("float32", None, "number"),
        ("bool", None, "bool"),
        ("boolean", None, "bool"),
        ("datetime64[ns]", None, "datetime"),
        ("datetime64[ns, UTC]", None, "datetime"),
        ("timedelta64[ns]", None, "timedelta"),
        ("category", None, "text"),
        ("str", None, "text"),
        ("string", None, "text"),
        ("object", None, "text"),  # nothing to look at
        ("object", [1, 2, None], "number"),
        ("object", [1.5, 2], "number"),
        ("object", [True, False], "bool"),
        ("object", [pd.Timestamp("2026-01-01")], "datetime"),
        ("object", [pd.Timestamp("2026-01-01").date()], "datetime"),
        ("object", [pd.Timedelta("1h")], "timedelta"),
        ("object", ["a", "b"], "text"),
        ("object", ["a", 1], "text"),
    ],
)
def test_the_family_of_a_dtype(dtype, values, family):
    from decimal import Decimal

    from mlops_nb.monitoring.drift.engine import _family

    series = None if values is None else pd.Series(values, dtype=object)
    assert _family(dtype, series) == family
    assert _family("object", pd.Series([Decimal("1.5")], dtype=object)) == "number"


def test_a_batch_is_made_a_plain_frame_before_anything_is_compared():
    from mlops_nb.monitoring.drift.engine import _validate

    frame_ = _validate(pd.Series([1.0, 2.0], index=[7, 9], name="x"))
    assert list(frame_.columns) == ["x"] and list(frame_.index) == [0, 1]
    numbered = _validate(pd.DataFrame({0: [1.0], 1: [2.0]}))
    assert list(numbered.columns) == ["0", "1"]
    with pytest.raises(InvalidInputError, match="not list"):
        _validate([1.0])
    with pytest.raises(InvalidInputError, match=r"duplicate column names: a, b$"):
        _validate(pd.DataFrame([[1, 2, 3, 4]], columns=["b", "a", "b", "a"]))
    with pytest.raises(InvalidInputError, match=r"^the batch has no rows: nothing to compare$"):
        _validate(pd.DataFrame({"x": []}))


def test_a_batch_with_number_column_names_is_compared_by_their_text():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"0": rng.normal(size=500), "1": rng.normal(size=500)})
    report = check_frame(profile(data), pd.DataFrame(data.to_numpy()))
    assert report.schema == {"missing": [], "extra": [], "dtype_changes": []}
    assert [c.column for c in report.columns if c.testable] == ["0", "1"]


@pytest.mark.parametrize("share_threshold", [0, -0.1, 1.01])
def test_share_threshold_must_be_a_share(share_threshold):
    data = pd.DataFrame({"x": np.arange(100.0)})
    with pytest.raises(InvalidInputError, match=r"share_threshold must be in \(0, 1\]"):
        check_frame(profile(data), data, share_threshold=share_threshold)


def five_features(n=2_000, seed=6):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"f{i}": rng.normal(size=n) for i in range(5)})


def test_the_dataset_verdict_is_the_share_of_drifted_features_at_or_above_the_bar():
    prof = profile(five_features())
    batch = five_features(seed=7).assign(f0=lambda d: d["f0"] + 2, f1=lambda d: d["f1"] + 2)
    report = check_frame(prof, batch, share_threshold=0.4)
    assert sorted(report.drifted) == ["f0", "f1"] and report.drift_share == 0.4 and report.drift
    # drifted first, then by severity, ties by name
    order = [(not c.drift, -c.severity, c.column) for c in report.columns]
    assert order == sorted(order) and order[0][1] < order[1][1] < 0
    assert not check_frame(prof, batch, share_threshold=0.41).drift
    assert check_frame(prof, batch, share_threshold=1.0).drift is False
    assert [c.weight for c in report.columns] == [1.0] * 5
    assert "feature weights from training: no (equal weights)" in report.notes


def test_feature_weights_count_only_when_every_counted_feature_has_one():
    data = five_features()
    batch = five_features(seed=7).assign(f0=lambda d: d["f0"] + 2)
    weights = {"f0": 0.5, "f1": 0.2, "f2": 0.1, "f3": 0.1, "f4": 0.1}
    report = check_frame(profile(data, importance=weights), batch)
    assert report.drift_share == 0.5 and report.drift
    assert {c.column: c.weight for c in report.columns} == weights
    assert "feature weights from training: yes" in report.notes
    partial = check_frame(profile(data, importance={"f0": 0.9, "f1": 0.1}), batch)
    assert partial.drift_share == 0.2 and not partial.drift  # equal weights instead
    assert "feature weights from training: no (equal weights)" in partial.notes
    # weights of zero leave nothing to share out: no verdict rather than 0/0
    zero = check_frame(profile(data, importance=dict.fromkeys(weights, 0.0)), batch)
    assert zero.drift_share == 0.0 and not zero.drift
    assert "feature weights from training: yes" in zero.notes


def test_only_testable_non_datetime_features_count_towards_the_verdict():
    rng = np.random.default_rng(8)
    data = pd.DataFrame(
        {
            "x": rng.normal(size=1_000),
            "flat": np.ones(1_000),
            "when": pd.date_range("2026-01-01", periods=1_000, freq="h"),
        }
    )
    batch = data.assign(
        x=data["x"] + 3, flat=rng.normal(size=1_000), when=data["when"] + pd.Timedelta(days=90)
    )
    report = check_frame(profile(data), batch, share_threshold=1.0)
    weights = {c.column: c.weight for c in report.columns}
    assert weights == {"x": 1.0, "flat": None, "when": None}
    assert report.drift_share == 1.0 and report.drift
    assert set(report.drifted) == {"x", "when"}


def test_drifted_predictions_are_drift_on_their_own():
    rng = np.random.default_rng(9)
    data = pd.DataFrame({"x": rng.normal(size=3_000), "y": rng.normal(size=3_000)})
    prof = profile(data, predictions=rng.random(3_000))
    report = check_frame(prof, data, predictions=rng.random(3_000) + 0.5)
    assert report.prediction.drift and report.drift and report.drift_share == 0.0
    assert [c.column for c in report.columns] == ["x", "y"]  # predictions are apart
    calm = check_frame(prof, data, predictions=pd.Series(rng.random(3_000), index=range(5, 3_005)))
    assert calm.prediction.testable and not calm.prediction.drift and not calm.drift
    with pytest.raises(InvalidInputError, match="^prediction has 2 rows, the batch 3000$"):
        check_frame(prof, data, predictions=[0.1, 0.2])
    with pytest.raises(InvalidInputError, match="^target has 2 rows, the batch 3000$"):
        check_frame(profile(data, target=rng.random(3_000)), data, target=[0.1, 0.2])
    # labels without a target in the profile are ignored, not an error, and the
    # predictions beside them are still checked
    assert check_frame(prof, data, target=[0.1, 0.2]).prediction is None
    both = check_frame(prof, data, target=[0.1, 0.2], predictions=rng.random(3_000) + 0.5)
    assert both.prediction.drift and both.drift
    # predictions are not features: a model that answered nothing is not a data-quality issue
    blank = check_frame(prof, data, predictions=[np.nan] * 3_000)
    assert blank.quality.ok and blank.prediction.reason == "no values in this batch"


def test_schema_lists_are_exact_and_the_findings_say_so():
    rng = np.random.default_rng(10)
    data = pd.DataFrame(
        {"a": rng.normal(size=500), "b": rng.normal(size=500), "c": rng.normal(size=500)}
    )
    prof = profile(data, target=pd.Series(rng.integers(0, 2, 500), name="label"))
    batch = data.drop(columns=["a"]).assign(c=data["c"].astype(str), z=1, label=0, y=2)
    report = check_frame(prof, batch)
    assert report.schema == {
        "missing": ["a"],
        "extra": ["z", "y"],  # the target's own column is not extra
        "dtype_changes": [{"column": "c", "reference": "float64", "current": "str"}],
    }
    schema = [f for f in report.findings if f["check"] == "schema"]
    assert schema == [
        {"column": "a", "check": "schema", "message": "missing from this batch"},
        {"column": "z", "check": "schema", "message": "not in the reference"},
        {"column": "y", "check": "schema", "message": "not in the reference"},
        {"column": "c", "check": "schema", "message": "dtype changed from float64 to str"},
    ]
    assert report.findings[-len(schema) :] == schema  # after the columns' own findings


def numbers(n=2_000, seed=11):
    return pd.DataFrame({"x": np.random.default_rng(seed).normal(size=n)})


def test_quality_issue_texts():
    from mlops_nb.monitoring.drift.engine import _quality
    from mlops_nb.monitoring.drift.report import QualityIssue

    rng = np.random.default_rng(12)
    data = pd.DataFrame({"x": rng.normal(size=1_000), "k": rng.choice(["a", "b"], 1_000)})
    data.loc[:99, "x"] = np.nan
    prof = profile(data)
    x, k = prof.columns["x"], prof.columns["k"]

    def quality(ref, values):
        return _quality(ref, summarize(ref, pd.Series(values)))

    assert quality(x, [np.nan] * 4) == [
        QualityIssue(
            "x", "all_missing", "all 4 values are missing (the reference had 10.0% missing)"
        )
    ]
    assert quality(x, [np.inf, -np.inf, np.inf]) == [
        QualityIssue(
            "x", "infinite", "3 infinite values (2 +inf, 1 -inf) where the reference had none"
        )
    ]
    assert quality(x, ["n.a.", 1.0, "12,5"]) == [
        QualityIssue(
            "x",
            "type_change",
            "2 of 3 values are not numbers (e.g. 'n.a.', '12,5'); the reference's type is float64",
        )
    ]
    unseen = ["a"] * 90 + ["zeta"] * 6 + ["alpha"] * 4  # the most frequent named first
    assert quality(k, unseen) == [
        QualityIssue(
            "k",
            "unseen_categories",
            "10.0% of rows hold values never seen in training (2 distinct: 'zeta', 'alpha')",
        )
    ]
    assert quality(k, ["a"] * 95 + ["new"] * 5) == []  # 5 % is the bar, not above it
    many = ["a"] * 80 + [f"n{i}" for i in range(7) for _ in range(7 - i)]  # n0 7 times ... n6 once
    (issue,) = quality(k, many)
    assert issue.detail.endswith("(7 distinct: 'n0', 'n1', 'n2', 'n3', 'n4')")  # the top five
    assert quality(k, [None, None]) == [
        QualityIssue(
            "k", "all_missing", "all 2 values are missing (the reference had 0.0% missing)"
        )
    ]
    assert quality(x, [1.0, 2.0]) == [] and quality(k, ["a", "b"]) == []


def test_quality_issues_depend_on_what_training_had():
    from mlops_nb.monitoring.drift.engine import _quality

    rng = np.random.default_rng(13)
    with_neginf = pd.DataFrame({"x": np.append(rng.normal(size=999), -np.inf)})
    ref = profile(with_neginf).columns["x"]
    assert _quality(ref, summarize(ref, pd.Series([np.inf, 1.0]))) == []
    with_posinf = pd.DataFrame({"x": np.append(rng.normal(size=999), np.inf)})
    ref = profile(with_posinf).columns["x"]
    assert _quality(ref, summarize(ref, pd.Series([-np.inf, 1.0]))) == []
    # a reference that kept only its top values cannot tell new from rare
    many = pd.DataFrame({"k": [f"v{i}" for i in range(150)] * 4})
    ref = profile(many).columns["k"]
    assert ref.other and _quality(ref, summarize(ref, pd.Series(["new"] * 10))) == []
    empty = profile(pd.DataFrame({"e": [np.nan] * 10, "x": np.arange(10.0)})).columns["e"]
    assert empty.kind == "empty" and _quality(empty, summarize(empty, pd.Series([None] * 3))) == []


def test_a_column_reports_its_deciding_check_and_every_check_summary():
    from mlops_nb.monitoring.drift import KolmogorovSmirnov, OutOfRange
    from mlops_nb.monitoring.drift.report import rounded

    data = numbers()
    batch = numbers(seed=12).assign(x=lambda d: d["x"] * 0.5 + 0.4)
    ref = profile(data).columns["x"]
    report = check_frame(profile(data), batch, checks=[OutOfRange(), KolmogorovSmirnov()])
    (column,) = report.columns
    ks = KolmogorovSmirnov().fit(ref).score(summarize(ref, batch["x"]))
    out = OutOfRange().fit(ref).score(summarize(ref, batch["x"]))
    assert (column.method, column.drift, column.testable, column.reason) == ("ks", True, True, None)
    assert (column.statistic, column.threshold) == (ks.statistic, ks.threshold)
    assert (column.noise_floor, column.p_value) == (ks.noise_floor, ks.p_value)
    assert column.severity == ks.severity > 1
    shown = ("statistic", "p_value", "threshold", "noise_floor", "drift", "decides")
    assert column.checks == {
        name: rounded({key: getattr(o, key) for key in shown})
        for name, o in (("out_of_range", out), ("ks", ks))
    }
    assert column.reference == rounded(
        {
            "rows": 2_000,
            "missing": 0,
            "min": ref.min,
            "max": ref.max,
            "mean": ref.mean,
            "std": ref.std,
        }
    )
    assert column.current["rows"] == 2_000 and column.current["missing"] == 0


class Verdict(DriftCheck):
    """A check whose verdict is fixed, to see how the engine combines verdicts."""

    kinds = ("numeric", "categorical")

    def __init__(
        self,
        name: str = "fixed",
        drift: bool = False,
        decides: bool = True,
        threshold: float = 0.25,
    ) -> None:
        self.name = name
        self.drift = drift
        self.decides = decides
        self.threshold = threshold

    def score(self, current):
        return CheckResult(self.name, 0.5, self.drift, self.threshold, decides=self.decides)


def test_a_column_drifts_when_any_deciding_check_says_so_and_only_then():
    data = numbers()

    def column(*checks):
        (result,) = check_frame(profile(data), data, checks=list(checks)).columns
        return result

    first = column(Verdict("one"), Verdict("two", drift=True))
    assert first.drift and first.method == "one" and first.statistic == 0.5
    assert first.severity == 2.0 and first.threshold == 0.25
    assert not column(Verdict("one"), Verdict("two")).drift
    finding_only = column(Verdict("one"), Verdict("two", drift=True, decides=False))
    assert not finding_only.drift and finding_only.testable
    report = check_frame(profile(data), data, checks=[Verdict("seen", drift=True, decides=False)])
    (none,) = report.columns
    assert not none.drift and not none.testable and none.method is None
    assert (none.statistic, none.threshold, none.severity) == (None, None, 0.0)
    assert report.findings == [
        {"column": "x", "check": "seen", "message": "seen = 0.5 (above 0.25)"}
    ]
    assert not report.drift and report.drift_share == 0.0


def test_a_reference_without_values_or_spread_runs_only_the_findings():
    rng = np.random.default_rng(14)
    data = pd.DataFrame(
        {"flat": [2.0] * 500, "one": ["a"] * 500, "gone": [np.nan] * 500, "x": rng.normal(size=500)}
    )

    class Anyway(Verdict):
        requires_values = False  # like the missing-share check

    checks = [
        Verdict("decider", drift=True),
        Verdict("finder", drift=True, decides=False),
        Anyway("anyway", decides=False),
    ]
    report = check_frame(profile(data), data.assign(x=np.nan), checks=checks)
    result = {c.column: c for c in report.columns}
    assert result["flat"].reason == (
        "constant in the reference (every value was 2.0): nothing to compare"
    )
    assert (
        result["one"].reason == "constant in the reference (every value was a): nothing to compare"
    )
    assert result["gone"].reason == "no values in the reference"
    assert result["x"].reason == "no values in this batch"
    assert {c: sorted(r.checks) for c, r in result.items()} == {
        "flat": ["anyway", "finder"],
        "one": ["anyway", "finder"],
        "gone": [],  # nothing was known at training time: nothing to run
        "x": ["anyway"],  # the others need values
    }
    assert not any(r.testable or r.drift for r in result.values())
    assert all(r.chart == {} for r in result.values())  # nothing to draw a comparison of
    assert {f["column"] for f in report.findings if f["check"] == "finder"} == {"flat", "one"}
    assert report.drift_share == 0.0 and not report.drift
    assert "feature weights from training: no (equal weights)" in report.notes  # none counted


def test_a_constant_batch_is_a_finding_unless_it_has_one_row_or_the_reference_was_constant():
    data = numbers().assign(flat=1.0)

    def constant(batch):
        return [f for f in check_frame(profile(data), batch).findings if f["check"] == "constant"]

    assert constant(data.assign(x=0.25)) == [
        {"column": "x", "check": "constant", "message": "constant in this batch (every value 0.25)"}
    ]
    assert constant(data.head(1)) == []
    assert constant(data.head(2).assign(x=[0.5, np.nan])) == []  # one value is not a pattern
    assert constant(data.head(2).assign(x=[0.5, 0.5]))[0]["column"] == "x"


def test_too_few_rows_is_said_when_every_bar_is_out_of_reach():
    data = five_features()
    note = (
        "too few rows (1) for any column to show drift: every noise floor is above the "
        "largest possible distance; the data-quality checks still apply"
    )
    assert note in check_frame(profile(data), data.head(1)).notes
    assert not [n for n in check_frame(profile(data), data).notes if n.startswith("too few")]
    # a bar of exactly 1 cannot be crossed by a distance of at most 1
    at_one = check_frame(profile(data), data, checks=[Verdict(threshold=1.0)])
    assert note.replace("(1)", "(2000)") in at_one.notes
    below = check_frame(profile(data), data, checks=[Verdict(threshold=0.999)])
    assert not [n for n in below.notes if n.startswith("too few")]
    unset = check_frame(profile(data), data, checks=[Verdict(threshold=0.0)])
    assert not [n for n in unset.notes if n.startswith("too few")]  # no bar is not a high bar


def test_a_failing_check_is_left_out_with_its_error_named():
    class Broken(Verdict):
        def score(self, current):
            raise ValueError("no luck")

    data = numbers()
    report = check_frame(profile(data), data, checks=[Broken("broken"), Verdict("works")])
    assert report.notes[0] == (
        "the check 'broken' (Broken) failed on column 'x' and is left out: ValueError: no luck"
    )
    (column,) = report.columns
    assert list(column.checks) == ["works"] and column.method == "works"


def test_text_in_a_datetime_column_is_named_as_not_dates():
    from mlops_nb.monitoring.drift.engine import _quality
    from mlops_nb.monitoring.drift.report import QualityIssue

    when = pd.Series(pd.date_range("2026-01-01", periods=100, freq="h"))
    ref = profile(pd.DataFrame({"when": when, "x": np.arange(100.0)})).columns["when"]
    batch = when.astype(str).where(when.index > 0, "soon")
    assert _quality(ref, summarize(ref, batch)) == [
        QualityIssue(
            "when",
            "type_change",
            f"1 of 100 values are not dates (e.g. 'soon'); the reference's type is {ref.dtype}",
        )
    ]


def test_the_report_carries_what_it_was_asked_and_the_share_to_six_places():
    from datetime import datetime, timedelta, timezone

    data = five_features().iloc[:, :3]
    batch = data.assign(f0=data["f0"] + 3)
    weights = {"f0": 0.1234567, "f1": 0.5, "f2": 0.3765433}
    report = check_frame(
        profile(data, importance=weights), batch, model="churn", version=3, batch="week 7"
    )
    assert (report.model, report.version, report.batch) == ("churn", 3, "week 7")
    assert (report.rows, report.share_threshold) == (2_000, 0.3)
    at = datetime.fromisoformat(report.at.replace("Z", "+00:00"))
    assert abs(at - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert report.drift_share == 0.123457 and not report.drift  # rounded to six places
    assert {c.column: c.weight for c in report.columns}["f0"] == 0.123457
    plain = check_frame(profile(data), batch)
    assert plain.drift_share == 0.333333 and plain.drift


def test_a_reference_grid_of_subnormal_numbers_still_charts():
    """np.interp's slope overflows on gaps below 1e-308: the chart came out NaN (found by
    hypothesis in the KS test while mutation testing)."""
    ref = pd.DataFrame({"x": [1e-310, 2e-310, 0.0, 0.0, 0.0]})
    report = check_frame(profile(ref), pd.DataFrame({"x": [0.0, 1e-310, 3e-310, 0.0, 0.0]}))
    chart = report.columns[0].chart
    assert all(np.isfinite(chart["reference"])) and all(np.isfinite(chart["current"]))
    assert sum(chart["reference"]) == pytest.approx(1.0, abs=1e-5)
    assert sum(chart["current"]) + chart["clipped"] == pytest.approx(1.0, abs=1e-5)
    json.dumps(report.to_json(), allow_nan=False)


def _without_moments(column):
    fields = dict(column.__dict__)
    return fields, fields.pop("mean"), fields.pop("std")


def test_the_check_sketches_the_batch_as_profile_column_would():
    """A check's own sketches of the batch (kept for ``rebaseline``) are what
    profiling each column with the reference's role and kind gives: counts,
    grids, categories and notes alike, mean and std to rounding; a datetime
    column is left to ``profile_column``."""
    from mlops_nb.monitoring.drift.profile import profile_column

    rng = np.random.default_rng(8)
    n = 3_000

    def frame(shift):
        x = rng.normal(shift, 1.0, n)
        x[:40] = np.nan
        x[40:45] = np.inf
        x[45:47] = -np.inf
        return pd.DataFrame(
            {
                "x": x,
                "big": 1e9 + rng.normal(shift, 1e-3, n),  # a mean that dwarfs the spread
                "level": rng.integers(0, 5 + int(shift), n),
                "city": rng.choice(["a", "b", "c", None], n).astype(object),
                "mixed": pd.Series([1, "1", 2.5, None] * (n // 4), dtype=object),
                "flag": rng.random(n) < 0.3 + 0.2 * shift,
                "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 99, n), "D"),
            }
        )

    batch = frame(1)
    sketches: dict = {}
    report = check_frame(profile(frame(0)), batch, sketches=sketches)
    assert report.drift
    assert sorted(sketches) == ["big", "city", "flag", "level", "mixed", "x"]
    for name, sketch in sketches.items():
        ref = report.columns[[c.column for c in report.columns].index(name)]
        whole = profile_column(batch[name], name, "feature", ref.kind)
        fields, mean, std = _without_moments(sketch)
        expected, whole_mean, whole_std = _without_moments(whole)
        assert fields == expected, name
        if whole_mean is not None:
            assert mean == pytest.approx(whole_mean, rel=1e-12)
            assert std == pytest.approx(whole_std, rel=1e-6), name
    assert sketches["mixed"].notes  # the mixed-types note survives
    assert sketches["big"].std == pytest.approx(batch["big"].std(ddof=0), rel=1e-6)
    # nothing is sketched unless asked: an ordinary check keeps no profile
    assert summarize(profile(frame(0)).columns["x"], batch["x"]).sketch is None
