"""Compact reference profiles: sketches of a data set, never its rows.

Per numeric column: counts of values, NaN and ±inf, min/max, mean/std and
a 256-point quantile grid with the exact number of values at or below each
grid point. Per categorical column (text, categories, booleans, integers
with at most 20 distinct values): the counts of the 100 most frequent
values plus one "other" count. Datetimes are profiled like numbers, in
seconds since the epoch. A column is at most a few kilobytes of JSON,
whatever the number of rows.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...jsonutil import utcnow
from .values import bin_sorted, category_counts, read_numbers

GRID_POINTS = 256
MAX_CATEGORIES = 100
LOW_CARDINALITY = 20
ROLES = ("feature", "target", "prediction")
PREDICTION = "prediction"


@dataclass(frozen=True)
class ColumnProfile:
    """The sketch of one column."""

    name: str
    kind: str  # numeric | categorical | datetime | empty
    role: str
    dtype: str
    rows: int
    missing: int
    posinf: int = 0
    neginf: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    edges: list[float] = field(default_factory=list)
    cdf: list[int] = field(default_factory=list)
    cdf_lt: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    other: int = 0
    distinct: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def present(self) -> int:
        """Rows with a usable value (not missing, not infinite)."""
        return self.rows - self.missing - self.posinf - self.neginf

    @property
    def constant(self) -> bool:
        if self.kind in ("numeric", "datetime"):
            return self.present > 0 and self.min == self.max
        if self.kind == "categorical":
            return len(self.values) == 1 and self.other == 0
        return False


@dataclass(frozen=True)
class Profile:
    """The reference sketch of a data set, stored with a model version."""

    rows: int
    columns: dict[str, ColumnProfile]
    created_at: str
    importance: dict[str, float] = field(default_factory=dict)
    task: str | None = None  # classification | regression
    format: int = 1

    def to_json(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() would deep-copy every grid list.
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "columns"}
        doc["columns"] = [
            {f.name: getattr(c, f.name) for f in fields(c)} for c in self.columns.values()
        ]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Profile:
        columns = {c["name"]: ColumnProfile(**c) for c in doc["columns"]}
        return cls(
            rows=doc["rows"],
            columns=columns,
            created_at=doc["created_at"],
            importance=doc.get("importance", {}),
            task=doc.get("task"),
            format=doc.get("format", 1),
        )

    def features(self) -> list[ColumnProfile]:
        return [c for c in self.columns.values() if c.role == "feature"]

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for c in self.columns.values():
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        desc = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return f"<Profile of {self.rows} rows: {desc}>"


def column_kind(series: Any) -> str:
    """How a column is profiled and compared: numeric, categorical or datetime."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype) and series.nunique(dropna=True) <= LOW_CARDINALITY:
            return "categorical"
        return "numeric"
    return "categorical"


def _numeric(name: str, role: str, series: Any, kind: str) -> ColumnProfile:
    values = read_numbers(series).values
    rows = values.size
    ok = np.isfinite(values)
    if ok.all():
        finite, missing, posinf, neginf = values, 0, 0, 0
    else:
        finite = values[ok]
        missing = int(np.isnan(values).sum())
        posinf = int(np.isposinf(values).sum())
        neginf = rows - finite.size - missing - posinf
    base: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "role": role,
        "dtype": str(series.dtype),
        "rows": rows,
        "missing": missing,
        "posinf": posinf,
        "neginf": neginf,
    }
    if finite.size == 0:
        return sketch_sorted(base, finite, None, None)
    # One sort gives the extremes, the grid and the counts at it.
    return sketch_sorted(base, np.sort(finite), float(finite.mean()), float(finite.std()))


