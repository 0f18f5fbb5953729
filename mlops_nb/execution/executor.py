"""Executors run pipeline steps, each notebook in its own kernel.

The contract is :meth:`Executor.run_steps`: given step tasks whose
dependencies are met, run them (at most ``max_parallel`` at once) and yield
each task with its outcome as it finishes; and :meth:`Executor.run` for one
notebook on its own (``mlops-nb run``, a scheduled notebook). Retries with exponential
back-off and the per-attempt timeout (which kills the kernel) belong to the
executor. :class:`LocalExecutor` runs kernels on this machine;
:class:`~mlops_nb.execution.dask_executor.DaskExecutor` runs each attempt as a task on
a ``dask.distributed`` cluster. Both run an attempt with :func:`run_attempt`
and retry with :func:`run_with_retries`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import limits

if TYPE_CHECKING:
    from ..records import Run
    from ..store import Store


@dataclass(frozen=True)
class StepTask:
    """One notebook to run, and how hard to try."""

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    retries: int = 0
    backoff: float = 10.0
    tags: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # the kernel's working directory (default: the notebook's)
    kernel_name: str | None = None  # default: the notebook's kernel


@dataclass(frozen=True)
class StepOutcome:
    status: str  # finished | failed
    run_id: str | None
    attempts: int
    error: str | None = None
    run: Run | None = None


class Executor(Protocol):
    def run_steps(
        self, store: Store, tasks: list[StepTask], *, parent_run_id: str | None = None
    ) -> Iterator[tuple[StepTask, StepOutcome]]:
        """Run ``tasks`` (with their retries) and yield each with its outcome as it
        finishes; a task that could not start fails with the reason."""
        ...  # pragma: no cover

    def run(
        self,
        store: Store,
        task: StepTask,
        *,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        on_attempt: Callable[[str, int], None] | None = None,
    ) -> StepOutcome:
        """Run one task with its retries, the first attempt as ``run_id``; bad input
        raises, as :func:`~mlops_nb.execution.runner.run_notebook` does."""
        ...  # pragma: no cover


ExecutorFactory = Callable[[int], Executor]
"""Makes the executor for one job from its ``max_parallel`` (e.g. ``LocalExecutor``)."""


def run_attempt(
    store: Store,
    task: StepTask,
    parent_run_id: str | None,
    run_id: str,
    attempt: int,
    tags: dict[str, str] | None = None,
) -> Run:
    """Run one attempt of a step here: its notebook in a kernel on this machine.

    The run is tagged with the task's tags, ``tags`` and ``attempt=N``.
    """
    from .runner import run_notebook

    return run_notebook(
        task.notebook,
        task.parameters,
        store=store,
        timeout=task.timeout,
        cwd=task.cwd,
        kernel_name=task.kernel_name,
        parent_run_id=parent_run_id,
        run_id=run_id,
        tags={**task.tags, **(tags or {}), "attempt": str(attempt)},
    )


Attempt = Callable[["Store", StepTask, "str | None", str, int], "Run"]
"""``attempt(store, task, parent_run_id, run_id, n)``: make attempt ``n`` as run ``run_id``."""


def run_with_retries(
    store: Store,
    task: StepTask,
    parent_run_id: str | None = None,
    sleep: Any = time.sleep,
    first_run_id: str | None = None,
    on_attempt: Callable[[str, int], None] | None = None,
    attempt: Attempt = run_attempt,
) -> StepOutcome:
    """Run one notebook, retrying failures after ``backoff``, ``2×backoff``, …

    ``on_attempt(run_id, attempt)`` is called before each attempt starts, so a
    caller can record which run is executing (the first may be ``first_run_id``).
    ``attempt`` makes one attempt (default :func:`run_attempt`, on this machine).
    """
    from .cancel import lookup

    cancellation = lookup(first_run_id, parent_run_id)
    attempts = 0
    last = None
    while True:
        attempts += 1
        run_id = first_run_id if attempts == 1 and first_run_id else uuid.uuid4().hex
        if cancellation is not None:
            cancellation.cover(run_id)  # a retry is cancelled with the run it retries
        if on_attempt is not None:
            on_attempt(run_id, attempts)
        last = attempt(store, task, parent_run_id, run_id, attempts)
        cancelled = cancellation is not None and cancellation.cancelled
        if last.status == "finished" or attempts > task.retries or cancelled:
            break
        # Doubling outgrows any timer after enough retries; past the longest
        # duration accepted anywhere, it stops growing.
        sleep(min(task.backoff * 2 ** (attempts - 1), limits.MAX_SECONDS))
    return StepOutcome(
        status=last.status, run_id=last.run_id, attempts=attempts, error=last.error, run=last
    )


def run_in_threads(
    store: Store,
    tasks: list[StepTask],
    max_parallel: int,
    *,
    parent_run_id: str | None = None,
    attempt: Attempt = run_attempt,
    sleep: Any = time.sleep,
) -> Iterator[tuple[StepTask, StepOutcome]]:
    """The :meth:`Executor.run_steps` loop: each task with its retries in its own
    thread, ``max_parallel`` at once, yielded as each finishes."""
    with ThreadPoolExecutor(max(1, max_parallel), thread_name_prefix="mlops-nb-step") as pool:
        running: dict[Future[StepOutcome], StepTask] = {
            pool.submit(
                run_with_retries, store, task, parent_run_id, sleep=sleep, attempt=attempt
            ): task
            for task in tasks
        }
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                try:
                    yield task, future.result()
                except Exception as exc:  # bad input caught before a run was recorded
                    yield task, StepOutcome("failed", None, 1, f"{type(exc).__name__}: {exc}")


class LocalExecutor:
    """Runs steps on this machine, ``max_parallel`` kernels at a time."""

    def __init__(self, max_parallel: int = 2) -> None:
        self.max_parallel = max(1, int(max_parallel))

    def run_steps(
        self, store: Store, tasks: list[StepTask], *, parent_run_id: str | None = None
    ) -> Iterator[tuple[StepTask, StepOutcome]]:
        yield from run_in_threads(store, tasks, self.max_parallel, parent_run_id=parent_run_id)

    def run(
        self,
        store: Store,
        task: StepTask,
        *,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        on_attempt: Callable[[str, int], None] | None = None,
    ) -> StepOutcome:
        return run_with_retries(
            store, task, parent_run_id, first_run_id=run_id, on_attempt=on_attempt
        )
