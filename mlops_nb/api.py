"""The Python API a notebook uses: the same operations as the magics and the CLI.

This is the notebook layer: it keeps one lazily opened default store (found
by the usual rules: ``MLOPS_NB_HOME``, nearest ``.mlops/``, ``~/.mlops``) so
a notebook can write ``mlops_nb.track("churn")`` without passing a store.
Every function also takes ``home=`` or ``store=`` to use another one.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Literal

from . import registry, tracking
from .errors import InvalidInputError
from .records import AliasChange, Lineage, ModelTest, ModelVersion, Run, VerifyResult
from .registry.trust import check_names, require_flag
from .tracking import context

if TYPE_CHECKING:  # the store pulls in SQLAlchemy; %load_ext must stay cheap
    from collections.abc import Mapping

    from .evidence import EvidencePack
    from .store import Store
    from .store.audit import Checkpoint

_default: Store | None = None
_lock = threading.Lock()
# The last run tracked in this process, per store.
_last_run: dict[str, str] = {}


def get_store(home: str | os.PathLike[str] | None = None, store: Store | None = None) -> Store:
    """The store to use: ``store`` if given, one at ``home``, else the default."""
    global _default
    from .store import Store

    if store is not None:
        return store
    if home is not None:
        return Store(home)
    with _lock:
        if _default is None:
            _default = Store()
        return _default


def set_store(home: str | os.PathLike[str] | Store | None) -> Store | None:
    """Make ``home`` (a path or a :class:`Store`) the default; ``None`` forgets it."""
    global _default
    from .store import Store

    with _lock:
        if home is None:
            _default = None
        else:
            _default = home if isinstance(home, Store) else Store(home)
        return _default


class _TrackedRun(tracking.ActiveRun):
    """An :class:`ActiveRun` that remembers itself as the session's last run."""

    def __exit__(self, *exc: Any) -> Literal[False]:
        try:
            return super().__exit__(*exc)
        finally:
            _last_run[str(self.store.home)] = self.run_id


def track(
    name: str, *, home: str | None = None, store: Store | None = None, **options: Any
) -> tracking.ActiveRun:
    """Record a training run; use as a context manager.

    Parameters
    ----------
    name
        The model name; a fitted estimator becomes its next version.
    model, data, target
        The estimator, training frame and target (or set them inside the
        block with ``run.set_model`` / ``run.set_data``).
    params, metrics, tags
        Explicit values; papermill-injected parameters are added for you.
    holdout
        ``(X_test, y_test)``: a classifier's probabilities are calibrated on
        these rows and the map kept with the version, so drift checks without
        labels estimate its accuracy (``report.estimated_performance``).
    register
        Set ``False`` to record the run without registering a version.
    serializer
        ``"skops"`` (default, safe) or ``"pickle"`` (explicit opt-in).

    Examples
    --------
    >>> with mlops_nb.track("churn", data=X, target=y) as run:  # doctest: +SKIP
    ...     model = LogisticRegression().fit(X, y)
    ...     run.set_model(model)
    ...     run.log_metric("accuracy", model.score(X_test, y_test))
    """
    history = _input_history()
    params = {**context.injected_parameters(history), **(options.pop("params", None) or {})}
    return _TrackedRun(
        get_store(home, store),
        name,
        params=params,
        source=options.pop("source", None) or history,
        **options,
    )