def sketch_sorted(
    base: dict[str, Any], ordered: np.ndarray, mean: float | None, std: float | None
) -> ColumnProfile:
    """A numeric column's sketch from its finite values, sorted.

    ``base`` holds the counts (name, kind, role, dtype, rows, missing, posinf,
    neginf). A drift check sorts each column anyway, so it sketches the
    checked batch from the same sorted values (see
    :func:`~mlops_nb.monitoring.drift.current.summarize`).
    """
    if ordered.size == 0:
        return ColumnProfile(
            **{**base, "kind": "empty"}, notes=["no finite values: nothing to compare against"]
        )
    edges = np.unique(_grid(ordered))
    binned = bin_sorted(edges, ordered)
    return ColumnProfile(
        **base,
        min=float(ordered[0]),
        max=float(ordered[-1]),
        mean=mean,
        std=std,
        edges=edges.tolist(),
        cdf=binned.cdf.tolist(),
        cdf_lt=binned.cdf_lt.tolist(),
    )


def _grid(ordered: np.ndarray) -> np.ndarray:
    """GRID_POINTS exact quantiles of sorted values, the smallest and largest among them.

    The counts at the grid need the column sorted anyway, so the quantiles
    come from the same sorted values: exact, at no extra sort.
    """
    levels = np.linspace(0.0, 1.0, GRID_POINTS)
    return ordered[np.round(levels * (ordered.size - 1)).astype(np.int64)]


def _categorical(name: str, role: str, series: Any) -> ColumnProfile:
    counts, missing = category_counts(series)
    return sketch_counts(name, role, series, counts, missing)


def sketch_counts(
    name: str, role: str, series: Any, counts: dict[str, int], missing: int
) -> ColumnProfile:
    """A categorical column's sketch from its counts (most frequent first)."""
    notes = mixed_types(series)
    keys = list(counts)
    top = keys[:MAX_CATEGORIES]
    other = sum(counts[k] for k in keys[MAX_CATEGORIES:])
    if other:
        notes.append(f"{len(keys) - MAX_CATEGORIES} rarer values kept only as one 'other' count")
    base: dict[str, Any] = {
        "name": name,
        "role": role,
        "dtype": str(series.dtype),
        "rows": len(series),
        "missing": missing,
    }
    if not top:
        return ColumnProfile(**base, kind="empty", notes=["no values: nothing to compare against"])
    return ColumnProfile(
        **base,
        kind="categorical",
        values=top,
        counts=[counts[k] for k in top],
        other=other,
        distinct=len(keys),
        notes=notes,
    )


def mixed_types(series: Any) -> list[str]:
    """A note when a text column's first 1,000 present values are of several types."""
    if series.dtype != object:
        return []
    kinds = {type(v).__name__ for v in series.dropna().head(1000)}
    if len(kinds) > 1:
        return [f"mixed value types ({', '.join(sorted(kinds))}) compared as text"]
    return []


def profile_column(
    series: Any, name: str | None = None, role: str = "feature", kind: str | None = None
) -> ColumnProfile:
    """Sketch one column (``kind`` forces numeric/categorical/datetime)."""
    label = str(series.name if name is None else name)
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {ROLES}, not {role!r}")
    chosen = kind or column_kind(series)
    if chosen in ("numeric", "datetime"):
        return _numeric(label, role, series, chosen)
    return _categorical(label, role, series)


