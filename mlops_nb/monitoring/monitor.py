"""Drift checks against a model version: record, alert, retrain.

:func:`check_drift` compares a batch with the reference profile stored when
the version was tracked, adds prediction drift (the model's output on the
batch against its output on the training data) and, when labels are given,
realised performance against the training-time holdout metrics. Every check
is recorded with its full report as an artifact and an audit event; an alarm
(data drift or degraded performance) raises an alert and fires the model's
retrain trigger.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .. import environment, registry
from ..errors import IntegrityError, InvalidInputError, MlopsError, NotFoundError
from ..jsonutil import canonical, loads
from ..registry.trust import check_names, require_flag
from ..store import faults
from ..text import LABEL_LIMIT, check_text
from . import alerting, retrain
from .drift.engine import SHARE_THRESHOLD, check_frame
from .drift.profile import Profile, model_outputs
from .drift.report import DriftReport

if TYPE_CHECKING:
    from ..records import ModelVersion
    from ..store import Store
    from .drift.checks import DriftCheck

#: Higher is better for these metrics; for the rest (mae, rmse, ...) lower is.
HIGHER_IS_BETTER = {"accuracy", "auc", "roc_auc", "r2", "f1", "precision", "recall"}
#: A drop of more than this (absolute) marks higher-is-better metrics degraded...
ABSOLUTE_DROP = 0.05
#: ...and a relative rise of more than this marks error metrics degraded. Holdout
#: errors measured at training time are optimistic for later data (a new sample,
#: a later period); 30 % keeps ordinary weeks quiet and catches real slippage.
RELATIVE_RISE = 0.30


def load_profile(store: Store, version: ModelVersion) -> Profile:
    """The reference profile stored with a version."""
    if not version.profile_sha256:
        raise NotFoundError(
            f"{version.model}:{version.version} has no reference profile: track it with "
            "--data (or data=...) to store one"
        )
    return Profile.from_json(loads(store.get_artifact(version.profile_sha256).decode()))


def check_drift(
    store: Store,
    ref: str | Profile,
    data: Any,
    *,
    predictions: Any = None,
    target: Any = None,
    batch: str | None = None,
    record: bool = True,
    alert: bool = True,
    trigger: bool = True,
    checks: list[DriftCheck] | None = None,
    share_threshold: float = SHARE_THRESHOLD,
    trusted: list[str] | tuple[str, ...] = (),
    allow_pickle: bool = False,
) -> DriftReport:
    """Check a batch against ``ref`` (``NAME[@ALIAS|:VERSION]`` or a Profile).

    ``target`` (labels: a Series, or the name of a column of ``data``) turns
    on the performance comparison; ``predictions`` replaces the model's own
    output on the batch. The model is loaded as by
    :func:`~mlops_nb.registry.load_model`, with ``trusted`` and
    ``allow_pickle``; a model file that fails its hash or trust check stops
    the check with that error, before anything is recorded.
    """
    import pandas as pd

    require_flag(allow_pickle, "allow_pickle")
    check_names(trusted)

    if batch is not None:
        batch = check_text(batch, "batch label", limit=LABEL_LIMIT)
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"drift checks need a pandas DataFrame, not {type(data).__name__}")
    if isinstance(target, str):
        if target not in data.columns:
            raise InvalidInputError(f"target column {target!r} is not in the data")
        data, target = data.drop(columns=[target]), data[target]
    version = None
    notes: list[str] = []
    if isinstance(ref, Profile):
        profile = ref
    else:
        version = registry.resolve(store, ref)
        profile = load_profile(store, version)
    features = [c.name for c in profile.features() if c.name in data.columns]
    model = None
    if version is not None and (predictions is None or target is not None):
        try:
            model = registry.load_model(
                f"{version.model}:{version.version}",
                store,
                trusted=trusted,
                allow_pickle=allow_pickle,
            )
        except IntegrityError:  # altered or untrusted: never a footnote to a report
            raise
        except MlopsError as exc:
            notes.append(f"model not loaded, no prediction or performance check: {exc}")
    if predictions is None and model is not None and len(data):
        try:
            predictions, _ = model_outputs(model, data[features])
        except Exception as exc:
            notes.append(f"the model could not predict this batch: {type(exc).__name__}: {exc}")
    report = check_frame(
        profile,
        data,
        predictions=predictions,
        target=target,
        checks=checks,
        share_threshold=share_threshold,
        model=version.model if version else None,
        version=version.version if version else None,
        batch=batch,
    )
    perf = None
    if target is not None and model is not None:
        perf = performance(model, data[features], target, version.metrics if version else {})
    report = report.with_updates(performance=perf, notes=[*report.notes, *notes])
    if not record or version is None:
        return report
    return _record(store, report, alert=alert, trigger=trigger)


def performance(
    model: Any, features: Any, target: Any, reference: dict[str, float]
) -> dict[str, Any]:
    """Realised metrics on labelled rows, compared with the training-time ones."""
    import numpy as np
    from sklearn import metrics as skm

    y = np.asarray(target)
    keep = ~pd_isna(y)
    if not keep.any():
        return {"rows": 0, "metrics": {}, "degraded": False, "note": "no labels"}
    X, y = features[keep], y[keep]
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
        "rows": int(keep.sum()),
        "metrics": compared,
        "current": current,
        "degraded": any(m["degraded"] for m in compared.values()),
    }


def pd_isna(values: Any) -> Any:
    import pandas as pd

    return pd.isna(values)


def _record(store: Store, report: DriftReport, *, alert: bool, trigger: bool) -> DriftReport:
    """Record a check: its report file, then one transaction for the check, the
    retrain it claims and the alert it raises; the retrain starts and the alert
    is delivered only once that transaction has committed."""
    actor = environment.actor()
    body = canonical(_finite(report.to_json())).encode()
    report_sha, _ = store.artifacts.write(body)
    faults.point("drift", 1)
    summary = {
        c.column: {
            "statistic": c.statistic,
            "severity": round(c.severity, 4),
            "drift": c.drift,
            "method": c.method,
        }
        for c in [*report.columns, *([report.prediction] if report.prediction else [])]
        if c.testable
    }
    claimed = None
    alert_id = None
    with store.transaction():
        store.record_artifact(report_sha, len(body), "drift-report", actor)
        check_id = store.record_drift_check(
            {
                "model": report.model,
                "version": report.version,
                "batch": report.batch,
                "at": report.at,
                "actor": actor,
                "rows": report.rows,
                "drift": int(report.drift),
                "drift_share": report.drift_share,
                "degraded": int(bool(report.performance and report.performance.get("degraded"))),
                "summary": _finite(summary),
                "report_sha256": report_sha,
            },
            actor,
        )
        faults.point("drift", 2)
        if report.alarm and trigger:
            claimed = retrain.claim(store, report.model or "", check_id, report.batch)
            if claimed is not None:
                store.update_drift_check(check_id, {"retrain_run_id": claimed.run_id}, actor)
        run_id = claimed.run_id if claimed is not None else None
        if report.alarm and alert:
            alert_id = alerting.record_alert(
                store,
                "drift",
                report.model,
                f"drift_check:{check_id}",
                _message(report, run_id),
                {
                    "check_id": check_id,
                    "version": report.version,
                    "batch": report.batch,
                    "drift": report.drift,
                    "drift_share": report.drift_share,
                    "drifted_columns": report.drifted,
                    "retrain_run_id": run_id,
                    "performance": _finite(report.performance or {}),
                },
                retrain_run_id=run_id,
            )
        faults.point("drift", 3)
    faults.point("drift", 4)
    if claimed is not None:
        retrain.start(store, claimed)
    if alert_id is not None:
        alerting.deliver_alert(store, alert_id)
    report = report.with_updates(check_id=check_id)
    if not report.alarm:
        return report
    return report.with_updates(
        alert_ids=[alert_id] if alert_id is not None else [], retrain_run_id=run_id
    )


def _message(report: DriftReport, run_id: str | None) -> str:
    parts = []
    if report.drift:
        top = ", ".join(
            f"{c.column} ({c.method} {c.statistic:.2f})"
            for c in report.columns
            if c.drift and c.statistic is not None
        )[:300]
        parts.append(
            f"drift in {report.model}:{report.version}"
            f"{' batch ' + repr(report.batch) if report.batch else ''}: "
            f"{len(report.drifted)} columns drifted ({top})"
        )
        if report.prediction is not None and report.prediction.drift:
            parts.append("the model's predictions drifted")
    if report.performance and report.performance.get("degraded"):
        worse = ", ".join(
            f"{k} {m['reference']:.4g}→{m['current']:.4g}"
            for k, m in report.performance["metrics"].items()
            if m["degraded"]
        )
        parts.append(f"performance degraded: {worse}")
    if run_id:
        parts.append(f"retrain started as run {run_id[:12]}")
    return "mlops-nb: " + "; ".join(parts)


def _finite(value: Any) -> Any:
    """Replace NaN/inf by None so the value has a JSON form."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def history(store: Store, name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Recorded checks of a model, oldest first, with per-column scores."""
    name = registry.check_model_name(name)
    store.latest_version(name)  # NotFoundError for unknown models
    return store.drift_checks(name, limit)


def load_report(store: Store, check_id: int) -> dict[str, Any]:
    """The full JSON report of a recorded check."""
    row = store.get_drift_check(check_id)
    return dict(loads(store.get_artifact(row["report_sha256"]).decode()))
