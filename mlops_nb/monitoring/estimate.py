"""Label-free performance estimates: what a classifier's accuracy probably is on a batch.

When a version is tracked with a holdout (``holdout=(X, y)``), the holdout's
predicted probabilities are calibrated against what was true (isotonic
regression, one map per class, kept as at most :data:`MAP_POINTS` points
each) and the map is stored as a JSON artifact beside the version, with the
holdout's own metrics. A later check without labels then calibrates the
batch's probabilities with that map and reads the *expected* confusion
matrix off them: row ``i`` predicted ``j`` adds its calibrated probability
of each true class ``k`` to cell ``(j, k)``. Expected accuracy is the mean
calibrated confidence in the predicted class; precision, recall and F1
(binary: of the positive class; multiclass: macro averages) follow from the
matrix (ratios of expected counts).

This holds under covariate shift (the features move, how labels follow
them does not) and only where the holdout saw similar rows. It cannot see
concept drift: when the same features start to mean another label, the
model stays confident and the estimate stays high. Each estimate says how
far it can be trusted (``trust``): rows outside the training ranges, most
features drifted, broken data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..text import one_line
from .performance import ABSOLUTE_DROP

if TYPE_CHECKING:
    from .drift.profile import Profile

#: Points kept per calibration map (the isotonic fit evaluated on a quantile grid).
MAP_POINTS = 101
#: Fewer holdout rows than this give no calibration (too few to say anything).
MIN_HOLDOUT_ROWS = 50
#: More classes than this are not calibrated (the map would not be small).
MAX_CLASSES = 50
#: A trust warning when more rows than this share fall outside the training ranges...
OUT_OF_RANGE_SHARE = 0.05
#: ...or when the weighted share of drifted features is above this.
DRIFTED_SHARE = 0.5
#: z of the two-sided 95 % normal interval.
Z95 = 1.959964
METHOD = "isotonic calibration on the holdout, expected confusion matrix"
INTERVAL_METHOD = (
    "95% normal interval: Poisson-binomial variance of the batch's calibrated confidences "
    "plus the holdout's sampling error in the calibration"
)
CONCEPT_DRIFT = (
    "concept drift (labels following the features differently) is invisible to a label-free "
    "estimate: it sees only the features and the model's confidence"
)


# -- at training time ----------------------------------------------------------------------


def calibration(model: Any, features: Any, target: Any) -> tuple[dict[str, Any] | None, str]:
    """The calibration map of ``model`` on a holdout, or ``None`` and why there is none."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        return None, "no holdout calibration: only classifiers with predict_proba are calibrated"
    classes = np.asarray(classes)
    if len(classes) > MAX_CLASSES:
        return None, f"no holdout calibration: more than {MAX_CLASSES} classes"
    if len(features) < MIN_HOLDOUT_ROWS:
        return None, (
            f"no holdout calibration: the holdout has {len(features)} rows, at least "
            f"{MIN_HOLDOUT_ROWS} are needed"
        )
    try:
        proba = np.asarray(model.predict_proba(features), dtype=float)
    except Exception as exc:
        return None, f"no holdout calibration: the model could not score it: {one_line(exc)}"
    truth = _class_index(classes, target)
    if (truth < 0).all():
        return None, "no holdout calibration: none of the holdout labels is one of the classes"
    columns = [1] if len(classes) == 2 else range(len(classes))
    maps = []
    for k in columns:
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        fitted.fit(proba[:, k], (truth == k).astype(float))
        grid = np.unique(np.quantile(proba[:, k], np.linspace(0.0, 1.0, MAP_POINTS)))
        grid = np.unique(np.concatenate([[0.0], grid, [1.0]]))
        maps.append(
            {
                "x": [round(float(v), 6) for v in grid],
                "y": [round(float(v), 6) for v in fitted.predict(grid)],
            }
        )
    doc: dict[str, Any] = {
        "format": 1,
        "method": "isotonic",
        "task": "binary" if len(classes) == 2 else "multiclass",
        "classes": [c.item() if hasattr(c, "item") else str(c) for c in classes],
        "rows": len(features),
        "maps": maps,
    }
    predicted = proba.argmax(axis=1)
    doc["holdout"] = _realised(predicted, truth, len(classes))
    if len(classes) == 2:
        estimated = _expected(_calibrated(doc, proba[:, 1]), proba[:, 1] > 0.5, 2)
    else:
        estimated = _expected(_calibrated(doc, proba), predicted, len(classes))
    doc["holdout"]["estimated_accuracy"] = estimated["accuracy"]
    return doc, ""


