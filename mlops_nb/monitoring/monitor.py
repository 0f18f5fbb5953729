"""Drift checks against a model version: record, alert, retrain.

:func:`check_drift` compares a batch with the reference profile stored when
the version was tracked, adds prediction drift (the model's output on the
batch against its output on the training data) and, when labels are given,
realised performance against the training-time holdout metrics. Every check
is recorded with its full report as an artifact and an audit event; an alarm
(data drift, broken data quality or degraded performance) raises an alert and
fires the model's retrain trigger.

A batch the model cannot score (text in a number column, a NaN it refuses)
or labels of the wrong type never end the check with an exception: they
become data-quality issues of the report, which is recorded and alerts.

Profiles and models are immutable and addressed by SHA-256, so each process
parses a profile and deserialises a model once, on first use, after the
store has checked its hash; later checks of the same version reuse them.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .. import environment, registry
from ..errors import IntegrityError, InvalidInputError, MlopsError, NotFoundError
from ..jsonutil import canonical, loads
from ..registry.trust import check_names, require_flag
from ..store import faults
from ..text import LABEL_LIMIT, check_text, one_line
from . import alerting, retrain
from .drift.engine import SHARE_THRESHOLD, check_frame
from .drift.profile import Profile, model_outputs
from .drift.report import DriftReport, QualityIssue
from .estimate_check import (
    estimate_block,
    file_estimated,
    given_scores,
    load_calibration,
    with_realised,
)
from .performance import performance
from .reference import batch_profile, reference_profile

if TYPE_CHECKING:
    from ..records import ModelVersion
    from ..store import Store
    from .drift.checks import DriftCheck


def load_profile(store: Store, version: ModelVersion) -> Profile:
    """The reference profile stored with a version (parsed once per process)."""
    if not version.profile_sha256:
        raise NotFoundError(
            f"{version.model}:{version.version} has no reference profile: track it with "
            "--data (or data=...) to store one"
        )
    key = (str(store.home), store.artifacts_url, version.profile_sha256)
    found = _PROFILES.get(key)
    if found is None:
        raw = store.get_artifact(version.profile_sha256)
        found = _PROFILES.put(key, Profile.from_json(loads(raw.decode())))
    return found


def _load_model(
    store: Store, version: ModelVersion, trusted: Any = (), allow_pickle: bool = False
) -> Any:
    """The version's estimator, deserialised (and hash-checked) once per process.

    The trust decision is part of the key: a model loaded once with extra
    trusted names, or with pickle allowed, is never handed to a later call
    that did not name them.
    """
    trust_key = tuple(sorted(trusted)) if not isinstance(trusted, str) else (trusted,)
    key = (
        str(store.home),
        store.artifacts_url,
        version.artifact_sha256,
        version.format,
        trust_key,
        allow_pickle is True,
    )
    found = _MODELS.get(key)
    if found is None:
        loaded = registry.load_model(
            f"{version.model}:{version.version}",
            store,
            trusted=trusted,
            allow_pickle=allow_pickle,
        )
        found = _MODELS.put(key, loaded)
    return found


class _Recent:
    """A small thread-safe least-recently-used map for immutable, hash-addressed things."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> Any:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_PROFILES = _Recent(16)
