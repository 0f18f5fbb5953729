"""Schedules started from the panel: run in this server's threads, watched and cancellable.

*Run now* must not hold a request open for the whole pipeline (up to the
schedule's timeout). :meth:`Jobs.start` claims the slot in the request, so
it is recorded once and the reply can name it, then runs it in a thread of
its own that outlives the request; ``GET …/slots/{id}`` reports progress
and ``POST …/slots/{id}/cancel`` kills its kernels
(:mod:`mlops_nb.execution.cancel`). The threads are daemons: stopping the
server does not wait for a pipeline. Its kernels are killed on the way out
and the slot is recorded as failed, or, if the process dies first, the next
``mlops-nb tick`` finds the slot orphaned and records that.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError, NotFoundError
from ..execution import cancel

if TYPE_CHECKING:
    from ..store import Store


class Jobs:
    """The slots this server is running, by slot id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, cancel.Cancellation] = {}
        atexit.register(self.cancel_all, "the Jupyter server stopping")

    def start(self, store: Store, name: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """Claim a slot of ``name`` now and start running it; return the slot at once."""
        from ..schedules.scheduler import claim_now

        slot = claim_now(store, name, parameters, within_limit=True)
        cancellation = cancel.register(slot["run_id"], cancel.Cancellation())
        with self._lock:
            self._running[slot["id"]] = cancellation
        thread = threading.Thread(
            target=self._run,
            args=(store, slot, cancellation),
            name=f"mlops-nb-run-now-{slot['id']}",
            daemon=True,
        )
        thread.start()
        return slot

    def _run(self, store: Store, slot: dict[str, Any], cancellation: cancel.Cancellation) -> None:
        from ..schedules.scheduler import run_claimed

        try:
            run_claimed(store, slot)
        finally:
            cancel.release(cancellation)
            with self._lock:
                self._running.pop(slot["id"], None)

    @property
    def running(self) -> set[int]:
        """Ids of the slots running in this server now."""
        with self._lock:
            return set(self._running)

    def cancel(self, slot_id: int, by: str) -> cancel.Cancellation:
        """Stop slot ``slot_id``: kill its kernels; its run is recorded as cancelled by ``by``.

        Raises
        ------
        NotFoundError
            No slot ``slot_id`` runs in this server (it ended, or runs elsewhere).
        ConflictError
            It was cancelled already.
        """
        with self._lock:
            cancellation = self._running.get(slot_id)
        if cancellation is None:
            raise NotFoundError(
                f"slot {slot_id} is not running in this Jupyter server: it has ended, or the "
                "scheduler runs it (stop that process to stop it)"
            )
        if not cancellation.cancel(by):
            raise ConflictError(f"slot {slot_id} was {cancellation.reason}")
        return cancellation

    def cancel_all(self, by: str) -> None:
        with self._lock:
            running = list(self._running.values())
        for cancellation in running:
            cancellation.cancel(by)
