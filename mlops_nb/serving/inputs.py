"""What a prediction request may send: rows checked against a version's training schema.

A version's ``signature`` lists the training columns with their pandas
dtypes. :class:`InputSchema` reads a request body in either shape::

    {"rows": [{"tenure": 3, "plan": "basic"}, ...]}
    {"columns": ["tenure", "plan"], "data": [[3, "basic"], ...]}

and returns the values column by column (:class:`Rows`), or raises
:class:`~mlops_nb.errors.SchemaMismatchError` naming every problem it found:
a missing or unknown column, a value of the wrong type with its row. JSON
numbers are checked for the column's kind: a whole number for an integer
column (``3.0`` counts), any finite number for a float column, ``true`` or
``false`` for a boolean one, text for a text or category column. ``null``
is a missing value where pandas can hold one (float, text, category,
datetime and nullable columns) and the training data had missing values
there, as its reference profile counted; elsewhere it is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import SchemaMismatchError

#: The most problems one error lists; the rest are counted.
MAX_PROBLEMS = 20
_INT64 = (-(2**63), 2**63 - 1)
FLOAT_MAX = 1.7976931348623157e308

# How each kind of column reads a JSON value: ("float", "int", "bool", "text",
# "datetime", "any"), and whether null is a missing value there.
_KINDS: dict[str, tuple[str, bool]] = {
    "float16": ("float", True),
    "float32": ("float", True),
    "float64": ("float", True),
    "Float32": ("float", True),
    "Float64": ("float", True),
    "int8": ("int", False),
    "int16": ("int", False),
    "int32": ("int", False),
    "int64": ("int", False),
    "uint8": ("int", False),
    "uint16": ("int", False),
    "uint32": ("int", False),
    "uint64": ("int", False),
    "Int8": ("int", True),
    "Int16": ("int", True),
    "Int32": ("int", True),
    "Int64": ("int", True),
    "bool": ("bool", False),
    "boolean": ("bool", True),
    "str": ("text", True),
    "string": ("text", True),
    "string[python]": ("text", True),
    "string[pyarrow]": ("text", True),
    "category": ("text", True),  # categories are taken as text
    "object": ("any", True),
}
_DESCRIBED = {
    "float": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "text": "text",
    "datetime": "an ISO date or time as text",
    "any": "a JSON value that is not an object or a list",
}


@dataclass(frozen=True)
class Column:
    """One training column: its name, pandas dtype, and how JSON values are read."""

    name: str
    dtype: str
    kind: str
    nullable: bool

    @classmethod
    def of(cls, name: str, dtype: str, had_missing: bool = True) -> Column:
        """The column ``name`` of pandas dtype ``dtype``; ``had_missing``: whether the
        training data had missing values in it (null is accepted only then)."""
        if dtype.startswith("datetime64"):
            return cls(name, dtype, "datetime", had_missing)
        kind, nullable = _KINDS.get(dtype, ("any", True))
        return cls(name, dtype, kind, nullable and had_missing)

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int") and not self.dtype[:1].isupper()

    def json_schema(self) -> dict[str, Any]:
        """The OpenAPI (JSON Schema) description of this column's values."""
        base: dict[str, Any]
        if self.kind == "float":
            base = {"type": "number", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX}
        elif self.kind == "int":
            low, high = _INT64
            if self.dtype.startswith("uint"):
                low = 0
            base = {"type": "integer", "minimum": low, "maximum": high}
        elif self.kind == "bool":
            base = {"type": "boolean"}
        elif self.kind in ("text", "datetime"):
            base = {"type": "string"}
            if self.kind == "datetime":
                base["format"] = "date-time"
        else:
            base = {"type": ["string", "number", "boolean"]}
        if self.nullable:
            types = base["type"] if isinstance(base["type"], list) else [base["type"]]
            base["type"] = [*types, "null"]
        return {**base, "description": f"training dtype {self.dtype}"}


@dataclass(frozen=True)
class Rows:
    """Checked request values, column by column in the schema's order."""

    columns: dict[str, list[Any]]
    count: int


