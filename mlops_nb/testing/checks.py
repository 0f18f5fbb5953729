"""The built-in checks of a YAML suite, each turned into a :class:`~mlops_nb.records.CheckResult`.

A check that cannot be carried out (a slice that is not an expression, a
column the model does not take) is a mistake in the suite and raises
:class:`~mlops_nb.errors.InvalidInputError`; a check that runs and finds the
model wanting is a failed result, with the numbers that decided it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..display import format_apart, format_number
from ..errors import InvalidInputError
from ..records import CheckResult, ModelVersion
from ..text import quote
from . import metrics
from .suite import CheckSpec

if TYPE_CHECKING:
    import pandas as pd

#: Loads the version holding an alias, with its estimator; ``None`` when nobody holds it.
HolderLoader = Callable[[str], "tuple[ModelVersion, Any] | None"]


@dataclass
class Subject:
    """What the checks look at: the version, its estimator and the suite's rows."""

    version: ModelVersion
    model: Any
    model_bytes: int
    holder: HolderLoader
    against: str
    frame: pd.DataFrame | None = None
    target: str | None = None
    _held: dict[str, tuple[ModelVersion, Any] | None] = field(default_factory=dict)

    def held(self, alias: str) -> tuple[ModelVersion, Any] | None:
        if alias not in self._held:  # each alias's model is loaded once per suite
            self._held[alias] = self.holder(alias)
        return self._held[alias]

    def features(self) -> list[str]:
        """The columns the version was trained on (all but the target if it kept none)."""
        assert self.frame is not None
        names = [c["name"] for c in self.version.signature]
        if not names:
            return [c for c in self.frame.columns if c != self.target]
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            raise InvalidInputError(
                f"the suite's data lacks columns {self.version.model}:{self.version.version} "
                f"was trained on: {', '.join(missing)}"
            )
        return names

    def rows(self, spec: CheckSpec) -> pd.DataFrame:
        """The suite's rows, or those of the check's ``slice``."""
        if self.frame is None:
            raise InvalidInputError(f"check {quote(spec.name)} needs the suite's 'data'")
        expression = spec.options.get("slice")
        if not expression:
            return self.frame
        try:
            chosen = self.frame.query(expression)
        except Exception as exc:
            raise InvalidInputError(
                f"check {quote(spec.name)}: cannot select the slice {quote(expression)}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return chosen


def run_check(spec: CheckSpec, subject: Subject) -> CheckResult:
    """Carry out one check."""
    passed, detail = _KINDS[spec.kind](spec, subject)
    return CheckResult(name=spec.name, passed=passed, detail=detail)


def _metric(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    o = spec.options
    name = o["metric"]
    rows = s.rows(spec)
    where = f" on {len(rows)} rows" + (f" of {o['slice']}" if o.get("slice") else "")
    if rows.empty:
        return False, f"no rows{where}: nothing to measure {name} on"
    if s.target not in rows.columns:
        raise InvalidInputError(f"check {quote(spec.name)}: the data has no column {s.target!r}")
    X, y = rows[s.features()], rows[s.target]
    value = metrics.compute(name, s.model, X, y)
    better = metrics.higher_is_better(name)
    if "min" in o or "max" in o:
        limit, op = (o["min"], ">=") if "min" in o else (o["max"], "<=")
        ok = value >= limit if op == ">=" else value <= limit
        shown, bound = format_apart(value, limit)
        return ok, f"{name} {shown}{where}; {'' if ok else 'not '}{op} {bound}"
    alias = o.get("against") or s.against
    held = s.held(alias)
    if held is None:
        return True, f"nobody holds {alias!r} yet, nothing to compare {name} with"
    version, other_model = held
    other = metrics.compute(name, other_model, rows[_columns(version, rows)], y)
    margin = float(o.get("margin", 0.0))
    limit = other - margin if better else other + margin
    ok = value >= limit if better else value <= limit
    shown, bound = format_apart(value, limit)
    op = ">=" if better else "<="
    allowance = f" ({format_number(other)} {'-' if better else '+'} {margin:g})" if margin else ""
    return ok, (
        f"{name} {shown}{where}; {alias} v{version.version} needs {op} {bound}{allowance}"
        + ("" if ok else ": worse")
    )


def _columns(version: ModelVersion, rows: pd.DataFrame) -> list[str]:
    names = [c["name"] for c in version.signature]
    return names or list(rows.columns)


def _changed(spec: CheckSpec, s: Subject) -> tuple[str, pd.DataFrame]:
    """The column a check changes, and the rows' model inputs (it must be one of them)."""
    column = spec.options[spec.kind]
    rows = s.rows(spec)
    features = s.features()
    if column not in features:
        raise InvalidInputError(
            f"check {quote(spec.name)}: {column!r} is not a column the model takes "
            f"({', '.join(features)})"
        )
    return column, rows[features]


def _invariance(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    import numpy as np
    import pandas as pd

    o = spec.options
    column, X = _changed(spec, s)
    if X.empty:
        return False, "no rows to change"
    before = np.asarray(s.model.predict(X))
    allowed = float(o.get("max_changed", 0.0))
    worst, worst_value = -1, None
    for value in o["values"] if "values" in o else [o["value"]]:
        changed = X.copy()
        # A whole new column: a value outside a categorical's categories is allowed.
        changed[column] = pd.Series([value] * len(X), index=X.index, dtype=object)
        after = np.asarray(s.model.predict(changed))
        if before.dtype.kind in "fc":
            moved = int((~np.isclose(before, after, rtol=1e-9, atol=1e-12)).sum())
        else:
            moved = int((before != after).sum())
        if moved > worst:
            worst, worst_value = moved, value
    share = worst / len(X)
    ok = share <= allowed
    return ok, (
        f"{worst} of {len(X)} predictions changed with {column} set to {worst_value!r} "
        f"({share:.1%}; at most {allowed:.1%} may)"
    )


def _directional(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    import numpy as np

    o = spec.options
    column, X = _changed(spec, s)
    if X.empty:
        return False, "no rows to change"
    changed = X.copy()
    if "add" in o:
        changed[column], how = X[column] + o["add"], f"{o['add']:+g}"
    elif "multiply" in o:
        changed[column], how = X[column] * o["multiply"], f"×{o['multiply']:g}"
    else:
        changed[column], how = [o["value"]] * len(X), f"= {o['value']!r}"
    before, after = metrics.score(s.model, X), metrics.score(s.model, changed)
    delta = after - before
    up = o["expect"] == "increase"
    wrong = int((delta < 0).sum() if up else (delta > 0).sum())
    mean_moved = float(delta.mean())
    allowed = float(o.get("max_wrong", 0.0))
    ok = wrong / len(X) <= allowed and (mean_moved > 0 if up else mean_moved < 0)
    return ok, (
        f"{column} {how}: mean score {format_number(float(np.mean(before)))} → "
        f"{format_number(float(np.mean(after)))}; {wrong} of {len(X)} rows moved the other "
        f"way (at most {allowed:.1%} may)"
    )


def _latency(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    import numpy as np

    o = spec.options
    count, repeat = int(o.get("rows", 1)), int(o.get("repeat", 50))
    percentile = float(o.get("percentile", 95))
    X = s.rows(spec)[s.features()]
    if X.empty:
        return False, "no rows to predict"
    batch = X.iloc[np.arange(count) % len(X)]
    s.model.predict(batch)  # the first call pays for lazy set-up, not for predicting
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        s.model.predict(batch)
        times.append((time.perf_counter() - start) * 1000)
    measured = float(np.percentile(times, percentile))
    budget = float(o["latency_ms"])
    return measured <= budget, (
        f"p{percentile:g} of {repeat} predictions of {count} row{'s' * (count != 1)}: "
        f"{format_number(measured)} ms (budget {budget:g} ms)"
    )


def _size(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    budget = float(spec.options["size_mb"])
    size_mb = s.model_bytes / 1e6
    return size_mb <= budget, (
        f"model file {s.model_bytes} bytes ({format_number(size_mb)} MB; budget {budget:g} MB)"
    )


def _schema(spec: CheckSpec, s: Subject) -> tuple[bool, str]:
    alias = spec.options["schema"] or s.against
    held = s.held(alias)
    if held is None:
        return True, f"nobody holds {alias!r} yet: no callers to stay compatible with"
    other = {c["name"]: c["dtype"] for c in held[0].signature}
    problems = []
    for column in s.version.signature:
        name, dtype = column["name"], column["dtype"]
        if name not in other:
            problems.append(f"needs {name!r}, which {alias}'s callers do not send")
        elif other[name] != dtype and not _widens(other[name], dtype):
            problems.append(f"{name!r} is {dtype}, {alias} takes {other[name]}")
    label = f"{alias} v{held[0].version}"
    if problems:
        return False, f"not compatible with {label}: " + "; ".join(problems)
    return True, f"takes what {label}'s callers send ({len(s.version.signature)} columns)"


def _widens(sent: str, taken: str) -> bool:
    """Whether a column of dtype ``sent`` fits a model trained on ``taken`` (ints as floats)."""
    return sent.startswith(("int", "uint")) and taken.startswith("float")


_KINDS: dict[str, Callable[[CheckSpec, Subject], tuple[bool, str]]] = {
    "metric": _metric,
    "invariance": _invariance,
    "directional": _directional,
    "latency_ms": _latency,
    "size_mb": _size,
    "schema": _schema,
}
