"""Every check, built-in or plugged in, honours the same small contract."""

import copy
import dataclasses
import inspect
import math
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2, chi2_contingency, kstwobign, wasserstein_distance

from mlops_nb.monitoring.drift import (
    BUILTIN_CHECKS,
    CheckResult,
    ChiSquare,
    ColumnProfile,
    DriftCheck,
    JensenShannon,
    KolmogorovSmirnov,
    MissingShare,
    OutOfRange,
    PopulationStability,
    UnseenCategories,
    Wasserstein,
    check_frame,
    default_checks,
    profile,
)
from mlops_nb.monitoring.drift.checks import discover
from mlops_nb.monitoring.drift.current import CurrentColumn, summarize


@pytest.fixture(scope="module")
def columns():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"num": rng.normal(size=5000), "cat": rng.choice(["a", "b", "c"], 5000)})
    cur = pd.DataFrame({"num": rng.normal(0.5, 1, 3000), "cat": rng.choice(["a", "b", "d"], 3000)})
    prof = profile(ref)
    return {
        kind: (prof.columns[name], summarize(prof.columns[name], cur[name]))
        for kind, name in (("numeric", "num"), ("categorical", "cat"))
    }


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_init_only_stores_parameters(cls):
    check = cls()
    params = check.get_params()
    signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert list(params) == signature
    assert not [k for k in vars(check) if k.endswith("_")]  # nothing learned yet
    clone = cls(**params)
    assert clone.get_params() == params
    assert repr(check).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_fit_returns_self_learns_with_underscores_and_keeps_the_reference(cls, columns):
    for kind in cls.kinds:
        if kind not in columns:
            continue
        reference, current = columns[kind]
        before = copy.deepcopy(reference)
        check = cls()
        assert check.fit(reference) is check
        assert any(k.endswith("_") for k in vars(check))
        result = check.score(current)
        assert isinstance(result, CheckResult)
        assert result.check == cls.name
        assert result.decides == cls.decides
        assert (
            result.statistic is None or np.isfinite(result.statistic) or result.statistic == np.inf
        )
        assert isinstance(result.drift, bool)
        assert reference == before


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_scoring_is_deterministic(cls, columns):
    for kind in cls.kinds:
        if kind in columns:
            reference, current = columns[kind]
            assert cls().fit(reference).score(current) == cls().fit(reference).score(current)


def test_deciding_checks_see_real_drift(columns):
    from mlops_nb.monitoring.drift import JensenShannon, KolmogorovSmirnov

    ref, cur = columns["numeric"]
    assert KolmogorovSmirnov().fit(ref).score(cur).drift
    ref, cur = columns["categorical"]
    assert JensenShannon().fit(ref).score(cur).drift


class AlwaysDrifts(DriftCheck):
    """A user check: decides drift on numeric columns whenever the mean moved at all."""

    name = "mean_moved"
    kinds = ("numeric",)

    def __init__(self, tolerance: float = 0.0) -> None:
        self.tolerance = tolerance

    def fit(self, reference):
        self.mean_ = reference.mean
        return self

    def score(self, current):
        moved = abs((current.mean or 0) - self.mean_)
        return CheckResult(self.name, moved, moved > self.tolerance, self.tolerance)


def test_user_checks_take_part_in_verdicts():
    ref = pd.DataFrame({"x": np.arange(1000.0)})
    report = check_frame(profile(ref), ref + 0.001, checks=[AlwaysDrifts()])
    assert report.columns[0].method == "mean_moved" and report.columns[0].drift


def test_entry_point_group_is_discovered(tmp_path, monkeypatch):
    pkg = tmp_path / "my_checks.py"
    pkg.write_text(
        textwrap.dedent("""
        from mlops_nb.monitoring.drift import DriftCheck, CheckResult
        class Plugged(DriftCheck):
            name = "plugged"
            kinds = ("numeric",)
            decides = False
            def __init__(self, level: float = 1.0):
                self.level = level
            def score(self, current):
                return CheckResult(self.name, 0.0, False, decides=False)
    """)
    )
    dist = tmp_path / "my_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mlops_nb.drift_checks]\nplugged = my_checks:Plugged\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover()
    assert [c.__name__ for c in found] == ["Plugged"]
    ref = pd.DataFrame({"x": np.arange(100.0)})
    report = check_frame(profile(ref), ref)
    assert "plugged" in report.columns[0].checks
    sys.modules.pop("my_checks", None)


