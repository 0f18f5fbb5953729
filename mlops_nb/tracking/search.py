"""Filter and sort expressions for runs, read into plain records.

The store turns these records into SQL (``Store.search_runs``), so a filter
is evaluated where the runs are, with paging, however many there are. This
module only reads text; it holds no SQL.

The language::

    auc > 0.8 and C = 1
    metrics.accuracy >= 0.85 and params.solver = 'lbfgs'
    model = churn and status != failed and started >= 2026-11-01
    (kind = notebook or kind = pipeline) and not name ~ test

- ``and`` binds tighter than ``or``; ``not`` and parentheses as usual.
- Fields: ``metrics.NAME``, ``params.NAME``, ``tags.NAME``; ``status``,
  ``kind``, ``name``, ``actor``, ``run_id``; ``model`` (runs that registered
  or tracked a version of it); ``started`` and ``ended`` (UTC; a date alone
  means that whole day). Any other bare name is a metric of that name, or a
  parameter when the run has no such metric. Names with other characters go
  in backticks: ```my metric` > 3``.
- Operators: ``= != < <= > >=``, and ``~`` for "contains" (any case).
- Values: numbers, ``'quoted'`` or ``"quoted"`` text, or a bare word. A number
  matches values stored as numbers, text matches values stored as text; a run
  without the field matches no comparison on it (so ``not auc > 0.8`` keeps
  the runs that have no ``auc``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import InvalidInputError

__all__ = ["And", "Compare", "Field", "Not", "Or", "Query", "SortKey", "parse_query", "parse_sort"]

#: Where a field lives: in the JSON of a run, in a column of it, or a metric else a parameter.
Source = Literal["metrics", "params", "tags", "value", "run", "time", "model"]
Op = Literal["=", "!=", "<", "<=", ">", ">=", "~"]

#: Columns of a run a filter can name, and the ones it can sort by.
RUN_COLUMNS = ("status", "kind", "name", "actor", "run_id")
TIME_COLUMNS = ("started", "ended")
SORT_COLUMNS = ("started", "ended", "name", "status", "kind")
_PREFIXES = {"metrics": "metrics", "metric": "metrics", "params": "params", "param": "params"}
_PREFIXES |= {"tags": "tags", "tag": "tags"}
MAX_LENGTH = 2000


@dataclass(frozen=True)
class Field:
    """A field of a run: ``source`` says where it lives, ``name`` which one."""

    source: Source
    name: str


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a float for numbers, else text."""

    field: Field
    op: Op
    value: float | str


@dataclass(frozen=True)
class And:
    items: tuple[Query, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Query, ...]


@dataclass(frozen=True)
class Not:
    item: Query


Query = Compare | And | Or | Not


