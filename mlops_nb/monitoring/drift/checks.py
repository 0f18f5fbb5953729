"""Drift checks: a small contract in the scikit-learn style, and the built-ins.

A check is a class whose ``__init__`` only stores its parameters, whose
``fit(reference)`` takes a :class:`~mlops_nb.monitoring.drift.profile.ColumnProfile`
and returns ``self`` (learned state ends in ``_``), and whose
``score(current)`` takes a :class:`~mlops_nb.monitoring.drift.current.CurrentColumn`
and returns a :class:`CheckResult`. ``kinds`` says which columns it applies
to; ``decides`` whether its verdict makes the column count as drifted (the
others are reported as findings); ``requires_values`` whether it needs at
least one usable value in the batch (the engine does not run such checks on
a column that has none: that column is a data-quality issue instead). A
check must not raise on any column :func:`~.current.summarize` produces;
if a third-party one does, the report names it in its notes and leaves its
result out. Third-party checks register under the entry-point group
``mlops_nb.drift_checks``; the group is read once per environment (again
when ``sys.path`` or one of its folders changes).

Defaults, and why:

* numeric columns are decided by the **Kolmogorov–Smirnov distance** D (the
  largest gap between the two CDFs, 0–1) above ``0.1``: at least 10 % of the
  probability mass has moved. PSI (``0.2``, the usual "significant shift"
  mark) and the Wasserstein distance in reference standard deviations
  (``0.1``) are reported beside it.
* categorical columns are decided by the **Jensen–Shannon distance** (base 2,
  0–1) above ``0.1``; the chi-square homogeneity p-value is reported.
* every threshold is raised to the **noise floor** for the batch size: the
  value same-distribution samples exceed with probability 0.001. So 200 rows
  need a much larger change than 200,000, and a million rows of unchanged
  data do not alarm on a tiny p-value.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import stats
from .current import CurrentColumn, category_vectors
from .profile import ColumnProfile

ENTRY_POINT_GROUP = "mlops_nb.drift_checks"


@dataclass(frozen=True)
class CheckResult:
    """What one check says about one column."""

    check: str
    statistic: float | None
    drift: bool
    threshold: float | None = None
    noise_floor: float | None = None
    p_value: float | None = None
    decides: bool = True
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> float:
        """Statistic divided by the bar it had to clear (> 1 means drift)."""
        bar = max(self.threshold or 0.0, self.noise_floor or 0.0)
        if self.statistic is None or bar <= 0:
            return 0.0
        return float(self.statistic / bar)


class DriftCheck:
    """Base class of checks; see the module docstring for the contract."""

    name = "check"
    kinds: tuple[str, ...] = ("numeric",)
    decides = True
    requires_values = True

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters, as stored by ``__init__``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def fit(self, reference: ColumnProfile) -> DriftCheck:
        self.reference_ = reference
        return self

    def score(self, current: CurrentColumn) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _fractions(reference: ColumnProfile, current: CurrentColumn) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference.cdf, dtype=float) / max(reference.present, 1)
    cur = np.asarray(current.cdf, dtype=float) / max(current.present, 1)
    return ref, cur


class KolmogorovSmirnov(DriftCheck):
    """Largest CDF gap on the reference grid; decides numeric drift."""

    name = "ks"
    kinds = ("numeric", "datetime")

    def __init__(self, threshold: float = 0.1, alpha: float = stats.NOISE_ALPHA) -> None:
        self.threshold = threshold
        self.alpha = alpha

    def score(self, current: CurrentColumn) -> CheckResult:
        ref, cur = _fractions(self.reference_, current)
        distance = stats.ks_distance(ref, cur)
        if self.reference_.cdf_lt:
            # Also compare just below each grid point (the CDFs' left limits):
            # that catches jumps of the current CDF between grid points, so the
            # result is within one grid cell's reference mass of the exact D.
            ref_lt = np.asarray(self.reference_.cdf_lt, float) / max(self.reference_.present, 1)
            cur_lt = np.asarray(current.cdf_lt, float) / max(current.present, 1)
            distance = max(distance, stats.ks_distance(ref_lt, cur_lt))
        floor = stats.ks_noise_floor(self.reference_.present, current.present, self.alpha)
        return CheckResult(
            self.name,
            distance,
            distance > max(self.threshold, floor),
            self.threshold,
            floor,
            stats.ks_pvalue(distance, self.reference_.present, current.present),
        )


class PopulationStability(DriftCheck):
    """PSI over reference-quantile bins (deciles by default)."""

    name = "psi"
    decides = False

    def __init__(
        self, threshold: float = 0.2, bins: int = 10, alpha: float = stats.NOISE_ALPHA
    ) -> None:
        self.threshold = threshold
        self.bins = bins
        self.alpha = alpha

    def fit(self, reference: ColumnProfile) -> PopulationStability:
        super().fit(reference)
        cdf = np.asarray(reference.cdf, dtype=float)
        targets = np.linspace(0, reference.present, self.bins + 1)[1:-1]
        self.cuts_ = np.unique(np.searchsorted(cdf, targets, side="left").clip(0, cdf.size - 1))
        return self

    def score(self, current: CurrentColumn) -> CheckResult:
        ref_cum = np.asarray(self.reference_.cdf, dtype=float)[self.cuts_]
        cur_cum = np.asarray(current.cdf, dtype=float)[self.cuts_]
        ref_bins = np.diff(np.concatenate([[0], ref_cum, [self.reference_.present]]))
        cur_bins = np.diff(np.concatenate([[0], cur_cum, [current.present]]))
        value = stats.psi(ref_bins, cur_bins)
        floor = stats.psi_noise_floor(
            ref_bins.size, self.reference_.present, current.present, self.alpha
        )
        return CheckResult(
            self.name,
            value,
            value > max(self.threshold, floor),
            self.threshold,
            floor,
            decides=False,
        )


class Wasserstein(DriftCheck):
    """Earth mover's distance in units of the reference standard deviation."""

    name = "wasserstein"
    decides = False

    def __init__(self, threshold: float = 0.1) -> None:
        self.threshold = threshold

    def score(self, current: CurrentColumn) -> CheckResult:
        ref, cur = _fractions(self.reference_, current)
        edges = np.asarray(self.reference_.edges, dtype=float)
        distance = stats.wasserstein_binned(edges, ref, cur, current.below_mass, current.above_mass)
        std = self.reference_.std or 0.0
        value = distance / std if std > 0 else math.inf
        floor = 3.0 / math.sqrt(
            max(stats.effective_n(self.reference_.present, current.present), 1e-9)
        )
        return CheckResult(
            self.name,
            value,
            value > max(self.threshold, floor),
            self.threshold,
            floor,
            decides=False,
            detail={"distance": distance},
        )


