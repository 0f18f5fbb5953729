"""Promotion gates: ``accuracy>=production``, ``auc>0.8``, ``rmse<=staging-0.5``.

A gate is one or more conditions joined by ``,``, ``and`` or ``&&``; every
condition must hold. Each compares a metric of the candidate version with a
number, or with the same metric of the version that holds an alias now,
optionally plus or minus a margin. A condition against an alias nobody holds
yet passes, so the first promotion of a model is not blocked by a comparison
with nothing; an alias that could not exist (``Production``, ``nan``) is a
mistake in the gate and refused. The grammar::

    gate      := condition (separator condition)*
    separator := "," | "and" | "&&"            ("and" in any case)
    condition := METRIC operator operand
    operator  := ">=" | "<=" | "==" | "!=" | ">" | "<"
    operand   := sign? NUMBER | "@"? ALIAS (sign NUMBER)?
    sign      := "+" | "-" | "−" (U+2212 MINUS SIGN)

Whitespace may separate any two tokens. A sign directly before a digit or a
``.`` is always a sign, so ``production-1`` is production minus one (the
alias rules forbid ``-`` before a digit for this reason, see
:func:`~mlops_nb.registry.names.check_alias`). ``nan``, ``inf`` and numbers
too large for a float are refused as thresholds and margins.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..display import format_apart
from ..errors import GateExpressionError, InvalidInputError
from ..text import quote
from .names import check_alias

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
#: Longest gate expression, in characters.
GATE_LIMIT = 1000
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SIGNS = {"+": 1.0, "-": -1.0, "\u2212": -1.0}
_NUMBER_WORDS = frozenset({"nan", "inf", "infinity"})
_EXAMPLE = (
    "write METRIC OP NUMBER or METRIC OP ALIAS[±NUMBER], e.g. 'auc>0.8' or "
    "'accuracy>=production-0.01'"
)


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


@dataclass(frozen=True)
class _Token:
    # word, number, op, sign, at, sep, bad or end; "bad" carries its problem
    kind: str
    text: str
    start: int
    end: int
    problem: str = ""


def parse(expression: object) -> list[Condition]:
    """Parse a gate expression, raising :class:`GateExpressionError` naming the bad part."""
    if not isinstance(expression, str):
        raise GateExpressionError(f"a gate must be text, not {type(expression).__name__}")
    if len(expression) > GATE_LIMIT:
        raise GateExpressionError(
            f"the gate is {len(expression)} characters long; at most {GATE_LIMIT} are allowed"
        )
    if not expression.strip():
        raise GateExpressionError("empty gate expression; write e.g. 'accuracy>=production'")
    return _Parser(expression).gate()


class _Parser:
    """Reads the tokens left to right, one condition at a time (see the module's grammar)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokens(text))
        self.pos = 0
        self.first = 0  # the current condition's first token, for messages

    def gate(self) -> list[Condition]:
        conditions = []
        while True:
            if self._peek().kind in ("sep", "end"):
                raise self._empty()
            conditions.append(self._condition())
            token = self._next()
            if token.kind == "end":
                return conditions
            if token.kind != "sep":
                hint = ""
                if token.text.lower() == "or":
                    hint = " (a gate has no 'or': every condition must hold)"
                raise self._bad(f"expected ',' or 'and' after it, found {quote(token.text)}{hint}")
            if self._peek().kind == "end":
                raise GateExpressionError(
                    f"gate {quote(self.text)} ends with {quote(token.text)}: a condition must "
                    "follow it"
                )

    def _condition(self) -> Condition:
        self.first = self.pos
        for token in self.tokens[self.pos : self._condition_end()]:
            if token.kind == "bad":
                raise self._bad(token.problem)
        metric = self._next()
        if metric.kind != "word":
            raise self._bad("it must start with a metric name")
        op = self._next()
        if op.kind != "op":
            raise self._bad(
                f"expected an operator (>=, <=, ==, !=, >, <) after {quote(metric.text)}"
            )
        sign = self._next() if self._peek().kind == "sign" else None
        token = self._peek()
        if token.kind == "number" or (token.kind == "word" and _is_number_word(token)):
            number = self._number(sign, "threshold")
            return Condition(metric.text, op.text, number=number)
        if sign is not None:
            raise self._bad(f"a number must follow {quote(sign.text)}")
        at = self._next() if token.kind == "at" else None
        alias = self._next()
        if alias.kind != "word":
            if at is not None:
                raise self._bad("an alias must follow '@'")
            raise self._bad(f"expected a number or an alias after {quote(op.text)}")
        try:
            check_alias(alias.text)
        except InvalidInputError as exc:
            raise self._bad(str(exc)) from None
        margin = 0.0
        if self._peek().kind == "sign":
            margin = self._number(self._next(), "margin")
        return Condition(metric.text, op.text, alias=alias.text, margin=margin)

    def _number(self, sign: _Token | None, what: str) -> float:
        token = self._next()
        if token.kind not in ("number", "word") or (
            token.kind == "word" and not _is_number_word(token)
        ):
            raise self._bad(f"a number must follow {quote(sign.text if sign else '')}")
        value = math.nan if token.kind == "word" else float(token.text)
        if sign is not None:
            value *= _SIGNS[sign.text]
        if not math.isfinite(value):
            raise GateExpressionError(
                f"gate {what} in {quote(self._part())} is not a finite number"
            )
        return value

    # -- token access and messages ----------------------------------------

    def _peek(self) -> _Token:
        return self.tokens[self.pos]

    def _next(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def _condition_end(self) -> int:
        end = self.first
        while self.tokens[end].kind not in ("sep", "end"):
            end += 1
        return end

    def _part(self) -> str:
        """The text of the current condition, up to the next separator."""
        end = self._condition_end()
        if end == self.first:
            return ""
        return self.text[self.tokens[self.first].start : self.tokens[end - 1].end]

    def _bad(self, problem: str) -> GateExpressionError:
        return GateExpressionError(
            f"cannot read gate condition {quote(self._part())}: {problem}; {_EXAMPLE}"
        )

    def _empty(self) -> GateExpressionError:
        token = self._peek()
        where = "at its start" if self.pos == 0 else f"before {quote(token.text)}"
        if token.kind == "end":
            where = "at its end"
        return GateExpressionError(
            f"gate {quote(self.text)} has an empty condition {where}; {_EXAMPLE}"
        )


def _is_number_word(token: _Token) -> bool:
    return token.text.lower() in _NUMBER_WORDS


def _tokens(text: str) -> Iterator[_Token]:
    """Split a gate into tokens; characters that fit no token become ``bad`` ones."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("&&", i):
            yield _Token("sep", "&&", i, i + 2)
            i += 2
        elif c == ",":
            yield _Token("sep", c, i, i + 1)
            i += 1
        elif c in "<>=!":
            two = text[i : i + 2]
            if two in _OPS:
                yield _Token("op", two, i, i + 2)
                i += 2
            elif c in _OPS:
                yield _Token("op", c, i, i + 1)
                i += 1
            else:
                problem = f"{quote(c)} is not an operator (use >=, <=, ==, !=, >, <)"
                yield _Token("bad", c, i, i + 1, problem)
                i += 1
        elif c in _SIGNS:
            yield _Token("sign", c, i, i + 1)
            i += 1
        elif c == "@":
            yield _Token("at", c, i, i + 1)
            i += 1
        elif c in "0123456789" or (c == "." and text[i + 1 : i + 2].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None  # a digit, or "." and a digit, always starts a number
            end = match.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                glued = end
                while glued < n and (text[glued].isalnum() or text[glued] in "_."):
                    glued += 1
                word = text[i:glued]
                yield _Token("bad", word, i, glued, f"{quote(word)} is neither a number nor a name")
                i = glued
            else:
                yield _Token("number", match.group(), i, end)
                i = end
        elif c.isalpha() or c == "_":
            end = i + 1
            # A "-" joins words only when a letter follows: "prod-eu" is one alias,
            # "production-1" an alias and a margin.
            while end < n and (
                text[end].isalnum()
                or text[end] in "_."
                or (text[end] == "-" and text[end + 1 : end + 2].isalpha())
            ):
                end += 1
            word = text[i:end]
            yield _Token("sep" if word.lower() == "and" else "word", word, i, end)
            i = end
        else:
            name = unicodedata.name(c, f"U+{ord(c):04X}")
            hint = "; write '-' for minus" if unicodedata.category(c) == "Pd" else ""
            problem = f"{quote(c)} ({name}) cannot appear in a gate{hint}"
            yield _Token("bad", c, i, i + 1, problem)
            i += 1
    yield _Token("end", "", n, n)


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
            threshold, holder = float(cond.number or 0.0), ""
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
            threshold, holder = float(other) + cond.margin, f"{cond.alias} v{version} "
        # As every surface writes numbers, with the digits that tell the two apart.
        shown, limit = format_apart(float(value), threshold)
        against = holder + limit
        if _OPS[cond.op](float(value), threshold):
            passed.append(f"{cond}: {shown} {cond.op} {against}")
        else:
            failed.append(f"{cond}: {shown} is not {cond.op} {against}")
    return passed, failed
