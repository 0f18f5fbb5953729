"""Cancelling a run that executes in this process: its kernels killed, nothing more started.

Whoever starts a run it may want to stop (the Jupyter server's *Run now*)
makes a :class:`Cancellation` and :func:`register`\\ s it under the run's id.
What executes under that id finds it with :func:`lookup`: the runner hands
it the pid of every kernel it starts (its own run id or its parent's, so a
pipeline's steps are covered too), the retry loop covers each new attempt
and stops retrying, and a pipeline starts no further step.
:meth:`Cancellation.cancel` kills the kernels' process groups, and each
run is recorded as failed with :attr:`Cancellation.reason` as its error,
naming who cancelled it and when.

This works within one process: a run executed by ``mlops-nb scheduler``
or on a Dask cluster is not reachable from here.
"""

from __future__ import annotations

import os
import signal
import threading

from ..jsonutil import utcnow

_lock = threading.Lock()
_registry: dict[str, Cancellation] = {}


def kill_process_group(pid: int) -> None:
    """Kill a kernel and whatever it started (its process group, when it has its own)."""
    try:
        pgid = os.getpgid(pid)
        if pgid != os.getpgid(0):
            os.killpg(pgid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Cancellation:
    """A request to stop one run and everything executing under it.

    ``by`` and ``at`` say who cancelled and when, once someone has.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kernels: set[int] = set()
        self._runs: set[str] = set()
        self.by: str | None = None
        self.at: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.by is not None

    @property
    def reason(self) -> str:
        """What the cancelled runs record as their error."""
        return f"cancelled by {self.by} at {self.at}"

    def cancel(self, by: str) -> bool:
        """Kill the kernels started under this cancellation; ``False`` if cancelled before."""
        with self._lock:
            if self.by is not None:
                return False
            self.by, self.at = by, utcnow()
            kernels = list(self._kernels)
        for pid in kernels:
            kill_process_group(pid)
        return True

    def watch(self, pid: int) -> None:
        """A kernel started under this cancellation (killed at once if it came too late)."""
        with self._lock:
            self._kernels.add(pid)
            late = self.by is not None
        if late:
            kill_process_group(pid)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._kernels.discard(pid)

    def cover(self, run_id: str) -> None:
        """Make :func:`lookup` find this cancellation under ``run_id`` too (a retry's new run)."""
        with _lock:
            _registry[run_id] = self
        with self._lock:
            self._runs.add(run_id)


def register(run_id: str, cancellation: Cancellation) -> Cancellation:
    """Make ``cancellation`` apply to the run ``run_id`` and the runs it starts."""
    cancellation.cover(run_id)
    return cancellation


def release(cancellation: Cancellation) -> None:
    """Forget every run id ``cancellation`` was registered under (its runs have ended)."""
    with cancellation._lock:
        runs = list(cancellation._runs)
    with _lock:
        for run_id in runs:
            if _registry.get(run_id) is cancellation:
                del _registry[run_id]


def lookup(*run_ids: str | None) -> Cancellation | None:
    """The cancellation registered under the first of ``run_ids`` that has one."""
    with _lock:
        for run_id in run_ids:
            if run_id and run_id in _registry:
                return _registry[run_id]
    return None
