"""Comparing a batch with a reference profile: schema, checks, findings, verdict.

The dataset verdict is the share of testable feature columns that drifted
(weighted by the feature importance stored at training time when there is
one), compared with ``share_threshold`` (default 0.3: with three features,
one drifted column is enough; with twenty, six). Drifted model predictions
count as drift on their own. Datetime columns are checked and shown but do
not count, since time moves by design.

Data quality is the second verdict, apart from drift and alarming on its
own: a feature missing from the batch, a feature with no value at all,
values that cannot be read as the reference's type, ±inf where training had
none, and more than ``UNSEEN_SHARE`` of rows in categories training never
saw. Each is an issue in ``report.quality``; none of them is drift, and a
column without values is not testable for drift.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ...errors import InvalidInputError
from ...jsonutil import utcnow
from . import stats
from .checks import CheckResult, DriftCheck, default_checks
from .current import CHART_BINS, CurrentColumn, category_vectors, summarize
from .profile import ColumnProfile, Profile
from .report import ColumnResult, DataQuality, DriftReport, QualityIssue, rounded

SHARE_THRESHOLD = 0.3
#: Below this many rows a column's statistics take about a millisecond or less,
#: and the threads mostly wait for each other's Python between numpy calls.
PARALLEL_ROWS = 500_000
#: Above this share of rows in never-seen categories the batch is broken, not
#: just drifting: one prediction in twenty would rest on an input the model
#: never learned anything about. Below it, the "unseen" finding names them.
UNSEEN_SHARE = 0.05


def check_frame(
    profile: Profile,
    data: Any,
    *,
    predictions: Any = None,
    target: Any = None,
    checks: list[DriftCheck] | None = None,
    share_threshold: float = SHARE_THRESHOLD,
    model: str | None = None,
    version: int | None = None,
    batch: str | None = None,
    workers: int = 2,
    sketches: dict[str, ColumnProfile] | None = None,
) -> DriftReport:
    """Check ``data`` (and optionally predictions and labels) against ``profile``.

    ``sketches``, when given, is filled with the batch's own sketch of each
    numeric and categorical column checked, keyed by column name: the profile
    :func:`~mlops_nb.monitoring.drift.profile.profile_column` would give it,
    made from the sorts and counts of the check itself.
    """
    import pandas as pd

    frame = _validate(data)
    if not 0 < share_threshold <= 1:
        raise InvalidInputError(f"share_threshold must be in (0, 1], not {share_threshold}")
    checks = checks if checks is not None else default_checks()
    extras: dict[str, Any] = {}
    for values, role in ((target, "target"), (predictions, "prediction")):
        if values is None:
            continue
        ref_col = next((c for c in profile.columns.values() if c.role == role), None)
        if ref_col is None:
            continue
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        if len(series) != len(frame):
            raise InvalidInputError(f"{role} has {len(series)} rows, the batch {len(frame)}")
        extras[ref_col.name] = series.reset_index(drop=True)

    schema = _schema(profile, frame, set(extras))
    findings: list[dict[str, Any]] = []
    notes: list[str] = []
    jobs = []
    for ref in profile.columns.values():
        if ref.role == "feature" and ref.name in frame.columns:
            jobs.append((ref, frame[ref.name]))
        elif ref.role != "feature" and ref.name in extras:
            jobs.append((ref, extras[ref.name]))
    keep = sketches is not None
    # Columns are independent and numpy releases the GIL: use both cores, but
    # only when there is enough work per column to pay for the threads.
    if workers > 1 and len(frame) >= PARALLEL_ROWS and len(jobs) > 1:
        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(lambda job: _check_column(job[0], job[1], checks, keep), jobs))
    else:
        done = [_check_column(ref, series, checks, keep) for ref, series in jobs]
    results: list[ColumnResult] = []
    issues = [
        QualityIssue(name, "missing_column", "missing from this batch")
        for name in schema["missing"]
    ]
    prediction = None
    for (ref, _), (result, found, failures, current) in zip(jobs, done, strict=True):
        findings.extend(found)
        notes.extend(failures)
        if ref.role == "feature" and current is not None:
            issues.extend(_quality(ref, current))
        if sketches is not None and current is not None and current.sketch is not None:
            sketches[ref.name] = current.sketch
        if ref.role == "prediction":
            prediction = result
        else:
            results.append(result)

    _adjust_pvalues(results)
    share, weighted = _verdict_share(profile, results)
    drift = share >= share_threshold or bool(prediction and prediction.drift)
    results.sort(key=lambda c: (not c.drift, -c.severity, c.column))
    for name in schema["missing"]:
        findings.append({"column": name, "check": "schema", "message": "missing from this batch"})
    for name in schema["extra"]:
        findings.append({"column": name, "check": "schema", "message": "not in the reference"})
    for change in schema["dtype_changes"]:
        findings.append(
            {
                "column": change["column"],
                "check": "schema",
                "message": f"dtype changed from {change['reference']} to {change['current']}",
            }
        )
    notes.append(f"feature weights from training: {'yes' if weighted else 'no (equal weights)'}")
    bars = [max(r.threshold or 0, r.noise_floor or 0) for r in results if r.testable]
    if bars and min(bars) >= 1:
        notes.append(
            f"too few rows ({len(frame)}) for any column to show drift: every noise floor is "
            "above the largest possible distance; the data-quality checks still apply"
        )
    return DriftReport(
        model=model,
        version=version,
        batch=batch,
        at=utcnow(),
        rows=len(frame),
        drift=drift,
        drift_share=round(share, 6),
        share_threshold=share_threshold,
        columns=results,
        schema=schema,
        findings=findings,
        prediction=prediction,
        notes=notes,
        quality=DataQuality(tuple(issues)),
    )


def _quality(ref: ColumnProfile, cur: CurrentColumn) -> list[QualityIssue]:
    """The data-quality issues of one feature column (see the module docstring)."""
    if ref.kind == "empty":
        return []  # nothing was known about it at training time
    issues = []
    infinite = cur.posinf + cur.neginf
    if cur.invalid:
        what = "dates" if ref.kind == "datetime" else "numbers"
        issues.append(
            QualityIssue(
                ref.name,
                "type_change",
                f"{cur.invalid} of {cur.rows} values are not {what} "
                f"(e.g. {', '.join(cur.invalid_examples)}); the reference's type is {ref.dtype}",
            )
        )
    elif cur.present == 0 and not infinite:
        issues.append(
            QualityIssue(
                ref.name,
                "all_missing",
                f"all {cur.rows} values are missing "
                f"(the reference had {ref.missing / max(ref.rows, 1):.1%} missing)",
            )
        )
    if infinite and not (ref.posinf or ref.neginf):
        issues.append(
            QualityIssue(
                ref.name,
                "infinite",
                f"{infinite} infinite values ({cur.posinf} +inf, {cur.neginf} -inf) where "
                "the reference had none",
            )
        )
    if ref.kind == "categorical" and not ref.other and cur.present:
        known = set(ref.values)
        unseen = {k: c for k, c in cur.counts.items() if k not in known}
        share = sum(unseen.values()) / cur.present
        if share > UNSEEN_SHARE:
            shown = ", ".join(repr(k) for k in sorted(unseen, key=lambda k: -unseen[k])[:5])
            issues.append(
                QualityIssue(
                    ref.name,
                    "unseen_categories",
                    f"{share:.1%} of rows hold values never seen in training "
                    f"({len(unseen)} distinct: {shown})",
                )
            )
    return issues


def _validate(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"drift checks need a pandas DataFrame, not {type(data).__name__}")
    if len(data) == 0:
        raise InvalidInputError("the batch has no rows: nothing to compare")
    if data.columns.duplicated().any():
        dupes = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise InvalidInputError(f"the batch has duplicate column names: {', '.join(dupes)}")
    if not all(isinstance(c, str) for c in data.columns):
        data = data.rename(columns=str)
    return data.reset_index(drop=True)


def _schema(profile: Profile, frame: Any, extra_names: set[str]) -> dict[str, Any]:
    features = [c for c in profile.columns.values() if c.role == "feature"]
    names = {c.name for c in profile.columns.values()}
    missing = [c.name for c in features if c.name not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in names and c not in extra_names]
    changes = []
    for ref in features:
        if ref.name in frame.columns:
            current = frame[ref.name]
            if _family(ref.dtype) != _family(str(current.dtype), current):
                changes.append(
                    {"column": ref.name, "reference": ref.dtype, "current": str(current.dtype)}
                )
    return {"missing": missing, "extra": extra, "dtype_changes": changes}


_INFERRED = {
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "boolean": "bool",
    "datetime64": "datetime",
    "datetime": "datetime",
    "date": "datetime",
    "timedelta64": "timedelta",
    "timedelta": "timedelta",
}


def _family(dtype: str, series: Any = None) -> str:
    """What kind of values a dtype holds, as far as a model is concerned.

    ``int64``, ``Int64`` and ``float64`` are all numbers (pandas turns an int
    column with one missing value into floats); ``object``, ``str`` and
    ``category`` are all text (a CSV round trip loses ``category``), unless
    an object column, looked at, holds only numbers, booleans or dates.
    """
    name = dtype.lower()
    if name.startswith(("int", "uint", "float")):
        return "number"
    if name in ("bool", "boolean"):
        return "bool"
    if name.startswith("datetime"):
        return "datetime"
    if name.startswith("timedelta"):
        return "timedelta"
    if name == "object" and series is not None:
        import pandas as pd

        return _INFERRED.get(pd.api.types.infer_dtype(series, skipna=True), "text")
    return "text"


def _check_column(
    ref: ColumnProfile, series: Any, checks: list[DriftCheck], sketch: bool = False
) -> tuple[ColumnResult, list[dict[str, Any]], list[str], CurrentColumn | None]:
    """Every check of one column: its result, findings, failed-check notes, summary."""
    findings: list[dict[str, Any]] = []
    failures: list[str] = []
    base: dict[str, Any] = {"column": ref.name, "role": ref.role, "kind": ref.kind}
    reason = None
    if ref.kind == "empty":
        reason = "no values in the reference"
    elif ref.constant:
        value = ref.min if ref.kind != "categorical" else ref.values[0]
        reason = f"constant in the reference (every value was {value}): nothing to compare"
    current = summarize(ref, series, sketch=sketch) if ref.kind != "empty" else None
    if current is not None and reason is None and current.present == 0:
        reason = "no values in this batch"
    run = [] if current is None else [c for c in checks if ref.kind in c.kinds]
    outcomes: dict[str, CheckResult] = {}
    for shared in run:
        if reason is not None and shared.decides:
            continue
        if current is not None and current.present == 0 and shared.requires_values:
            continue  # nothing to compare: the data-quality verdict says so
        check = copy.copy(shared)  # fit() sets state; threads must not share it
        try:
            outcomes[check.name] = check.fit(ref).score(current)  # type: ignore[arg-type]
        except Exception as exc:  # a plugin's bug must not sink the whole report
            failures.append(
                f"the check {check.name!r} ({type(check).__name__}) failed on column "
                f"{ref.name!r} and is left out: {type(exc).__name__}: {exc}"
            )
    for name, outcome in outcomes.items():
        if not outcome.decides and outcome.drift:
            findings.append(
                {"column": ref.name, "check": name, "message": _finding_text(name, outcome)}
            )
    if (
        current is not None
        and ref.kind != "categorical"
        and current.present > 1  # one value is trivially "constant"
        and current.constant
        and not ref.constant
    ):
        findings.append(
            {
                "column": ref.name,
                "check": "constant",
                "message": f"constant in this batch (every value {current.min:g})",
            }
        )
    primary = next((o for o in outcomes.values() if o.decides), None)
    summary = {
        name: rounded(
            {
                "statistic": o.statistic,
                "p_value": o.p_value,
                "threshold": o.threshold,
                "noise_floor": o.noise_floor,
                "drift": o.drift,
                "decides": o.decides,
            }
        )
        for name, o in outcomes.items()
    }
    result = ColumnResult(
        **base,
        drift=bool(primary and any(o.drift for o in outcomes.values() if o.decides)),
        method=primary.check if primary else None,
        statistic=_finite_or_none(primary.statistic if primary else None),
        threshold=primary.threshold if primary else None,
        noise_floor=_finite_or_none(primary.noise_floor if primary else None),
        p_value=_finite_or_none(primary.p_value if primary else None),
        severity=_finite_or_none(primary.severity if primary else 0.0) or 0.0,
        testable=primary is not None,
        reason=reason,
        checks=summary,
        reference=rounded(_side(ref)),
        current=rounded(_current_side(current)),
        chart=_chart(ref, current) if current is not None and reason is None else {},
    )
    return result, findings, failures, current


def _finite_or_none(value: float | None) -> float | None:
    """Floats as JSON can carry them: no NaN, no infinity."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _finding_text(name: str, outcome: CheckResult) -> str:
    value = outcome.statistic or 0.0
    if name == "missing":
        d = outcome.detail
        return f"missing values {d['reference']:.1%} in the reference, {d['current']:.1%} now"
    if name == "out_of_range":
        d = outcome.detail
        return (
            f"{value:.1%} of values outside the reference range ({d['below']} below, "
            f"{d['above']} above, {d['infinite']} infinite)"
        )
    if name == "chi2":
        return f"chi-square homogeneity p = {outcome.p_value:.2g}"
    if name == "unseen":
        d = outcome.detail
        shown = ", ".join(repr(v) for v in d["values"])
        return f"{value:.1%} of rows have values never seen in training: {shown}"
    return (
        f"{name} = {value:.4g} (above {max(outcome.threshold or 0, outcome.noise_floor or 0):.4g})"
    )


