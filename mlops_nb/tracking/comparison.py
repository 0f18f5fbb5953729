"""Runs side by side: facts, parameters, metrics, recorded values and the code that ran.

:class:`Comparison` is the core the notebook widget
(:class:`mlops_nb.widgets.RunComparison`), the REST API (``GET
runs/compare``) and reports share. It reads runs only; it decides which rows
differ, which metrics every run has, and how each run's code differs from the
first run's, so every face shows the same answer.

A run's code is what the store kept of it: for a tracked run, the cells the
session had executed and the tracked cell itself; for a notebook run, the
code cells of its executed notebook. The diff is a unified diff, cell by
cell, with a heading line per cell.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from ..records import Run
    from ..store import Store


class _Missing:
    """The value of a row a run has not got (shown as a dash, never equal to a value)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
#: Facts shown but not counted as differences: they differ between any two runs.
NOT_COMPARED = frozenset({"started"})
#: Lines of one code diff kept; a longer one ends with a line saying how many were left out.
MAX_DIFF_LINES = 2000

Rows = list[tuple[str, list[Any]]]


def differs(values: list[Any], name: str = "") -> bool:
    """Whether a row's values are not all the same (a missing value always differs)."""
    if name in NOT_COMPARED:
        return False
    first = values[0]
    return first is MISSING or any(v is MISSING or v != first for v in values[1:])


@dataclass(frozen=True)
class CodeDiff:
    """How one run's code differs from the first run's."""

    run_id: str
    against: str
    #: ``tracked`` (session cells and the tracked cell), ``notebook`` (an executed
    #: notebook's code cells) or ``None`` when the store kept no code for a run
    source: str | None
    against_source: str | None
    lines: list[str]
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "against": self.against,
            "source": self.source,
            "against_source": self.against_source,
            "lines": self.lines,
            "changed": self.changed,
        }


class Comparison:
    """Several runs, compared.

    Parameters
    ----------
    store
        The store holding the runs.
    run_ids
        Run ids (or unique prefixes of six or more characters), or runs; a run
        named twice is compared once.
    """

    def __init__(self, store: Store, run_ids: Sequence[str | Run]) -> None:
        if isinstance(run_ids, str) or not isinstance(run_ids, Sequence) or not run_ids:
            raise InvalidInputError("a comparison takes a non-empty list of run ids")
        self.store = store
        runs: list[Run] = []
        for ref in run_ids:
            run_id = getattr(ref, "run_id", ref)
            if not isinstance(run_id, str):
                raise InvalidInputError(f"not a run id: {run_id!r}")
            run = store.get_run(run_id)
            if all(r.run_id != run.run_id for r in runs):
                runs.append(run)
        self.runs = runs

    def labels(self) -> list[str]:
        """One column heading per run: its short id, and model version if any."""
        out = []
        for r in self.runs:
            what = f"{r.name}:{r.model_version}" if r.model_version else (r.name or r.kind)
            out.append(f"{r.run_id[:8]} {what}")
        return out

    def sections(self) -> list[tuple[str, Rows]]:
        """``(section, [(row name, [value per run])])`` for facts, parameters, metrics, values.

        A run without a row's value has :data:`MISSING` there.
        """

        def rows(attr: str) -> Rows:
            keys: list[str] = []
            for r in self.runs:
                keys.extend(k for k in getattr(r, attr) if k not in keys)
            return [
                (k, [getattr(r, attr).get(k, MISSING) for r in self.runs]) for k in sorted(keys)
            ]

        facts = [
            ("status", [r.status for r in self.runs]),
            ("started", [r.started_at for r in self.runs]),
            ("by", [r.actor for r in self.runs]),
            ("data sha256", [r.data.get("sha256", MISSING) for r in self.runs]),
            ("data rows", [r.data.get("rows", MISSING) for r in self.runs]),
            ("git commit", [(r.git_commit or "")[:12] or MISSING for r in self.runs]),
        ]
        out = [("run", facts), ("parameters", rows("params")), ("metrics", rows("metrics"))]
        if any(r.values for r in self.runs):
            out.append(("recorded values", rows("values")))
        return out

    def differences(self) -> dict[str, list[str]]:
        """Per section, the rows whose values differ between the runs."""
        return {
            section: [name for name, values in rows if differs(values, name)]
            for section, rows in self.sections()
        }

    def shared_metrics(self) -> dict[str, list[float]]:
        """Metrics every run has as a number, with each run's value."""
        shared: dict[str, list[float]] = {}
        for name in sorted(self.runs[0].metrics):
            values = [r.metrics.get(name) for r in self.runs]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                shared[name] = [float(v) for v in values if v is not None]
        return shared

    def code(self, run: Run) -> tuple[str | None, list[str]]:
        """``(source, cells)``: the code the store kept for ``run`` (see the module)."""
        if run.source_sha256:
            doc = json.loads(self.store.get_artifact(run.source_sha256))
            cells = [c for c in doc.get("cells", []) if isinstance(c, str) and not _tracking(c)]
            tracked = doc.get("tracked_cell")
            if isinstance(tracked, str) and tracked:
                cells.append(tracked)
            return "tracked", cells
        if run.output_sha256:
            nb = json.loads(self.store.get_artifact(run.output_sha256))
            return "notebook", [
                _text(c.get("source", ""))
                for c in nb.get("cells", [])
                if c.get("cell_type") == "code"
            ]
        return None, []

    def code_diffs(self) -> list[CodeDiff]:
        """How each run's code differs from the first run's (one per later run)."""
        first, *rest = self.runs
        labels = self.labels()
        base_source, base = self._code_or_nothing(first)
        out = []
        for i, run in enumerate(rest, start=1):
            source, cells = self._code_or_nothing(run)
            lines = list(
                difflib.unified_diff(
                    _numbered(base),
                    _numbered(cells),
                    fromfile=labels[0],
                    tofile=labels[i],
                    lineterm="",
                )
            )
            if len(lines) > MAX_DIFF_LINES:
                left = len(lines) - MAX_DIFF_LINES
                lines = [*lines[:MAX_DIFF_LINES], f"… {left} more lines not shown"]
            out.append(CodeDiff(run.run_id, first.run_id, source, base_source, lines, bool(lines)))
        return out

    def _code_or_nothing(self, run: Run) -> tuple[str | None, list[str]]:
        try:
            return self.code(run)
        except (NotFoundError, ValueError):  # a file erased or not JSON: no code to show
            return None, []


def _tracking(cell: str) -> bool:
    """Whether a session cell is the tracked cell itself (kept apart as ``tracked_cell``)."""
    return "run_cell_magic('mlops_track'" in cell or 'run_cell_magic("mlops_track"' in cell


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _numbered(cells: list[str]) -> list[str]:
    """The cells as lines, each cell after a ``# cell N`` heading, so hunks say where."""
    lines: list[str] = []
    for n, cell in enumerate(cells, start=1):
        lines.append(f"# cell {n}")
        lines.extend(cell.splitlines())
    return lines