def profile(
    data: Any,
    *,
    target: Any = None,
    predictions: Any = None,
    importance: dict[str, float] | None = None,
    task: str | None = None,
    workers: int = 2,
) -> Profile:
    """A compact reference profile of a DataFrame (plus target and predictions).

    Parameters
    ----------
    data
        The features, a ``pandas.DataFrame``.
    target, predictions
        Optional 1-D values profiled with roles ``target`` and ``prediction``.
    importance
        Optional feature weights used by the dataset verdict.

    Raises
    ------
    InvalidInputError
        If ``data`` is not a non-empty DataFrame or lengths differ.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"a profile needs a pandas DataFrame, not {type(data).__name__}")
    if data.shape[1] == 0:
        raise InvalidInputError("cannot profile a DataFrame without columns")
    if data.columns.duplicated().any():
        dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise InvalidInputError(f"duplicate column names: {', '.join(dupes)}")
    jobs: list[tuple[Any, str, str]] = [(data[c], str(c), "feature") for c in data.columns]
    taken = {name for _, name, _ in jobs}
    for values, role, default in (
        (target, "target", "target"),
        (predictions, "prediction", PREDICTION),
    ):
        if values is None:
            continue
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        if len(series) != len(data):
            raise InvalidInputError(f"{role} has {len(series)} rows, the data {len(data)}")
        label = str(series.name) if role == "target" and series.name is not None else default
        label = _free_label(label, role, taken)
        taken.add(label)
        jobs.append((series.reset_index(drop=True), label, role))
    if workers <= 1:
        columns = [profile_column(*job) for job in jobs]
    else:
        with ThreadPoolExecutor(workers) as pool:
            columns = list(pool.map(lambda job: profile_column(*job), jobs))
    weights = {}
    for key, value in (importance or {}).items():
        if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
            weights[str(key)] = float(value)
    return Profile(
        rows=len(data),
        columns={c.name: c for c in columns},
        created_at=utcnow(),
        importance=weights,
        task=task,
    )


def _free_label(wanted: str, role: str, taken: set[str]) -> str:
    """``wanted``, or a variant of it no feature uses.

    Columns are keyed by name, so a target Series named like a feature (or
    a feature called ``prediction``) would otherwise replace that feature in
    the profile, and the feature would silently go unchecked.
    """
    label, n = wanted, 1
    while label in taken:
        label = f"{wanted} ({role})" if n == 1 else f"{wanted} ({role} {n})"
        n += 1
    return label


def model_outputs(model: Any, data: Any) -> tuple[Any, str | None]:
    """What the model says about ``data``, as one column, and its task.

    Binary classifiers give the probability of the positive class; other
    classifiers their predicted label; regressors their prediction.
    """
    is_classifier = hasattr(model, "classes_") or hasattr(model, "predict_proba")
    if is_classifier and hasattr(model, "predict_proba"):
        classes = getattr(model, "classes_", None)
        if classes is not None and len(classes) == 2:
            return np.asarray(model.predict_proba(data))[:, 1], "classification"
        return np.asarray(model.predict(data)).astype(str), "classification"
    predicted = np.asarray(model.predict(data))
    if predicted.dtype.kind in "fiu":
        return predicted.astype(float), "regression"
    return predicted.astype(str), "classification"


def importance_of(
    model: Any,
    columns: list[str],
    data: Any = None,
    target: Any = None,
    sample: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Feature weights normalised to sum 1: the model's own, else permutation importance.

    Permutation importance needs ``data`` and ``target`` and runs on at most
    ``sample`` rows with two repeats, so it costs a few dozen predictions.
    """
    direct = _direct_importance(model, columns)
    if direct or data is None or target is None or not hasattr(data, "iloc"):
        return direct
    from sklearn.inspection import permutation_importance

    rows = np.random.default_rng(seed).permutation(len(data))[:sample]
    y = target.iloc[rows] if hasattr(target, "iloc") else np.asarray(target)[rows]
    try:
        result = permutation_importance(model, data.iloc[rows], y, n_repeats=2, random_state=seed)
    except Exception:  # a model or target permutation importance cannot score
        return {}
    raw = np.clip(np.asarray(result.importances_mean, dtype=float), 0, None)
    if raw.size != len(columns) or not np.isfinite(raw).all() or raw.sum() <= 0:
        return {}
    return {str(n): float(w / raw.sum()) for n, w in zip(columns, raw, strict=True)}


def _direct_importance(model: Any, columns: list[str]) -> dict[str, float]:
    raw = getattr(model, "feature_importances_", None)
    if raw is None:
        coef = getattr(model, "coef_", None)
        if coef is not None:
            raw = np.abs(np.atleast_2d(coef)).mean(axis=0)
    if raw is None:
        return {}
    raw = np.asarray(raw, dtype=float).ravel()
    names = list(getattr(model, "feature_names_in_", columns))
    if raw.size != len(names) or not np.isfinite(raw).all() or raw.sum() <= 0:
        return {}
    return {str(n): float(w / raw.sum()) for n, w in zip(names, raw, strict=True)}