def odd_columns():
    """Current columns every check must score without raising."""
    nan, inf = np.nan, np.inf
    return {
        "numeric": {
            "all missing": pd.Series([nan] * 50),
            "all infinite": pd.Series([inf] * 20 + [-inf] * 30),
            "one row": pd.Series([0.3]),
            "constant": pd.Series([2.0] * 50),
            "far outside": pd.Series([1e12] * 50),
            "text": pd.Series(["x"] * 50, dtype=object),
        },
        "categorical": {
            "all missing": pd.Series([None] * 50, dtype=object),
            "one row": pd.Series(["a"]),
            "all unseen": pd.Series(["zzz"] * 50),
            "numbers": pd.Series(np.arange(50.0)),
        },
    }


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_every_check_scores_odd_columns_without_raising(cls, columns):
    """The engine runs a check on any column it summarised, so no summary may crash one."""
    for kind, cases in odd_columns().items():
        if kind not in cls.kinds:
            continue
        reference, _ = columns[kind]
        for case, series in cases.items():
            current = summarize(reference, series)
            if current.present == 0 and cls.requires_values:
                continue  # the engine does not run it there; see the next test
            result = cls().fit(reference).score(current)
            assert isinstance(result, CheckResult) and isinstance(result.drift, bool), case
            assert result.statistic is None or not np.isnan(result.statistic), case


def test_checks_that_need_values_say_so():
    needs = {cls.__name__: cls.requires_values for cls in BUILTIN_CHECKS}
    assert needs == {
        "KolmogorovSmirnov": True,
        "PopulationStability": True,
        "Wasserstein": True,
        "JensenShannon": True,
        "ChiSquare": True,
        "MissingShare": False,
        "OutOfRange": False,
        "UnseenCategories": True,
    }
    assert DriftCheck.requires_values is True  # a plugin's default: only on real values


def test_discovery_is_cached_until_the_environment_changes(tmp_path, monkeypatch):
    from importlib import metadata

    calls = []
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    discover()
    discover()
    assert len(calls) <= 1  # the second call is served from the cache
    monkeypatch.syspath_prepend(str(tmp_path))  # a new place to find plugins
    discover()
    assert len(calls) == (2 if calls[:1] else 1)


# ---------------------------------------------------------------------------
# What each built-in check reports, in full, on small hand-made summaries.
#
# The conformance tests above hold the contract; these pin the numbers: every
# field of the CheckResult (statistic, threshold, noise floor, p-value, verdict,
# every detail) on inputs small enough to work out by hand, with the
# statistics recomputed here from their textbook definitions or from scipy.
# Counts are multiples of 1000 over 8000 so that the fractions are exact.

N_REF, N_CUR = 8000, 4000
NE = N_REF * N_CUR / (N_REF + N_CUR)  # the two-sample effective size, 2666.67


def numeric_reference(cdf, cdf_lt=(), edges=(0.0, 1.0, 3.0, 4.0), std=2.5, missing=0, rows=None):
    present = cdf[-1]
    return ColumnProfile(
        name="x",
        kind="numeric",
        role="feature",
        dtype="float64",
        rows=present + missing if rows is None else rows,
        missing=missing,
        min=edges[0],
        max=edges[-1],
        std=std,
        edges=list(edges),
        cdf=list(cdf),
        cdf_lt=list(cdf_lt),
    )


def numeric_current(cdf, cdf_lt=None, present=None, **counts):
    present = cdf[-1] if present is None else present
    return CurrentColumn(
        name="x",
        kind="numeric",
        rows=present + counts.pop("missing", 0) + counts.get("posinf", 0) + counts.get("neginf", 0),
        missing=0,
        present=present,
        cdf=np.array(cdf),
        cdf_lt=np.array(cdf if cdf_lt is None else cdf_lt),
        **counts,
    )


def categorical_reference(counts, other=0, missing=0):
    return ColumnProfile(
        name="c",
        kind="categorical",
        role="feature",
        dtype="object",
        rows=sum(counts.values()) + other + missing,
        missing=missing,
        values=list(counts),
        counts=list(counts.values()),
        other=other,
        distinct=len(counts),
    )


