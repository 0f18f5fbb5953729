"""Running pipeline steps on a ``dask.distributed`` cluster (``--executor dask``).

:class:`DaskExecutor` keeps the :class:`~mlops_nb.execution.executor.Executor` contract.
Each attempt of a step is one Dask task: the worker reopens the store from its
locator and runs :func:`~mlops_nb.execution.executor.run_attempt` — papermill in a kernel
on the worker, with the same timeout watchdog that kills the kernel — and tags
the run ``worker=<address>``. Back-off and retries stay with the client, which
gives every attempt its run id before submitting it, so it always knows which
run an attempt is.

A worker lost mid-step
    While a step runs the client looks at the scheduler every
    ``poll_interval`` seconds. Once the worker named by the run's ``worker``
    tag no longer processes the attempt (its process died, or it left the
    cluster) the run, still ``running``, is marked failed with the reason
    ``dask worker … was lost`` through the store's audited update; the step is
    then retried per its ``retries`` or fails with that reason. Dask itself
    runs a task again elsewhere when its worker dies
    (``distributed.scheduler.allowed-failures``); such a re-run finds its run
    already recorded and never executes the notebook a second time.

The workers need mlops-nb installed, and must see the store and the notebooks
at the same paths as the client (a shared file system for a SQLite store).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import (
    ConflictError,
    InvalidInputError,
    MlopsError,
    NotFoundError,
    UnavailableError,
)
from ..jsonutil import utcnow
from .executor import (
    StepOutcome,
    StepTask,
    run_attempt,
    run_in_threads,
    run_with_retries,
)

if TYPE_CHECKING:
    from distributed import Client

    from ..records import Run
    from ..store import Store

__all__ = ["ENV_ADDRESS", "DaskExecutor", "connect", "locator"]

ENV_ADDRESS = "MLOPS_NB_DASK_ADDRESS"


class Locator(dict[str, Any]):
    """A store's locator as a Dask task argument, shown without its password.

    Dask shows task arguments by their ``repr`` (dashboard, logs, errors about
    a task) and the database URL may hold a password; the mapping itself, as
    the worker unpickles it, is the full one.
    """

    def __repr__(self) -> str:
        from ..redaction import mask_db_url

        db_url = self.get("db_url")
        where = mask_db_url(db_url) if db_url else self.get("home")
        return f"<mlops-nb store {where}>"

    __str__ = __repr__


def locator(store: Store) -> Locator:
    """Keyword arguments that reopen ``store`` in another process: ``Store(**locator(store))``."""
    found = getattr(store, "locator", None)
    if isinstance(found, dict):
        return Locator(found)
    return Locator({"home": str(store.home)})


def connect(address: str | None = None, timeout: float | None = None) -> Client:
    """A client of the Dask scheduler at ``address`` (default ``$MLOPS_NB_DASK_ADDRESS``).

    ``timeout`` defaults to Dask's ``distributed.comm.timeouts.connect``.

    Raises
    ------
    InvalidInputError
        No address, a malformed one, or ``dask.distributed`` not installed.
    UnavailableError
        The scheduler cannot be reached.
    """
    address = address or os.environ.get(ENV_ADDRESS)
    if not address:
        raise InvalidInputError(
            f"the dask executor needs --scheduler-address tcp://HOST:PORT (or ${ENV_ADDRESS})"
        )
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise InvalidInputError(
            "the dask executor needs dask.distributed: pip install 'mlops-nb[team]'"
        ) from None
    if timeout is None:
        from dask.utils import parse_timedelta

        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"))
    try:
        _probe(address, timeout)
        # Only now: a Client whose construction fails can hang the interpreter's exit.
        return Client(address, timeout=timeout, set_as_default=False)
    except ValueError as exc:
        raise InvalidInputError(f"bad dask scheduler address {address!r}: {exc}") from None
    except OSError as exc:
        raise UnavailableError(f"cannot reach the dask scheduler at {address}: {exc}") from None


def _probe(address: str, timeout: float) -> None:
    """Open and close one connection to ``address`` (in a thread of its own, so this
    works under a running event loop too, e.g. in a notebook)."""
    import asyncio

    from distributed.comm import connect as open_comm

    async def once() -> None:
        comm = await open_comm(address, timeout=timeout)
        await comm.close()

    with ThreadPoolExecutor(1, thread_name_prefix="mlops-nb-dask-probe") as pool:
        pool.submit(asyncio.run, once()).result()


class DaskExecutor:
    """Runs steps as tasks on the Dask cluster at ``address``, ``max_parallel`` at a time.

    Parameters
    ----------
    address
        The scheduler, e.g. ``tcp://10.0.0.5:8786`` (default ``$MLOPS_NB_DASK_ADDRESS``).
    max_parallel
        Steps of one run in flight at once; the cluster's own capacity also applies.
    connect_timeout
        Seconds to reach the scheduler (default: Dask's connect timeout).
    poll_interval
        Seconds between looks at the scheduler for a lost worker.
    """

    def __init__(
        self,
        address: str | None = None,
        max_parallel: int = 2,
        *,
        connect_timeout: float | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self.address = address or os.environ.get(ENV_ADDRESS)
        self.max_parallel = max(1, int(max_parallel))
        self.connect_timeout = connect_timeout
        self.poll_interval = poll_interval

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r}, max_parallel={self.max_parallel})"

    def check(self) -> None:
        """Reach the scheduler once; raise the error :func:`connect` names if it cannot."""
        connect(self.address, self.connect_timeout).close()

    @contextmanager
    def _client(self) -> Iterator[Client]:
        client = connect(self.address, self.connect_timeout)
        try:
            yield client
        finally:
            client.close()

    def run_steps(
        self, store: Store, tasks: list[StepTask], *, parent_run_id: str | None = None
    ) -> Iterator[tuple[StepTask, StepOutcome]]:
        try:
            client = connect(self.address, self.connect_timeout)
        except MlopsError as exc:  # nothing ran: every step fails with the reason
            for task in tasks:
                yield task, StepOutcome("failed", None, 0, str(exc))
            return
        try:
            yield from run_in_threads(
                store,
                tasks,
                self.max_parallel,
                parent_run_id=parent_run_id,
                attempt=functools.partial(self._attempt, client),
            )
        finally:
            client.close()

    def run(
        self,
        store: Store,
        task: StepTask,
        *,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        on_attempt: Callable[[str, int], None] | None = None,
    ) -> StepOutcome:
        """Run one step on the cluster, with its retries; bad input raises."""
        with self._client() as client:
            return run_with_retries(
                store,
                task,
                parent_run_id,
                first_run_id=run_id,
                on_attempt=on_attempt,
                attempt=functools.partial(self._attempt, client),
            )

    def _attempt(
        self,
        client: Client,
        store: Store,
        task: StepTask,
        parent_run_id: str | None,
        run_id: str,
        attempt: int,
    ) -> Run:
        """Make one attempt on the cluster and return its run as recorded."""
        from distributed import KilledWorker

        if client.status != "running":  # lost the scheduler: a retry has nowhere to go
            raise UnavailableError(f"lost the connection to the dask scheduler at {self.address}")
        future = client.submit(
            _attempt_on_worker,
            locator(store),
            task,
            parent_run_id,
            run_id,
            attempt,
            key=f"mlops-nb-{task.name}-{run_id}",
            pure=False,
        )
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        while not done.wait(self.poll_interval):
            worker = self._lost_worker(client, store, run_id, future.key)
            if worker is not None:
                future.cancel()  # a re-run Dask may have started finds the run recorded
                return _mark_lost(store, task, parent_run_id, run_id, attempt, worker)
        try:
            future.result()
        except KilledWorker as exc:  # Dask gave up after allowed-failures workers died
            return _mark_lost(store, task, parent_run_id, run_id, attempt, exc.last_worker.address)
        except CancelledError as exc:  # cancelled, or the scheduler connection was lost
            why = getattr(exc, "reason", None) or "unknown"
            if why == "scheduler-connection-lost":
                why = f"lost the connection to the dask scheduler at {self.address}"
            return _mark_lost(
                store,
                task,
                parent_run_id,
                run_id,
                attempt,
                None,
                f"dask cancelled step {task.name} (attempt {attempt}): {why}",
            )
        return store.get_run(run_id)

    def _lost_worker(self, client: Client, store: Store, run_id: str, key: Any) -> str | None:
        """The worker a still-running attempt was recorded on, if it no longer runs it."""
        try:
            run = store.get_run(run_id)
        except NotFoundError:
            return None  # queued, or the kernel is starting: nothing recorded to lose yet
        worker = run.tags.get("worker")
        if run.status != "running" or not worker:
            return None
        try:
            busy: list[Any] = []
            if client.nthreads(workers=[worker]):  # {} once the scheduler dropped the worker
                busy = client.processing(workers=[worker]).get(worker, [])
        except KeyError:  # dropped between the two questions
            busy = []
        except (OSError, TimeoutError):  # cannot tell now; the future will say
            return None
        if key in busy:
            return None
        # A run finishes before its task does: look again after asking the scheduler.
        return worker if store.get_run(run_id).status == "running" else None


def _mark_lost(
    store: Store,
    task: StepTask,
    parent_run_id: str | None,
    run_id: str,
    attempt: int,
    worker: str | None,
    reason: str | None = None,
) -> Run:
    """Fail an attempt whose worker was lost, if its run is still ``running``.

    Keeps the partial notebook papermill saved, like a failing cell does. If
    nothing was recorded before the loss, a failed run records the attempt.
    """
    reason = reason or (
        f"dask worker {worker} was lost while running step {task.name} (attempt {attempt})"
    )
    actor = environment.actor()
    try:
        run = store.get_run(run_id)
    except NotFoundError:
        now = utcnow()
        tags = {**task.tags, "attempt": str(attempt)}
        if worker:
            tags["worker"] = worker
        store.insert_run(
            {
                "run_id": run_id,
                "kind": "notebook",
                "name": task.notebook.name,
                "status": "failed",
                "started_at": now,
                "ended_at": now,
                "parent_run_id": parent_run_id,
                "params": task.parameters,
                "tags": tags,
                "notebook_path": str(task.notebook),
                "error": reason,
            },
            actor,
        )
        return store.get_run(run_id)
    if run.status == "running":
        changes: dict[str, Any] = {"status": "failed", "ended_at": utcnow(), "error": reason}
        partial = _partial_notebook(store, run_id)
        if partial is not None:
            changes["output_sha256"] = store.put_artifact(partial, "notebook", actor)
        try:
            store.update_run(run_id, changes, actor, expect_status="running")
        except ConflictError:
            # Decided just now elsewhere (it finished, or the re-run Dask started on
            # another worker marked it lost first): that outcome stands; only a
            # partial notebook the other side could not read is added.
            current = store.get_run(run_id)
            if "output_sha256" in changes and not current.output_sha256:
                with contextlib.suppress(ConflictError):
                    store.update_run(
                        run_id,
                        {"output_sha256": changes["output_sha256"]},
                        actor,
                        expect_status=current.status,
                    )
    return store.get_run(run_id)


def _partial_notebook(store: Store, run_id: str) -> bytes | None:
    """The notebook papermill saved after the last cell that ran, if readable."""
    home = getattr(store, "home", None)
    if home is None:
        return None
    tmp = home / "tmp"
    (tmp / f"{run_id}.kernel.log").unlink(missing_ok=True)
    path = tmp / f"{run_id}.ipynb"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    path.unlink(missing_ok=True)
    import nbformat

    try:
        nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # cut off mid-write when the worker died
        return None
    return data


def _attempt_on_worker(
    where: dict[str, Any], task: StepTask, parent_run_id: str | None, run_id: str, attempt: int
) -> str:
    """The Dask task: one attempt of a step, on a worker. Returns the run id."""
    from distributed import get_worker

    from ..store import Store

    address = get_worker().address
    try:
        store = Store(**{**where, "create": False})
    except NotFoundError as exc:
        raise NotFoundError(
            f"on dask worker {address}: {exc}; the workers must see the store at the same path"
        ) from None
    try:
        try:
            seen: Run | None = store.get_run(run_id)
        except NotFoundError:
            seen = None
        if seen is not None:
            # Dask runs a task again when the worker running it dies. This attempt
            # was already made there: confirm the loss instead of running it twice.
            if seen.status == "running":
                _mark_lost(store, task, parent_run_id, run_id, attempt, seen.tags.get("worker"))
            return run_id
        run_attempt(store, task, parent_run_id, run_id, attempt, tags={"worker": address})
        return run_id
    finally:
        store.close()
