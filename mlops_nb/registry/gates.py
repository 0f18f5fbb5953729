"""Promotion gates: ``accuracy>=production``, ``auc>0.8``, ``rmse<=staging-0.5``.

A gate is one or more conditions joined by ``,``, ``and`` or ``&&``; every
condition must hold. Each compares a metric of the candidate version with a
number, or with the same metric of the version that holds an alias now,
optionally plus or minus a margin; the bare term ``tests`` holds when the
candidate's latest test suite (``mlops-nb test``) passed, and fails when it
failed or the candidate was never tested. A condition against an alias nobody holds
yet passes, so the first promotion of a model is not blocked by a comparison
with nothing; an alias that could not exist (``Production``, ``nan``) is a
mistake in the gate and refused. The grammar::

    gate      := condition (separator condition)*
    separator := "," | "and" | "&&"            ("and" in any case)
    condition := "tests" | METRIC operator operand
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..display import format_apart
from ..errors import GateExpressionError, InvalidInputError
from ..text import quote
from .names import check_alias

if TYPE_CHECKING:
    from ..records import ModelTest

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
class PassedTests:
    """The term ``tests``: the candidate's latest test suite passed."""

    def __str__(self) -> str:
        return TESTS


#: The word for :class:`PassedTests` in a gate.
TESTS = "tests"
#: One part of a gate.
Term = Condition | PassedTests


@dataclass(frozen=True)
class _Token:
    # word, number, op, sign, at, sep, bad or end; "bad" carries its problem
    kind: str
    text: str
    start: int
    end: int
    problem: str = ""


def parse(expression: object) -> list[Term]:
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

    def gate(self) -> list[Term]:
        conditions: list[Term] = []
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

    def _condition(self) -> Term:
        self.first = self.pos
        for token in self.tokens[self.pos : self._condition_end()]:
            if token.kind == "bad":
                raise self._bad(token.problem)
        metric = self._next()
        if metric.kind != "word":
            raise self._bad("it must start with a metric name")
        alone = self._peek().kind in ("sep", "end")
        if alone and metric.text == TESTS:
            return PassedTests()  # "tests>=0.9" stays a comparison of a metric named tests
        op = self._next()
        if op.kind != "op":
            hint = f" ({quote(TESTS)} is the only term without one)" if alone else ""
            raise self._bad(
                f"expected an operator (>=, <=, ==, !=, >, <) after {quote(metric.text)}{hint}"
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
    conditions: Sequence[Term],
    candidate: dict[str, float],
    holder_metrics: Callable[[str], tuple[int, dict[str, float]] | None],
    candidate_label: str = "candidate",
    latest_test: Callable[[], ModelTest | None] | None = None,
) -> tuple[list[str], list[str]]:
    """Check conditions; return (sentences for passed ones, sentences for failed ones).

    ``holder_metrics(alias)`` returns ``(version, metrics)`` of the version
    holding ``alias`` now, or ``None`` when nobody holds it.
    ``latest_test()`` returns the candidate's newest recorded test, or
    ``None`` when it was never tested; without it the term ``tests`` fails,
    as there is no test result to show.
    """
    passed: list[str] = []
    failed: list[str] = []
    for cond in conditions:
        if isinstance(cond, PassedTests):
            ok, sentence = _tests(latest_test() if latest_test else None, candidate_label)
            (passed if ok else failed).append(sentence)
            continue
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


def _tests(latest: ModelTest | None, candidate_label: str) -> tuple[bool, str]:
    """(passed, sentence) for the term ``tests`` given the candidate's newest test."""
    if latest is None:
        return False, f"{TESTS}: {candidate_label} has no recorded test run (run mlops-nb test)"
    run = f"run {latest.run_id[:12]}"
    if latest.passed:
        return True, f"{TESTS}: {latest.suite} passed {len(latest.checks)} checks ({run})"
    names = ", ".join(quote(c.name) for c in latest.failed)
    return False, (
        f"{TESTS}: the latest suite {latest.suite} failed {len(latest.failed)} of "
        f"{len(latest.checks)} checks: {names} ({run})"
    )
