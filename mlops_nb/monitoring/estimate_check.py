"""The label-free estimate inside a drift check: the stored calibration, the report's
block, its alert, and the realised value beside an earlier estimate once labels came.

See :mod:`mlops_nb.monitoring.estimate` for the method and its limits.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError
from ..jsonutil import loads
from . import alerting, estimate

if TYPE_CHECKING:
    from ..records import ModelVersion
    from ..store import Store
    from .drift.profile import Profile
    from .drift.report import DriftReport, QualityIssue

#: How many earlier checks of a model are searched for the estimate of the same batch.
EARLIER_CHECKS = 200

_CALIBRATIONS: dict[tuple[Any, ...], tuple[dict[str, Any] | None, str]] = {}
_LOCK = threading.Lock()


def load_calibration(store: Store, version: ModelVersion) -> tuple[dict[str, Any] | None, str]:
    """The holdout calibration map stored with a version (read once per process),
    or ``None`` and why it has none."""
    key = (str(store.home), store.artifacts_url, version.model, version.version, version.run_id)
    with _LOCK:
        found = _CALIBRATIONS.get(key)
    if found is not None:
        return found
    data = store.get_run(version.run_id).data if version.run_id else {}
    sha = data.get("calibration_sha256")
    if sha:
        found = (dict(loads(store.get_artifact(sha).decode())), "")
    else:
        found = (
            None,
            f"{version.model}:{version.version} has no holdout calibration: track it with "
            "holdout=(X_test, y_test) to estimate its performance without labels",
        )
    with _LOCK:
        if len(_CALIBRATIONS) >= 64:  # versions are few per process; never grow unbounded
            _CALIBRATIONS.clear()
        _CALIBRATIONS[key] = found
    return found


def given_scores(calibrated: dict[str, Any] | None, predictions: Any, rows: int) -> Any:
    """Scores handed to the check (a prediction log's) usable as a binary model's
    positive-class probabilities, so the model need not score the batch again."""
    import numpy as np

    if calibrated is None or calibrated.get("task") != "binary" or predictions is None:
        return None
    values = np.asarray(predictions)
    if values.ndim != 1 or len(values) != rows or values.dtype.kind not in "fiu":
        return None
    values = values.astype(float)
    if not len(values) or not np.isfinite(values).all():
        return None
    return values if values.min() >= 0.0 and values.max() <= 1.0 else None


def estimate_block(
    model: Any,
    inputs: Any,
    calibrated: dict[str, Any] | None,
    no_calibration: str,
    profile: Profile,
    scores: Any,
    report: DriftReport,
    issues: list[QualityIssue],
) -> dict[str, Any]:
    """The check's ``estimated_performance`` block (never raises). ``scores``: the
    positive-class probabilities of a binary model when the check has them already."""
    if model is None and scores is None:
        return {"available": False, "reason": no_calibration or "the model was not loaded"}
    reason = (estimate.unavailable_for(model) if model is not None else None) or no_calibration
    kind = getattr(getattr(scores, "dtype", None), "kind", None)
    return estimate.estimate(
        model,
        inputs,
        None if reason else calibrated,
        profile=profile,
        scores=scores if kind == "f" else None,
        drift_share=report.drift_share,
        quality_ok=report.quality.ok and not issues,
        reason=reason or None,
    )


def with_realised(
    store: Store,
    version: ModelVersion,
    batch: str | None,
    block: dict[str, Any],
    realised: dict[str, Any] | None,
) -> dict[str, Any]:
    """``block`` with the realised accuracy beside it when labels were given, and the
    estimate an earlier check of the same batch made before they came."""
    if not realised or "accuracy" not in (realised.get("current") or {}):
        return block
    block = {**block, **estimate.compare(block, realised)}
    earlier = earlier_estimate(store, version, batch)
    if earlier is not None:
        accuracy = realised["current"]["accuracy"]
        block["earlier"] = {**earlier, "error": round(earlier["accuracy"] - accuracy, 6)}
    return block


def earlier_estimate(
    store: Store, version: ModelVersion, batch: str | None
) -> dict[str, Any] | None:
    """The latest recorded estimate of the same version and batch made without labels."""
    if not batch:
        return None
    from .monitor import load_report

    try:
        for row in reversed(store.drift_checks(version.model, EARLIER_CHECKS)):
            if row["version"] != version.version or row["batch"] != batch:
                continue
            doc = load_report(store, row["id"])
            est = doc.get("estimated_performance") or {}
            labelled = (doc.get("performance") or {}).get("metrics")
            if est.get("available") and not labelled:
                return {
                    "check_id": row["id"],
                    "at": row["at"],
                    "accuracy": est["accuracy"],
                    "interval": est["interval"],
                }
    except MlopsError:  # a report file gone: no earlier estimate to show
        return None
    return None


def file_estimated(store: Store, report: DriftReport, check_id: int) -> tuple[int, str]:
    """The ``estimated_performance`` alert of a check: its own kind, grouped like the rest."""
    from .monitor import _finite

    est = report.estimated_performance or {}
    interval = est["interval"]
    message = (
        f"mlops-nb: estimated performance degraded in {report.model}:{report.version}"
        f"{' batch ' + repr(report.batch) if report.batch else ''}: accuracy "
        f"{est['holdout_accuracy']:.4g} on the holdout, estimated {est['accuracy']:.4g} "
        f"[{interval['low']:.4g}, {interval['high']:.4g}] on {est['rows']} rows without labels"
    )
    if not est["trust"]["ok"]:
        message += "; the estimate may not be trusted: " + "; ".join(est["trust"]["warnings"])
    return alerting.file_alert(
        store,
        "estimated_performance",
        report.model,
        f"drift_check:{check_id}",
        message[:2000],
        {
            "check_id": check_id,
            "version": report.version,
            "batch": report.batch,
            "estimated_performance": _finite(est),
        },
        columns=["(estimated performance)"],
        check_id=check_id,
    )
