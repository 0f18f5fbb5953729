"""Reading a column's values the same way for the reference and for a new batch.

Numbers as floats (NaN for what is missing or unreadable, the unreadable
counted apart), categories as counts of their text (one text per value,
whatever dtype carried it), and values placed into the reference's bins: the
profile and the current batch both go through here, so they are compared
on exactly the same terms.
"""

from __future__ import annotations

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
    arrow = _arrow_strings(series)
    if arrow is not None:
        # Arrow counts its own strings; pandas' wrapper around that would add
        # an index and a sort for nothing
        import pyarrow.compute as pc

        found = pc.value_counts(arrow)
        values, counts = found.field(0).to_pylist(), found.field(1).to_pylist()
        missing = arrow.null_count
    else:
        found = series.value_counts(dropna=True, sort=True)
        values, counts = found.index, found.to_numpy()
        missing = int(series.isna().sum())
    merged: dict[str, int] = {}
    for value, count in zip(values, counts, strict=True):
        if count and value is not None:
            key = category_key(value)
            merged[key] = merged.get(key, 0) + int(count)
    return dict(sorted(merged.items(), key=lambda kv: -kv[1])), missing


def _arrow_strings(series: Any) -> Any:
    """The Arrow array behind a pandas string column, or None for any other column."""
    values = getattr(series, "array", None)
    data = getattr(values, "_pa_array", None)
    if data is None:
        return None
    import pyarrow as pa

    return data if pa.types.is_string(data.type) or pa.types.is_large_string(data.type) else None


@dataclass(frozen=True)
class Binned:
    """Cumulative counts at the grid points, plus what fell outside the grid."""

    cdf: np.ndarray
    cdf_lt: np.ndarray
    below: int
    above: int
    below_mass: float
    above_mass: float
    #: the smallest and largest value (NaN when there are none): free once sorted
    lowest: float = float("nan")
    highest: float = float("nan")


def bin_values(edges: np.ndarray, x: np.ndarray) -> Binned:
    """``cdf[j]`` = how many of ``x`` are ``<= edges[j]`` (``edges`` sorted, unique),
    ``cdf_lt[j]`` how many are ``< edges[j]``. Exact.

    The values are sorted once and each grid point is then one binary search
    in them. numpy's sort is vectorised: a column of 100k floats takes about
    0.4 ms here and a million about 5 to 13 ms, 2 to 25 times faster than
    placing each value in a cell (a lookup table, or a binary search per
    value), whatever the distribution. What lies outside the grid is a slice
    at either end of the sorted values.
    """
    return bin_sorted(edges, np.sort(x))


def bin_sorted(edges: np.ndarray, ordered: np.ndarray) -> Binned:
    """:func:`bin_values` of values already sorted ascending."""
    n = ordered.size
    cdf = np.searchsorted(ordered, edges, side="right")
    cdf_lt = np.searchsorted(ordered, edges, side="left")
    lowest = float(ordered[0]) if n else float("nan")
    highest = float(ordered[-1]) if n else float("nan")
    if edges.size == 0:
        return Binned(cdf, cdf_lt, 0, 0, 0.0, 0.0, lowest, highest)
    below, above = int(cdf_lt[0]), n - int(cdf[-1])
    lo, hi = float(edges[0]), float(edges[-1])
    low, high = ordered[:below], ordered[n - above :]
    total = max(n, 1)
    return Binned(
        cdf=cdf,
        cdf_lt=cdf_lt,
        below=below,
        above=above,
        below_mass=float((lo - low).sum() / total),
        above_mass=float((high - hi).sum() / total),
        lowest=lowest,
        highest=highest,
    )


def counts_at_edges(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Only the cumulative counts of :func:`bin_values`."""
    return bin_values(edges, x).cdf