@dataclass(frozen=True)
class SortKey:
    """What runs are sorted by: a column of the run, a metric or a parameter."""

    field: Field
    descending: bool = True


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<paren>[()])
  | (?P<op><=|>=|!=|==|=|<|>|~)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<date>\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:\d\d)?)(?![\w.])
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])
  | (?P<quoted>`[^`"\\]+`)
  | (?P<word>[A-Za-z_][\w.\-]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if not found or not found.lastgroup:
            raise InvalidInputError(
                f"cannot read the filter at character {at + 1}: {text[at : at + 20]!r}"
            )
        if found.lastgroup != "space":
            out.append(_Token(found.lastgroup, found.group(), at))
        at = found.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def fail(self, what: str) -> InvalidInputError:
        if self.at < len(self.tokens):
            token = self.tokens[self.at]
            where = f"at character {token.at + 1} ({token.text!r})"
        else:
            where = "at the end"
        return InvalidInputError(f"cannot read the filter {where}: {what}")

    def peek_word(self, *words: str) -> bool:
        token = self.tokens[self.at] if self.at < len(self.tokens) else None
        return bool(token and token.kind == "word" and token.text.lower() in words)

    def take(self) -> _Token:
        if self.at >= len(self.tokens):
            raise self.fail("the filter stops short")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def query(self) -> Query:
        items = [self.conjunction()]
        while self.peek_word("or"):
            self.at += 1
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Query:
        items = [self.unary()]
        while self.peek_word("and"):
            self.at += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Query:
        if self.peek_word("not"):
            self.at += 1
            return Not(self.unary())
        token = self.tokens[self.at] if self.at < len(self.tokens) else None
        if token and token.kind == "paren" and token.text == "(":
            self.at += 1
            inner = self.query()
            closing = self.take() if self.at < len(self.tokens) else None
            if not closing or closing.text != ")":
                if closing:
                    self.at -= 1
                raise self.fail("expected ')'")
            return inner
        return self.comparison()

    def comparison(self) -> Query:
        token = self.take()
        if token.kind not in ("word", "quoted") or (
            token.kind == "word" and token.text.lower() in ("and", "or", "not")
        ):
            self.at -= 1
            raise self.fail("expected a field name such as auc, params.C or status")
        field = _field(token)
        op_token = self.take()
        if op_token.kind != "op":
            self.at -= 1
            raise self.fail(f"expected an operator (= != < <= > >= ~) after {token.text}")
        op: Op = "=" if op_token.text == "==" else op_token.text  # type: ignore[assignment]
        value_token = self.take()
        if value_token.kind not in ("word", "string", "number", "date"):
            self.at -= 1
            raise self.fail(f"expected a value after {op_token.text}")
        value = _value(value_token)
        return _checked(Compare(field, op, value), self, value_token)


def _field(token: _Token) -> Field:
    if token.kind == "quoted":
        return Field("value", token.text[1:-1])
    text = token.text
    head, dot, rest = text.partition(".")
    if dot and head.lower() in _PREFIXES and rest:
        return Field(_PREFIXES[head.lower()], rest)  # type: ignore[arg-type]
    lowered = text.lower()
    if lowered in RUN_COLUMNS:
        return Field("run", lowered)
    if lowered in TIME_COLUMNS:
        return Field("time", lowered)
    if lowered == "model":
        return Field("model", "model")
    return Field("value", text)


def _value(token: _Token) -> float | str:
    if token.kind == "number":
        return float(token.text)
    if token.kind == "string":
        return token.text[1:-1]
    return token.text


def _checked(compare: Compare, parser: _Parser, token: _Token) -> Compare:
    field, op, value = compare.field, compare.op, compare.value
    if field.source in ("run", "model"):
        if op not in ("=", "!=", "~"):
            parser.at -= 1
            raise parser.fail(f"{field.name} compares with = != or ~, not {op}")
        return Compare(field, op, token.text if isinstance(value, float) else value)
    if field.source == "time":
        if op == "~":
            parser.at -= 1
            raise parser.fail(f"{field.name} compares with = != < <= > >=, not ~")
        return Compare(field, op, _moment(token.text if isinstance(value, float) else value))
    if op == "~" and isinstance(value, float):
        return Compare(field, op, token.text)
    return compare


def _moment(text: str) -> str:
    """A date or a time, as the store writes times (UTC); a date alone stays a date."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"not a date: {text!r}") from None
        return text
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise InvalidInputError(
            f"not a date or time: {text!r} (write 2026-11-01 or 2026-11-01T10:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    from ..jsonutil import format_time

    return format_time(moment)


def parse_query(text: str | None) -> Query | None:
    """Read a filter; ``None`` for no filter (empty or blank text).

    Raises
    ------
    InvalidInputError
        When the text is not a filter; the message names where it stopped.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise InvalidInputError(f"the filter is longer than {MAX_LENGTH} characters")
    parser = _Parser(text)
    query = parser.query()
    if parser.at < len(parser.tokens):
        raise parser.fail("expected 'and', 'or' or the end")
    return query


def parse_sort(text: str | None, order: str | None = None) -> SortKey:
    """Read a sort key: ``started`` (the default), ``name``, ``metrics.auc``, ``params.C``, …

    ``order`` is ``asc`` or ``desc``; by default times and numbers sort
    newest or largest first, names A to Z.
    """
    text = (text or "started").strip()
    head, dot, rest = text.partition(".")
    if dot and head.lower() in ("metrics", "metric", "params", "param") and rest:
        if re.search(r'["\\`]', rest):
            raise InvalidInputError(f'cannot sort by {text!r:.60}: a name cannot hold " \\ or `')
        field = Field(_PREFIXES[head.lower()], rest)  # type: ignore[arg-type]
    elif text.lower() in SORT_COLUMNS:
        name = text.lower()
        field = Field("time" if name in TIME_COLUMNS else "run", name)
    else:
        raise InvalidInputError(
            f"cannot sort by {text!r:.60}: use one of {', '.join(SORT_COLUMNS)}, "
            "metrics.NAME or params.NAME"
        )
    if order not in (None, "", "asc", "desc"):
        raise InvalidInputError(f"order must be asc or desc, not {order!r:.20}")
    descending = order == "desc" if order else field.source != "run"
    return SortKey(field, descending)
