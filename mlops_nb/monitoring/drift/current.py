"""One pass over a current column, summarised on the reference's terms.

Every check of a column reads the same :class:`CurrentColumn`, so a million
rows are touched once per column, not once per statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .profile import ColumnProfile, sketch_counts, sketch_sorted
from .values import bin_sorted, category_counts, read_datetimes, read_numbers

# Spellings of a boolean that files and databases hand back for a bool column.
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}


@dataclass
class CurrentColumn:
    """A current batch's column, summarised against one reference column."""

    name: str
    kind: str
    rows: int
    missing: int
    posinf: int = 0
    neginf: int = 0
    #: present values that could not be read as the reference's kind (text in a number column)
    invalid: int = 0
    invalid_examples: tuple[str, ...] = ()
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
    #: the bounds of the chart's bins (see :func:`chart_grid`) and how many
    #: current values lie below each; the last one counts the values at it too
    chart_bounds: np.ndarray | None = None
    chart_below: np.ndarray | None = None
    # categorical
    counts: dict[str, int] = field(default_factory=dict)
    dtype: str = ""
    #: the batch's own sketch, as the reference column was profiled (on request)
    sketch: ColumnProfile | None = None

    @property
    def constant(self) -> bool:
        if self.kind in ("numeric", "datetime"):
            return self.present > 0 and self.min == self.max
        return len(self.counts) == 1


#: Bins across the reference range in a column's chart; the same width goes on past it.
CHART_BINS = 30
#: How far past the reference range a chart reaches, in reference ranges, at most.
CHART_REACH = 2.0


def chart_grid(lo: float, hi: float, ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of a chart's bins and, at each, how many of the sorted values lie below it.

    :data:`CHART_BINS` bins of one width cover the reference range
    ``[lo, hi]``; more of the same width continue either side as far as the
    current values went, at most :data:`CHART_REACH` reference ranges away
    (values further out are left out of the chart and counted as clipped).
    Bins hold the values from their lower bound up to below their upper one,
    except that the bin ending at ``hi`` and every one after it also hold
    their upper bound (so the largest reference value stays inside the
    range). Exact: the counts come from the values themselves.
    """
    width = (hi - lo) / CHART_BINS
    reach = CHART_REACH * (hi - lo)
    low = high = 0
    if not width > 0:  # a range too narrow to divide (subnormal numbers): the range only
        reach = 0.0
    if reach and ordered.size and ordered[0] < lo:
        low = int(np.ceil((lo - max(float(ordered[0]), lo - reach)) / width))
    if reach and ordered.size and ordered[-1] > hi:
        high = int(np.ceil((min(float(ordered[-1]), hi + reach) - hi) / width))
    bounds = np.concatenate(
        [
            lo - width * np.arange(low, 0, -1),
            np.linspace(lo, hi, CHART_BINS + 1),
            hi + width * np.arange(1, high + 1),
        ]
    )
    below = np.searchsorted(ordered, bounds, side="left")
    # the bin that ends at the top of the range, and the last bin, are closed:
    # the largest reference value and the last drawn one belong to them
    top = low + CHART_BINS
    below[top:] = np.searchsorted(ordered, bounds[top:], side="right")
    return bounds, below


def summarize(
    reference: ColumnProfile, series: Any, keep_values: bool = False, sketch: bool = False
) -> CurrentColumn:
    """Summarise ``series`` the way ``reference`` was profiled.

    A column without a single usable value still gets count arrays of the
    reference grid's size (all zero), so every check sees the same shapes.
    ``sketch`` also keeps the column's own profile, the one
    :func:`~mlops_nb.monitoring.drift.profile.profile_column` gives it with the
    reference's role and kind, from the sort and counts made here anyway (a
    datetime column is left to ``profile_column``: it reads text differently).
    """
    kind = reference.kind
    if kind in ("numeric", "datetime"):
        read = read_datetimes(series) if kind == "datetime" else read_numbers(series)
        values = read.values
        ok = np.isfinite(values)
        if ok.all():
            finite, nan, posinf, neginf = values, 0, 0, 0
        else:
            finite = values[ok]
            nan = int(np.isnan(values).sum())
            posinf = int(np.isposinf(values).sum())
            neginf = int(values.size - finite.size - nan - posinf)
        edges = np.asarray(reference.edges, dtype=float)
        out = CurrentColumn(
            name=reference.name,
            kind=kind,
            rows=values.size,
            missing=nan - read.invalid,
            posinf=posinf,
            neginf=neginf,
            invalid=read.invalid,
            invalid_examples=read.examples,
            present=int(finite.size),
            cdf=np.zeros(edges.size, dtype=np.int64),
            cdf_lt=np.zeros(edges.size, dtype=np.int64),
            dtype=str(series.dtype),
        )
        ordered = np.sort(finite) if finite.size and (edges.size or sketch) else finite
        if finite.size and edges.size:
            binned = bin_sorted(edges, ordered)
            if edges.size >= 2:
                out.chart_bounds, out.chart_below = chart_grid(edges[0], edges[-1], ordered)
            out.cdf, out.cdf_lt = binned.cdf, binned.cdf_lt
            out.below, out.above = binned.below, binned.above
            out.below_mass, out.above_mass = binned.below_mass, binned.above_mass
            out.min, out.max = binned.lowest, binned.highest
        if finite.size:
            out.mean, out.std = _mean_std(finite)
        if sketch and kind == "numeric":
            base = {
                "name": reference.name,
                "kind": kind,
                "role": reference.role,
                "dtype": out.dtype,
                "rows": out.rows,
                "missing": nan,  # unreadable values included, as profile_column counts them
                "posinf": posinf,
                "neginf": neginf,
            }
            out.sketch = sketch_sorted(base, ordered, out.mean, out.std)
        if keep_values:
            out.values = finite
        return out
    counts, missing = category_counts(series)
    return CurrentColumn(
        name=reference.name,
        kind=kind,
        rows=len(series),
        missing=missing,
        counts=_as_reference_booleans(reference, counts),
        present=len(series) - missing,
        dtype=str(series.dtype),
        sketch=sketch_counts(reference.name, reference.role, series, counts, missing)
        if sketch
        else None,
    )


def _mean_std(finite: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation: one BLAS pass for the variance, and a second,
    exact one only when the mean dwarfs the spread (the one-pass form would lose
    the variance to rounding there)."""
    mean = float(finite.mean())
    var = float(np.dot(finite, finite)) / finite.size - mean * mean
    if var <= 1e-6 * mean * mean:
        return mean, float(finite.std())
    return mean, var**0.5


def _as_reference_booleans(reference: ColumnProfile, counts: dict[str, int]) -> dict[str, int]:
    """Count ``1``/``true``/``True`` as one value when the reference is a boolean column.

    A bool column comes back from CSV, a database or an int cast as 0/1 or
    true/false; those spellings are the same two values, not new categories.
    """
    known = {_BOOL_TEXT.get(v.lower()): v for v in reference.values}
    if not reference.values or None in known or reference.other:
        return counts
    if all(key in reference.values for key in counts):
        return counts
    merged: dict[str, int] = {}
    for key, count in counts.items():
        flag = _BOOL_TEXT.get(key.lower())
        target = known[flag] if flag is not None and flag in known else key
        merged[target] = merged.get(target, 0) + count
    return merged


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