_MODELS = _Recent(4)  # models can be large; a kernel rarely checks more than a few


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
    notes: list[str] | None = None,
    skip: tuple[str, ...] | list[str] = (),
) -> DriftReport:
    """Check a batch against ``ref`` (``NAME[@ALIAS|:VERSION]`` or a Profile).

    ``target`` (labels: a Series, or the name of a column of ``data``) turns
    on the performance comparison; ``predictions`` replaces the model's own
    output on the batch; ``notes`` are added to the report's (where the batch
    came from); ``skip`` names feature columns left out of the check (columns
    the prediction log keeps masked or hashed). The model is loaded as by
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
    reference: dict[str, Any] | None = None
    notes = list(notes or [])
    if isinstance(ref, Profile):
        profile = ref
    else:
        version = registry.resolve(store, ref)
        profile, reference = reference_profile(store, version)
        if reference["kind"] == "accepted":
            notes.append(
                f"compared with the batch of check {reference['check_id']}, accepted as the "
                f"new normal by {reference['accepted_by']} (alert {reference['alert_id']}); "
                "the training profile is kept"
            )
    if skip:
        import dataclasses

        profile = dataclasses.replace(
            profile,
            columns={k: c for k, c in profile.columns.items() if k not in skip},
            importance={k: w for k, w in profile.importance.items() if k not in skip},
        )
    features = [c.name for c in profile.features() if c.name in data.columns]
    # the batch itself when it is exactly the features, in order: no copy
    inputs = data if features == list(data.columns) else data[features]
    model = None
    calibrated, no_calibration = (None, "") if version is None else load_calibration(store, version)
    if version is not None and (predictions is None or target is not None):
        try:
            model = _load_model(store, version, trusted, allow_pickle)
        except IntegrityError:  # altered or untrusted: never a footnote to a report
            raise
        except MlopsError as exc:
            notes.append(f"model not loaded, no prediction or performance check: {exc}")
    scored = given_scores(calibrated, predictions, len(data))
    if model is None and version is not None and calibrated is not None and scored is None:
        # scores given (a prediction log) and no labels: the model is needed only for
        # the estimate, and a model that cannot be loaded only leaves it out
        try:
            model = _load_model(store, version, trusted, allow_pickle)
        except MlopsError as exc:
            no_calibration = f"the model was not loaded: {one_line(exc)}"
    issues: list[QualityIssue] = []
    if predictions is None and model is not None and len(data):
        try:
            scored, _ = model_outputs(model, inputs)
            predictions = scored
        except Exception as exc:  # the model's own complaint about this batch
            notes.append(f"the model could not predict this batch: {one_line(exc)}")
            if any(c.role == "prediction" for c in profile.columns.values()):
                # it scored the training data, so the batch is what broke it
                issues.append(QualityIssue(None, "model_error", one_line(exc)))
    # An alarm's batch may be accepted as the new normal later (rebaseline): the
    # check sketches its columns from the sorts and counts it makes anyway.
    sketches: dict[str, Any] | None = {} if record and alert and version is not None else None
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
        sketches=sketches,
    )
    perf = None
    if target is not None and model is not None:
        perf = performance(model, inputs, target, version.metrics if version else {})
        if perf.get("labels_unusable"):
            label = _target_name(profile, target)
            issues.append(QualityIssue(label, "type_change", perf["note"]))
    estimated = None
    if version is not None:
        region = (
            load_profile(store, version)
            if reference and reference["kind"] == "accepted"
            else profile
        )
        estimated = estimate_block(
            model, inputs, calibrated, no_calibration, region, scored, report, issues
        )
        if estimated.get("available"):
            estimated = with_realised(store, version, batch, estimated, perf)
    report = report.with_updates(
        estimated_performance=estimated,
        performance=perf,
        notes=[*report.notes, *notes],
        quality=report.quality.with_issues(*issues),
        reference=reference,
    )
    if not record or version is None:
        return report
    # An alarm's batch may be accepted as the new normal later: keep its profile.
    accepted = None
    if alert and report.alarm and report.quality.ok and len(inputs):
        accepted = batch_profile(profile, inputs, predictions, target, sketches=sketches)
    return _record(store, report, alert=alert, trigger=trigger, batch_profile=accepted)


def _target_name(profile: Profile, target: Any) -> str:
    name = getattr(target, "name", None)
    if name is not None:
        return str(name)
    found = next((c.name for c in profile.columns.values() if c.role == "target"), None)
    return found or "target"


def _record(
    store: Store,
    report: DriftReport,
    *,
    alert: bool,
    trigger: bool,
    batch_profile: Profile | None = None,
) -> DriftReport:
    """Record a check: its report file, then one transaction for the check, the
    retrain it claims and the alert it raises; the retrain starts and the alert
    is delivered only once that transaction has committed."""
    actor = environment.actor()
    # The batch's profile is written beside the report, not after it: most of
    # either write is waiting for the disk to confirm it (fsync), and the two
    # waits overlap. Both are stored before the check that names them commits.
    kept = None if batch_profile is None else _writer().submit(_store_profile, store, batch_profile)
    try:
        doc = report.to_json()
        try:
            text = canonical(doc)
        except ValueError:  # a NaN somewhere (a metric of one row): walk it only then
            text = _canonical_finite(doc)
        body = text.encode()
        report_sha, _ = store.artifacts.write(body)
    finally:
        batch_sha, batch_size = (None, 0) if kept is None else kept.result()
    faults.point("drift", 1)
    broken = report.quality.by_column()
    summary: dict[str, dict[str, Any]] = {
        c.column: {
            "statistic": c.statistic,
            "severity": round(c.severity, 4),
            "drift": c.drift,
            "method": c.method,
        }
        for c in [*report.columns, *([report.prediction] if report.prediction else [])]
        if c.testable or c.column in broken
    }
    for name, kind in broken.items():
        # each column's history then shows when its data broke, not just when it drifted
        entry = summary.setdefault(
            name, {"statistic": None, "severity": 0.0, "drift": False, "method": None}
        )
        entry["quality"] = kind
    claimed = None
    alert_id = None
    filed = ""
    with store.transaction():
        store.record_artifact(report_sha, len(body), "drift-report", actor)
        if batch_sha is not None:
            store.record_artifact(batch_sha, batch_size, "drift-batch-profile", actor)
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
                "degraded": int(report.degraded),
                "summary": _finite(summary),
                "report_sha256": report_sha,
            },
            actor,
        )
        faults.point("drift", 2)
        # A broken batch alerts a person but does not retrain: a new model
        # fitted to a broken pipeline's output would not fix the pipeline.
        if (report.drift or report.degraded) and trigger:
            claimed = retrain.claim(store, report.model or "", check_id, report.batch)
            if claimed is not None:
                store.update_drift_check(check_id, {"retrain_run_id": claimed.run_id}, actor)
        run_id = claimed.run_id if claimed is not None else None
        if report.alarm and alert:
            alert_id, filed = alerting.file_alert(
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
                    "quality": report.quality.to_json(),
                    "retrain_run_id": run_id,
                    "performance": _finite(report.performance or {}),
                },
                retrain_run_id=run_id,
                columns=_alert_columns(report),
                check_id=check_id,
                batch_profile_sha256=batch_sha,
            )
        estimated_id, estimated_filed = None, ""
        if report.estimated_degraded and alert:
            estimated_id, estimated_filed = file_estimated(store, report, check_id)
        faults.point("drift", 3)
    faults.point("drift", 4)
    if claimed is not None:
        retrain.start(store, claimed)
    if alert_id is not None and filed == "raised":  # repeats and silenced ones are not sent
        alerting.deliver_alert(store, alert_id)
    if estimated_id is not None and estimated_filed == "raised":
        alerting.deliver_alert(store, estimated_id)
    report = report.with_updates(check_id=check_id)
    ids = [i for i in (alert_id, estimated_id) if i is not None]
    if not report.alarm:
        return report.with_updates(alert_ids=ids) if ids else report
    return report.with_updates(alert_ids=ids, retrain_run_id=run_id)


def _store_profile(store: Store, profile: Profile) -> tuple[str, int]:
    """Write a profile as an artifact; its hash and size."""
    body = _canonical_finite(profile.to_json()).encode()
    sha, _ = store.artifacts.write(body)
    return sha, len(body)


_WRITER: ThreadPoolExecutor | None = None
_WRITER_LOCK = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """One thread, started on first use, that writes a batch profile while the
    report is written (threads of a kernel or server record checks at once)."""
    global _WRITER
    with _WRITER_LOCK:
        if _WRITER is None:
            _WRITER = ThreadPoolExecutor(1, thread_name_prefix="mlops-nb-drift-write")
        return _WRITER


def _alert_columns(report: DriftReport) -> list[str]:
    """What an alarm is about, for grouping its repeats: the drifted columns,
    the columns whose data broke, and ``performance`` when it degraded."""
    about = set(report.drifted) | {i.column or "(batch)" for i in report.quality.issues}
    if report.degraded:
        about.add("(performance)")
    return sorted(about)


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
    if not report.quality.ok:
        named = ", ".join(f"{i.column or 'the batch'} ({i.kind})" for i in report.quality.issues)[
            :300
        ]
        parts.append(
            f"data quality broken in {report.model}:{report.version}"
            f"{' batch ' + repr(report.batch) if report.batch else ''}: "
            f"{len(report.quality.issues)} issues: {named}"
        )
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


def _canonical_finite(doc: Any) -> str:
    """``canonical(_finite(doc))``, without walking ``doc`` in Python when it is
    finite already (the common case: the JSON encoder finds a NaN itself)."""
    try:
        return canonical(doc)
    except ValueError:
        return canonical(_finite(doc))


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


def load_reports(store: Store, checks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The full JSON reports of recorded checks (their rows), keyed by check id."""
    stored = store.get_artifacts([row["report_sha256"] for row in checks])
    return {row["id"]: dict(loads(stored[row["report_sha256"]].decode())) for row in checks}


def load_report(store: Store, check_id: int) -> dict[str, Any]:
    """The full JSON report of a recorded check."""
    row = store.get_drift_check(check_id)
    return dict(loads(store.get_artifact(row["report_sha256"]).decode()))