class JensenShannon(DriftCheck):
    """Jensen–Shannon distance (base 2) of category shares; decides categorical drift."""

    name = "jensenshannon"
    kinds = ("categorical",)

    def __init__(self, threshold: float = 0.1, alpha: float = stats.NOISE_ALPHA) -> None:
        self.threshold = threshold
        self.alpha = alpha

    def score(self, current: CurrentColumn) -> CheckResult:
        labels, ref, cur, _ = category_vectors(self.reference_, current)
        distance = stats.js_distance(ref, cur)
        used = int(((ref + cur) > 0).sum())
        floor = stats.js_noise_floor(used, int(ref.sum()), int(cur.sum()), self.alpha)
        _, _, p_value = stats.chi2_homogeneity(ref, cur)
        return CheckResult(
            self.name,
            distance,
            distance > max(self.threshold, floor),
            self.threshold,
            floor,
            p_value,
            detail={"labels": labels, "reference": ref.tolist(), "current": cur.tolist()},
        )


class ChiSquare(DriftCheck):
    """Chi-square homogeneity test with an explicit "unseen" bucket (p-value only)."""

    name = "chi2"
    kinds = ("categorical",)
    decides = False

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = alpha

    def score(self, current: CurrentColumn) -> CheckResult:
        _, ref, cur, _ = category_vectors(self.reference_, current)
        statistic, dof, p_value = stats.chi2_homogeneity(ref, cur)
        return CheckResult(
            self.name,
            statistic,
            p_value < self.alpha,
            None,
            None,
            p_value,
            decides=False,
            detail={"dof": dof},
        )


