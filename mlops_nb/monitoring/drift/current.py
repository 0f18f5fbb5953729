"""One pass over a current column, summarised on the reference's terms.

Every check of a column reads the same :class:`CurrentColumn`, so a million
rows are touched once per column, not once per statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .profile import ColumnProfile
from .values import as_float, bin_values, category_counts


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
