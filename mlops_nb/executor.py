"""Executors run pipeline steps, each notebook in its own kernel.

The contract is one method, :meth:`Executor.run_steps`: given step tasks
whose dependencies are met, run them (at most ``max_parallel`` at once) and
yield each task with its outcome as it finishes. Retries with exponential
back-off and the per-attempt timeout (which kills the kernel) belong to the
executor, so a distributed engine can be added as another implementation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .records import Run
    from .store import Store


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
    ) -> Iterator[tuple[StepTask, StepOutcome]]: ...  # pragma: no cover


def run_with_retries(
    store: Store,
    task: StepTask,
    parent_run_id: str | None = None,
    sleep: Any = time.sleep,
    first_run_id: str | None = None,
    on_attempt: Callable[[str, int], None] | None = None,
) -> StepOutcome:
    """Run one notebook, retrying failures after ``backoff``, ``2×backoff``, …

    ``on_attempt(run_id, attempt)`` is called before each attempt starts, so a
    caller can record which run is executing (the first may be ``first_run_id``).
    """
    from .runner import run_notebook

    attempts = 0
    last = None
    while True:
        attempts += 1
        run_id = first_run_id if attempts == 1 and first_run_id else uuid.uuid4().hex
        if on_attempt is not None:
            on_attempt(run_id, attempts)
        last = run_notebook(
            task.notebook,
            task.parameters,
            store=store,
            timeout=task.timeout,
            parent_run_id=parent_run_id,
            run_id=run_id,
            tags={**task.tags, "attempt": str(attempts)},
        )
        if last.status == "finished" or attempts > task.retries:
            break
        sleep(task.backoff * 2 ** (attempts - 1))
    return StepOutcome(
        status=last.status, run_id=last.run_id, attempts=attempts, error=last.error, run=last
    )


class LocalExecutor:
    """Runs steps on this machine, ``max_parallel`` kernels at a time."""

    def __init__(self, max_parallel: int = 2) -> None:
        self.max_parallel = max(1, int(max_parallel))

    def run_steps(
        self, store: Store, tasks: list[StepTask], *, parent_run_id: str | None = None
    ) -> Iterator[tuple[StepTask, StepOutcome]]:
        with ThreadPoolExecutor(self.max_parallel, thread_name_prefix="mlops-nb-step") as pool:
            running: dict[Future[StepOutcome], StepTask] = {
                pool.submit(run_with_retries, store, task, parent_run_id): task for task in tasks
            }
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    try:
                        yield task, future.result()
                    except Exception as exc:  # bad input caught before a run was recorded
                        yield task, StepOutcome("failed", None, 1, f"{type(exc).__name__}: {exc}")
