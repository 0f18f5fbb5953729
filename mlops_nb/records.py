"""Typed, immutable records returned by the core.

Each record has one :meth:`to_json` that the CLI, the REST API and the
notebook display all use, and renders itself as HTML in Jupyter and as
text in a terminal.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any


class _Record:
    def to_json(self) -> dict[str, Any]:
        """A plain JSON-serialisable dict of the record's fields (a deep copy)."""
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def _repr_html_(self) -> str:
        from .display import record_html

        return record_html(self)

    def __str__(self) -> str:
        from .display import record_text

        return record_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


#: Values copied as they are: immutable, and most of what a record holds.
_ATOMS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """``dataclasses.asdict``'s deep copy, without its generic cost for JSON's own types:
    a listing of thousands of versions spent most of its time there."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, dict):
        return {_copy(k): _copy(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_copy(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return copy.deepcopy(value)


@dataclass(frozen=True)
class Run(_Record):
    """One tracked training run or one notebook execution."""

    run_id: str
    kind: str
    name: str | None
    status: str
    started_at: str
    ended_at: str | None
    actor: str
    parent_run_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None
    notebook_path: str | None = None
    input_sha256: str | None = None
    output_sha256: str | None = None
    source_sha256: str | None = None
    error: str | None = None
    model_version: int | None = None

    @property
    def model(self) -> str | None:
        return self.name if self.kind == "track" else None


@dataclass(frozen=True)
class RunLink(_Record):
    """Where a run sits: what ran, in which notebook, under which parent.

    The few fields of a :class:`Run` that tell what produced a model version,
    read for thousands of runs at once without their parameters and metrics.
    """

    run_id: str
    kind: str
    name: str | None
    parent_run_id: str | None = None
    notebook_path: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion(_Record):
    """A registered version of a model, and the aliases it holds now."""

    model: str
    version: int
    run_id: str | None
    created_at: str
    created_by: str
    artifact_sha256: str
    format: str
    estimator: str
    signature: list[dict[str, str]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    data_sha256: str | None = None
    aliases: list[str] = field(default_factory=list)
    profile_sha256: str | None = None
    #: what people wrote about it, edited after registration (:func:`mlops_nb.annotate`)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AliasChange(_Record):
    """One move of an alias, kept forever."""

    id: int
    model: str
    alias: str
    action: str
    from_version: int | None
    to_version: int
    at: str
    actor: str
    reason: str | None = None
    run_id: str | None = None
    gate: str | None = None


@dataclass(frozen=True)
class AliasRefusal(_Record):
    """A promotion a gate refused, kept forever beside the moves: the alias did not move.

    ``from_version`` held the alias then, ``to_version`` was refused, ``gate``
    is the condition asked for and ``failures`` each part of it that failed.
    ``action`` is ``refused`` so it reads as one more entry in an alias's
    history (:func:`mlops_nb.registry.alias_history`).
    """

    id: int
    model: str
    alias: str
    from_version: int | None
    to_version: int
    at: str
    actor: str
    gate: str
    failures: list[str] = field(default_factory=list)
    reason: str | None = None
    run_id: str | None = None
    action: str = "refused"


@dataclass(frozen=True)
class AuditEvent(_Record):
    """One link of the hash chain."""

    seq: int
    at: str
    actor: str
    kind: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Lineage(_Record):
    """The answer to ``which``: a version, who put it where, and what made it."""

    model: str
    alias: str | None
    version: int
    at: str | None
    set_at: str
    set_by: str
    reason: str | None
    run_id: str | None
    data_sha256: str | None
    notebook_sha256: str | None
    notebook_path: str | None
    input_sha256: str | None
    git_commit: str | None
    git_dirty: bool | None
    artifact_sha256: str
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    #: For an alias: the promotions a gate refused while this version held it
    #: (up to ``at``), each as :meth:`AliasRefusal.to_json` gives it.
    refused: list[dict[str, Any]] = field(default_factory=list)
    #: Serving processes (``mlops-nb serve``) that answered with this version, or
    #: followed this alias, at that time: ``instance``, ``server``, ``host``,
    #: ``address``, ``pid``, ``alias``, ``version`` (the one each answered
    #: with) and ``since``.
    servers: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyResult(_Record):
    """Outcome of ``audit verify``: ``ok`` and, if not, the first broken record."""

    ok: bool
    events: int
    artifacts: int
    head: str
    problem: str | None = None
    seq: int | None = None
    #: The sequence number of the checkpoint the chain was checked against, if any.
    checkpoint: int | None = None


@dataclass(frozen=True)
class Alert(_Record):
    """Something a person should look at, and how it was delivered."""

    id: int
    kind: str
    model: str | None
    subject: str
    at: str
    message: str
    payload: dict[str, Any] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    retrain_run_id: str | None = None
    # the inbox (see mlops_nb.monitoring.inbox); None on alerts raised before it
    state: str | None = None
    group_columns: list[str] | None = None
    count: int | None = None
    last_check_id: int | None = None
    last_at: str | None = None
    batch_profile_sha256: str | None = None
    acked_by: str | None = None
    acked_at: str | None = None
    ack_note: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    resolve_note: str | None = None
    decision: str | None = None
    decision_detail: dict[str, Any] | None = None
    silenced_until: str | None = None


@dataclass(frozen=True)
class CheckResult(_Record):
    """One check of a model test: its name, whether it passed, and why in one sentence."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ModelTest(_Record):
    """One run of a test suite against one model version (``mlops-nb test``).

    ``passed`` holds when every check passed. ``run_id`` is the run holding
    the executed notebook (a notebook suite) or the suite's run of kind
    ``test`` (a YAML suite); ``against`` the alias compared with and
    ``against_version`` the version that held it then.
    """

    model: str
    version: int
    passed: bool
    checks: list[CheckResult]
    run_id: str
    suite: str
    suite_kind: str
    suite_sha256: str
    at: str
    actor: str
    against: str | None = None
    against_version: int | None = None
    id: int | None = None

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.passed]