def _class_index(classes: Any, target: Any) -> Any:
    """Each label's index in ``classes`` (-1 for labels that are none of them)."""
    import numpy as np
    import pandas as pd

    y = np.asarray(target)
    index = pd.Index(classes)
    if classes.dtype.kind in "iufb":
        y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
        index = pd.Index(classes.astype(float))
    else:
        y = np.asarray(y).astype(str)
        index = pd.Index(classes.astype(str))
    return np.asarray(index.get_indexer(y))


def _realised(predicted: Any, truth: Any, n_classes: int) -> dict[str, float]:
    import numpy as np

    matrix = np.zeros((n_classes, n_classes))
    known = truth >= 0
    np.add.at(matrix, (predicted[known], truth[known]), 1.0)
    figures = _figures(matrix, len(predicted))
    return {k: v for k, v in figures.items() if k in ("accuracy", *_SUMMARY[n_classes == 2])}


# -- at check time -------------------------------------------------------------------------


def _calibrated(doc: dict[str, Any], proba: Any) -> Any:
    """Calibrated probabilities: of the positive class for a binary model (one column of
    scores in, one out), else of each class (rows sum to 1)."""
    import numpy as np

    if doc["task"] == "binary":
        m = doc["maps"][0]
        return np.interp(proba, m["x"], m["y"])
    q = np.column_stack([np.interp(proba[:, k], m["x"], m["y"]) for k, m in enumerate(doc["maps"])])
    total = q.sum(axis=1, keepdims=True)
    flat = total[:, 0] <= 0
    if flat.any():  # every map said 0: fall back to the model's own probabilities
        q[flat], total[flat] = proba[flat], 1.0
    return q / total


_SUMMARY = {
    True: ("precision", "recall", "f1"),
    False: ("macro_precision", "macro_recall", "macro_f1"),
}