def categorical_current(counts, missing=0):
    present = sum(counts.values())
    return CurrentColumn(
        name="c",
        kind="categorical",
        rows=present + missing,
        missing=missing,
        present=present,
        counts=dict(counts),
    )


def same(actual, expected):
    """Equal, with floats compared to 1e-9 relative (recursively in lists and dicts)."""
    if isinstance(expected, float) and isinstance(actual, (float, int, np.floating)):
        if math.isinf(expected):
            return actual == expected
        return actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if isinstance(expected, (list, tuple)):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in expected
        )
    return type(actual) is type(expected) and actual == expected


def assert_result(actual, expected):
    for f in dataclasses.fields(CheckResult):
        got, want = getattr(actual, f.name), getattr(expected, f.name)
        assert same(got, want), f"{f.name}: {got!r} != {want!r}"


def ks_floor(n, m, alpha=0.001):
    return float(kstwobign.isf(alpha) / math.sqrt(n * m / (n + m)))


def ks_p(distance, n, m):
    return float(kstwobign.sf(distance * math.sqrt(n * m / (n + m))))


# A reference with a point mass at 3: 1000 values <= 0, 1000 in (0, 1], none in
# (1, 3), 5000 exactly at 3 and 1000 in (3, 4].
KS_REF = ((1000, 2000, 7000, 8000), (0, 1000, 2000, 7000))


@pytest.mark.parametrize(
    ("reference", "current", "params", "expected"),
    [
        pytest.param(
            # the batch spreads the point mass over (1, 3): equal CDFs at every
            # grid point, and a gap of 5/8 just below 3 that only cdf_lt sees
            numeric_reference(*KS_REF),
            numeric_current((500, 1000, 3500, 4000), (0, 500, 3500, 3500)),
            {},
            (0.625, N_REF, N_CUR),
            id="gap-only-just-below-a-grid-point",
        ),
        pytest.param(
            # here the grid points hold the larger gap, 3/8 at 3
            numeric_reference(*KS_REF),
            numeric_current((0, 0, 2000, 4000), (0, 0, 0, 3000)),
            {},
            (0.375, N_REF, N_CUR),
            id="gap-at-a-grid-point",
        ),
        pytest.param(
            # a profile without left limits (older format): the grid points only
            numeric_reference(KS_REF[0]),
            numeric_current((500, 1000, 3500, 4000), (0, 500, 3500, 3500)),
            {},
            (0.0, N_REF, N_CUR),
            id="no-left-limits-in-the-profile",
        ),
        pytest.param(
            # eight rows each: the noise floor (0.97) is above the real gap
            numeric_reference((1, 2, 7, 8), (0, 1, 2, 7)),
            numeric_current((1, 2, 7, 8), (0, 1, 7, 7)),
            {},
            (0.625, 8, 8),
            id="small-batch-below-its-noise-floor",
        ),
        pytest.param(
            # one row, at 0.5: its CDF is 1 from the second grid point on
            numeric_reference(*KS_REF),
            numeric_current((0, 1, 1, 1), (0, 0, 1, 1)),
            {},
            (0.75, N_REF, 1),
            id="one-row",
        ),
        pytest.param(
            # one row exactly at 3: the left limits see it as 0 of 1 below 3, not 0 of 2
            numeric_reference(*KS_REF),
            numeric_current((0, 0, 1, 1), (0, 0, 0, 1)),
            {},
            (0.25, N_REF, 1),
            id="one-row-on-a-grid-point",
        ),
        pytest.param(
            numeric_reference(*KS_REF),
            numeric_current((0, 0, 2000, 4000), (0, 0, 0, 3000)),
            {"threshold": 0.375},
            (0.375, N_REF, N_CUR),
            id="equal-to-the-threshold-is-not-drift",
        ),
        pytest.param(
            numeric_reference(*KS_REF),
            numeric_current((0, 0, 2000, 4000), (0, 0, 0, 3000)),
            {"threshold": 0.374, "alpha": 0.01},
            (0.375, N_REF, N_CUR),
            id="just-above-the-threshold",
        ),
    ],
)
def test_ks_reports(reference, current, params, expected):
    distance, n, m = expected
    check = KolmogorovSmirnov(**params)
    threshold, alpha = check.threshold, check.alpha
    floor = ks_floor(n, m, alpha)
    want = CheckResult(
        "ks",
        distance,
        distance > max(threshold, floor),
        threshold,
        floor,
        min(1.0, ks_p(distance, n, m)),
    )
    assert_result(check.fit(reference).score(current), want)


