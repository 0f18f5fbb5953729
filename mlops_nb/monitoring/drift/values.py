"""Reading a column's values the same way for the reference and for a new batch.

Numbers as floats (NaN for what is missing or unreadable, the unreadable
counted apart), categories as counts of their text (one text per value,
whatever dtype carried it), and values placed into the reference's bins: the
profile and the current batch both go through here, so they are compared
on exactly the same terms.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

_MAX_CELLS = 1 << 16
_MIN_CELLS = 1 << 12


def as_float(series: Any) -> np.ndarray:
    """Values as float64 (datetimes in epoch seconds); missing become NaN."""
    return read_numbers(series).values


@dataclass(frozen=True)
class Numbers:
    """A column read as numbers: the values, and what could not be read as one."""

    values: np.ndarray
    #: present values that are not numbers (text in a numeric column, a dict, ...)
    invalid: int = 0
    #: up to three of them, as text, for messages
    examples: tuple[str, ...] = ()


def read_numbers(series: Any) -> Numbers:
    """Values as float64 (datetimes in epoch seconds); missing and unreadable become NaN.

    Numeric and datetime dtypes convert directly. Anything else (object or
    text columns) is parsed value by value, and the present values that do
    not parse are counted apart from the missing ones, so that "this column
    now holds text" is not mistaken for "this column is now empty".
    """
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = series.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        out = values.astype("int64").astype(float) / 1e9
        out[np.isnat(values)] = np.nan
        return Numbers(out)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return Numbers(series.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(dtype):  # booleans included: 1.0 and 0.0
        return Numbers(series.to_numpy(dtype=float, na_value=np.nan))
    converted = pd.to_numeric(series, errors="coerce")
    return _with_invalid(series, converted.to_numpy(dtype=float, na_value=np.nan))


def read_datetimes(series: Any) -> Numbers:
    """Datetimes (also as text, as they come back from CSV) in epoch seconds."""
    import pandas as pd

    if series.dtype.kind in "mM" or isinstance(series.dtype, pd.DatetimeTZDtype):
        return read_numbers(series)
    # ISO 8601 is what pandas, databases and most exports write; only values it
    # cannot read go through the slow value-by-value parser.
    parsed = pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601")
    failed = parsed.isna() & series.notna()
    if failed.any():
        parsed[failed] = pd.to_datetime(series[failed], errors="coerce", utc=True, format="mixed")
    return _with_invalid(series, read_numbers(parsed).values)


def _with_invalid(series: Any, values: np.ndarray) -> Numbers:
    failed = np.isnan(values)
    if not failed.any():
        return Numbers(values)
    bad = failed & series.notna().to_numpy(dtype=bool)
    invalid = int(bad.sum())
    if not invalid:
        return Numbers(values)
    examples: list[str] = []
    for value in series[bad].head(200):
        text = (repr(value) if isinstance(value, str) else str(value))[:40]
        if text not in examples:
            examples.append(text)
        if len(examples) == 3:
            break
    return Numbers(values, invalid, tuple(examples))


def category_key(value: Any) -> str:
    """The text a value is counted under, the same whatever dtype carried it.

    Whole numbers count under their integer text: pandas turns any integer
    column with one missing value into floats, and a CSV round trip can do
    the same, so ``3``, ``3.0`` and ``np.int64(3)`` must be one category.
    Booleans are ``"True"``/``"False"`` whether they came as Python or numpy
    booleans.
    """
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        number = float(value)
        if abs(number) < 2**53:
            return str(int(number))
    return str(value)


def category_counts(series: Any) -> tuple[dict[str, int], int]:
    """Counts per value as text keys (most frequent first) and the missing count.

    Counting happens on the column's own dtype (fast for Arrow strings and
    categoricals); only the distinct values are turned into text (by
    :func:`category_key`), and values whose text is equal (``1``, ``1.0``
    and ``"1"``) are merged.
    """
    counts = series.value_counts(dropna=True, sort=True)
    merged: dict[str, int] = {}
    for value, count in zip(counts.index, counts.to_numpy(), strict=True):
        if count:
            key = category_key(value)
            merged[key] = merged.get(key, 0) + int(count)
    if len(merged) < len(counts):
        merged = dict(sorted(merged.items(), key=lambda kv: -kv[1]))
    return merged, int(series.isna().sum())


def _cells_for(n: int) -> int:
    """Lookup-table size: about one cell per 8 values, a power of two in [4096, 65536]."""
    return int(min(_MAX_CELLS, max(_MIN_CELLS, 1 << max(0, (n // 8).bit_length()))))


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
    ``cdf_lt[j]`` how many are ``< edges[j]``. Exact on every path.

    Binary search costs about 40 ns a value, more than the rest of a check,
    so large columns take a cheaper path when one applies:

    * whole numbers over a modest span (counts, integer codes, ratings) are
      counted with one ``bincount`` and read off at the grid points;
    * otherwise a lookup table (up to 65,536 cells) over the grid's range
      places most values with one multiply and one gather; values in cells
      that contain a grid point, and values outside the range (which land in
      the end cells), are placed by binary search. Heavy tails (log-normal,
      Pareto, Student t) leave most cells holding grid points, so the table
      is then laid over ``asinh`` of the values, which spreads the bulk and
      squeezes the tails; the transform is monotone, so a value's cell still
      says which grid points it lies between.
    """
    m = edges.size
    lo, hi = float(edges[0]), float(edges[-1])
    # below a few thousand values, building a table costs more than it saves
    large = m >= 2 and hi > lo and x.size >= 4_096
    if large:
        counted = _whole_numbers(edges, x, lo, hi)
        if counted is not None:
            return counted
    placed = _lookup(edges, x) if large else None
    if placed is None:
        pos = np.searchsorted(edges, x, side="left")
        index = pos.astype(np.int32)
        hard = x
    else:
        index, pos, hard = placed
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


