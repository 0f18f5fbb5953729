"""The metrics a suite can check, computed with scikit-learn on the suite's rows."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError

#: Metric name -> (needs scores rather than labels, higher is better).
METRICS: dict[str, tuple[bool, bool]] = {
    "accuracy": (False, True),
    "balanced_accuracy": (False, True),
    "precision": (False, True),
    "recall": (False, True),
    "f1": (False, True),
    "roc_auc": (True, True),
    "log_loss": (True, False),
    "r2": (False, True),
    "mae": (False, False),
    "mse": (False, False),
    "rmse": (False, False),
}


def check_metric(name: str, where: str) -> None:
    """Refuse a metric the suite cannot compute, listing the ones it can."""
    if name not in METRICS:
        raise InvalidInputError(
            f"{where}: unknown metric {name!r} (known: {', '.join(sorted(METRICS))})"
        )


def higher_is_better(name: str) -> bool:
    """Whether a larger value of ``name`` is the better one (``log_loss``, ``rmse``: no)."""
    return METRICS[name][1]


def compute(name: str, model: Any, X: Any, y: Any) -> float:
    """``name`` of ``model``'s predictions for ``X`` against the labels ``y``."""
    import numpy as np
    from sklearn import metrics as m

    needs_scores, _ = METRICS[name]
    if needs_scores:
        if not hasattr(model, "predict_proba"):
            raise InvalidInputError(f"metric {name} needs a classifier with predict_proba")
        proba = model.predict_proba(X)
        if name == "log_loss":
            return float(m.log_loss(y, proba, labels=list(model.classes_)))
        if len(set(np.asarray(y).tolist())) < 2:
            raise InvalidInputError(f"metric {name} needs rows of both classes")
        if proba.shape[1] == 2:
            return float(m.roc_auc_score(y, proba[:, 1]))
        return float(m.roc_auc_score(y, proba, multi_class="ovr", labels=list(model.classes_)))
    predicted = model.predict(X)
    if name == "accuracy":
        return float(m.accuracy_score(y, predicted))
    if name == "balanced_accuracy":
        return float(m.balanced_accuracy_score(y, predicted))
    if name in ("precision", "recall", "f1"):
        score = {"precision": m.precision_score, "recall": m.recall_score, "f1": m.f1_score}[name]
        binary = len(set(np.asarray(y).tolist()) | set(np.asarray(predicted).tolist())) <= 2
        return float(score(y, predicted, average="binary" if binary else "macro", zero_division=0))
    if name == "r2":
        return float(m.r2_score(y, predicted))
    if name == "mae":
        return float(m.mean_absolute_error(y, predicted))
    mse = float(m.mean_squared_error(y, predicted))
    return mse if name == "mse" else mse**0.5


def score(model: Any, X: Any) -> Any:
    """One number per row that a directional check watches move.

    The probability of the last class for a classifier (of churning, for the
    churn models), the prediction itself for a regressor.
    """
    import numpy as np

    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, -1]
    return np.asarray(model.predict(X), dtype=float)
