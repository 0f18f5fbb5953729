"""Full-content fingerprints and schemas of training data.

:func:`fingerprint` is a SHA-256 over every value of a frame, not a sample:
changing any single value anywhere (a datetime, a category, row 15,000 of a
million) changes it, and the same data gives the same hex string in any
process on any machine. Each column is hashed from its raw buffers (numbers
as little-endian bytes, datetimes as integer ticks plus unit and time zone,
categoricals as categories plus codes, Arrow strings as lengths plus UTF-8
bytes), so a million rows take milliseconds. The frame's digest is a SHA-256
over its shape, column names, dtypes and the per-column digests. A default
``RangeIndex`` is not part of the content; any other index is.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any

from ..errors import InvalidInputError

_VERSION = b"mlops-nb-fingerprint-1\x00"


def fingerprint(data: Any) -> str:
    """SHA-256 (hex) over the full content of a DataFrame, Series or array.

    Parameters
    ----------
    data
        A ``pandas.DataFrame``, ``pandas.Series`` or ``numpy.ndarray``.

    Raises
    ------
    InvalidInputError
        If ``data`` is none of those.
    """
    pd, np = _libs()
    top = hashlib.sha256(_VERSION)
    if isinstance(data, pd.DataFrame):
        top.update(f"frame\x00{data.shape[0]}\x00{data.shape[1]}\x00".encode())
        if not _default_index(data.index, pd):
            top.update(b"index\x00" + _series_digest(data.index.to_series(index=None), pd, np))
        for position in range(data.shape[1]):
            name = data.columns[position]
            top.update(f"col\x00{type(name).__name__}\x00{name}\x00".encode("utf-8", "replace"))
            top.update(_series_digest(data.iloc[:, position], pd, np))
    elif isinstance(data, pd.Series):
        top.update(f"series\x00{len(data)}\x00{data.name}\x00".encode("utf-8", "replace"))
        if not _default_index(data.index, pd):
            top.update(b"index\x00" + _series_digest(data.index.to_series(index=None), pd, np))
        top.update(_series_digest(data, pd, np))
    elif isinstance(data, np.ndarray):
        top.update(f"array\x00{data.shape}\x00".encode())
        if data.ndim == 2 and data.dtype != object:
            for j in range(data.shape[1]):
                top.update(_series_digest(pd.Series(data[:, j], copy=False), pd, np))
        else:
            top.update(_series_digest(pd.Series(data.reshape(-1), copy=False), pd, np))
    else:
        raise InvalidInputError(
            f"training data must be a pandas DataFrame, Series or numpy array, not "
            f"{type(data).__name__}"
        )
    return top.hexdigest()


def schema(data: Any) -> list[dict[str, str]]:
    """Column names and dtypes: the model version's input signature."""
    pd, np = _libs()
    if isinstance(data, pd.DataFrame):
        return [{"name": str(c), "dtype": str(data[c].dtype)} for c in data.columns]
    if isinstance(data, pd.Series):
        return [{"name": str(data.name), "dtype": str(data.dtype)}]
    if isinstance(data, np.ndarray):
        width = data.shape[1] if data.ndim == 2 else 1
        return [{"name": str(i), "dtype": str(data.dtype)} for i in range(width)]
    raise InvalidInputError(
        f"training data must be a pandas DataFrame, Series or numpy array, not "
        f"{type(data).__name__}"
    )


def _libs() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    return pd, np


def _default_index(index: Any, pd: Any) -> bool:
    """Whether the index is just 0..n-1 (content-free), whatever its type."""
    if index.name is not None:
        return False
    if isinstance(index, pd.RangeIndex):
        return index.start == 0 and index.step == 1
    return index.dtype.kind in "iu" and index.equals(pd.RangeIndex(len(index)))


