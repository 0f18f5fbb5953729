"""Routing of one serving process during a canary or shadow deploy.

A watcher thread looks up the model's running deploy every ``poll`` seconds
(one small query, like the alias watcher). When one starts, it loads the
tried version off the request path (hash-checked and smoke-tested like any
swap) and then publishes a :class:`Route` with one assignment; when the
deploy ends, it publishes ``None``. A request reads :attr:`Router.current`
once, so it is answered wholly by one arm, and a start, abort or promote
never fails a request.

Canary: a request with the header ``X-Routing-Key`` goes to the canary when
a hash of the deploy id and the key falls below the share (so a session
sticks to its arm); other requests are spread by a low-discrepancy
sequence (the n-th request of a process goes to the canary when
``frac(n * golden ratio) < share``), which keeps the canary's share exact.
Shadow: after production answered, the request is queued for a thread that
makes the shadow version predict; its answer goes to the prediction log as
a ``shadow`` batch and is never returned. The queue is bounded: when the
shadow cannot keep up, copies are dropped (and counted), never the request.

After each stats tick (off the request path) :meth:`Router.tick` writes
this process's counts per arm and judges the guards
(:func:`mlops_nb.serving.deploy.judge`).
"""

from __future__ import annotations

import hashlib
import queue
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..jsonutil import utcnow
from .arms import ArmCounter

if TYPE_CHECKING:
    from ..store import Store
    from .holder import ModelHolder
    from .log import PredictionLog
    from .predictor import Predictor

_GOLDEN = 0.6180339887498949
#: Requests whose arm a process remembers, for feedback arriving later.
REMEMBER = 200_000
SHADOW_QUEUE = 10_000
#: The technical guards are judged on this last stretch of traffic (all replicas').
WINDOW_S = 60.0


@dataclass
class Route:
    deployment: dict[str, Any]
    predictor: Predictor  # the tried version
    counters: dict[str, ArmCounter] = field(default_factory=dict)
    shadow_dropped: int = 0
    #: (monotonic time, merged counts) at each judgment: technical guards look at the last window.
    windows: deque[tuple[float, dict[str, Any]]] = field(default_factory=deque)

    @property
    def id(self) -> int:
        return int(self.deployment["id"])

    @property
    def kind(self) -> str:
        return str(self.deployment["kind"])

    def to_canary(self, key: str | None, n: int) -> bool:
        share = float(self.deployment["share"])
        if key is not None:
            digest = hashlib.blake2b(f"{self.id}:{key}".encode(), digest_size=8).digest()
            return int.from_bytes(digest, "big") / 2**64 < share
        return (n * _GOLDEN) % 1.0 < share