def test_ks_verdicts_of_the_table_are_the_ones_meant():
    """The table above derives each verdict; these say which ones it must be."""
    ref = numeric_reference(*KS_REF)
    assert KolmogorovSmirnov().fit(ref).score(numeric_current((0, 0, 2000, 4000), (0,) * 4)).drift
    small = numeric_reference((1, 2, 7, 8), (0, 1, 2, 7))
    assert (
        not KolmogorovSmirnov().fit(small).score(numeric_current((1, 2, 7, 8), (0, 1, 7, 7))).drift
    )
    edge = KolmogorovSmirnov(threshold=0.375).fit(ref)
    assert not edge.score(numeric_current((0, 0, 2000, 4000), (0, 0, 0, 3000))).drift


def test_psi_bins_on_the_reference_quantiles():
    # deciles of 8000 values: 800, 1600, ... 7200 fall at or before grid points
    # 0, 1, 2, 2, 2, 2, 2, 2, 3; the point mass at 3 makes one wide bin
    assert PopulationStability().fit(numeric_reference(*KS_REF)).cuts_.tolist() == [0, 1, 2, 3]
    assert PopulationStability(bins=4).fit(numeric_reference(*KS_REF)).cuts_.tolist() == [1, 2]
    even = numeric_reference((2000, 4000, 6000, 8000))
    assert PopulationStability(bins=4).fit(even).cuts_.tolist() == [0, 1, 2]
    assert PopulationStability(bins=2).fit(even).cuts_.tolist() == [1]


def psi_by_hand(ref_bins, cur_bins):
    ref = [max(r / sum(ref_bins), 1e-4) for r in ref_bins]
    cur = [max(c / sum(cur_bins), 1e-4) for c in cur_bins]
    return sum((c - r) * math.log(c / r) for r, c in zip(ref, cur, strict=True))


@pytest.mark.parametrize(
    ("bins", "current", "ref_bins", "cur_bins", "params"),
    [
        # cuts [1, 2]: bins (.., 1], (1, 3], (3, ..]
        (4, (0, 500, 2500, 4000), (2000, 5000, 1000), (500, 2000, 1500), {}),
        # an empty bin is floored at 1e-4 instead of dividing by zero
        (4, (0, 0, 3000, 4000), (2000, 5000, 1000), (0, 3000, 1000), {}),
        # deciles cut at every grid point, the last one too: values above the
        # reference's largest fall in a fifth bin (empty on both sides here)
        (10, (0, 500, 2500, 4000), (1000, 1000, 5000, 1000, 0), (0, 500, 2000, 1500, 0), {}),
        (10, KS_REF[0], (1000, 1000, 5000, 1000, 0), (1000, 1000, 5000, 1000, 0), {}),
        (10, (0, 500, 2500, 3000), (1000, 1000, 5000, 1000, 0), (0, 500, 2000, 500, 1000), {}),
        (4, (0, 500, 2500, 4000), (2000, 5000, 1000), (500, 2000, 1500), {"alpha": 0.2}),
    ],
)
def test_psi_reports(bins, current, ref_bins, cur_bins, params):
    check = PopulationStability(bins=bins, **params).fit(numeric_reference(*KS_REF))
    n_cur = sum(cur_bins)
    value = psi_by_hand(ref_bins, cur_bins)
    floor = float(chi2.isf(check.alpha, len(ref_bins) - 1)) / (N_REF * n_cur / (N_REF + n_cur))
    want = CheckResult("psi", value, value > max(0.2, floor), 0.2, floor, decides=False)
    assert_result(check.score(numeric_current(current, present=n_cur)), want)


def test_psi_verdicts():
    ref = numeric_reference(*KS_REF)
    shifted = numeric_current((0, 500, 2500, 4000))
    value = PopulationStability(bins=4).fit(ref).score(shifted).statistic
    assert value == pytest.approx(0.3891894137, rel=1e-9)  # .125 ln 2 + .125 ln 1.25 + .25 ln 3
    assert PopulationStability(bins=4).fit(ref).score(shifted).drift
    assert not PopulationStability(bins=4, threshold=value).fit(ref).score(shifted).drift
    # eight rows: chi2(2) at 0.001 is 13.8, over an effective size of 4 is 3.45
    small = PopulationStability(bins=4).fit(numeric_reference((1, 2, 7, 8)))
    result = small.score(numeric_current((0, 1, 5, 8)))
    assert result.noise_floor == pytest.approx(float(chi2.isf(0.001, 2)) / 4)
    assert result.statistic > 0.2 and not result.drift