class InputSchema:
    """The columns a model version was trained on, and the check of a request against them.

    Parameters
    ----------
    signature
        The version's ``signature``: ``[{"name": ..., "dtype": ...}, ...]``.
    missing
        How many missing values each column had in training (from the
        version's reference profile); ``None`` when unknown.
    """

    def __init__(
        self, signature: list[dict[str, str]], missing: dict[str, int] | None = None
    ) -> None:
        self.columns = [
            Column.of(
                str(c["name"]),
                str(c["dtype"]),
                had_missing=missing is None or missing.get(str(c["name"]), 1) > 0,
            )
            for c in signature
        ]
        self.names = [c.name for c in self.columns]
        self._by_name = {c.name: c for c in self.columns}

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def all_numeric(self) -> bool:
        """Whether every column is a plain numpy integer or float column."""
        return bool(self.columns) and all(c.numeric for c in self.columns)

    def same_as(self, other: InputSchema) -> bool:
        """Whether rows checked by one are acceptable to the other."""
        return self.columns == other.columns

    def parse(self, body: Any) -> Rows:
        """Check a decoded request body; return its values column by column.

        Raises
        ------
        SchemaMismatchError
            The body has neither shape, or a column or value does not fit;
            ``problems`` lists each (at most :data:`MAX_PROBLEMS`, then a count).
        """
        if not isinstance(body, dict):
            raise _mismatch(
                [f"the body must be a JSON object with 'rows' or 'columns' and 'data', "
                 f"not {_json_type(body)}"]
            )  # fmt: skip
        extra = sorted(set(body) - {"rows", "columns", "data"})
        if extra:
            raise _mismatch([f"unknown field {_q(k)} in the body" for k in extra])
        if "rows" in body:
            if "columns" in body or "data" in body:
                raise _mismatch(["give either 'rows' or 'columns' and 'data', not both"])
            return self._from_rows(body["rows"])
        if "columns" in body and "data" in body:
            return self._from_columns(body["columns"], body["data"])
        raise _mismatch(["the body needs 'rows', or 'columns' and 'data'"])

    def _from_rows(self, rows: Any) -> Rows:
        if not isinstance(rows, list) or not rows:
            raise _mismatch(["'rows' must be a non-empty list of objects"])
        problems = _Problems()
        values: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                problems.add(f"row {i} must be an object, not {_json_type(row)}")
                continue
            for name in row:
                if name not in self._by_name:
                    problems.add(f"row {i}: unknown column {_q(name)}")
            for column in self.columns:
                if column.name not in row:
                    problems.add(f"row {i}: missing column {_q(column.name)}")
                    continue
                values[column.name].append(_value(column, row[column.name], i, problems))
            if problems.full:
                break
        problems.raise_any()
        return Rows(values, len(rows))

    def _from_columns(self, columns: Any, data: Any) -> Rows:
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise _mismatch(["'columns' must be a list of column names"])
        if not isinstance(data, list) or not data:
            raise _mismatch(["'data' must be a non-empty list of rows (lists)"])
        problems = _Problems()
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                problems.add(f"column {_q(name)} is named twice")
            seen.add(name)
            if name not in self._by_name:
                problems.add(f"unknown column {_q(name)}")
        for column in self.columns:
            if column.name not in seen:
                problems.add(f"missing column {_q(column.name)}")
        problems.raise_any()
        position = {name: i for i, name in enumerate(columns)}
        values: dict[str, list[Any]] = {c.name: [] for c in self.columns}
        width = len(columns)
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != width:
                shown = f"{len(row)} values" if isinstance(row, list) else _json_type(row)
                problems.add(f"row {i} must be a list of {width} values, not {shown}")
            else:
                for column in self.columns:
                    cell = row[position[column.name]]
                    values[column.name].append(_value(column, cell, i, problems))
            if problems.full:
                break
        problems.raise_any()
        return Rows(values, len(data))


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_PROBLEMS

    def add(self, text: str) -> None:
        if not self.full:
            self.found.append(text)

    def raise_any(self) -> None:
        if self.found:
            note = [f"only the first {MAX_PROBLEMS} problems are listed"] if self.full else []
            raise _mismatch(self.found + note)


def _mismatch(problems: list[str]) -> SchemaMismatchError:
    head = problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)"
    return SchemaMismatchError(f"the input does not fit the model's schema: {head}", problems)


def _value(column: Column, value: Any, row: int, problems: _Problems) -> Any:
    """``value`` as the column's kind holds it, or a problem noted (and ``None`` returned)."""
    kind = column.kind
    if value is None:
        if column.nullable:
            return None
        problems.add(
            f"row {row}: column {_q(column.name)} ({column.dtype}) cannot be null: "
            "it had no missing values in training"
        )
        return None
    ok = False
    if kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not finite_number(value):
            problems.add(f"row {row}: column {_q(column.name)} must be a finite number")
            return None
        if ok and isinstance(value, int):
            value = float(value)
    elif kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
        low = 0 if column.dtype.startswith("uint") else _INT64[0]
        if ok and not low <= value <= _INT64[1]:
            problems.add(f"row {row}: column {_q(column.name)} is out of range for {column.dtype}")
            return None
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind in ("text", "datetime"):
        ok = isinstance(value, str)
    else:  # "any": an object column holds what it is given
        ok = isinstance(value, (str, bool)) or (
            isinstance(value, (int, float)) and finite_number(value)
        )
    if not ok:
        problems.add(
            f"row {row}: column {_q(column.name)} ({column.dtype}) must be "
            f"{_DESCRIBED[kind]}, not {_json_type(value)}"
        )
        return None
    return value


def finite_number(number: int | float) -> bool:
    """A finite float, or an int no larger than the largest float (``isfinite`` of a
    larger int raises)."""
    if isinstance(number, int):
        return abs(number) <= FLOAT_MAX
    return math.isfinite(number)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _q(name: Any) -> str:
    """A column name for a message: quoted, control characters escaped, long names cut."""
    from ..text import printable

    text = printable(str(name))
    return repr(text if len(text) <= 80 else text[:77] + "...")
