"""Small fitted models the tests share (a module, so fixtures and helpers can both use it)."""

from __future__ import annotations

from typing import Any


def churn_pipeline(X_train: Any, y_train: Any) -> Any:
    """One-hot the categorical columns, scale the numeric ones, fit a logistic regression."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X_train.columns if X_train[c].dtype.kind in "if"]
    other = [c for c in X_train.columns if c not in numeric]
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), other), (StandardScaler(), numeric)
        ),
        LogisticRegression(max_iter=500),
    ).fit(X_train, y_train)


FEATURES = [f"x{i}" for i in range(5)]


def numeric_data(rows: int = 400, seed: int = 0) -> tuple[Any, Any]:
    """Five float columns and a binary target a logistic regression can learn."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((rows, len(FEATURES))), columns=FEATURES)
    target = pd.Series((frame.sum(axis=1) > 0).astype("int64"), name="churned")
    return frame, target


def numeric_model(C: float, rows: int = 400) -> Any:
    """A logistic regression on :func:`numeric_data`; a different ``C`` gives other scores."""
    from sklearn.linear_model import LogisticRegression

    frame, target = numeric_data(rows)
    return LogisticRegression(C=C).fit(frame, target)


def numeric_rows(start: int = 0, count: int = 1) -> list[dict[str, float]]:
    """Rows of :func:`numeric_data` as a prediction request sends them, every float exact.

    (pandas' ``to_json`` keeps 10 significant digits; ``json`` writes a float's repr.)
    """
    frame, _ = numeric_data()
    return [
        {name: float(value) for name, value in row.items()}
        for row in frame.iloc[start : start + count].to_dict("records")
    ]


def add_bench(store: Any) -> Any:
    """Model ``bench`` in ``store``: version 1 (C=1) and 2 (C=0.01) on :func:`numeric_data`,
    production at 1. Returns ``store``."""
    from mlops_nb import registry, tracking

    X, y = numeric_data()
    for C in (1.0, 0.01):
        with tracking.track(store, "bench", model=numeric_model(C), data=X, target=y):
            pass
    registry.promote(store, "bench", 1)
    return store