class MissingShare(DriftCheck):
    """Change in the share of missing values (NaN, None, NaT)."""

    name = "missing"
    kinds = ("numeric", "datetime", "categorical")
    decides = False
    requires_values = False  # "every value is missing now" is its job

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = threshold

    def score(self, current: CurrentColumn) -> CheckResult:
        ref_share = self.reference_.missing / max(self.reference_.rows, 1)
        cur_share = current.missing / max(current.rows, 1)
        change = cur_share - ref_share
        floor = 3.3 * math.sqrt(max(ref_share * (1 - ref_share), 1e-12) / max(current.rows, 1))
        return CheckResult(
            self.name,
            change,
            abs(change) > max(self.threshold, floor),
            self.threshold,
            floor,
            decides=False,
            detail={"reference": ref_share, "current": cur_share},
        )


class OutOfRange(DriftCheck):
    """Share of current values outside the reference's [min, max] (and ±inf)."""

    name = "out_of_range"
    kinds = ("numeric", "datetime")
    decides = False
    requires_values = False  # a column of nothing but ±inf is all out of range

    def __init__(self, threshold: float = 0.01) -> None:
        self.threshold = threshold

    def score(self, current: CurrentColumn) -> CheckResult:
        outside = current.below + current.above + current.posinf + current.neginf
        usable = current.present + current.posinf + current.neginf
        share = outside / max(usable, 1)
        # Same-distribution samples fall outside a reference of n values ~2/(n+1) of the time.
        expected = 2.0 / (self.reference_.present + 1)
        floor = expected + 3.3 * math.sqrt(expected / max(usable, 1))
        return CheckResult(
            self.name,
            share,
            share > max(self.threshold, floor),
            self.threshold,
            floor,
            decides=False,
            detail={
                "below": current.below,
                "above": current.above,
                "infinite": current.posinf + current.neginf,
            },
        )


class UnseenCategories(DriftCheck):
    """Values the reference never had (only when it kept every value it saw)."""

    name = "unseen"
    kinds = ("categorical",)
    decides = False

    def __init__(self, threshold: float = 0.01) -> None:
        self.threshold = threshold

    def score(self, current: CurrentColumn) -> CheckResult:
        known = set(self.reference_.values)
        unseen = {k: c for k, c in current.counts.items() if k not in known}
        if self.reference_.other:
            return CheckResult(
                self.name,
                None,
                False,
                decides=False,
                detail={"note": "reference kept only its top values"},
            )
        share = sum(unseen.values()) / max(current.present, 1)
        examples = sorted(unseen, key=lambda k: -unseen[k])[:10]
        return CheckResult(
            self.name,
            share,
            bool(unseen) and share > self.threshold,
            self.threshold,
            None,
            decides=False,
            detail={"values": examples, "distinct": len(unseen)},
        )


BUILTIN_CHECKS: tuple[type[DriftCheck], ...] = (
    KolmogorovSmirnov,
    PopulationStability,
    Wasserstein,
    JensenShannon,
    ChiSquare,
    MissingShare,
    OutOfRange,
    UnseenCategories,
)


def default_checks() -> list[DriftCheck]:
    """One instance of every built-in check plus every registered third-party one."""
    found: list[DriftCheck] = [cls() for cls in BUILTIN_CHECKS]
    for cls in discover():
        found.append(cls())
    return found


def discover() -> list[type[DriftCheck]]:
    """Check classes registered under the ``mlops_nb.drift_checks`` entry points.

    Reading every installed distribution's metadata costs tens of
    milliseconds, more than a whole check of 100,000 rows, so the answer is
    kept until the environment changes: a different ``sys.path``, or a
    folder on it whose modification time moved (installing or removing a
    package adds or removes a ``.dist-info`` folder there).
    """
    key = _environment_key()
    if _discovered is not None and _discovered[0] == key:
        return list(_discovered[1])
    from importlib import metadata

    classes = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception:  # a broken plugin must not break every drift check
            continue
        if isinstance(obj, type) and issubclass(obj, DriftCheck):
            classes.append(obj)
    _remember(key, classes)
    return list(classes)


_discovered: tuple[tuple[tuple[str, float], ...], list[type[DriftCheck]]] | None = None


def _remember(key: tuple[tuple[str, float], ...], classes: list[type[DriftCheck]]) -> None:
    global _discovered
    _discovered = (key, classes)


def _environment_key() -> tuple[tuple[str, float], ...]:
    stamps = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime))
        except OSError:
            stamps.append((entry, -1.0))
    return tuple(stamps)
