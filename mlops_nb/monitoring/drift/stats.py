"""The statistics behind drift checks, on binned summaries rather than raw rows.

Numeric columns are compared through their cumulative counts on the
reference's quantile grid (``edges``): the reference counts were taken when
the profile was made, the current counts are taken once per check. From
those (the counts at and just below every grid point), the
Kolmogorov–Smirnov distance is exact at every grid point and off by at most
the largest reference mass strictly between two grid points (about 1/255 for
the default 256-point grid) anywhere else. Categorical columns are compared as
count vectors over the reference's categories plus "other" and "unseen".

Noise floors: an effect size only counts as drift above the value that
sampling noise alone would exceed with probability ``alpha`` for these two
sample sizes, so small batches do not false-alarm and huge batches are judged
on the size of the change, not on a vanishing p-value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Significance level of the noise floors (per column).
NOISE_ALPHA = 0.001


def effective_n(n_ref: int, n_cur: int) -> float:
    """The two-sample effective size ``n·m / (n + m)``."""
    if n_ref <= 0 or n_cur <= 0:
        return 0.0
    return n_ref * n_cur / (n_ref + n_cur)


def ks_distance(ref_cdf: np.ndarray, cur_cdf: np.ndarray) -> float:
    """Largest gap between two CDFs evaluated at the same points (fractions)."""
    if ref_cdf.size == 0:
        return 0.0
    return float(np.max(np.abs(ref_cdf - cur_cdf)))


def ks_pvalue(distance: float, n_ref: int, n_cur: int) -> float:
    """Asymptotic two-sample KS p-value (Kolmogorov distribution)."""
    from scipy.special import kolmogorov

    ne = effective_n(n_ref, n_cur)
    if ne <= 0:
        return 1.0
    return float(min(1.0, max(0.0, kolmogorov(distance * math.sqrt(ne)))))


def ks_noise_floor(n_ref: int, n_cur: int, alpha: float = NOISE_ALPHA) -> float:
    """The KS distance same-distribution samples of these sizes exceed with prob. ``alpha``."""
    from scipy.special import kolmogi

    ne = effective_n(n_ref, n_cur)
    return float(kolmogi(alpha) / math.sqrt(ne)) if ne > 0 else 1.0


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index over matching bins (proportions floored at ``eps``)."""
    ref = np.maximum(ref_counts / max(ref_counts.sum(), 1), eps)
    cur = np.maximum(cur_counts / max(cur_counts.sum(), 1), eps)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi_noise_floor(bins: int, n_ref: int, n_cur: int, alpha: float = NOISE_ALPHA) -> float:
    """PSI is about chi-square(bins-1) / n_eff for same-distribution samples."""
    ne = effective_n(n_ref, n_cur)
    return float(chi2_isf(alpha, max(bins - 1, 1)) / ne) if ne > 0 else math.inf


def chi2_isf(alpha: float, dof: int) -> float:
    """The chi-square quantile exceeded with probability ``alpha``.

    ``scipy.special`` directly: ``scipy.stats.chi2.isf`` gives the same number
    after ~80 µs of argument checking, paid by every column of every check.
    """
    from scipy.special import chdtri

    return float(chdtri(dof, alpha))


def wasserstein_binned(
    edges: np.ndarray,
    ref_cdf: np.ndarray,
    cur_cdf: np.ndarray,
    below_mass: float,
    above_mass: float,
) -> float:
    """W1 distance from CDFs on a grid plus the current tails outside it.

    ``below_mass`` is ``mean(max(edges[0] - x, 0))`` over the current values
    and ``above_mass`` the same above ``edges[-1]``; the reference has no mass
    outside its own min and max.
    """
    if edges.size < 2:
        inner = 0.0
    else:
        gap = np.abs(ref_cdf - cur_cdf)
        inner = float(np.sum((gap[:-1] + gap[1:]) / 2 * np.diff(edges)))
    return inner + below_mass + above_mass


def js_distance(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen–Shannon distance, base 2 (0 = same, 1 = disjoint)."""
    p = p_counts / max(p_counts.sum(), 1)
    q = q_counts / max(q_counts.sum(), 1)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0)
    divergence = max(0.0, float(kl_p.sum() + kl_q.sum()) / 2)
    return math.sqrt(min(divergence, 1.0))


def js_noise_floor(categories: int, n_ref: int, n_cur: int, alpha: float = NOISE_ALPHA) -> float:
    """JS distance same-distribution samples exceed with probability ``alpha``.

    For close distributions the JS divergence in nats is about
    chi-square(k-1) / (8·n_eff), so the distance (base 2) is its square root
    after dividing by ln 2.
    """
    ne = effective_n(n_ref, n_cur)
    if ne <= 0:
        return 1.0
    return float(math.sqrt(chi2_isf(alpha, max(categories - 1, 1)) / (8 * ne * math.log(2))))


def chi2_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, int, float]:
    """Chi-square test that two count vectors come from one distribution.

    Categories empty in both samples are dropped. Returns (statistic, degrees
    of freedom, p-value).
    """
    from scipy.special import chdtrc

    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]]).astype(float)
    if table.shape[1] < 2 or table[0].sum() == 0 or table[1].sum() == 0:
        return 0.0, 0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return statistic, dof, float(chdtrc(dof, statistic))


def benjamini_hochberg(pvalues: list[float | None]) -> list[float | None]:
    """False-discovery-rate adjusted p-values (``None`` entries are skipped)."""
    indexed = [(p, i) for i, p in enumerate(pvalues) if p is not None and not math.isnan(p)]
    out: list[float | None] = [None] * len(pvalues)
    m = len(indexed)
    if not m:
        return out
    indexed.sort()
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = indexed[rank - 1]
        running = min(running, p * m / rank)
        out[i] = min(1.0, running)
    return out


def summary_floats(values: dict[str, Any]) -> dict[str, Any]:
    """Round floats for display and JSON (keeps ints and text)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = None if not math.isfinite(value) else float(f"{value:.6g}")
        else:
            out[key] = value
    return out