def _side(ref: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": ref.rows, "missing": ref.missing}
    if ref.kind in ("numeric", "datetime"):
        out.update(min=ref.min, max=ref.max, mean=ref.mean, std=ref.std)
    elif ref.kind == "categorical":
        out.update(categories=ref.distinct)
    return out


def _current_side(cur: CurrentColumn | None) -> dict[str, Any]:
    if cur is None:
        return {}
    out: dict[str, Any] = {"rows": cur.rows, "missing": cur.missing}
    if cur.kind in ("numeric", "datetime"):
        out.update(min=cur.min, max=cur.max, mean=cur.mean, std=cur.std)
    else:
        out.update(categories=len(cur.counts))
    return out


def _natural_order(labels: list[str], keep: list[int]) -> list[int]:
    """The chart's categories: numbers and booleans in their own order (0, 1, 2, 10;
    False, True) with the (other) and (unseen) buckets last; words stay most common
    first, as a reader looks for the big ones."""
    buckets = [i for i in keep if labels[i] in ("(other)", "(unseen)")]
    values = [i for i in keep if i not in buckets]

    def number(label: str) -> float | None:
        if label.lower() in ("false", "true"):
            return float(label.lower() == "true")
        try:
            value = float(label)
        except ValueError:
            return None
        return value if np.isfinite(value) else None

    numbers = {i: number(str(labels[i])) for i in values}
    ordered = {i: n for i, n in numbers.items() if n is not None}
    if not values or len(ordered) < len(values):
        return keep
    return sorted(values, key=ordered.__getitem__) + buckets


def _chart(ref: ColumnProfile, cur: CurrentColumn) -> dict[str, Any]:
    """Shares per bin on a grid shared by both sides, for plotting."""
    if ref.kind == "categorical":
        labels, r, c, _ = category_vectors(ref, cur)
        r_share, c_share = r / max(r.sum(), 1), c / max(c.sum(), 1)
        order = np.argsort(-(r_share + c_share))[:15]
        keep = _natural_order(labels, [i for i in order if r_share[i] + c_share[i] > 0])
        return {
            "type": "bar",
            "x": [labels[i] for i in keep],
            "reference": [round(float(r_share[i]), 6) for i in keep],
            "current": [round(float(c_share[i]), 6) for i in keep],
        }
    edges = np.asarray(ref.edges, dtype=float)
    if edges.size < 2:
        return {}
    present = max(cur.present, 1)
    if cur.chart_bounds is None or cur.chart_below is None:  # no current values at all
        bounds = np.linspace(edges[0], edges[-1], CHART_BINS + 1)
        cur_below = np.zeros(bounds.size)
    else:
        bounds, cur_below = cur.chart_bounds, cur.chart_below
    # The reference is known only at its grid: how much lies below each bound
    # by interpolation, counted as chart_grid counts the current values (up to
    # the top of the range, and everything from there on).
    total = max(ref.present, 1)
    ref_lt = _interp(bounds, edges, np.asarray(ref.cdf_lt or ref.cdf, float) / total)
    ref_le = _interp(bounds, edges, np.asarray(ref.cdf, float) / total)
    ref_below = np.where(bounds >= edges[-1], ref_le, ref_lt)
    ref_below[bounds < edges[0]] = 0.0
    clipped = cur_below[0] + (cur.present - cur_below[-1])
    return {
        "type": "hist",
        # rounded by numpy, then turned into Python floats in one call: per
        # value round() calls were a tenth of a 100k-row check
        "x": np.round((bounds[:-1] + bounds[1:]) / 2, 6).tolist(),
        "reference": np.round(np.diff(ref_below), 6).tolist(),
        "current": np.round(np.diff(cur_below) / present, 6).tolist(),
        # the reference range and the drawn one: bins past the first are the
        # current data's own, where the reference has nothing
        "range": [float(edges[0]), float(edges[-1])],
        "bounds": [float(bounds[0]), float(bounds[-1])],
        "outside": round((cur.below + cur.above) / present, 6),
        "clipped": round(float(clipped) / present, 6),
    }


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp`` without its overflow on tiny gaps (``x`` past ``xp``'s ends takes
    the end values, as there).

    numpy divides the rise by the run first: a grid with gaps below ~1e-308
    (subnormal numbers) makes that slope infinite and the chart NaN. The
    position inside the cell is divided out first here, and stays in [0, 1].
    """
    j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, xp.size - 2)
    t = np.clip((x - xp[j]) / (xp[j + 1] - xp[j]), 0.0, 1.0)
    return fp[j] + t * (fp[j + 1] - fp[j])


def _adjust_pvalues(results: list[ColumnResult]) -> None:
    adjusted = stats.benjamini_hochberg([r.p_value for r in results])
    for i, value in enumerate(adjusted):
        object.__setattr__(results[i], "p_adjusted", value)


def _verdict_share(profile: Profile, results: list[ColumnResult]) -> tuple[float, bool]:
    counted = [r for r in results if r.role == "feature" and r.testable and r.kind != "datetime"]
    if not counted:
        return 0.0, False
    weights = profile.importance
    weighted = bool(weights) and all(r.column in weights for r in counted)
    total = 0.0
    drifted = 0.0
    for r in counted:
        w = weights[r.column] if weighted else 1.0
        object.__setattr__(r, "weight", round(w, 6))
        total += w
        drifted += w if r.drift else 0.0
    if total <= 0:
        return 0.0, weighted
    return drifted / total, weighted
