"""Running a suite against one model version and recording the outcome."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import InvalidInputError
from ..jsonutil import utcnow
from ..records import CheckResult, ModelTest, ModelVersion
from ..registry import DEFAULT_ALIAS, load_model, resolve

if TYPE_CHECKING:
    from ..store import Store

_NOTEBOOK = (".ipynb",)
_YAML = (".yaml", ".yml")


def run_suite(
    store: Store,
    ref: str,
    suite: str | os.PathLike[str],
    *,
    against: str | None = None,
    parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    trusted: list[str] | tuple[str, ...] = (),
    allow_pickle: bool = False,
    actor: str | None = None,
) -> ModelTest:
    """Test the version ``ref`` points to with ``suite`` and record the outcome.

    Parameters
    ----------
    store
        The store holding the model; the outcome is recorded there.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``: the version under test.
    suite
        A test notebook (``.ipynb``, run by papermill with ``model_ref`` and
        ``against_ref`` injected) or a YAML file of built-in checks (see
        :mod:`mlops_nb.testing.suite`).
    against
        The alias to compare with. A notebook is given ``against_ref`` only
        when it is set; a YAML suite's comparisons use it, else the suite's
        ``against``, else ``production``.
    parameters
        More papermill parameters for a notebook suite.
    timeout
        Wall-clock limit of a notebook suite, in seconds.
    trusted, allow_pickle
        As for :func:`mlops_nb.registry.load_model`, for the models a YAML
        suite loads.

    Returns
    -------
    ModelTest
        Recorded against the version; ``passed`` says whether every check
        passed. A failed check does not raise: the caller decides (the CLI
        exits 7).

    Raises
    ------
    InvalidInputError
        For a suite that is neither a notebook nor YAML, or a mistake in it;
        nothing is recorded then.
    DeadlineError
        When a notebook suite ran out of time.
    """
    version = resolve(store, ref)
    path = Path(suite).expanduser()
    who = actor or environment.actor()
    if against is not None:
        from ..registry.names import check_alias

        against = check_alias(against)
    suffix = path.suffix.lower()
    if suffix in _NOTEBOOK:
        return _notebook(store, version, path, against, parameters or {}, timeout, who)
    if suffix in _YAML:
        if parameters:
            raise InvalidInputError(
                "-p parameters are for notebook suites; a YAML suite reads its values from "
                f"{path.name}"
            )
        return _yaml(store, version, path, against, trusted, allow_pickle, who)
    raise InvalidInputError(
        f"test suite {path} must be a notebook (.ipynb) or a YAML file of checks (.yaml)"
    )


def _notebook(
    store: Store,
    version: ModelVersion,
    path: Path,
    against: str | None,
    parameters: dict[str, Any],
    timeout: float | None,
    who: str,
) -> ModelTest:
    from .notebook import run_notebook_suite

    name = version.model
    held = None if against is None else store.alias_holder(name, against)
    run, check = run_notebook_suite(
        store,
        path,
        f"{name}:{version.version}",
        None if against is None else f"{name}@{against}",
        parameters,
        timeout=timeout,
        tags={"test_of": f"{name}:{version.version}"},
        actor=who,
    )
    return store.record_model_test(
        {
            "model": name,
            "version": version.version,
            "suite": path.name,
            "suite_kind": "notebook",
            "suite_sha256": run.input_sha256,
            "against": against,
            "against_version": None if held is None else held.version,
            "passed": int(check.passed),
            "checks": [check.to_json()],
            "run_id": run.run_id,
        },
        who,
    )


def _yaml(
    store: Store,
    version: ModelVersion,
    path: Path,
    against: str | None,
    trusted: list[str] | tuple[str, ...],
    allow_pickle: bool,
    who: str,
) -> ModelTest:
    from .checks import Subject, run_check
    from .suite import NEEDS_DATA, load_data, read_suite, target_of

    started = utcnow()
    spec = read_suite(path)
    alias = against or spec.against or DEFAULT_ALIAS
    name = version.model

    def load(ref: str) -> Any:
        return load_model(ref, store, trusted=trusted, allow_pickle=allow_pickle)

    def holder(other: str) -> tuple[ModelVersion, Any] | None:
        held = store.alias_holder(name, other)
        return None if held is None else (held, load(f"{name}:{held.version}"))

    subject = Subject(
        version=version,
        model=load(f"{name}:{version.version}"),
        model_bytes=len(store.get_artifact(version.artifact_sha256)),
        holder=holder,
        against=alias,
    )
    if any(c.kind in NEEDS_DATA for c in spec.checks):
        subject.frame = load_data(spec)
        if any(c.kind == "metric" for c in spec.checks):
            subject.target = target_of(spec)
    results = [run_check(check, subject) for check in spec.checks]
    return _record_yaml(store, version, spec.path, spec.raw, alias, results, started, who)


def _record_yaml(
    store: Store,
    version: ModelVersion,
    path: Path,
    raw: bytes,
    alias: str,
    results: list[CheckResult],
    started: str,
    who: str,
) -> ModelTest:
    """The suite's run (kind ``test``) and its outcome, in one transaction."""
    suite_sha = store.put_artifact(raw, "test-suite", who)
    held = store.alias_holder(version.model, alias)
    ref = f"{version.model}:{version.version}"
    run_id = uuid.uuid4().hex
    checks = [r.to_json() for r in results]
    git = environment.git_info(path)
    run = {
        "run_id": run_id,
        "kind": "test",
        "name": path.name,
        "status": "finished",
        "started_at": started,
        "ended_at": utcnow(),
        "params": {"model_ref": ref, "against_ref": f"{version.model}@{alias}"},
        "tags": {"test_of": ref},
        "data": {"checks": checks},
        "environment": environment.capture(),
        "git_commit": git.get("commit"),
        "git_dirty": git.get("dirty"),
        "notebook_path": str(path),
        "input_sha256": suite_sha,
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    return store.record_model_test(
        {
            "model": version.model,
            "version": version.version,
            "suite": path.name,
            "suite_kind": "yaml",
            "suite_sha256": suite_sha,
            "against": alias,
            "against_version": None if held is None else held.version,
            "passed": int(all(r.passed for r in results)),
            "checks": checks,
            "run_id": run_id,
        },
        who,
        run=run,
    )