def _lookup(edges: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Grid positions by lookup table: (index of every value, exact positions of the
    values that needed a binary search, those values); ``None`` when no table pays."""
    cells_n = _cells_for(x.size)
    m = edges.size
    middle = float(edges[m // 2])
    spread = float(edges[(3 * m) // 4] - edges[m // 4]) or float(edges[-1] - edges[0]) / m
    for squeeze in (False, True):
        # the same elementwise function for grid and values keeps their order
        grid = np.arcsinh((edges - middle) / spread) if squeeze else edges
        lo, hi = float(grid[0]), float(grid[-1])
        sample = x[:: max(1, x.size // 1000)]
        if squeeze:
            sample = np.arcsinh((sample - middle) / spread)
        if not hi > lo or not _lut_pays(grid, sample, lo, hi, cells_n):
            continue
        scale = cells_n / (hi - lo)
        table = _table(grid.tobytes(), cells_n)
        cell = np.arcsinh((x - middle) / spread) if squeeze else x - lo
        if squeeze:
            cell -= lo
        cell *= scale
        np.clip(cell, 0, cells_n - 1, out=cell)
        index = table[cell.astype(np.int32)]
        fix = np.flatnonzero(index < 0)
        hard = x[fix]
        pos = np.searchsorted(edges, hard, side="left")
        index[fix] = pos
        return index, pos, hard
    return None


@functools.lru_cache(maxsize=512)
def _table(grid_bytes: bytes, cells_n: int) -> np.ndarray:
    """Per cell of the grid's range, the one grid position its values take, or -1
    when the cell holds a grid point (or is an end cell). A function of the
    reference alone, so each column's table is built once, not once per check."""
    grid = np.frombuffer(grid_bytes, dtype=float)
    lo, hi = float(grid[0]), float(grid[-1])
    scale = cells_n / (hi - lo)
    eps = (hi - lo) * 1e-9
    bounds = lo + np.arange(cells_n + 1) / scale
    left = np.searchsorted(grid, bounds[:-1] - eps, side="left")
    right = np.searchsorted(grid, bounds[1:] + eps, side="left")
    table = np.where(left == right, left, -1).astype(np.int32)
    table[0] = table[-1] = -1  # out-of-range values are clipped into these
    table.flags.writeable = False  # shared by every check of the column
    return table


def _whole_numbers(edges: np.ndarray, x: np.ndarray, lo: float, hi: float) -> Binned | None:
    """:func:`bin_values` by counting, when grid and values are whole numbers over a
    span not much wider than the number of values; ``None`` otherwise."""
    if not np.array_equal(edges, np.floor(edges)):
        return None  # the reference was not whole numbers: the values will not be either
    low, high = float(x.min()), float(x.max())
    span = high - low
    if span > 4 * x.size + 4096:
        return None
    shifted = x - low
    codes = shifted.astype(np.int64)
    if not np.array_equal(codes, shifted):
        return None
    counts = np.bincount(codes, minlength=int(span) + 1)
    at_most = np.concatenate([[0], np.cumsum(counts)])  # at_most[k + 1] = #{x <= low + k}

    def count_le(points: np.ndarray) -> np.ndarray:
        k = np.clip(points - low, -1, span).astype(np.int64)
        return at_most[k + 1]

    cdf = count_le(edges)
    cdf_lt = count_le(edges - 1)
    n = max(x.size, 1)
    values = low + np.arange(counts.size)
    under, over = values < lo, values > hi
    return Binned(
        cdf=cdf,
        cdf_lt=cdf_lt,
        below=int(counts[under].sum()),
        above=int(counts[over].sum()),
        below_mass=float((counts[under] * (lo - values[under])).sum() / n),
        above_mass=float((counts[over] * (values[over] - hi)).sum() / n),
    )


def counts_at_edges(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Only the cumulative counts of :func:`bin_values`."""
    return bin_values(edges, x).cdf


def _lut_pays(grid: np.ndarray, sample: np.ndarray, lo: float, hi: float, cells_n: int) -> bool:
    # Heavy tails or values sitting on grid points make most cells ambiguous;
    # then the table does not pay. Decide from a small sample.
    scale = cells_n / (hi - lo)
    cells = np.clip((sample - lo) * scale, 0, cells_n - 1).astype(np.int64)
    amb = np.searchsorted(grid, lo + cells / scale, side="left") != np.searchsorted(
        grid, lo + (cells + 1) / scale, side="left"
    )
    return float(amb.mean()) < 0.3