def _series_digest(series: Any, pd: Any, np: Any) -> bytes:
    """Digest of one column: its dtype and every value."""
    h = hashlib.sha256()
    dtype = series.dtype
    h.update(f"{dtype}\x00{len(series)}\x00".encode())
    kind = getattr(dtype, "kind", "O")
    if isinstance(dtype, pd.CategoricalDtype):
        cat = series.array
        h.update(b"categorical\x00ordered" if dtype.ordered else b"categorical\x00")
        h.update(_series_digest(pd.Series(dtype.categories, copy=False), pd, np))
        h.update(_le(np.asarray(cat.codes), np))
    elif isinstance(dtype, np.dtype) and kind in "biufc":
        values = _le(np.asarray(series.to_numpy(copy=False)), np)
        if kind in "fc":
            values = _canonical_nan(values, np)
        h.update(values)
    elif isinstance(dtype, np.dtype) and kind in "mM":
        h.update(_le(np.asarray(series.to_numpy(copy=False)).view("i8"), np))
    elif isinstance(dtype, pd.DatetimeTZDtype):
        h.update(_le(np.asarray(series.array.asi8), np))
    elif _arrow_backed(series):
        _hash_arrow(h, series, pd, np)
    elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(series.array, "_mask"):
        # Nullable Int64 / Float64 / boolean: values with holes zeroed, plus the mask.
        mask = np.asarray(series.isna().to_numpy())
        numpy_dtype = series.array._data.dtype
        values = series.to_numpy(dtype=numpy_dtype, na_value=0)
        h.update(_le(mask.view("u1"), np))
        h.update(
            _canonical_nan(_le(values, np), np) if numpy_dtype.kind == "f" else _le(values, np)
        )
    else:
        _hash_objects(h, series, np)
    return h.digest()


def _le(array: Any, np: Any) -> Any:
    """A C-contiguous little-endian view (or copy) of a numpy array."""
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def _canonical_nan(values: Any, np: Any) -> Any:
    # Many bit patterns mean NaN; hash them all as one so equal data hashes equal.
    nan = np.isnan(values)
    if nan.any():
        values = values.copy()
        values[nan] = np.nan
    return values


def _arrow_backed(series: Any) -> bool:
    return hasattr(series.array, "_pa_array") or (
        hasattr(series.array, "__arrow_array__") and "pyarrow" in str(series.dtype)
    )


def _hash_arrow(h: Any, series: Any, pd: Any, np: Any) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    chunked = getattr(series.array, "_pa_array", None)
    if chunked is None:
        chunked = pa.chunked_array([pa.array(series)])
    lengths = hashlib.sha256()
    payload = hashlib.sha256()
    nulls = hashlib.sha256()
    typ = chunked.type
    if (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_string_view(typ)
    ):
        for chunk in chunked.chunks:
            if pa.types.is_string_view(chunk.type):
                chunk = chunk.cast(pa.large_string())
            if chunk.null_count:
                nulls.update(np.asarray(chunk.is_null().to_numpy(zero_copy_only=False)).view("u1"))
                chunk = pc.fill_null(chunk, "" if "string" in str(chunk.type) else b"")
            else:
                nulls.update(bytes(len(chunk)))
            width = (
                "<i8"
                if pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
                else "<i4"
            )
            buffers = chunk.buffers()
            offsets = np.frombuffer(buffers[1], dtype=width)[
                chunk.offset : chunk.offset + len(chunk) + 1
            ]
            lengths.update(np.diff(offsets).astype("<i8"))
            if buffers[2] is not None and len(offsets):
                payload.update(memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])])
        h.update(b"arrow-str\x00" + lengths.digest() + payload.digest() + nulls.digest())
    else:
        # Other Arrow types: fall back to their numpy/object form.
        _hash_objects(h, series.astype(object), np)


def _hash_objects(h: Any, series: Any, np: Any) -> None:
    """Object columns: each value as a type tag, its length and its text."""
    parts = []
    for value in series.to_numpy(dtype=object):
        if value is None or value is getattr(series, "_na_value", object()):
            token = "N"
        elif isinstance(value, float) and value != value:
            token = "nan"
        else:
            text = value if isinstance(value, str) else repr(value)
            token = f"{type(value).__name__}:{len(text)}:{text}"
        parts.append(token)
    h.update(b"objects\x00")
    h.update("\x1e".join(parts).encode("utf-8", "surrogatepass"))
