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
