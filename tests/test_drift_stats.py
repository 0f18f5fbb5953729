"""The statistics against exact reference implementations, with hypothesis."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2, chi2_contingency, ks_2samp, kstwobign, wasserstein_distance

from mlops_nb.monitoring.drift import check_frame, profile
from mlops_nb.monitoring.drift.stats import (
    benjamini_hochberg,
    chi2_homogeneity,
    chi2_isf,
    effective_n,
    js_distance,
    js_noise_floor,
    ks_distance,
    ks_noise_floor,
    ks_pvalue,
    psi,
    psi_noise_floor,
    wasserstein_binned,
)
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


# ---------------------------------------------------------------------------
# Each statistic and noise floor pinned on hand-worked values and against
# scipy's own distributions, including the degenerate inputs the checks hand
# over (no values, one category, a one-point grid).


@pytest.mark.parametrize(
    ("n", "m", "expected"),
    [
        (8000, 4000, 8000 * 4000 / 12000),
        (1, 1, 0.5),
        (3, 6, 2.0),
        (0, 5, 0.0),
        (5, 0, 0.0),
        (0, 0, 0.0),
    ],
)
def test_effective_n(n, m, expected):
    assert effective_n(n, m) == pytest.approx(expected, rel=1e-12)


def test_ks_distance_is_the_largest_gap_either_way():
    assert ks_distance(np.array([0.1, 0.5, 1.0]), np.array([0.3, 0.4, 1.0])) == pytest.approx(0.2)
    assert ks_distance(np.array([0.3, 0.4, 1.0]), np.array([0.1, 0.7, 1.0])) == pytest.approx(0.3)
    assert ks_distance(np.zeros(0), np.zeros(0)) == 0.0
    assert ks_distance(np.array([0.3]), np.array([0.5])) == pytest.approx(0.2)  # a one-point grid


@pytest.mark.parametrize(("n", "m"), [(8000, 4000), (200, 200_000), (10, 7), (1, 1)])
@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.2])
def test_noise_floors_are_scipys_quantiles_over_the_effective_size(n, m, alpha):
    ne = n * m / (n + m)
    assert ks_noise_floor(n, m, alpha) == pytest.approx(kstwobign.isf(alpha) / ne**0.5, rel=1e-9)
    for bins in (2, 5, 10):
        assert psi_noise_floor(bins, n, m, alpha) == pytest.approx(
            chi2.isf(alpha, bins - 1) / ne, rel=1e-9
        )
    for k in (2, 3, 102):
        assert js_noise_floor(k, n, m, alpha) == pytest.approx(
            (chi2.isf(alpha, k - 1) / (8 * ne * np.log(2))) ** 0.5, rel=1e-9
        )
    assert chi2_isf(alpha, 3) == pytest.approx(chi2.isf(alpha, 3), rel=1e-12)


def test_noise_floors_default_to_alpha_one_in_a_thousand():
    assert ks_noise_floor(100, 100) == ks_noise_floor(100, 100, 0.001)
    assert psi_noise_floor(10, 100, 100) == psi_noise_floor(10, 100, 100, 0.001)
    assert js_noise_floor(4, 100, 100) == js_noise_floor(4, 100, 100, 0.001)


def test_noise_floors_of_degenerate_inputs():
    # no rows on one side: nothing can be told apart from noise
    assert ks_noise_floor(0, 100) == 1.0 and ks_noise_floor(100, 0) == 1.0
    assert psi_noise_floor(10, 0, 100) == np.inf and psi_noise_floor(10, 100, 0) == np.inf
    assert js_noise_floor(4, 0, 100) == 1.0 and js_noise_floor(4, 100, 0) == 1.0
    # one bin or one category: one degree of freedom, not zero
    assert psi_noise_floor(1, 8000, 4000) == pytest.approx(chi2.isf(0.001, 1) / (8000 / 3))
    one = js_noise_floor(1, 8000, 4000)
    assert one == pytest.approx((chi2.isf(0.001, 1) / (8 * 8000 / 3 * np.log(2))) ** 0.5)


def test_noise_floors_hold_their_alpha_on_same_distribution_samples():
    """The point of a floor: same-distribution samples exceed it about alpha of the time
    (a little less at these sizes: the asymptotic quantile is conservative; 3.3 % here)."""
    rng = np.random.default_rng(21)
    n, m, trials, alpha = 400, 300, 1000, 0.05
    floor = ks_noise_floor(n, m, alpha)
    exceeded = sum(
        ks_2samp(rng.normal(size=n), rng.normal(size=m), method="asymp").statistic > floor
        for _ in range(trials)
    )
    assert 0.02 < exceeded / trials < 0.08


def test_ks_pvalue_is_the_kolmogorov_tail():
    assert ks_pvalue(0.1, 8000, 4000) == pytest.approx(kstwobign.sf(0.1 * (8000 / 3) ** 0.5))
    assert ks_pvalue(0.0, 10, 10) == 1.0
    assert ks_pvalue(0.5, 0, 10) == 1.0


def test_psi_by_hand():
    ref, cur = np.array([2000.0, 5000, 1000]), np.array([500.0, 2000, 1500])
    hand = 0.125 * np.log(2) + 0.125 * np.log(1.25) + 0.25 * np.log(3)
    assert psi(ref, cur) == pytest.approx(hand, rel=1e-12)
    # an empty bin counts as a share of 1e-4 (or of eps)
    empty = np.array([0.0, 3000, 1000])
    shares = [(1e-4, 0.25), (0.75, 0.625), (0.25, 0.125)]
    assert psi(ref, empty) == pytest.approx(sum((c - r) * np.log(c / r) for c, r in shares))
    shares[0] = (0.01, 0.25)
    assert psi(ref, empty, eps=0.01) == pytest.approx(
        sum((c - r) * np.log(c / r) for c, r in shares)
    )
    assert psi(np.zeros(3), np.zeros(3)) == 0.0
    # one row on each side: shares of 1, not 1/2
    one = (1 - 1e-4) * np.log(1e4) * 2
    assert psi(np.array([1.0, 0]), np.array([0.0, 1])) == pytest.approx(one)


# edges 0, 1, 3, 4 (cells 1, 2, 1 wide); CDF gaps 1/8, 1/8, 2/8, 0
W_EDGES = np.array([0.0, 1.0, 3.0, 4.0])
W_REF = np.array([1, 2, 7, 8]) / 8
W_CUR = np.array([0, 1, 5, 8]) / 8


def test_wasserstein_binned_by_hand():
    # trapezoids: 1 * (1/8 + 1/8)/2 + 2 * (1/8 + 2/8)/2 + 1 * (2/8 + 0)/2
    assert wasserstein_binned(W_EDGES, W_REF, W_CUR, 0.0, 0.0) == pytest.approx(0.625)
    assert wasserstein_binned(W_EDGES, W_CUR, W_REF, 0.0, 0.0) == pytest.approx(0.625)
    assert wasserstein_binned(W_EDGES, W_REF, W_CUR, 0.25, 0.5) == pytest.approx(1.375)
    assert wasserstein_binned(W_EDGES, W_REF, W_REF, 0.0, 0.0) == 0.0
    # two grid points: one trapezoid
    two = wasserstein_binned(
        np.array([0.0, 2.0]), np.array([0.5, 1]), np.array([0.25, 1]), 0.0, 0.0
    )
    assert two == pytest.approx(0.25)
    # a one-point grid has only the tails
    assert wasserstein_binned(np.array([2.0]), np.ones(1), np.ones(1), 0.125, 0.25) == 0.375
    assert wasserstein_binned(np.zeros(0), np.zeros(0), np.zeros(0), 0.5, 0.0) == 0.5


def test_wasserstein_binned_is_exact_for_a_shift_by_one_cell():
    """Uniform on [0, 4] against uniform on [1, 5]: both CDFs are straight inside
    every cell, so the trapezoids are exact and the distance is the shift, 1."""
    edges = np.array([0.0, 1, 2, 3, 4])
    ref = edges / 4
    cur = np.clip(edges - 1, 0, None) / 4
    above = 0.25 * 0.5  # a quarter of the batch above 4, half a unit on average
    assert wasserstein_binned(edges, ref, cur, 0.0, above) == pytest.approx(1.0)
    rng = np.random.default_rng(2)
    exact = wasserstein_distance(rng.uniform(0, 4, 100_000), rng.uniform(1, 5, 100_000))
    assert exact == pytest.approx(1.0, abs=0.02)


def test_js_distance_by_hand():
    assert js_distance(np.array([1.0, 0]), np.array([0.0, 1])) == 1.0  # disjoint
    assert js_distance(np.array([3.0, 1]), np.array([6.0, 2])) == 0.0  # same shares
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); KL(p|m) = log2(4/3), KL(q|m) = (log2(2/3) + 1)/2
    kl = (np.log2(4 / 3) + (np.log2(2 / 3) + 1) / 2) / 2
    assert js_distance(np.array([2.0, 0]), np.array([5.0, 5])) == pytest.approx(kl**0.5)
    assert js_distance(np.zeros(2), np.zeros(2)) == 0.0


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ([5000, 2000, 1000, 0, 0], [1000, 1000, 0, 0, 2000]),
        ([50, 20, 10], [49, 22, 9]),
        ([1, 1], [1, 0]),
        ([7, 0, 3], [2, 0, 8]),
        ([1, 0], [3, 4]),  # one row on a side is still a sample
        ([3, 4], [0, 1]),
    ],
)
def test_chi2_homogeneity_matches_scipy(ref, cur):
    table = np.array([ref, cur], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    expected = chi2_contingency(table, correction=False)
    statistic, dof, p_value = chi2_homogeneity(np.array(ref, float), np.array(cur, float))
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert dof == expected.dof and isinstance(dof, int)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [([10, 0], [5, 0]), ([0, 0], [3, 4]), ([3, 4], [0, 0]), ([], [])],
    ids=["one-category", "empty-reference", "empty-batch", "nothing"],
)
def test_chi2_homogeneity_with_nothing_to_compare(ref, cur):
    assert chi2_homogeneity(np.array(ref, float), np.array(cur, float)) == (0.0, 0, 1.0)
