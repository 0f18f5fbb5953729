"""What one serving process counts for each arm of a canary or shadow deploy, and the guards.

:class:`ArmCounter` is bumped on the request path (a lock and a few
integers, like :class:`~mlops_nb.serving.stats.RequestStats`): requests,
errors, a latency histogram (the same bins as the serving numbers), a
histogram of predictions (class labels as they are; numbers in bins
2**(1/8) apart on each side of 0) and the count, sum and sum of squares of
the feedback metric. Its :meth:`ArmCounter.to_json` is written to
``deployment_stats`` off the request path; :func:`merge` adds the rows of
every process up, so every replica and ``deploy status`` judge the same
numbers.

Technical guards are ``NAME OP NUMBER`` with NAME one of ``error_rate``
(errors per request of the canary), ``p50_ms``, ``p99_ms`` (its latency) and
``shift`` (total variation distance, 0 to 1, between the canary's and
production's prediction histograms over the same traffic), OP one of
``< <= > >=``. Each is judged on the last window of traffic (see
:data:`mlops_nb.serving.router.WINDOW_S`; :func:`subtract` gives a window's
counts) once the canary has answered :data:`MIN_REQUESTS` requests in it.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from .stats import _bin, _percentile

#: A technical guard is not judged before the canary answered this many requests.
MIN_REQUESTS = 50
GUARD_NAMES = ("error_rate", "p50_ms", "p99_ms", "shift")
_GUARD = re.compile(
    r"\s*([a-z_0-9]+)\s*(<=|>=|<|>)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*"
)
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Guard:
    name: str
    op: str
    limit: float

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.limit:g}"

    def holds(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.limit))


def parse_guard(text: str) -> Guard:
    """``"p99_ms<=50"`` -> a :class:`Guard`; a clear error for anything else."""
    found = _GUARD.fullmatch(str(text))
    if found is None or found.group(1) not in GUARD_NAMES:
        raise InvalidInputError(
            f"cannot read the guard {text!r}: write NAME OP NUMBER with NAME one of "
            f"{', '.join(GUARD_NAMES)} and OP one of < <= > >= (e.g. 'p99_ms<=50')"
        )
    return Guard(found.group(1), found.group(2), float(found.group(3)))


def prediction_key(value: Any) -> str:
    """The histogram bin of one prediction."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)[:40]
        if number.is_integer() and abs(number) < 1e6:
            return str(int(number))
        if not math.isfinite(number):
            return str(number)
        sign = "-" if number < 0 else "+"
        return f"~{sign}{int(math.log2(1.0 + abs(number)) * 8)}"
    return str(value)[:40]


class ArmCounter:
    """One process's counts for one arm (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0
        self.latency: dict[int, int] = {}
        self.predictions: dict[str, int] = {}
        self.metric = [0, 0.0, 0.0]
        self.dirty = True

    def answered(self, latency_ms: float, predictions: Any) -> None:
        index = _bin(latency_ms)
        keys = [prediction_key(v) for v in predictions]
        with self._lock:
            self.requests += 1
            self.latency[index] = self.latency.get(index, 0) + 1
            for key in keys:
                self.predictions[key] = self.predictions.get(key, 0) + 1
            self.dirty = True

    def failed(self) -> None:
        with self._lock:
            self.requests += 1
            self.errors += 1
            self.dirty = True

    def feedback(self, value: float) -> None:
        with self._lock:
            self.metric[0] += 1
            self.metric[1] += value
            self.metric[2] += value * value
            self.dirty = True

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            self.dirty = False
            return {
                "requests": self.requests,
                "errors": self.errors,
                "latency": {str(k): v for k, v in self.latency.items()},
                "predictions": dict(self.predictions),
                "metric": list(self.metric),
            }


def merge(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every process's counts of one arm, added up."""
    out: dict[str, Any] = {
        "requests": 0,
        "errors": 0,
        "latency": {},
        "predictions": {},
        "metric": [0, 0.0, 0.0],
    }
    for counts in rows:
        out["requests"] += counts["requests"]
        out["errors"] += counts["errors"]
        for key in ("latency", "predictions"):
            for k, v in counts[key].items():
                out[key][k] = out[key].get(k, 0) + v
        out["metric"] = [a + b for a, b in zip(out["metric"], counts["metric"], strict=True)]
    return out


def subtract(later: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """The counts between two merged snapshots of one arm (counts only grow)."""
    out: dict[str, Any] = {
        "requests": later["requests"] - earlier["requests"],
        "errors": later["errors"] - earlier["errors"],
        "metric": [a - b for a, b in zip(later["metric"], earlier["metric"], strict=True)],
    }
    for key in ("latency", "predictions"):
        before = earlier[key]
        out[key] = {k: v - before.get(k, 0) for k, v in later[key].items() if v > before.get(k, 0)}
    return out


def summary(counts: dict[str, Any]) -> dict[str, Any]:
    """``requests, errors, error_rate, p50_ms, p99_ms, metric_mean, feedback`` of merged counts."""
    histogram = [0] * (max((int(k) for k in counts["latency"]), default=-1) + 1)
    for k, v in counts["latency"].items():
        histogram[int(k)] = v
    answered = sum(histogram)
    n, total, _ = counts["metric"]
    return {
        "requests": counts["requests"],
        "errors": counts["errors"],
        "error_rate": counts["errors"] / counts["requests"] if counts["requests"] else None,
        "p50_ms": _percentile(histogram, answered, 0.50),
        "p99_ms": _percentile(histogram, answered, 0.99),
        "metric_mean": total / n if n else None,
        "feedback": int(n),
    }


def shift(a: dict[str, int], b: dict[str, int]) -> float | None:
    """Total variation distance between two prediction histograms (0: same, 1: disjoint)."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return None
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def judge_guards(
    guards: list[Guard], canary: dict[str, Any], production: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each guard's value and verdict (``passed``: True, False, or None: not enough yet)."""
    facts = summary(canary)
    facts["shift"] = shift(canary["predictions"], production["predictions"])
    out = []
    for guard in guards:
        found = facts.get(guard.name)
        value = None if found is None else float(found)
        enough = canary["requests"] >= MIN_REQUESTS and value is not None
        out.append(
            {
                "guard": str(guard),
                "value": None if value is None else round(value, 6),
                "passed": guard.holds(value) if enough and value is not None else None,
            }
        )
    return out
