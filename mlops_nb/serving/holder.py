"""The model a serving process answers with, and how it follows an alias without downtime.

:class:`ModelHolder` keeps one reference, :attr:`ModelHolder.current`, to a
loaded :class:`~mlops_nb.serving.predictor.Predictor`. A request reads that
reference once and uses that one object to the end, so its prediction, the
version in its response and the version in its log record always agree.

A watcher thread asks the store every ``poll`` seconds which version the
alias points to (one small query). When it moved, the thread loads the new
version off the request path (hash-checked, exact-type trust), makes a
smoke prediction (the last rows served, when the columns are unchanged,
else a typical row from the version's reference profile), records the swap
in the audit chain, and only then replaces the reference: a single
assignment, so requests see the old version or the new one, never a mix,
and none waits. A version that fails to load or to predict is never
switched to: the process keeps serving the old one, records the refusal and
raises an alert, and tries again only once the alias has moved elsewhere.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import environment
from ..errors import MlopsError, NotFoundError, UnavailableError
from ..jsonutil import utcnow
from ..store import faults
from .history import serving_version
from .predictor import Predictor

if TYPE_CHECKING:
    from ..store import Store
    from .inputs import Rows

#: Default of ``mlops-nb serve --poll``: how often the alias is looked up.
POLL_S = 0.5


@dataclass(frozen=True)
class Identity:
    """Who is serving: this process, the ``mlops-nb serve`` it belongs to, and where."""

    instance: str  # this process (a worker); the first part of its request ids
    server: str  # the command, shared by its workers
    host: str
    address: str  # host:port it listens on
    pid: int


class ModelHolder:
    """The version one serving process answers with.

    Parameters
    ----------
    store
        The registry.
    name, alias, version
        What to serve: the holder of ``name@alias`` (followed), or the fixed
        ``version`` when ``alias`` is ``None``.
    identity
        Recorded with every start, swap, refusal and stop.
    poll
        Seconds between two looks at the alias.
    trusted, allow_pickle
        As for :func:`mlops_nb.load_model`.
    actor
        Who the deploy events name.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        alias: str | None,
        version: int | None,
        identity: Identity,
        *,
        poll: float = POLL_S,
        trusted: tuple[str, ...] = (),
        allow_pickle: bool = False,
        actor: str,
    ) -> None:
        self.store = store
        self.name = name
        self.alias = alias
        self.fixed = version
        self.identity = identity
        self.poll = poll
        self.trusted = trusted
        self.allow_pickle = allow_pickle
        self.actor = actor
        self.current: Predictor | None = None
        #: The rows of the latest request, for the next smoke test (set by the runtime).
        self.last_rows: tuple[Predictor, Rows] | None = None
        self.swaps = 0
        self._refused: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._complained = False

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> Predictor:
        """Load what to serve, smoke-test it, record the start, then follow the alias."""
        number = self._target()
        if number is None:
            raise NotFoundError(f"nobody holds {self.name}@{self.alias}: nothing to serve")
        predictor = self._load(number)
        self._record("started", None, number, None)
        self.current = predictor
        if self.alias is not None:
            self._thread = threading.Thread(
                target=self._watch, name="mlops-nb alias watcher", daemon=True
            )
            self._thread.start()
        return predictor

    def stop(self, reason: str | None = None) -> None:
        """Stop following the alias and record the stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self.current is not None:
            self._record("stopped", self.current.number, None, reason)

    # -- following the alias ------------------------------------------------------------

    def _target(self) -> int | None:
        if self.alias is None:
            return self.fixed
        return self.store.alias_version(self.name, self.alias)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check_now()
            except Exception as exc:  # the watcher never dies; serving goes on
                self._complain(exc)

    def check_now(self) -> bool:
        """Look at the alias once and swap if it moved; return whether a swap happened.

        Raises
        ------
        UnavailableError
            The store could not be read or written; nothing changed, the next
            look tries again.
        """
        current = self.current
        target = self._target()
        if current is None or target is None:
            return False
        if target == current.number:
            self._refused = None  # back where it was: a later move is tried afresh
            return False
        if target == self._refused:
            return False
        try:
            candidate = self._load(target)
        except UnavailableError:
            raise  # the store, not the version: try again at the next look
        except Exception as exc:
            self._refuse(current, target, exc)
            return False
        faults.point("deploy", 1)
        with self.store.transaction():
            self._record("swapped", current.number, target, None)
            faults.point("deploy", 2)
        faults.point("deploy", 3)
        self.current = candidate  # the swap: one reference, read once per request
        self._refused = None
        self.swaps += 1
        self._complained = False
        return True

    def _load(self, number: int) -> Predictor:
        """Load version ``number`` and make it predict before it may serve."""
        predictor = Predictor.load(
            self.store,
            self.name,
            number,
            trusted=self.trusted,
            allow_pickle=self.allow_pickle,
        )
        predictor.check(self._smoke_rows(predictor))
        return predictor

    def _smoke_rows(self, predictor: Predictor) -> Rows:
        last = self.last_rows
        if last is not None and last[0].schema.same_as(predictor.schema):
            return last[1]
        return predictor.sample_rows()

    def _refuse(self, current: Predictor, target: int, exc: Exception) -> None:
        """Keep serving ``current``; record and alert that ``target`` was refused."""
        from ..monitoring import alerting
        from ..text import printable

        why = printable(f"{type(exc).__name__}: {exc}".splitlines()[0])[:500]
        self._refused = target
        self._record("refused", current.number, target, why)
        where = f"{self.identity.host} ({self.identity.address})"
        message = (
            f"{self.name}@{self.alias} moved to version {target}, but the server on {where} "
            f"could not load it and keeps serving version {current.number}: {why}"
        )
        try:
            alerting.raise_alert(
                self.store,
                "serve",
                self.name,
                f"{self.name}@{self.alias}",
                message,
                {
                    "alias": self.alias,
                    "refused_version": target,
                    "serving_version": current.number,
                    "instance": self.identity.instance,
                    "host": self.identity.host,
                    "address": self.identity.address,
                    "reason": why,
                },
            )
        except MlopsError as alert_error:
            self._complain(alert_error)
        print(f"mlops-nb serve: {message}", file=sys.stderr, flush=True)

    def _record(self, action: str, old: int | None, new: int | None, reason: str | None) -> None:
        who = self.identity
        self.store.record_deploy(
            {
                "instance": who.instance,
                "server": who.server,
                "model": self.name,
                "alias": self.alias,
                "action": action,
                "from_version": old,
                "to_version": new,
                "at": utcnow(),
                "host": who.host,
                "address": who.address,
                "pid": who.pid,
                "reason": reason,
            },
            self.actor,
        )

    def _complain(self, exc: Exception) -> None:
        if not self._complained:
            print(
                f"mlops-nb serve: cannot follow {self.name}@{self.alias} right now, still "
                f"serving version {self.current.number if self.current else '?'}: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            self._complained = True


def record_lost_instances(store: Store, host: str, actor: str) -> list[str]:
    """Record the stop of serving processes on ``host`` that ended without recording it.

    A process killed outright (SIGKILL, a crash, a power cut) leaves its last
    deploy row open; a new server on the same host closes such rows for the
    processes that no longer exist, so ``which --at`` stops counting them.
    Returns their instance ids.
    """
    closed = []
    for row in store.open_instances(host):
        if environment.process_alive(int(row["pid"])):
            continue
        serving = serving_version(row)
        store.record_deploy(
            {
                **{k: row[k] for k in ("instance", "server", "model", "alias", "host", "address")},
                "pid": row["pid"],
                "action": "stopped",
                "from_version": serving,
                "to_version": None,
                "at": utcnow(),
                "reason": f"process {row['pid']} on {host} ended without recording its stop",
            },
            actor,
        )
        store.delete_serving_stats(str(row["instance"]))  # its numbers stopped with it
        closed.append(str(row["instance"]))
    return closed