def record(
    key: str,
    value: Any,
    *,
    run_id: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> str:
    """Attach a value to a run and return that run's id.

    Without ``run_id`` the value goes to the run open right now, else to the
    notebook run executing this kernel (``mlops-nb run``), else to this
    session's last tracked run. Later pipeline steps receive recorded values
    as parameters; they are also shown in the notebook's output.
    """
    target_store = get_store(home, store)
    target = run_id
    if target is None:
        active = tracking.current_run()
        target = (
            active.run_id
            if active
            else (context.parent_run_id() or _last_run.get(str(target_store.home)))
        )
    if target is None:
        raise InvalidInputError(
            f"no run to record {key!r} on: use it inside a tracked cell, after one, or in a "
            "notebook executed by `mlops-nb run`"
        )
    tracking.record_value(target_store, target, key, value)
    _show_record(key, value, target)
    return target


def load_model(
    ref: str,
    *,
    home: str | None = None,
    store: Store | None = None,
    trusted: list[str] | tuple[str, ...] = (),
    allow_pickle: bool = False,
) -> Any:
    """Load ``NAME@ALIAS``, ``NAME:VERSION`` or ``NAME`` (latest), hash-checked.

    The file may use only trusted types and functions: scikit-learn's own by
    default, plus those named exactly in ``trusted`` (or with
    :func:`mlops_nb.trust`). ``allow_pickle=True`` loads a version saved
    with pickle, which runs code: only for files you trust.

    Examples
    --------
    >>> model = mlops_nb.load_model("churn@production")  # doctest: +SKIP
    >>> model = mlops_nb.load_model("prices", trusted=["numpy.log1p"])  # doctest: +SKIP
    """
    require_flag(allow_pickle, "allow_pickle")
    check_names(trusted)
    return registry.load_model(
        ref, get_store(home, store), trusted=trusted, allow_pickle=allow_pickle
    )


def promote(
    name: str,
    version: int | str,
    alias: str = registry.DEFAULT_ALIAS,
    *,
    require: str | None = None,
    reason: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> AliasChange:
    """Move ``alias`` to ``version`` if the gate ``require`` allows.

    See :mod:`mlops_nb.registry.gates` for how gates are written.
    """
    return registry.promote(
        get_store(home, store), name, version, alias, require=require, reason=reason
    )


def rollback(
    name: str,
    alias: str = registry.DEFAULT_ALIAS,
    *,
    reason: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> AliasChange:
    """Return ``alias`` to the version that held it before."""
    return registry.rollback(get_store(home, store), name, alias, reason=reason)


def annotate(
    name: str,
    version: int | str,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    untag: list[str] | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> ModelVersion:
    """Edit a version's description and tags (audited); return the version as it now is.

    ``description=""`` removes the description, ``tags`` sets (adds or replaces)
    tags, ``untag`` removes tags by key; what is not named stays. See
    :func:`mlops_nb.registry.annotations.annotate` for the limits.
    """
    return registry.annotate(
        get_store(home, store), name, version, description=description, tags=tags, untag=untag
    )


def which(
    ref: str, at: str | None = None, *, home: str | None = None, store: Store | None = None
) -> Lineage:
    """Lineage of ``ref`` now, or of whoever held the alias at time ``at``."""
    return registry.which(get_store(home, store), ref, at)


def models(*, home: str | None = None, store: Store | None = None) -> list[dict[str, Any]]:
    """One summary per registered model."""
    return get_store(home, store).list_models()


def versions(
    name: str, *, home: str | None = None, store: Store | None = None
) -> list[ModelVersion]:
    """Every version of a model, oldest first."""
    return get_store(home, store).list_versions(registry.check_model_name(name))


def runs(
    model: str | None = None,
    *,
    limit: int | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> list[Run]:
    """Runs, newest first."""
    return get_store(home, store).list_runs(name=model, limit=limit)


def verify(
    *,
    checkpoint: Checkpoint | str | os.PathLike[str] | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> VerifyResult:
    """Check the audit chain, every artifact and every table.

    ``checkpoint`` (a :class:`~mlops_nb.store.audit.Checkpoint` or the file
    :func:`checkpoint` wrote) also requires the chain to extend the head it
    recorded: that catches a history rewritten by someone with write access
    to the database, which the chain alone cannot.
    """
    from .store import audit

    return audit.verify(get_store(home, store), checkpoint=checkpoint)


def audit_report(
    name: str,
    start: Any,
    end: Any,
    *,
    sections: Mapping[str, Any] | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> EvidencePack:
    """The compliance evidence pack of model ``name`` from ``start`` to ``end``.

    Who held each alias when, each version's lineage, promotions accepted
    and refused, drift checks, alerts and decisions, serving events, and the
    audit chain's head with a verification run now. A bare date means the
    start of that day for ``start`` and its end for ``end``. ``sections``
    adds sections by key: ``{key: provider(store, model, start, end)}``.
    ``.to_json()`` gives the data, ``.to_html()`` / ``.save(path)`` the
    self-contained page; in a notebook it shows as HTML.
    """
    from . import evidence

    return evidence.report(get_store(home, store), name, start, end, sections=sections)


def checkpoint(
    path: str | os.PathLike[str] | None = None,
    *,
    home: str | None = None,
    store: Store | None = None,
) -> Checkpoint:
    """The audit chain's head (sequence number, hash, time), written to ``path`` if given.

    Keep it outside the store (a file elsewhere, a ticket, a git commit) and
    check it later with ``verify(checkpoint=...)``. Signed with HMAC-SHA256
    when ``MLOPS_NB_CHECKPOINT_KEY`` is set.
    """
    from .store import audit

    return audit.checkpoint(get_store(home, store), path)


def _input_history() -> list[str]:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return []
    cells = shell.user_ns.get("In", [])
    return [c for c in cells if isinstance(c, str) and c]


def _show_record(key: str, value: Any, run_id: str) -> None:
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        return
    from IPython.display import display

    from .jsonutil import jsonable

    display(
        {
            "application/vnd.mlops-nb.record+json": {
                "run_id": run_id,
                "key": key,
                "value": jsonable(value),
            },
            "text/plain": f"recorded {key} = {value!r} on run {run_id[:12]}",
        },
        raw=True,
    )


# -- drift monitoring ------------------------------------------------------------


def profile(data: Any, **options: Any) -> Any:
    """A compact reference profile of a DataFrame (:func:`mlops_nb.monitoring.drift.profile`)."""
    from .monitoring.drift.profile import profile as make_profile

    return make_profile(data, **options)


def check_drift(
    ref: Any, data: Any, *, home: str | None = None, store: Store | None = None, **options: Any
) -> Any:
    """Check a batch against ``NAME[@ALIAS|:VERSION]`` (or a Profile); record, alert, retrain.

    Options: ``predictions``, ``target`` (labels, or a column name), ``batch`` (a
    label), ``record``, ``alert``, ``trigger`` (all True), ``checks``,
    ``share_threshold``, and for loading the model ``trusted`` and
    ``allow_pickle`` (as in :func:`load_model`; a model file that is refused
    stops the check). Returns a :class:`~mlops_nb.monitoring.drift.DriftReport`.

    Examples
    --------
    >>> report = mlops_nb.check_drift("churn@production", this_week)  # doctest: +SKIP
    >>> report.drift, report.drifted  # doctest: +SKIP
    """
    from .monitoring.monitor import check_drift as run_check

    return run_check(get_store(home, store), ref, data, **options)


def check_model(
    ref: str,
    suite: str | os.PathLike[str],
    *,
    against: str | None = None,
    parameters: dict[str, Any] | None = None,
    home: str | None = None,
    store: Store | None = None,
    **options: Any,
) -> ModelTest:
    """Test ``NAME[:VERSION|@ALIAS]`` with a test notebook or a YAML suite; record the outcome.

    The same as ``mlops-nb test``: ``against`` is the alias to compare with,
    ``parameters`` go to a notebook suite, ``timeout``, ``trusted`` and
    ``allow_pickle`` are passed on (see :func:`mlops_nb.testing.run_suite`).
    A failed check does not raise: look at ``result.passed`` and
    ``result.failed``. The gate term ``tests`` then reads this outcome.

    Examples
    --------
    >>> result = mlops_nb.check_model("churn:3", "tests/churn.yaml")  # doctest: +SKIP
    >>> result.passed, [c.name for c in result.failed]  # doctest: +SKIP
    """
    from .testing import run_suite

    return run_suite(
        get_store(home, store), ref, suite, against=against, parameters=parameters, **options
    )


def drift_history(
    name: str, *, limit: int | None = None, home: str | None = None, store: Store | None = None
) -> Any:
    """Every recorded check of a model (renders a table and a chart in notebooks)."""
    from .monitoring.drift.report import DriftHistory
    from .monitoring.monitor import history

    return DriftHistory(name, history(get_store(home, store), name, limit))


def add_alert_channel(
    model: str, kind: str, *, home: str | None = None, store: Store | None = None, **config: Any
) -> dict[str, Any]:
    """Deliver ``model``'s alerts (``"*"``: every model's) by webhook, email or log file;
    with ``digest="daily"`` or ``"weekly"``, one digest a day or week instead."""
    from .monitoring.alerting import add_channel

    return add_channel(get_store(home, store), model, kind, **config)


def alerts(
    model: str | None = None,
    *,
    limit: int | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> list[Any]:
    """Alerts, newest first, with their delivery outcomes."""
    from .monitoring.alerting import list_alerts

    return list_alerts(get_store(home, store), model, limit)


def alert_inbox(
    model: str | None = None,
    *,
    state: str = "open",
    limit: int | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> list[dict[str, Any]]:
    """The alert inbox: alerts in ``state`` (open, acknowledged, resolved, silenced
    or all), newest first, each with its count of grouped repeats and latest check."""
    from .monitoring.inbox import inbox

    return inbox(get_store(home, store), model, state, limit)


def alert_digest(
    channel: int | None = None,
    period: str | None = None,
    *,
    dry_run: bool = False,
    home: str | None = None,
    store: Store | None = None,
) -> list[dict[str, Any]]:
    """Build, and unless ``dry_run`` send, the digest of the last day or week to
    ``channel`` (an alert channel's id; every channel in digest mode if None).

    Returns one entry per channel with ``digest`` (JSON-able data), ``text``
    and ``markdown``, and, when sent, ``digest_id`` and ``deliveries``. The
    scheduler sends each channel's daily or weekly digest by itself; see
    :mod:`mlops_nb.monitoring.digest`.
    """
    from .monitoring.digest import alert_digest as build_and_send

    return build_and_send(get_store(home, store), channel, period, dry_run=dry_run)


def ack_alert(
    alert_id: int,
    note: str | None = None,
    *,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Acknowledge an open alert, with an optional note."""
    from .monitoring.inbox import ack

    return ack(get_store(home, store), alert_id, note)


def resolve_alert(
    alert_id: int,
    decision: str,
    note: str | None = None,
    *,
    until: Any = None,
    alias: str = "production",
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Resolve an alert with ``retrain``, ``rollback``, ``ignore`` (``until`` a
    date) or ``rebaseline``, and carry the decision out."""
    from .monitoring.inbox import resolve

    return resolve(get_store(home, store), alert_id, decision, note, until=until, alias=alias)


def set_retrain_trigger(
    model: str,
    notebook: str,
    *,
    parameters: dict[str, Any] | None = None,
    cooldown: str | float = "7d",
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """On an alarming check of ``model``, run ``notebook`` (at most once per ``cooldown``)."""
    from .monitoring.retrain import set_trigger

    return set_trigger(get_store(home, store), model, notebook, parameters, cooldown)


def remove_retrain_trigger(
    model: str, *, home: str | None = None, store: Store | None = None
) -> None:
    from .monitoring.retrain import remove_trigger

    remove_trigger(get_store(home, store), model)


def wait_for_run(
    run_id: str, timeout: float = 600.0, *, home: str | None = None, store: Store | None = None
) -> Run:
    """Wait for a run (such as a triggered retrain) to finish, and return it."""
    from .monitoring.retrain import wait_for_run as wait

    return wait(get_store(home, store), run_id, timeout)


# -- serving ---------------------------------------------------------------------------


def predictions(
    name: str,
    *,
    since: str | None = None,
    until: str | None = None,
    version: int | None = None,
    batch: str | None = None,
    feedback: bool = True,
    home: str | None = None,
    store: Store | None = None,
) -> Any:
    """What ``mlops-nb serve`` predicted and :func:`score` scored for model ``name``, as a
    pandas DataFrame.

    One row per predicted row: ``request_id``, ``at``, ``version``, ``row``,
    ``prediction``, ``probabilities`` (classifiers), ``latency_ms``,
    ``batch_id`` (scored rows), the input columns, and the latest feedback for
    the request (``label``, ``value``, ``feedback_at``). ``since`` takes
    ``7d``, ``12h``, a date or an ISO time; ``batch`` keeps one scored batch.

    Examples
    --------
    >>> log = mlops_nb.predictions("churn", since="7d")  # doctest: +SKIP
    >>> log.groupby("version")["latency_ms"].median()  # doctest: +SKIP
    """
    from .serving.reader import predictions as read

    return read(
        get_store(home, store),
        name,
        since=since,
        until=until,
        version=version,
        batch=batch,
        feedback=feedback,
    )


def score(
    ref: str,
    data: Any,
    output: str | os.PathLike[str] | None = None,
    *,
    trusted: tuple[str, ...] | list[str] = (),
    allow_pickle: bool = False,
    home: str | None = None,
    store: Store | None = None,
) -> Any:
    """Score a table with ``ref`` (``NAME[@ALIAS|:VERSION]``; a bare name is
    ``NAME@production``) and write every row into the model's prediction log.

    ``data`` is a DataFrame or the path of a CSV or Parquet file; ``output``
    a Parquet file to write the result to. Returns the table with
    ``prediction``, ``probability_<class>`` (classifiers), ``version``,
    ``request_id`` and ``batch_id`` added; columns the model does not use are
    kept (and logged). Rows are checked against the training schema first:
    a mismatch (:class:`SchemaMismatchError`) names each problem and logs
    nothing.

    Examples
    --------
    >>> scored = mlops_nb.score("churn", "customers_2026_03.parquet")  # doctest: +SKIP
    >>> mlops_nb.predictions("churn", batch=scored["batch_id"][0])  # doctest: +SKIP
    """
    from .serving.scoring import score as run
    from .tables import read_table

    table = read_table(data) if isinstance(data, (str, os.PathLike)) else data
    return run(
        get_store(home, store),
        ref,
        table,
        output=output,
        trusted=trusted,
        allow_pickle=allow_pickle,
    )


def deploy_canary(
    name: str,
    version: int | str,
    share: float = 0.1,
    *,
    guards: list[str] | tuple[str, ...] = (),
    metric: str | None = None,
    alpha: float = 0.05,
    auto_rollback: bool = False,
    auto_promote: bool = False,
    require: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Start a canary: every ``mlops-nb serve`` of ``name`` answers ``share`` of its
    requests with ``version``, judged by ``guards`` and the feedback ``metric``
    (see :mod:`mlops_nb.serving.deploy`)."""
    from .serving import deploy

    return deploy.start(
        get_store(home, store),
        name,
        version,
        kind="canary",
        share=share,
        guards=guards,
        metric=metric,
        alpha=alpha,
        auto_rollback=auto_rollback,
        auto_promote=auto_promote,
        require=require,
    )


def deploy_shadow(
    name: str,
    version: int | str,
    *,
    guards: list[str] | tuple[str, ...] = (),
    auto_rollback: bool = False,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Start a shadow: ``version`` answers a copy of every request; logged, never returned."""
    from .serving import deploy

    return deploy.start(
        get_store(home, store),
        name,
        version,
        kind="shadow",
        guards=guards,
        auto_rollback=auto_rollback,
    )


def deploy_status(name: str, *, home: str | None = None, store: Store | None = None) -> dict:
    """The running (or latest) deploy of ``name``: arms, guards, test, time to a decision."""
    from .serving import deploy

    return deploy.status(get_store(home, store), name)


def deploy_promote(
    name: str,
    *,
    require: str | None = None,
    reason: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Promote the running canary's version to production through the gate ``require``."""
    from .serving import deploy

    return deploy.promote(get_store(home, store), name, require=require, reason=reason)


def deploy_abort(
    name: str, reason: str | None = None, *, home: str | None = None, store: Store | None = None
) -> dict[str, Any]:
    """End the running canary or shadow of ``name``; every server stops routing to it."""
    from .serving import deploy

    return deploy.abort(get_store(home, store), name, reason)