def _figures(matrix: Any, rows: int) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of a (possibly expected) confusion matrix
    ``matrix[predicted, true]``; the positive class of a binary one is the second."""
    import numpy as np

    out = {"accuracy": float(np.trace(matrix) / rows) if rows else math.nan}
    diagonal = np.diag(matrix)
    by_predicted, by_true = matrix.sum(axis=1), matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = diagonal / by_predicted
        recall = diagonal / by_true
        f1 = 2 * diagonal / (by_predicted + by_true)
    if len(matrix) == 2:
        out.update(precision=float(precision[1]), recall=float(recall[1]), f1=float(f1[1]))
    else:
        out.update(
            macro_precision=float(np.nanmean(precision))
            if np.isfinite(precision).any()
            else math.nan,
            macro_recall=float(np.nanmean(recall)) if np.isfinite(recall).any() else math.nan,
            macro_f1=float(np.nanmean(f1)) if np.isfinite(f1).any() else math.nan,
        )
    return {k: v if math.isfinite(v) else math.nan for k, v in out.items()}


def _expected(q: Any, predicted: Any, n_classes: int) -> dict[str, Any]:
    """The expected confusion matrix of calibrated probabilities, and what follows from it.

    Binary: ``q`` holds the positive class's calibrated probability and ``predicted``
    whether each row is predicted positive (three sums over the rows, no matrix of them).
    """
    import numpy as np

    rows = len(predicted)
    if n_classes == 2:
        total, tp = float(q.sum()), float(q[predicted].sum())
        predicted_positive = int(np.count_nonzero(predicted))
        fn = total - tp
        matrix = np.array([[rows - predicted_positive - fn, fn], [predicted_positive - tp, tp]])
        # c(1 - c) of the confidence in the predicted class is q(1 - q) either way
        variance = float(total - np.dot(q, q))
    else:
        matrix = np.zeros((n_classes, n_classes))
        for j in range(n_classes):
            matrix[j] = q[predicted == j].sum(axis=0)
        confidence = q[np.arange(rows), predicted]
        variance = float((confidence * (1.0 - confidence)).sum())
    figures: dict[str, Any] = {**_figures(matrix, rows), "variance": variance, "matrix": matrix}
    return figures


def estimate(
    model: Any,
    inputs: Any,
    doc: dict[str, Any] | None,
    *,
    profile: Profile | None = None,
    scores: Any = None,
    drift_share: float = 0.0,
    quality_ok: bool = True,
    reason: str | None = None,
) -> dict[str, Any]:
    """The ``estimated_performance`` block of a check of ``inputs``.

    ``doc`` is the version's calibration (``None``: unavailable, ``reason``
    says why); ``scores`` the positive-class probabilities of a binary model
    when the check computed them already (saves scoring twice).
    """
    import numpy as np

    if doc is None:
        return {"available": False, "reason": reason or "no holdout calibration"}
    if not len(inputs):
        return {"available": False, "reason": "the batch has no rows"}
    classes = doc["classes"]
    binary = doc["task"] == "binary"
    try:
        if binary and scores is not None and len(scores) == len(inputs):
            proba = np.asarray(scores, dtype=float)
        else:
            proba = np.asarray(model.predict_proba(inputs), dtype=float)
            if binary and proba.ndim == 2 and proba.shape[1] == 2:
                proba = proba[:, 1]
    except Exception as exc:
        return {
            "available": False,
            "reason": f"the model could not score the batch: {one_line(exc)}",
        }
    width = 1 if proba.ndim == 1 else proba.shape[1]
    if width != (1 if binary else len(classes)) or not np.isfinite(proba).all():
        return {
            "available": False,
            "reason": "the model's probabilities do not match its calibration "
            "(other classes, or not finite)",
        }
    rows = len(proba)
    # argmax of (1 - p, p) picks the positive class only above 0.5
    predicted = proba > 0.5 if binary else proba.argmax(axis=1)
    expected = _expected(_calibrated(doc, proba), predicted, len(classes))
    holdout = doc["holdout"]
    accuracy = expected["accuracy"]
    holdout_rows = doc["rows"]
    reference = holdout["accuracy"]
    sd = math.sqrt(
        expected["variance"] / rows**2 + reference * (1.0 - reference) / max(holdout_rows, 1)
    )
    low, high = max(0.0, accuracy - Z95 * sd), min(1.0, accuracy + Z95 * sd)
    metrics: dict[str, dict[str, Any]] = {}
    for name in ("accuracy", *_SUMMARY[len(classes) == 2]):
        value = expected[name]
        if name not in holdout or value is None or not math.isfinite(value):
            continue
        metrics[name] = {
            "holdout": holdout[name],
            "estimated": round(value, 6),
            "change": round(value - holdout[name], 6),
        }
    dropped = reference - accuracy > ABSOLUTE_DROP
    # Degraded only when the drop is more than noise: the whole interval is below the holdout.
    degraded = bool(dropped and high < reference)
    trust = _trust(inputs, profile, drift_share, quality_ok)
    return {
        "available": True,
        "method": METHOD,
        "rows": rows,
        "accuracy": round(accuracy, 6),
        "interval": {"low": round(low, 6), "high": round(high, 6), "level": 0.95},
        "interval_method": INTERVAL_METHOD,
        "holdout_accuracy": reference,
        "holdout_rows": holdout_rows,
        "metrics": metrics,
        "confusion_matrix": {
            "classes": classes,
            "expected": [[round(float(v), 3) for v in row] for row in expected["matrix"]],
            "rows_are": "predicted",
        },
        "degraded": degraded,
        "degraded_rule": (
            f"estimated accuracy more than {ABSOLUTE_DROP} below the holdout's, with the "
            "whole interval below it"
        ),
        "trust": trust,
    }


def _trust(
    inputs: Any, profile: Profile | None, drift_share: float, quality_ok: bool
) -> dict[str, Any]:
    """How far the estimate can be trusted on this batch: warnings, and the limits it always has."""
    import numpy as np

    warnings: list[str] = []
    outside = np.zeros(len(inputs), dtype=bool)
    if profile is not None:
        for column in profile.features():
            if column.kind != "numeric" or column.min is None or column.name not in inputs:
                continue
            values = inputs[column.name]
            if values.dtype.kind not in "iuf":
                continue
            array = values.to_numpy(dtype=float, na_value=np.nan)
            outside |= (array < column.min) | (array > column.max)
    share = float(outside.mean()) if len(outside) else 0.0
    if share > OUT_OF_RANGE_SHARE:
        warnings.append(
            f"{share:.0%} of rows have a feature outside the range seen in training: the "
            "calibration never saw such rows and the estimate extrapolates"
        )
    if drift_share > DRIFTED_SHARE:
        warnings.append(
            f"most of the model's features drifted (weighted share {drift_share:.2f}): the batch "
            "may lie where the holdout had few rows"
        )
    if not quality_ok:
        warnings.append("the batch has data-quality issues: the model scored broken rows")
    return {
        "ok": not warnings,
        "warnings": warnings,
        "out_of_range_share": round(share, 4),
        "limits": [CONCEPT_DRIFT],
    }


def compare(estimated: dict[str, Any] | None, realised: dict[str, Any] | None) -> dict[str, Any]:
    """The realised accuracy beside the estimate, when a check had both."""
    if not estimated or not estimated.get("available") or not realised:
        return {}
    current = realised.get("current") or {}
    if "accuracy" not in current:
        return {}
    return {
        "realised_accuracy": current["accuracy"],
        "realised_rows": realised.get("rows"),
        "error": round(estimated["accuracy"] - current["accuracy"], 6),
    }


def unavailable_for(model: Any) -> str | None:
    """Why a model gets no estimate by its kind (``None`` when it can have one)."""
    if not hasattr(model, "classes_") and not hasattr(model, "predict_proba"):
        return (
            "no label-free estimate for regressors: without labels nothing ties the batch's "
            "errors to the model's outputs (a direct-loss model trained on holdout residuals "
            "would be needed, and none is stored)"
        )
    if not hasattr(model, "predict_proba"):
        return "the classifier has no predict_proba: no confidence to estimate from"
    return None


def estimate_html(block: dict[str, Any]) -> str:
    """The block as a few lines of HTML for a report (every text escaped)."""
    from html import escape

    if not block.get("available"):
        return f"<p>Estimated performance: unavailable ({escape(str(block.get('reason')))})</p>"
    interval = block["interval"]
    items = "".join(
        f"<li>{escape(name)}: {m['holdout']:.4g} (holdout) → {m['estimated']:.4g}</li>"
        for name, m in block["metrics"].items()
    )
    flag = " <b class='bad'>degraded</b>" if block["degraded"] else ""
    realised = (
        f"; realised {block['realised_accuracy']:.4g} on {block['realised_rows']} labelled rows"
        if "realised_accuracy" in block
        else ""
    )
    warnings = "".join(
        f"<li><b class='bad'>not trusted</b>: {escape(w)}</li>" for w in block["trust"]["warnings"]
    )
    return (
        f"<p>Estimated performance without labels{flag}: accuracy {block['accuracy']:.4g} "
        f"[{interval['low']:.4g}, {interval['high']:.4g}]{realised}</p>"
        f"<ul>{items}{warnings}<li>{escape(CONCEPT_DRIFT)}</li></ul>"
    )