# The Wasserstein check on edges 0, 1, 3, 4 (cells of width 1, 2, 1): the
# reference CDF is 1/8, 2/8, 7/8, 1 there, the batch's 0, 1/8, 5/8, 1, so the
# gaps are 1/8, 1/8, 2/8, 0 and the trapezoids 1/8 + 2 * 3/16 + 1/8 = 5/8.
W_CUR = (0, 500, 2500, 4000)


@pytest.mark.parametrize(
    ("reference", "current", "distance", "std", "n_cur"),
    [
        (numeric_reference(KS_REF[0]), numeric_current(W_CUR), 0.625, 2.5, N_CUR),
        # the batch's tails outside the reference range add their mean distance
        (
            numeric_reference(KS_REF[0]),
            numeric_current(W_CUR, below_mass=0.25, above_mass=0.5),
            1.375,
            2.5,
            N_CUR,
        ),
        # a reference without spread: any distance is infinitely many of its stds
        (numeric_reference(KS_REF[0], std=0.0), numeric_current(W_CUR), 0.625, 0.0, N_CUR),
        (numeric_reference(KS_REF[0], std=None), numeric_current(W_CUR), 0.625, None, N_CUR),
        # a one-point grid has no inside, only tails
        (
            numeric_reference((8000,), edges=(2.0,)),
            numeric_current((4000,), below_mass=0.125, above_mass=0.25),
            0.375,
            2.5,
            N_CUR,
        ),
        # no usable value in the batch: the floor is 3/sqrt(1e-9), no verdict possible
        (numeric_reference(KS_REF[0]), numeric_current((0, 0, 0, 0)), 2.25, 2.5, 0),
        # eight against four rows: the floor 3/sqrt(8/3) is above the distance
        (numeric_reference((1, 2, 7, 8)), numeric_current((0, 0.5, 2.5, 4)), 0.625, 2.5, 4),
    ],
)
def test_wasserstein_reports(reference, current, distance, std, n_cur):
    n_ref = reference.cdf[-1]
    value = distance / std if std else math.inf
    ne = n_ref * n_cur / (n_ref + n_cur) if n_cur else 1e-9
    floor = 3.0 / math.sqrt(ne)
    want = CheckResult(
        "wasserstein",
        value,
        value > max(0.1, floor),
        0.1,
        floor,
        decides=False,
        detail={"distance": distance},
    )
    assert_result(Wasserstein().fit(reference).score(current), want)


def test_wasserstein_verdicts():
    ref = numeric_reference(KS_REF[0])
    assert Wasserstein().fit(ref).score(numeric_current(W_CUR)).drift  # 0.25 stds
    assert not Wasserstein(threshold=0.25).fit(ref).score(numeric_current(W_CUR)).drift
    assert Wasserstein(threshold=0.2499).fit(ref).score(numeric_current(W_CUR)).drift
    small = Wasserstein().fit(numeric_reference((1, 2, 7, 8)))
    assert not small.score(numeric_current((0, 0.5, 2.5, 4))).drift


@pytest.mark.parametrize("shift, scale", [(1.0, 1.0), (0.3, 1.5), (-0.2, 0.5)])
def test_wasserstein_distance_matches_scipy_on_real_samples(shift, scale):
    """The binned distance against scipy's exact one on the same rows.

    Within 4 %: the trapezoids are exact where both CDFs are straight inside a
    grid cell, and the reference's tail cells are wide (measured: 0.2 % to 3 %
    off for these shifts).
    """
    rng = np.random.default_rng(5)
    ref = rng.normal(0, 1, 40_000)
    cur = rng.normal(shift, scale, 30_000)
    column = profile(pd.DataFrame({"x": ref})).columns["x"]
    result = Wasserstein().fit(column).score(summarize(column, pd.Series(cur)))
    exact = float(wasserstein_distance(ref, cur))
    assert result.detail["distance"] == pytest.approx(exact, rel=0.04)
    assert result.statistic == pytest.approx(exact / column.std, rel=0.04)


