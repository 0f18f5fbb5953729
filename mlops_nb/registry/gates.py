"""Promotion gates: ``accuracy>=production``, ``auc>0.8``, ``rmse<=staging-0.5``.

A gate is one or more conditions joined by ``,`` or ``and``. Each condition
compares a metric of the candidate version with a number, or with the same
metric of the version that holds an alias now (optionally plus or minus a
margin). A condition against an alias nobody holds yet passes, so the first
promotion of a model is not blocked by a comparison with nothing.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import GateExpressionError

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_UNSIGNED = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = r"[-+]?" + _UNSIGNED
_CONDITION = re.compile(
    rf"^\s*(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    rf"(?:(?P<number>{_NUMBER})|@?(?P<alias>[A-Za-z][\w-]*)\s*(?:(?P<sign>[-+])\s*"
    rf"(?P<margin>{_UNSIGNED}))?)\s*$"
)
_SPLIT = re.compile(r"\s*(?:,|\band\b|&&)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    """One parsed comparison."""

    metric: str
    op: str
    number: float | None = None
    alias: str | None = None
    margin: float = 0.0

    def __str__(self) -> str:
        if self.alias is None:
            return f"{self.metric}{self.op}{self.number:g}"
        margin = f"{self.margin:+g}" if self.margin else ""
        return f"{self.metric}{self.op}{self.alias}{margin}"


def parse(expression: str) -> list[Condition]:
    """Parse a gate expression, raising :class:`GateExpressionError` with the bad part."""
    if not isinstance(expression, str) or not expression.strip():
        raise GateExpressionError("empty gate expression; write e.g. 'accuracy>=production'")
    conditions = []
    for part in _SPLIT.split(expression.strip()):
        match = _CONDITION.match(part)
        if not match:
            raise GateExpressionError(
                f"cannot read gate condition {part!r}: write METRIC OP NUMBER or METRIC OP "
                "ALIAS, e.g. 'auc>0.8' or 'accuracy>=production'"
            )
        margin = float(match["margin"]) if match["margin"] else 0.0
        if match["sign"] == "-":
            margin = -margin
        number = float(match["number"]) if match["number"] is not None else None
        if number is not None and not math.isfinite(number):
            raise GateExpressionError(f"gate threshold in {part!r} is not a finite number")
        conditions.append(Condition(match["metric"], match["op"], number, match["alias"], margin))
    return conditions


def evaluate(
    conditions: list[Condition],
    candidate: dict[str, float],
    holder_metrics: Callable[[str], tuple[int, dict[str, float]] | None],
    candidate_label: str = "candidate",
) -> tuple[list[str], list[str]]:
    """Check conditions; return (sentences for passed ones, sentences for failed ones).

    ``holder_metrics(alias)`` returns ``(version, metrics)`` of the version
    holding ``alias`` now, or ``None`` when nobody holds it.
    """
    passed: list[str] = []
    failed: list[str] = []
    for cond in conditions:
        value = candidate.get(cond.metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            failed.append(f"{cond}: {candidate_label} has no metric {cond.metric!r}")
            continue
        if cond.alias is None:
            threshold, against = float(cond.number or 0.0), f"{cond.number:g}"
        else:
            held = holder_metrics(cond.alias)
            if held is None:
                passed.append(f"{cond}: nobody holds {cond.alias!r} yet, nothing to beat")
                continue
            version, metrics = held
            other = metrics.get(cond.metric)
            if not isinstance(other, (int, float)) or isinstance(other, bool):
                failed.append(
                    f"{cond}: {cond.alias} (version {version}) has no metric "
                    f"{cond.metric!r} to compare with"
                )
                continue
            threshold = float(other) + cond.margin
            against = f"{cond.alias} v{version} {threshold:.6g}"
        if _OPS[cond.op](float(value), threshold):
            passed.append(f"{cond}: {value:.6g} {cond.op} {against}")
        else:
            failed.append(f"{cond}: {value:.6g} is not {cond.op} {against}")
    return passed, failed
