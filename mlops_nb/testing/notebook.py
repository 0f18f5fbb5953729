"""Notebook suites: a test notebook run by papermill against one model version.

The notebook reads the version it tests from the parameter ``model_ref``
(``NAME:VERSION``) and, with ``--against``, the version to compare with from
``against_ref`` (``NAME@ALIAS``); any cell that raises (a failed ``assert``
above all) fails the suite, and the failure names the cell and its message.
The executed notebook is kept like every notebook run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DeadlineError, InvalidInputError
from ..records import CheckResult, Run

if TYPE_CHECKING:
    from ..store import Store

#: Parameters a notebook suite is given; a user's ``-p`` cannot replace them.
INJECTED = ("model_ref", "against_ref")


def run_notebook_suite(
    store: Store,
    path: Path,
    model_ref: str,
    against_ref: str | None,
    parameters: dict[str, Any],
    *,
    timeout: float | None = None,
    tags: dict[str, str] | None = None,
    actor: str | None = None,
) -> tuple[Run, CheckResult]:
    """Execute the suite; return its notebook run and the one check it stands for.

    Raises
    ------
    DeadlineError
        When ``timeout`` ran out: the suite neither passed nor failed. The
        run is kept (failed), no test outcome is recorded.
    """
    from ..execution.runner import run_notebook, timed_out

    clash = sorted(set(parameters) & set(INJECTED))
    if clash:
        raise InvalidInputError(
            f"{', '.join(clash)} is set by mlops-nb test from the model reference and "
            "--against; it cannot be passed with -p"
        )
    params = {**parameters, "model_ref": model_ref}
    if against_ref is not None:
        params["against_ref"] = against_ref
    run = run_notebook(
        path, params, store=store, timeout=timeout, tags=tags, actor=actor, cwd=path.parent
    )
    if timed_out(run):
        raise DeadlineError(f"test notebook {path.name} (run {run.run_id[:12]}) {run.error}")
    if run.status == "finished":
        return run, CheckResult(
            path.name, True, f"every cell ran without error (run {run.run_id[:12]})"
        )
    # The runner's error names the cell and what it raised: "cell 4 (execution
    # count 4) raised AssertionError: recall 0.41 on month-to-month".
    return run, CheckResult(path.name, False, run.error or "the notebook failed")
