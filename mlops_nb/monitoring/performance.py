"""Realised performance: a version's metrics on labelled rows against its training-time ones.

A drift check given labels measures the model on them (accuracy and, for a
binary classifier with probabilities, AUC; MAE, RMSE and R² for a
regressor) and calls a metric degraded when it moved past a fixed margin
from the holdout value recorded with the version.
"""

from __future__ import annotations

import math
from typing import Any

from ..text import one_line

#: Higher is better for these metrics; for the rest (mae, rmse, ...) lower is.
HIGHER_IS_BETTER = {"accuracy", "auc", "roc_auc", "r2", "f1", "precision", "recall"}
#: A drop of more than this (absolute) marks higher-is-better metrics degraded...
ABSOLUTE_DROP = 0.05
#: ...and a relative rise of more than this marks error metrics degraded. Holdout
#: errors measured at training time are optimistic for later data (a new sample,
#: a later period); 30 % keeps ordinary weeks quiet and catches real slippage.
RELATIVE_RISE = 0.30


def performance(
    model: Any, features: Any, target: Any, reference: dict[str, float]
) -> dict[str, Any]:
    """Realised metrics on labelled rows, compared with the training-time ones.

    Never raises on bad labels or a batch the model cannot score: the result
    then has no metrics and a ``note`` saying why (``labels_unusable`` when
    the labels themselves are of the wrong type).
    """
    import numpy as np

    y = np.asarray(target)
    keep = ~np.asarray(pd_isna(y), dtype=bool)
    if not keep.any():
        return {"rows": 0, "metrics": {}, "degraded": False, "note": "no labels"}
    X, y = features[keep], y[keep]
    rows = int(keep.sum())
    labels, problem = _labels(model, y)
    if problem is not None:
        note = f"labels not comparable with the model's outputs: {problem}"
        return {
            "rows": rows,
            "metrics": {},
            "degraded": False,
            "note": note,
            "labels_unusable": True,
        }
    try:
        current = _metrics(model, X, labels)
    except Exception as exc:  # e.g. the model refuses NaN in the labelled rows
        note = f"the model could not score the labelled rows: {one_line(exc)}"
        return {"rows": rows, "metrics": {}, "degraded": False, "note": note}
    compared: dict[str, dict[str, Any]] = {}
    for name, value in current.items():
        if name not in reference or not math.isfinite(value):
            continue
        ref_value = float(reference[name])
        if name in HIGHER_IS_BETTER:
            degraded = ref_value - value > ABSOLUTE_DROP
        else:
            degraded = value > ref_value * (1 + RELATIVE_RISE) and value - ref_value > 1e-12
        compared[name] = {
            "reference": ref_value,
            "current": value,
            "change": value - ref_value,
            "degraded": degraded,
        }
    return {
        "rows": rows,
        "metrics": compared,
        "current": current,
        "degraded": any(m["degraded"] for m in compared.values()),
    }


def _metrics(model: Any, X: Any, y: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as skm

    predicted = np.asarray(model.predict(X))
    current: dict[str, float] = {}
    if hasattr(model, "classes_"):
        current["accuracy"] = float(skm.accuracy_score(y, predicted))
        if hasattr(model, "predict_proba") and len(model.classes_) == 2 and len(set(y)) == 2:
            current["auc"] = float(skm.roc_auc_score(y, np.asarray(model.predict_proba(X))[:, 1]))
    else:
        current["mae"] = float(skm.mean_absolute_error(y, predicted))
        current["rmse"] = float(math.sqrt(skm.mean_squared_error(y, predicted)))
        current["r2"] = float(skm.r2_score(y, predicted)) if len(y) > 1 else float("nan")
    return current


def _labels(model: Any, y: Any) -> tuple[Any, str | None]:
    """Labels in the model's terms, or why they cannot be compared with its outputs."""
    import numpy as np
    import pandas as pd

    classes = getattr(model, "classes_", None)
    numeric = classes is None or np.asarray(classes).dtype.kind in "iufb"
    if numeric:
        # "1" from a CSV is the label 1; "yes" is not a number at all
        numbers = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(numbers)
        if bad.any():
            shown = ", ".join(repr(v) for v in pd.unique(np.asarray(y, dtype=object)[bad])[:3])
            wants = "classes are numbers" if classes is not None else "predictions are numbers"
            return None, f"the labels are text ({shown}) but the model's {wants}"
        y = numbers
    else:
        y = np.asarray(y).astype(str)
    if classes is not None:
        known = {c.item() if hasattr(c, "item") else c for c in np.asarray(classes)}
        if numeric:
            known = {float(c) for c in known}
        else:
            known = {str(c) for c in known}
        seen = set(np.unique(y).tolist())
        if not seen & known:
            labels = ", ".join(map(repr, sorted(seen, key=str)[:5]))
            wanted = ", ".join(map(repr, sorted(known, key=str)[:5]))
            return None, f"none of the labels ({labels}) is one of the model's classes ({wanted})"
    return y, None


def pd_isna(values: Any) -> Any:
    import pandas as pd

    return pd.isna(values)
