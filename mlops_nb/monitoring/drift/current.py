"""One pass over a current column, summarised on the reference's terms.

Every check of a column reads the same :class:`CurrentColumn`, so a million
rows are touched once per column, not once per statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .profile import ColumnProfile
from .values import bin_values, category_counts, read_datetimes, read_numbers

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
    # categorical
    counts: dict[str, int] = field(default_factory=dict)
    dtype: str = ""

    @property
    def constant(self) -> bool:
        if self.kind in ("numeric", "datetime"):
            return self.present > 0 and self.min == self.max
        return len(self.counts) == 1


def summarize(reference: ColumnProfile, series: Any, keep_values: bool = False) -> CurrentColumn:
    """Summarise ``series`` the way ``reference`` was profiled.

    A column without a single usable value still gets count arrays of the
    reference grid's size (all zero), so every check sees the same shapes.
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
        if finite.size and edges.size:
            binned = bin_values(edges, finite)
            out.cdf, out.cdf_lt = binned.cdf, binned.cdf_lt
            out.below, out.above = binned.below, binned.above
            out.below_mass, out.above_mass = binned.below_mass, binned.above_mass
            mean = float(finite.mean())
            # one BLAS pass for the variance; fine for display precision
            var = max(float(np.dot(finite, finite)) / finite.size - mean * mean, 0.0)
            out.mean, out.std = mean, var**0.5
            out.min, out.max = binned.lowest, binned.highest
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
    )


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