def contingency(ref, cur):
    """scipy's chi-square test of the two count rows, categories empty in both dropped."""
    table = np.array([ref, cur], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    found = chi2_contingency(table, correction=False)
    return float(found.statistic), int(found.dof), float(found.pvalue)


CAT_REF = {"a": 5000, "b": 2000, "c": 1000}
LABELS = ["a", "b", "c", "(other)", "(unseen)"]


@pytest.mark.parametrize(
    ("reference", "current", "ref_vec", "cur_vec", "params"),
    [
        pytest.param(
            categorical_reference(CAT_REF),
            categorical_current({"a": 1000, "b": 1000, "d": 2000}),
            [5000, 2000, 1000, 0, 0],
            [1000, 1000, 0, 0, 2000],
            {},
            id="a-new-category",
        ),
        pytest.param(
            # a reference that kept only its top values: the new one may have been among the rest
            categorical_reference({"a": 4000, "b": 2000, "c": 1000}, other=1000),
            categorical_current({"a": 1000, "b": 1000, "d": 2000}),
            [4000, 2000, 1000, 1000, 0],
            [1000, 1000, 0, 2000, 0],
            {"alpha": 0.05},
            id="into-other",
        ),
        pytest.param(
            categorical_reference(CAT_REF),
            categorical_current({"a": 2500, "b": 1000, "c": 500}),
            [5000, 2000, 1000, 0, 0],
            [2500, 1000, 500, 0, 0],
            {},
            id="same-shares",
        ),
        pytest.param(
            categorical_reference({"a": 5, "b": 2, "c": 1}),
            categorical_current({"a": 1, "b": 1, "d": 2}),
            [5, 2, 1, 0, 0],
            [1, 1, 0, 0, 2],
            {},
            id="eight-rows-below-the-noise-floor",
        ),
    ],
)
def test_jensen_shannon_and_chi_square_report(reference, current, ref_vec, cur_vec, params):
    distance = float(jensenshannon(ref_vec, cur_vec, base=2))
    used = sum(1 for r, c in zip(ref_vec, cur_vec, strict=True) if r + c)
    n, m = sum(ref_vec), sum(cur_vec)
    alpha = params.get("alpha", 0.001)
    floor = math.sqrt(float(chi2.isf(alpha, used - 1)) / (8 * n * m / (n + m) * math.log(2)))
    statistic, dof, p_value = contingency(ref_vec, cur_vec)
    counts = {"reference": [float(v) for v in ref_vec], "current": [float(v) for v in cur_vec]}
    want = CheckResult(
        "jensenshannon",
        distance,
        distance > max(0.1, floor),
        0.1,
        floor,
        p_value,
        detail={"labels": LABELS, **counts},
    )
    assert_result(JensenShannon(**params).fit(reference).score(current), want)
    want = CheckResult("chi2", statistic, p_value < 0.01, None, None, p_value, False, {"dof": dof})
    assert_result(ChiSquare().fit(reference).score(current), want)


def test_jensen_shannon_and_chi_square_verdicts():
    ref = categorical_reference(CAT_REF)
    new = categorical_current({"a": 1000, "b": 1000, "d": 2000})
    distance = JensenShannon().fit(ref).score(new).statistic
    assert JensenShannon().fit(ref).score(new).drift
    assert not JensenShannon(threshold=distance).fit(ref).score(new).drift
    assert JensenShannon(threshold=distance - 1e-9).fit(ref).score(new).drift
    same_shares = categorical_current({"a": 2500, "b": 1000, "c": 500})
    assert JensenShannon().fit(ref).score(same_shares).statistic == 0.0
    small = JensenShannon().fit(categorical_reference({"a": 5, "b": 2, "c": 1}))
    result = small.score(categorical_current({"a": 1, "b": 1, "d": 2}))
    assert result.statistic > 0.5 and result.noise_floor > 1 and not result.drift

    assert ChiSquare().fit(ref).score(new).drift
    assert not ChiSquare().fit(ref).score(same_shares).drift
    mild = categorical_current({"a": 2400, "b": 1050, "c": 550})
    p_value = ChiSquare().fit(ref).score(mild).p_value
    assert 0 < p_value < 0.5
    assert not ChiSquare(alpha=p_value).fit(ref).score(mild).drift  # p == alpha: not below it
    assert ChiSquare(alpha=p_value * 1.0001).fit(ref).score(mild).drift


def test_chi_square_with_one_category_has_nothing_to_test():
    ref = categorical_reference({"a": 10})
    result = ChiSquare().fit(ref).score(categorical_current({"a": 5}))
    assert_result(result, CheckResult("chi2", 0.0, False, None, None, 1.0, False, {"dof": 0}))


@pytest.mark.parametrize(
    ("ref_missing", "cur_rows", "cur_missing", "params", "drift"),
    [
        (100, 1000, 300, {}, True),  # 10 % -> 30 %
        (100, 1000, 0, {}, True),  # 10 % -> 0 %: fewer missing values is a change too
        (100, 1000, 140, {}, False),  # +4 %, under the 5 % threshold
        (100, 1000, 140, {"threshold": 0.03}, True),
        (0, 1000, 30, {"threshold": 0.01}, True),  # none before: the floor is ~0
        (100, 10, 3, {}, False),  # +20 % on ten rows is within noise (floor 0.31)
        (100, 50, 50, {}, True),  # every value missing now
        (100, 1, 1, {}, False),  # one row, missing: a share of 1 but within noise (floor 0.99)
    ],
)
def test_missing_share_reports(ref_missing, cur_rows, cur_missing, params, drift):
    reference = categorical_reference({"a": 600, "b": 300}, missing=ref_missing)
    current = categorical_current({"a": cur_rows - cur_missing}, missing=cur_missing)
    ref_share = ref_missing / (900 + ref_missing)
    cur_share = cur_missing / cur_rows
    threshold = params.get("threshold", 0.05)
    floor = 3.3 * math.sqrt(max(ref_share * (1 - ref_share), 1e-12) / cur_rows)
    want = CheckResult(
        "missing",
        cur_share - ref_share,
        drift,
        threshold,
        floor,
        decides=False,
        detail={"reference": ref_share, "current": cur_share},
    )
    assert_result(MissingShare(**params).fit(reference).score(current), want)


def test_missing_share_at_its_threshold_is_not_drift():
    reference = categorical_reference({"a": 600, "b": 300}, missing=100)
    current = categorical_current({"a": 700}, missing=300)
    change = MissingShare().fit(reference).score(current).statistic
    assert not MissingShare(threshold=change).fit(reference).score(current).drift
    assert MissingShare(threshold=change - 1e-9).fit(reference).score(current).drift


@pytest.mark.parametrize(
    ("n_ref", "counts", "params", "drift"),
    [
        # 30 below, 20 above, 7 +inf and 3 -inf among 950 usable values
        (8000, {"below": 30, "above": 20, "posinf": 7, "neginf": 3}, {}, True),
        (8000, {"below": 5, "above": 2}, {}, False),  # 0.7 %, under the 1 % threshold
        (8000, {"below": 5, "above": 2}, {"threshold": 0.005}, True),
        (8000, {"posinf": 7}, {"threshold": 0.005}, True),
        (8000, {"neginf": 7}, {"threshold": 0.005}, True),
        # a reference of eight values: a new batch lands outside it 2/9 of the time
        (8, {"below": 30, "above": 20, "posinf": 7, "neginf": 3}, {}, False),
    ],
)
def test_out_of_range_reports(n_ref, counts, params, drift):
    present = 940 + (10 - counts.get("posinf", 0) - counts.get("neginf", 0))
    reference = numeric_reference((n_ref // 8, n_ref // 4, n_ref * 7 // 8, n_ref))
    current = numeric_current((200, 400, 700, 900), present=present, **counts)
    infinite = counts.get("posinf", 0) + counts.get("neginf", 0)
    usable = present + infinite
    share = (counts.get("below", 0) + counts.get("above", 0) + infinite) / usable
    expected = 2 / (n_ref + 1)
    floor = expected + 3.3 * math.sqrt(expected / usable)
    detail = {
        "below": counts.get("below", 0),
        "above": counts.get("above", 0),
        "infinite": infinite,
    }
    want = CheckResult(
        "out_of_range",
        share,
        drift,
        params.get("threshold", 0.01),
        floor,
        decides=False,
        detail=detail,
    )
    assert_result(OutOfRange(**params).fit(reference).score(current), want)


def test_out_of_range_of_a_single_value():
    reference = numeric_reference(KS_REF[0])
    expected = 2 / 8001
    one = numeric_current((0, 0, 0, 0), present=1, above=1)
    want = CheckResult(
        "out_of_range",
        1.0,
        True,  # the floor for one value is 0.05
        0.01,
        expected + 3.3 * math.sqrt(expected),
        decides=False,
        detail={"below": 0, "above": 1, "infinite": 0},
    )
    assert_result(OutOfRange().fit(reference).score(one), want)


def test_out_of_range_without_a_finite_value():
    reference = numeric_reference(KS_REF[0])
    expected = 2 / 8001
    infinite = numeric_current((0,) * 4, present=0, posinf=20, neginf=30)
    want = CheckResult(
        "out_of_range",
        1.0,
        True,
        0.01,
        expected + 3.3 * math.sqrt(expected / 50),
        decides=False,
        detail={"below": 0, "above": 0, "infinite": 50},
    )
    assert_result(OutOfRange().fit(reference).score(infinite), want)
    missing = numeric_current((0,) * 4, present=0, missing=50)
    want = dataclasses.replace(
        want,
        statistic=0.0,
        drift=False,
        noise_floor=expected + 3.3 * math.sqrt(expected),
        detail={"below": 0, "above": 0, "infinite": 0},
    )
    assert_result(OutOfRange().fit(reference).score(missing), want)
    at_threshold = numeric_current((0, 0, 0, 99), present=100, above=1)
    assert not OutOfRange().fit(reference).score(at_threshold).drift  # 1 % is not above 1 %
    assert OutOfRange(threshold=0.0099).fit(reference).score(at_threshold).drift


UNSEEN = {f"new{i}": 13 - i for i in range(1, 13)}  # new1: 12 rows ... new12: 1 row


@pytest.mark.parametrize(
    ("counts", "params", "share", "examples", "drift"),
    [
        ({"a": 900, "b": 50, **UNSEEN}, {}, 78 / 1028, [f"new{i}" for i in range(1, 11)], True),
        ({"a": 900, "b": 100}, {}, 0.0, [], False),
        ({"a": 999, "z": 1}, {}, 0.001, ["z"], False),
        ({"a": 999, "z": 1}, {"threshold": 0.0009}, 0.001, ["z"], True),
        ({"a": 99, "z": 1}, {}, 0.01, ["z"], False),  # at the threshold, not above it
        ({"z": 3, "y": 5}, {}, 1.0, ["y", "z"], True),
        ({"z": 1}, {}, 1.0, ["z"], True),  # one row: all of it
        ({}, {}, 0.0, [], False),  # every value missing
        ({"a": 10}, {"threshold": -1.0}, 0.0, [], False),  # nothing new is never drift
    ],
)
def test_unseen_categories_report(counts, params, share, examples, drift):
    reference = categorical_reference(CAT_REF)
    current = categorical_current(counts, missing=0 if counts else 50)
    want = CheckResult(
        "unseen",
        share,
        drift,
        params.get("threshold", 0.01),
        None,
        decides=False,
        detail={"values": examples, "distinct": len([k for k in counts if k not in CAT_REF])},
    )
    assert_result(UnseenCategories(**params).fit(reference).score(current), want)


def test_unseen_categories_need_a_reference_that_kept_every_value():
    reference = categorical_reference(CAT_REF, other=10)
    result = UnseenCategories().fit(reference).score(categorical_current({"zzz": 100}))
    note = {"note": "reference kept only its top values"}
    assert_result(result, CheckResult("unseen", None, False, decides=False, detail=note))


def test_defaults_are_the_documented_ones():
    assert {cls.name: cls().get_params() for cls in BUILTIN_CHECKS} == {
        "ks": {"threshold": 0.1, "alpha": 0.001},
        "psi": {"threshold": 0.2, "bins": 10, "alpha": 0.001},
        "wasserstein": {"threshold": 0.1},
        "jensenshannon": {"threshold": 0.1, "alpha": 0.001},
        "chi2": {"alpha": 0.01},
        "missing": {"threshold": 0.05},
        "out_of_range": {"threshold": 0.01},
        "unseen": {"threshold": 0.01},
    }
    found = default_checks()
    assert [type(c) for c in found[: len(BUILTIN_CHECKS)]] == list(BUILTIN_CHECKS)
    assert [type(c) for c in found[len(BUILTIN_CHECKS) :]] == discover()
