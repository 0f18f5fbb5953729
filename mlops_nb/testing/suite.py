"""YAML suites of built-in checks: reading one, and the data it tests on.

A suite names its data and lists its checks; every check is a mapping with
exactly one key that says its kind::

    data: holdout.csv            # CSV or Parquet, relative to this file, or
                                 # {dataset: churn, rows: 2000, seed: 11, month: "2026-12"}
    target: churned              # the label column (default for the churn dataset)
    against: production          # the alias comparisons use (``--against`` wins)
    checks:
      - metric: roc_auc          # a threshold ...
        min: 0.75
      - metric: accuracy         # ... or, with neither min nor max, the alias's
        margin: 0.02             #     version on the same rows, minus a margin
      - metric: recall
        slice: "contract == 'month-to-month'"
        min: 0.4
      - invariance: payment_method      # set the column; predictions must not change
        value: credit card
      - directional: support_calls      # change it; the score must move this way
        add: 3
        expect: increase
      - latency_ms: 50                  # p95 of predicting one row
      - size_mb: 5                      # the stored model file
      - schema: production              # takes what the alias's callers send

Everything is checked when the file is read, so a mistake in the suite is an
:class:`~mlops_nb.errors.InvalidInputError` (exit 2) naming the check and
key, before any model is loaded or anything recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.names import check_alias
from ..text import quote

#: The keys each kind of check accepts, besides its kind key and ``name``.
KINDS: dict[str, frozenset[str]] = {
    "metric": frozenset({"min", "max", "margin", "against", "slice"}),
    "invariance": frozenset({"value", "values", "max_changed", "slice"}),
    "directional": frozenset({"add", "multiply", "value", "expect", "max_wrong", "slice"}),
    "latency_ms": frozenset({"rows", "repeat", "percentile"}),
    "size_mb": frozenset(),
    "schema": frozenset(),
}
#: The kinds of check that predict, and so need the suite's ``data``.
NEEDS_DATA = frozenset({"metric", "invariance", "directional", "latency_ms"})
_TOP = frozenset({"data", "target", "against", "checks", "description"})
_DATASETS = frozenset({"churn"})
#: How large a built-in dataset a suite may ask for.
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class CheckSpec:
    """One check as the suite wrote it: its kind, its name and its options."""

    kind: str
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """A YAML suite, read and checked.

    ``data`` is a path, a built-in dataset's arguments, or ``None`` when no
    check predicts (``size_mb`` and ``schema`` look at the version alone).
    """

    path: Path
    raw: bytes
    data: Path | Mapping[str, Any] | None
    target: str | None
    against: str | None
    checks: tuple[CheckSpec, ...]


def read_suite(path: str | Path) -> Suite:
    """Read and check a YAML suite, raising an error naming the first mistake."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        if file.exists():
            raise InvalidInputError(f"test suite {file} is not a file")
        raise NotFoundError(f"test suite {file} does not exist")
    raw = file.read_bytes()
    try:
        loaded = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInputError(f"test suite {file} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"test suite {file} is not valid YAML{line}: {problem}") from None
    if not isinstance(loaded, dict):
        raise InvalidInputError(
            f"test suite {file} must be a mapping with 'data' and 'checks', "
            f"not {type(loaded).__name__}"
        )
    unknown = sorted(set(map(str, loaded)) - _TOP)
    if unknown:
        raise InvalidInputError(
            f"test suite {file}: unknown keys {unknown} (known: {', '.join(sorted(_TOP))})"
        )
    raw_checks = loaded.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise InvalidInputError(f"test suite {file}: 'checks' must be a non-empty list")
    checks = [_check(item, i + 1, file) for i, item in enumerate(raw_checks)]
    names = [c.name for c in checks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInputError(
            f"test suite {file}: check names must differ; give 'name' to: {', '.join(twice)}"
        )
    target = loaded.get("target")
    if target is not None and not isinstance(target, str):
        raise InvalidInputError(f"test suite {file}: 'target' must be a column name")
    against = loaded.get("against")
    if against is not None:
        against = _alias(against, f"test suite {file}: 'against'")
    data = None if loaded.get("data") is None else _data(loaded["data"], file)
    needs = [c.name for c in checks if c.kind in NEEDS_DATA]
    if data is None and needs:
        raise InvalidInputError(
            f"test suite {file}: {quote(needs[0])} needs rows to test on: add 'data', a CSV or "
            "Parquet file (relative to the suite) or a built-in dataset such as "
            "{dataset: churn, rows: 2000, seed: 1}"
        )
    return Suite(
        path=file.resolve(),
        raw=raw,
        data=data,
        target=target,
        against=against,
        checks=tuple(checks),
    )


def _data(value: Any, file: Path) -> Path | Mapping[str, Any]:
    where = f"test suite {file}: 'data'"
    if isinstance(value, str) and value.strip():
        # Relative to the suite, so a suite and its holdout move together.
        return (file.parent / value).resolve()
    if isinstance(value, dict):
        dataset = value.get("dataset")
        if dataset not in _DATASETS:
            raise InvalidInputError(
                f"{where}: 'dataset' must be one of {sorted(_DATASETS)}, not {dataset!r}"
            )
        unknown = sorted(set(map(str, value)) - {"dataset", "rows", "seed", "month", "drift"})
        if unknown:
            raise InvalidInputError(f"{where}: unknown keys {unknown}")
        rows = value.get("rows", 2000)
        if not _whole(rows) or not 10 <= rows <= MAX_ROWS:
            raise InvalidInputError(f"{where}: 'rows' must be a whole number from 10 to {MAX_ROWS}")
        return dict(value)
    raise InvalidInputError(
        f"{where} must name a CSV or Parquet file (relative to the suite) or a built-in "
        "dataset such as {dataset: churn, rows: 2000, seed: 1}"
    )


def _check(item: Any, number: int, file: Path) -> CheckSpec:
    where = f"test suite {file}: check {number}"
    if not isinstance(item, dict):
        raise InvalidInputError(
            f"{where} must be a mapping such as {{metric: roc_auc, min: 0.7}}, not {item!r:.60}"
        )
    kinds = [k for k in item if k in KINDS]
    if len(kinds) != 1:
        found = f"found {kinds}" if kinds else "found none"
        raise InvalidInputError(f"{where} must have exactly one of {', '.join(KINDS)} ({found})")
    kind = kinds[0]
    unknown = sorted(set(map(str, item)) - KINDS[kind] - {kind, "name"})
    if unknown:
        allowed = ", ".join(sorted(KINDS[kind] | {"name"}))
        raise InvalidInputError(f"{where} ({kind}): unknown keys {unknown} (it takes: {allowed})")
    options = {k: v for k, v in item.items() if k != "name"}
    given = item.get("name")
    if given is not None and (not isinstance(given, str) or not given.strip()):
        raise InvalidInputError(f"{where}: 'name' must be non-empty text")
    _check_options(kind, options, f"{where} ({kind})")
    return CheckSpec(kind=kind, name=given or _default_name(kind, options), options=options)


def _check_options(kind: str, o: dict[str, Any], where: str) -> None:
    for key in ("min", "max", "margin", "max_changed", "max_wrong", "add", "multiply"):
        if key in o and not _number(o[key]):
            raise InvalidInputError(f"{where}: {key!r} must be a finite number, not {o[key]!r:.40}")
    if "slice" in o and (not isinstance(o["slice"], str) or not o["slice"].strip()):
        raise InvalidInputError(f"{where}: 'slice' must be an expression such as \"age > 60\"")
    if kind == "metric":
        if not isinstance(o["metric"], str):
            raise InvalidInputError(f"{where}: 'metric' must be a metric name")
        from .metrics import check_metric

        check_metric(o["metric"], where)
        if ("min" in o or "max" in o) and ("against" in o or "margin" in o):
            raise InvalidInputError(
                f"{where}: a metric check has a threshold (min/max) or compares with an "
                "alias (against/margin), not both"
            )
        if "against" in o:
            _alias(o["against"], f"{where}: 'against'")
    elif kind in ("invariance", "directional"):
        if not isinstance(o[kind], str) or not o[kind]:
            raise InvalidInputError(f"{where}: name the column to change")
        for key in ("max_changed", "max_wrong"):
            if key in o and not 0 <= o[key] <= 1:
                raise InvalidInputError(f"{where}: {key!r} is a share of rows, from 0 to 1")
        if kind == "invariance" and ("value" in o) == ("values" in o):
            raise InvalidInputError(f"{where}: give 'value' or a list of 'values' (one of them)")
        if (
            kind == "invariance"
            and "values" in o
            and not (isinstance(o["values"], list) and o["values"])
        ):
            raise InvalidInputError(f"{where}: 'values' must be a non-empty list")
        if kind == "directional":
            changes = [k for k in ("add", "multiply", "value") if k in o]
            if len(changes) != 1:
                raise InvalidInputError(f"{where}: give one of 'add', 'multiply' or 'value'")
            if o.get("expect") not in ("increase", "decrease"):
                raise InvalidInputError(f"{where}: 'expect' must be increase or decrease")
    elif kind in ("latency_ms", "size_mb"):
        if not _number(o[kind]) or o[kind] <= 0:
            raise InvalidInputError(f"{where}: the budget must be a positive number")
        for key, low, high in (("rows", 1, 100_000), ("repeat", 1, 10_000)):
            if key in o and (not _whole(o[key]) or not low <= o[key] <= high):
                raise InvalidInputError(f"{where}: {key!r} must be a whole number {low}-{high}")
        if "percentile" in o and (not _number(o["percentile"]) or not 0 < o["percentile"] <= 100):
            raise InvalidInputError(f"{where}: 'percentile' must be above 0 and at most 100")
    elif kind == "schema" and o["schema"] is not None:
        _alias(o["schema"], f"{where}: the alias")


def _default_name(kind: str, o: Mapping[str, Any]) -> str:
    where = f" on {o['slice']}" if o.get("slice") else ""
    if kind == "metric":
        if "min" in o:
            return f"{o['metric']}{where} >= {o['min']:g}"
        if "max" in o:
            return f"{o['metric']}{where} <= {o['max']:g}"
        margin = f" - {o['margin']:g}" if o.get("margin") else ""
        return f"{o['metric']}{where} vs {o.get('against') or 'alias'}{margin}"
    if kind == "invariance":
        return f"invariance of {o['invariance']}{where}"
    if kind == "directional":
        return f"{o['directional']}{where} moves the score: {o['expect']}"
    if kind == "latency_ms":
        return f"latency p{o.get('percentile', 95):g} <= {o['latency_ms']:g} ms"
    if kind == "size_mb":
        return f"model size <= {o['size_mb']:g} MB"
    return f"schema fits {o['schema'] or 'the alias'}"


def _alias(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{where} must be an alias name, not {value!r:.40}")
    try:
        return check_alias(value)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc}") from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_data(suite: Suite) -> Any:
    """The suite's rows as a DataFrame: its file, or the built-in dataset it names."""
    if suite.data is None:
        raise InvalidInputError(f"test suite {suite.path} names no 'data'")
    if isinstance(suite.data, Path):
        from ..tables import read_table

        return read_table(suite.data)
    from ..datasets import make_churn

    spec = suite.data
    return make_churn(
        int(spec.get("rows", 2000)),
        seed=spec.get("seed", 0),
        month=str(spec.get("month", "2026-11")),
        drift=spec.get("drift", 0.0),
    )


def target_of(suite: Suite) -> str:
    """The label column: the suite's ``target``, or the churn dataset's."""
    if suite.target is not None:
        return suite.target
    if not isinstance(suite.data, Path):
        from ..datasets import TARGET

        return TARGET
    raise InvalidInputError(f"test suite {suite.path}: name the label column with 'target'")