class Router:
    def __init__(
        self,
        store: Store,
        name: str,
        instance: str,
        holder: ModelHolder,
        log: PredictionLog,
        *,
        poll: float,
        actor: str,
    ) -> None:
        self.store = store
        self.name = name
        self.instance = instance
        self.holder = holder
        self.log = log
        self.poll = poll
        self.actor = actor
        self.current: Route | None = None
        self._n = 0
        self._arms: OrderedDict[int, tuple[int, str]] = OrderedDict()
        self._arms_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue: queue.Queue[tuple[Route, Any, int, str, float] | None] = queue.Queue(
            SHADOW_QUEUE
        )
        self._complained = False
        self._refused: int | None = None

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        self.check_now()
        for target, label in ((self._watch, "deploy watcher"), (self._shadow, "shadow")):
            thread = threading.Thread(target=target, name=f"mlops-nb {label}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(10)
        self.tick(judge=False)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check_now()
            except Exception as exc:  # the watcher never dies; serving goes on
                self._complain(exc)

    def check_now(self) -> None:
        """Follow the model's running deploy: load its version, or stop routing."""
        running = self.store.running_deployment(self.name)
        route = self.current
        if running is None:
            if route is not None:
                self.current = None
                self._write(route)
            return
        if route is not None and route.id == running["id"]:
            route.deployment = running
            return
        if route is not None:  # one deploy ended and another began between two looks
            self.current = None
            self._write(route)
        if running["id"] == self._refused:
            return
        try:
            predictor = self.holder._load(int(running["version"]))  # off the request path
        except Exception as exc:
            # Not tried again for this deploy: production keeps answering everything here.
            self._refused = int(running["id"])
            print(
                f"mlops-nb serve: cannot load version {running['version']} of {self.name} for "
                f"its {running['kind']}; production answers every request here: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            return
        roles = ("production", running["kind"])
        self.current = Route(running, predictor, {role: ArmCounter() for role in roles})

    # -- the request path ----------------------------------------------------------

    def pick(
        self, route: Route, production: Predictor, key: str | None
    ) -> tuple[Predictor, ArmCounter | None]:
        """The predictor answering this request and the counter of its arm."""
        if production.number != route.deployment["production_version"]:
            return production, None  # production moved meanwhile: not an arm any more
        if route.kind == "canary":
            self._n += 1
            if route.to_canary(key, self._n):
                return route.predictor, route.counters["canary"]
        return production, route.counters["production"]

    def remember(self, seq: int, route: Route, counter: ArmCounter) -> None:
        role = next(r for r, c in route.counters.items() if c is counter)
        with self._arms_lock:
            self._arms[seq] = (route.id, role)
            if len(self._arms) > REMEMBER:
                self._arms.popitem(last=False)

    def copy_to_shadow(self, route: Route, rows: Any, seq: int, request_id: str) -> None:
        try:
            self._queue.put_nowait((route, rows, seq, request_id, time.time()))
        except queue.Full:
            route.shadow_dropped += 1

    # -- feedback ---------------------------------------------------------------------

    def feedback(self, instance: str, seq: int, label: Any, value: float | None) -> None:
        """Count a feedback value into the arm that answered the request."""
        route = self.current
        if route is None or route.kind != "canary" or route.deployment["metric"] is None:
            return
        number = value if route.deployment["metric"] == "value" else _numeric(label)
        if number is None:
            return
        role = None
        if instance == self.instance:
            with self._arms_lock:
                found = self._arms.get(seq)
            if found is not None and found[0] == route.id:
                role = found[1]
        else:
            role = self._logged_role(route, instance, seq)
        if role is not None:
            route.counters[role].feedback(float(number))

    def _logged_role(self, route: Route, instance: str, seq: int) -> str | None:
        """The arm of a request another process answered, from the prediction log."""
        from .runtime import request_in_file

        roles = {
            route.deployment["version"]: "canary",
            route.deployment["production_version"]: "production",
        }
        for batch in self.store.batches_holding(self.name, instance, seq):
            role = roles.get(batch["version"])
            if role is None or batch["last_at"] < route.deployment["started_at"]:
                continue
            # Two versions' batches of one flush may span the same request numbers.
            whole = batch["requests"] == batch["last_seq"] - batch["first_seq"] + 1
            if whole or request_in_file(self.store, batch["file_sha256"], f"{instance}-{seq}"):
                return role
        return None

    # -- off the request path ------------------------------------------------------

    def _shadow(self) -> None:
        from .log import Prediction

        while True:
            item = self._queue.get()
            if item is None:
                return
            route, rows, seq, request_id, at = item
            counter = route.counters["shadow"]
            started = time.perf_counter()
            try:
                output = route.predictor.predict(rows)
            except Exception:
                counter.failed()
                continue
            latency = (time.perf_counter() - started) * 1000.0
            counter.answered(latency, output.predictions)
            record = Prediction(seq, request_id, at, route.predictor, rows, output, latency)
            self.log.add_shadow(record)

    def tick(self, judge: bool = True) -> None:
        """Write this process's counts and judge the guards (never raises)."""
        route = self.current
        if route is None:
            return
        try:
            self._write(route)
            if judge and route.deployment["state"] == "running":
                from .deploy import judge as judge_guards

                start = self._window_start(route)
                decided, merged = judge_guards(self.store, route.deployment, self.actor, start)
                route.windows.append((time.monotonic(), {**merged, "at": utcnow()}))
                if decided is not None and decided["state"] != "running":
                    self.current = None  # routing stops at once here; elsewhere at the next poll
        except Exception as exc:
            self._complain(exc)

    @staticmethod
    def _window_start(route: Route) -> dict[str, Any] | None:
        """The merged counts of about :data:`WINDOW_S` ago (``None`` in the deploy's
        first window: its start), dropping older ones."""
        limit = time.monotonic() - WINDOW_S
        while len(route.windows) > 1 and route.windows[1][0] <= limit:
            route.windows.popleft()
        if route.windows and route.windows[0][0] <= limit:
            return route.windows[0][1]
        return None

    def _write(self, route: Route) -> None:
        for role, counter in route.counters.items():
            version = route.deployment["production_version" if role == "production" else "version"]
            self.store.put_deployment_stats(
                route.id, self.instance, role, version, counter.to_json()
            )

    def _complain(self, exc: Exception) -> None:
        if not self._complained:
            print(
                f"mlops-nb serve: cannot follow the deploys of {self.name} right now: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
                flush=True,
            )
            self._complained = True


def _numeric(label: Any) -> float | None:
    if isinstance(label, bool):
        return float(label)
    if isinstance(label, (int, float)):
        return float(label)
    return None
