"""The statistics against exact reference implementations, with hypothesis."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from mlops_nb.monitoring.drift import check_frame, profile
from mlops_nb.monitoring.drift.stats import benjamini_hochberg, js_distance, psi
from mlops_nb.monitoring.drift.values import bin_values, category_counts

samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=400)


def grid_ks(ref, cur):
    prof = profile(pd.DataFrame({"x": ref}))
    report = check_frame(prof, pd.DataFrame({"x": cur}))
    return report.columns[0].statistic


@settings(max_examples=60, deadline=None)
@given(ref=samples, cur=samples)
def test_ks_on_the_grid_is_within_001_of_exact(ref, cur):
    assume(len(set(ref)) > 1)  # a constant reference is "not testable" by design
    assert abs(grid_ks(ref, cur) - ks_2samp(ref, cur, method="asymp").statistic) <= 0.01


@settings(max_examples=40, deadline=None)
@given(
    ref=st.lists(st.integers(0, 6), min_size=5, max_size=300),
    cur=st.lists(st.integers(0, 30), min_size=5, max_size=300),
)
def test_ks_with_heavy_ties(ref, cur):
    ref_f, cur_f = [float(v) * 1.5 for v in ref], [float(v) * 1.5 for v in cur]
    assume(len(set(ref_f)) > 1)
    assert abs(grid_ks(ref_f, cur_f) - ks_2samp(ref_f, cur_f, method="asymp").statistic) <= 0.01


@pytest.mark.parametrize("dist", ["normal", "lognormal", "integers", "exponential"])
def test_ks_on_large_samples_matches_exact(dist):
    rng = np.random.default_rng(7)
    draw = {
        "normal": lambda n, s: rng.normal(s, 1, n),
        "lognormal": lambda n, s: rng.lognormal(s, 2, n),
        "integers": lambda n, s: rng.integers(0, 500, n).astype(float) + s * 40,
        "exponential": lambda n, s: rng.exponential(1 + s, n),
    }[dist]
    ref, cur = draw(200_000, 0.0), draw(150_000, 0.2)
    assert abs(grid_ks(ref, cur) - ks_2samp(ref, cur, method="asymp").statistic) <= 0.01


@settings(max_examples=50, deadline=None)
@given(
    edges=st.lists(st.floats(-100, 100), min_size=1, max_size=50, unique=True),
    values=st.lists(st.floats(-150, 150), min_size=1, max_size=300),
)
def test_binning_is_exact(edges, values):
    e = np.array(sorted(edges))
    x = np.array(values)
    binned = bin_values(e, x)
    assert binned.cdf.tolist() == [int((x <= v).sum()) for v in e]
    assert binned.cdf_lt.tolist() == [int((x < v).sum()) for v in e]
    assert binned.below == int((x < e[0]).sum()) and binned.above == int((x > e[-1]).sum())
    assert (binned.lowest, binned.highest) == (x.min(), x.max())


def test_lookup_table_path_is_exact_on_a_million_values():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(size=1_000_000), [1e9, -1e9]])
    edges = np.unique(np.quantile(rng.normal(size=10_000), np.linspace(0, 1, 256)))
    x[::997] = edges[(np.arange(x[::997].size)) % edges.size]  # values sitting on grid points
    binned = bin_values(edges, x)
    ordered = np.sort(x)
    assert binned.cdf.tolist() == np.searchsorted(ordered, edges, side="right").tolist()
    assert binned.cdf_lt.tolist() == np.searchsorted(ordered, edges, side="left").tolist()


def exact_counts(edges, x):
    ordered = np.sort(x)
    return (
        np.searchsorted(ordered, edges, side="right").tolist(),
        np.searchsorted(ordered, edges, side="left").tolist(),
    )


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.lognormal(0, 1, n),  # heavy right tail: the asinh table
        lambda rng, n: rng.lognormal(0, 2, n),  # too heavy even for it: binary search
        lambda rng, n: rng.standard_t(2, n),  # heavy tails both sides
        lambda rng, n: rng.pareto(1.5, n),
        lambda rng, n: rng.poisson(3, n).astype(float),  # whole numbers: counted
        lambda rng, n: rng.integers(-500, 2_000, n).astype(float),
        lambda rng, n: np.round(rng.normal(0, 3, n)) * 1.0,
    ],
    ids=[
        "lognormal",
        "lognormal_sigma2",
        "student_t2",
        "pareto",
        "poisson",
        "integers",
        "rounded_normal",
    ],
)
def test_every_fast_binning_path_is_exact(draw):
    rng = np.random.default_rng(11)
    reference = draw(rng, 20_000)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 256), method="inverted_cdf"))
    for x in (draw(rng, 60_000), draw(rng, 60_000) * 1.5 + 0.5, draw(rng, 60_000) + 3):
        x = x.copy()
        x[::101] = edges[np.arange(x[::101].size) % edges.size]  # values on grid points
        binned = bin_values(edges, x)
        cdf, cdf_lt = exact_counts(edges, x)
        assert binned.cdf.tolist() == cdf and binned.cdf_lt.tolist() == cdf_lt
        assert binned.below == int((x < edges[0]).sum())
        assert binned.above == int((x > edges[-1]).sum())
        n = x.size
        below_mass = np.clip(edges[0] - x, 0, None).sum() / n
        above_mass = np.clip(x - edges[-1], 0, None).sum() / n
        assert binned.below_mass == pytest.approx(below_mass, rel=1e-9, abs=1e-12)
        assert binned.above_mass == pytest.approx(above_mass, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "1", "1.0", "é", ""])), max_size=60)
)
def test_category_counts_do_not_depend_on_how_text_is_stored(values):
    """Arrow-backed strings are counted by Arrow, object columns by pandas: same answer,
    most frequent first, missing values counted apart."""
    import pandas as pd

    stored = [
        pd.Series(values, dtype=object),
        pd.Series(values, dtype="string[pyarrow]"),
        pd.Series(values, dtype="string[python]"),
        pd.Series(values, dtype="str"),
    ]
    expected = {}
    for v in values:
        if v is not None:
            expected[v] = expected.get(v, 0) + 1
    for series in stored:
        found, missing = category_counts(series)
        assert found == expected, series.dtype
        assert missing == values.count(None)
        assert list(found.values()) == sorted(found.values(), reverse=True)


counts = st.lists(st.integers(0, 1000), min_size=2, max_size=20)


@settings(max_examples=100, deadline=None)
@given(p=counts, q=counts)
def test_js_distance_matches_scipy_and_is_a_bounded_symmetric_distance(p, q):
    n = min(len(p), len(q))
    a, b = np.array(p[:n], float), np.array(q[:n], float)
    if a.sum() == 0 or b.sum() == 0:
        return
    ours = js_distance(a, b)
    assert 0.0 <= ours <= 1.0
    assert ours == pytest.approx(js_distance(b, a), abs=1e-12)
    assert ours == pytest.approx(float(jensenshannon(a, b, base=2)), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(p=counts)
def test_psi_is_zero_for_identical_and_positive_otherwise(p):
    a = np.array(p, float) + 1
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    b = a.copy()
    b[0] += a.sum()
    assert psi(a, b) > 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_benjamini_hochberg_bounds_and_order(pvals):
    adjusted = benjamini_hochberg(pvals)
    for raw, adj in zip(pvals, adjusted, strict=True):
        assert raw <= adj + 1e-12 and adj <= 1.0
    order = np.argsort(pvals, kind="stable")
    ranked = [adjusted[i] for i in order]
    assert all(x <= y + 1e-12 for x, y in itertools.pairwise(ranked))


def test_benjamini_hochberg_known_values_and_gaps():
    assert benjamini_hochberg([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.04, 0.04, None])
