"""A stand-in batch rebuilt from a stored profile, so two training sets can be compared.

A model version keeps a profile of its training data, never the rows. To
compare two versions' training sets with the drift checks (which compare a
batch with a profile), :func:`frame_from_profile` rebuilds a batch from one
profile: per numeric or datetime column, each value at the grid point at or
above it (the profile's 256 quantiles, with the exact counts there); per
categorical column, each of the top values as often as it was counted and
the rarer ones as one "other" value; missing and infinite values as many as
there were. The rebuilt column has the same quantiles, counts and missing
share as the original at the profile's resolution; differences finer than
one grid step are not seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .profile import ColumnProfile, Profile

#: The most rows rebuilt; a larger training set is scaled down to this many,
#: keeping its shares (the checks' noise floors then assume this many rows).
MAX_ROWS = 200_000
#: The value standing for the categories a profile kept only as one count.
OTHER = "(other values)"


def frame_from_profile(profile: Profile, max_rows: int = MAX_ROWS) -> Any:
    """The feature columns of ``profile`` as a DataFrame of (at most ``max_rows``) rows."""
    import pandas as pd

    scale = min(1.0, max_rows / profile.rows) if profile.rows else 1.0
    columns = {}
    for column in profile.features():
        columns[column.name] = _column(column, scale)
    length = max((len(v) for v in columns.values()), default=0)
    # Rounding can leave columns a row or two apart: pad with missing values.
    frame = pd.DataFrame(
        {name: _padded(values, length) for name, values in columns.items()},
    )
    return frame


def _column(column: ColumnProfile, scale: float) -> Any:
    import pandas as pd

    def n(count: int) -> int:
        return round(count * scale)

    if column.kind in ("numeric", "datetime"):
        cdf = np.asarray(column.cdf, dtype=np.int64)
        counts = np.diff(np.concatenate([[0], cdf])) if cdf.size else cdf
        values = np.repeat(np.asarray(column.edges, dtype=float), [n(c) for c in counts])
        values = np.concatenate(
            [
                values,
                np.full(n(column.missing), np.nan),
                np.full(n(column.posinf), np.inf),
                np.full(n(column.neginf), -np.inf),
            ]
        )
        if column.kind == "datetime":
            return pd.Series(pd.to_datetime(values, unit="s", utc="UTC" in column.dtype))
        return pd.Series(values)
    if column.kind == "categorical":
        labels = [*column.values, OTHER]
        tallies = [*column.counts, column.other]
        series = pd.Series(
            [v for v, c in zip(labels, tallies, strict=True) for _ in range(n(c))]
            + [None] * n(column.missing),
            dtype=object,
        )
        return _typed(series, column.dtype)
    return pd.Series([None] * n(column.rows), dtype=object)  # a column with no values


def _typed(series: Any, dtype: str) -> Any:
    """Category keys back in the column's dtype where they all read as it (ints, bools)."""
    if dtype == "bool":
        return series.map({"True": True, "False": False, "true": True, "false": False})
    if dtype.startswith(("int", "Int", "uint", "float")):
        import pandas as pd

        numbers = pd.to_numeric(series, errors="coerce")
        if numbers.notna().sum() == series.notna().sum():
            return numbers
    return series


def _padded(values: Any, length: int) -> Any:
    import pandas as pd

    if len(values) >= length:
        return values.reset_index(drop=True)
    pad = pd.Series(
        [None] * (length - len(values)), dtype=values.dtype if values.dtype.kind in "fO" else object
    )
    return pd.concat([values, pad], ignore_index=True)
