"""One pass over a current column, summarised on the reference's terms.

Every check of a column reads the same :class:`CurrentColumn`, so a million
rows are touched once per column, not once per statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .profile import ColumnProfile, as_float, category_counts

_MAX_CELLS = 1 << 16
_MIN_CELLS = 1 << 12


def _cells_for(n: int) -> int:
    """Lookup-table size: about one cell per 8 values, a power of two in [4096, 65536]."""
    return int(min(_MAX_CELLS, max(_MIN_CELLS, 1 << max(0, (n // 8).bit_length()))))


@dataclass
class CurrentColumn:
    """A current batch's column, summarised against one reference column."""

    name: str
    kind: str
    rows: int
    missing: int
    posinf: int = 0
    neginf: int = 0
    # numeric and datetime
    present: int = 0
    cdf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cdf_lt: np.ndarray = field(default_factory=lambda: np.zeros(0))
    below: int = 0
    above: int = 0
    below_mass: float = 0.0
    above_mass: float = 0.0
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    values: np.ndarray | None = None
    # categorical
    counts: dict[str, int] = field(default_factory=dict)
    dtype: str = ""

    @property
    def constant(self) -> bool:
        if self.kind in ("numeric", "datetime"):
            return self.present > 0 and self.min == self.max
        return len(self.counts) == 1


@dataclass(frozen=True)
class Binned:
    """Cumulative counts at the grid points, plus what fell outside the grid."""

    cdf: np.ndarray
    cdf_lt: np.ndarray
    below: int
    above: int
    below_mass: float
    above_mass: float


def bin_values(edges: np.ndarray, x: np.ndarray) -> Binned:
    """``cdf[j]`` = how many of ``x`` are ``<= edges[j]`` (``edges`` sorted, unique),
    ``cdf_lt[j]`` how many are ``< edges[j]``.

    A lookup table (up to 65,536 cells) over the grid's range places most values with
    one multiply and one gather; values in cells that contain a grid point,
    and values outside the range (which land in the end cells), are placed
    by binary search. Exact either way.
    """
    m = edges.size
    lo, hi = float(edges[0]), float(edges[-1])
    cells_n = _cells_for(x.size)
    if m >= 2 and hi > lo and x.size >= 20_000 and _lut_pays(edges, x, lo, hi, cells_n):
        scale = cells_n / (hi - lo)
        eps = (hi - lo) * 1e-9
        bounds = lo + np.arange(cells_n + 1) / scale
        left = np.searchsorted(edges, bounds[:-1] - eps, side="left")
        right = np.searchsorted(edges, bounds[1:] + eps, side="left")
        table = np.where(left == right, left, -1).astype(np.int32)
        table[0] = table[-1] = -1  # out-of-range values are clipped into these
        cell = (x - lo) * scale
        np.clip(cell, 0, cells_n - 1, out=cell)
        index = table[cell.astype(np.int32)]
        fix = np.flatnonzero(index < 0)
        hard = x[fix]
        pos = np.searchsorted(edges, hard, side="left")
        index[fix] = pos
    else:
        pos = np.searchsorted(edges, x, side="left")
        index = pos.astype(np.int32)
        hard = x
    low, high = hard[hard < lo], hard[hard > hi]
    n = max(x.size, 1)
    # Values equal to a grid point always take the binary-search path.
    on_edge = pos < m
    on_edge[on_edge] = edges[pos[on_edge]] == hard[on_edge]
    equal = np.bincount(pos[on_edge], minlength=m)[:m]
    cdf = np.cumsum(np.bincount(index, minlength=m + 1))[:m]
    return Binned(
        cdf=cdf,
        cdf_lt=cdf - equal,
        below=int(low.size),
        above=int(high.size),
        below_mass=float((lo - low).sum() / n),
        above_mass=float((high - hi).sum() / n),
    )


def counts_at_edges(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Only the cumulative counts of :func:`bin_values`."""
    return bin_values(edges, x).cdf


def _lut_pays(edges: np.ndarray, x: np.ndarray, lo: float, hi: float, cells_n: int) -> bool:
    # Heavy tails or values sitting on grid points make most cells ambiguous;
    # then plain binary search is as fast. Decide from a small sample.
    sample = x[:: max(1, x.size // 2000)]
    scale = cells_n / (hi - lo)
    cells = np.clip((sample - lo) * scale, 0, cells_n - 1).astype(np.int64)
    amb = np.searchsorted(edges, lo + cells / scale, side="left") != np.searchsorted(
        edges, lo + (cells + 1) / scale, side="left"
    )
    return float(amb.mean()) < 0.3


def summarize(reference: ColumnProfile, series: Any, keep_values: bool = False) -> CurrentColumn:
    """Summarise ``series`` the way ``reference`` was profiled."""
    kind = reference.kind
    if kind == "datetime" and series.dtype.kind not in "mM":
        import pandas as pd

        # Datetimes read back from CSV arrive as text.
        series = pd.to_datetime(series, errors="coerce", utc=True)
    if kind in ("numeric", "datetime"):
        values = as_float(series)
        ok = np.isfinite(values)
        if ok.all():
            finite, missing, posinf, neginf = values, 0, 0, 0
        else:
            finite = values[ok]
            missing = int(np.isnan(values).sum())
            posinf = int(np.isposinf(values).sum())
            neginf = int(values.size - finite.size - missing - posinf)
        out = CurrentColumn(
            name=reference.name,
            kind=kind,
            rows=values.size,
            missing=missing,
            posinf=posinf,
            neginf=neginf,
            present=int(finite.size),
            dtype=str(series.dtype),
        )
        if finite.size and reference.edges:
            binned = bin_values(np.asarray(reference.edges, dtype=float), finite)
            out.cdf, out.cdf_lt = binned.cdf, binned.cdf_lt
            out.below, out.above = binned.below, binned.above
            out.below_mass, out.above_mass = binned.below_mass, binned.above_mass
            mean = float(finite.mean())
            # one BLAS pass for the variance; fine for display precision
            var = max(float(np.dot(finite, finite)) / finite.size - mean * mean, 0.0)
            out.mean, out.std = mean, var**0.5
            out.min, out.max = float(finite.min()), float(finite.max())
        if keep_values:
            out.values = finite
        return out
    counts, missing = category_counts(series)
    return CurrentColumn(
        name=reference.name,
        kind=kind,
        rows=len(series),
        missing=missing,
        counts=counts,
        present=len(series) - missing,
        dtype=str(series.dtype),
    )


def category_vectors(
    reference: ColumnProfile, current: CurrentColumn
) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """Aligned count vectors over reference values + "other" + "unseen".

    Values absent from the reference's list go to "other" when the reference
    itself had an "other" bucket (they may have been among its rarer values),
    else to "unseen". Returns (labels, reference counts, current counts,
    number of distinct unseen values).
    """
    known = {v: i for i, v in enumerate(reference.values)}
    ref = np.array([*reference.counts, reference.other, 0], dtype=float)
    cur = np.zeros(len(reference.values) + 2)
    unseen_values = 0
    for key, count in current.counts.items():
        position = known.get(key)
        if position is not None:
            cur[position] += count
        elif reference.other:
            cur[-2] += count
        else:
            cur[-1] += count
            unseen_values += 1
    return [*reference.values, "(other)", "(unseen)"], ref, cur, unseen_values
