"""One serving process: the model it answers with, its prediction log, its request ids.

:class:`Runtime` is the plain core behind the HTTP app
(:mod:`mlops_nb.serving.app`): it takes decoded JSON and returns JSON, and
knows nothing of HTTP. Each serving process (each worker of ``mlops-nb
serve``) has one, with an instance id of its own; request ids are
``<instance>-<number>``, numbered from 1 in each process, so a request id
names the process that answered and its place in that process's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import InvalidInputError, MlopsError, NotFoundError, SchemaMismatchError
from .holder import POLL_S, Identity, ModelHolder, record_lost_instances
from .inputs import finite_number
from .log import BATCH_ROWS, FLUSH_EVERY_S, Feedback, Prediction, PredictionLog
from .predictor import Predictor, quiet_names_warning
from .router import Router
from .stats import STATS_EVERY_S, RequestStats, StatsBeat

if TYPE_CHECKING:
    from ..store import Store

REQUEST_ID = re.compile(r"([0-9a-f]{12})-([1-9][0-9]{0,17})")
#: Feedback may name a request another process answered but has not written
#: yet; it is looked for this long past that process's flush interval.
FEEDBACK_GRACE_S = 2.0


def new_id() -> str:
    """A fresh 12-hex-digit id for a server or a serving process."""
    return secrets.token_hex(6)


class Runtime:
    """What one serving process needs to answer: model holder, log, ids.

    Parameters
    ----------
    store
        The store to serve from and log into.
    ref
        ``NAME``, ``NAME@ALIAS`` or ``NAME:VERSION``; a bare name follows
        ``NAME@production``.
    address
        ``host:port`` the process listens on (recorded with its deploy events).
    server
        The id shared by the workers of one ``mlops-nb serve``.
    sample
        The share of requests written to the prediction log, at most 1; 0 writes
        none (only for measuring what the log costs: the CLI does not offer it).
    poll, flush_every, batch_rows
        How often the alias is looked up; when log batches are written.
    stats_every
        How often the live numbers (requests, errors, latency) are written to
        the store; at least ``flush_every``, since the log's writer writes them.
    trusted, allow_pickle
        As for :func:`mlops_nb.load_model`.
    """

    def __init__(
        self,
        store: Store,
        ref: str,
        *,
        address: str = "in-process",
        server: str | None = None,
        sample: float = 1.0,
        poll: float = POLL_S,
        flush_every: float = FLUSH_EVERY_S,
        batch_rows: int = BATCH_ROWS,
        stats_every: float = STATS_EVERY_S,
        trusted: tuple[str, ...] = (),
        allow_pickle: bool = False,
    ) -> None:
        name, alias, version = serving_ref(ref)
        if not (isinstance(sample, (int, float)) and 0 <= sample <= 1):
            raise InvalidInputError(f"the log sample must be a share from 0 to 1, not {sample}")
        self.store = store
        self.name, self.alias = name, alias
        self.sample = float(sample)
        self.actor = environment.actor()
        self.identity = Identity(
            instance=new_id(),
            server=server or new_id(),
            host=environment.hostname(),
            address=address,
            pid=os.getpid(),
        )
        self.holder = ModelHolder(
            store,
            name,
            alias,
            version,
            self.identity,
            poll=poll,
            trusted=trusted,
            allow_pickle=allow_pickle,
            actor=self.actor,
        )
        self.stats = RequestStats()
        self.beat = StatsBeat(
            store, self.identity.instance, name, self.stats, max(stats_every, flush_every)
        )
        self.log = PredictionLog(
            store,
            name,
            self.identity.instance,
            sample=self.sample,
            flush_every=flush_every,
            batch_rows=batch_rows,
            actor=self.actor,
            tick=self._tick,
        )
        self.router = Router(
            store, name, self.identity.instance, self.holder, self.log, poll=poll, actor=self.actor
        )
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._random = random.Random()
        self.started = False

    @property
    def instance(self) -> str:
        return self.identity.instance

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> Runtime:
        """Close what killed servers on this host left open, load the model, start logging."""
        quiet_names_warning()
        record_lost_instances(self.store, self.identity.host, self.actor)
        self.holder.start()
        self.log.start()
        if self.alias is not None:  # a fixed version serves no canary
            self.router.start()
        self.beat.tick()  # a row at once: a server just started shows, with no requests yet
        self.started = True
        return self

    def stop(self, reason: str | None = None) -> None:
        """Write the whole log, then record the stop (for SIGTERM, Ctrl-C, the end of ``with``)."""
        if not self.started:
            return
        self.started = False
        try:
            self.router.stop()  # copies still queued for a shadow are answered and logged
            self.log.close()
        finally:
            self.holder.stop(reason)
            # A row left behind by a store error is harmless: only open
            # instances are shown, and this one has recorded its stop.
            with contextlib.suppress(MlopsError):
                self.beat.forget()

    def _tick(self) -> None:
        self.beat.tick()
        self.router.tick()

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering ---------------------------------------------------------------------

    @property
    def predictor(self) -> Predictor:
        current = self.holder.current
        if current is None:
            from ..errors import UnavailableError

            raise UnavailableError("the model is not loaded yet")
        return current

    def health(self) -> dict[str, Any]:
        predictor = self.predictor
        return {
            "status": "ok",
            "model": self.name,
            "alias": self.alias,
            "version": predictor.number,
            "instance": self.instance,
        }

    def predict(
        self, body: Any, started: float | None = None, routing_key: str | None = None
    ) -> tuple[bytes, int, str]:
        """Answer one prediction request: ``(JSON response, version, request id)``.

        ``body`` is the decoded JSON; ``started`` the ``time.perf_counter()``
        when the request arrived (the latency logged is measured from it).

        Raises
        ------
        SchemaMismatchError
            The rows do not fit the version's schema, or its model refused them.
        """
        begun = time.perf_counter() if started is None else started
        route = self.router.current  # read once, like the predictor
        arm = None
        try:
            predictor = self.predictor  # read once: this request uses this version only
            if route is not None:
                predictor, arm = self.router.pick(route, predictor, routing_key)
            rows = predictor.schema.parse(body)
            output = predictor.predict(rows)
        except Exception as exc:
            self.count_failure(exc)
            if arm is not None and not isinstance(exc, SchemaMismatchError):
                arm.failed()
            raise
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        request_id = f"{self.identity.instance}-{seq}"
        doc = {
            "model": self.name,
            "version": predictor.number,
            "request_id": request_id,
            **predictor.outputs_json(output),
        }
        data = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
        self.holder.last_rows = (predictor, rows)
        latency = (time.perf_counter() - begun) * 1000.0
        self.stats.answered(latency)
        if arm is not None and route is not None:
            arm.answered(latency, output.predictions)
            if route.kind == "canary" and route.deployment["metric"] is not None:
                self.router.remember(seq, route, arm)
            elif route.kind == "shadow":
                self.router.copy_to_shadow(route, rows, seq, request_id)
        if self.sample >= 1.0 or (self.sample and self._random.random() < self.sample):
            self.log.add(Prediction(seq, request_id, time.time(), predictor, rows, output, latency))
        return data, predictor.number, request_id

    def count_failure(self, exc: BaseException) -> None:
        """Count a prediction request that failed with ``exc`` (as its HTTP status)."""
        self.stats.failed(exc.http_status if isinstance(exc, MlopsError) else 500)

    def feedback(self, body: Any) -> dict[str, Any]:
        """Record a label and/or a business value for a logged request.

        Raises
        ------
        SchemaMismatchError
            The body is not ``{"request_id", "label"?, "value"?}`` with a
            label or a value.
        NotFoundError
            No request with that id is in this model's log.
        """
        request_id, label, value = _feedback_fields(body)
        if not self.logged(request_id):
            raise NotFoundError(
                f"no request {request_id} in the prediction log of {self.name} (unknown, "
                "answered for another model, or not sampled into the log)"
            )
        self.log.add_feedback(Feedback(request_id, time.time(), label, value))
        found = REQUEST_ID.fullmatch(request_id)
        if found is not None:
            self.router.feedback(found.group(1), int(found.group(2)), label, value)
        return {"request_id": request_id, "accepted": True}

    def logged(self, request_id: str) -> bool:
        """Whether ``request_id`` is in this model's prediction log (or about to be).

        A request another process answered may not be written yet: while
        that process runs, it is looked for up to its flush interval plus
        :data:`FEEDBACK_GRACE_S`.
        """
        found = REQUEST_ID.fullmatch(request_id)
        if found is None:
            return False
        instance, seq = found.group(1), int(found.group(2))
        if instance == self.instance:
            with self._seq_lock:
                issued = seq <= self._seq
            return issued and (self.log.waiting(seq) or self._committed(instance, seq))
        if self._committed(instance, seq):
            return True
        if not any(
            row["instance"] == instance and row["model"] == self.name
            for row in self.store.open_instances()
        ):
            return False  # that process has stopped: everything it logged is committed
        deadline = time.monotonic() + self.log.flush_every + FEEDBACK_GRACE_S
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if self._committed(instance, seq):
                return True
        return False

    def _committed(self, instance: str, seq: int) -> bool:
        for batch in self.store.batches_holding(self.name, instance, seq):
            span = batch["last_seq"] - batch["first_seq"] + 1
            if batch["sample"] >= 1.0 and batch["requests"] == span:
                # every request in the range was logged and none erased since
                return True
            if request_in_file(self.store, batch["file_sha256"], f"{instance}-{seq}"):
                return True
        return False


def request_in_file(store: Store, sha256: str, request_id: str) -> bool:
    """Whether a predictions batch file holds ``request_id``."""
    import io

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(store.get_artifact(sha256)), columns=["request_id"])
    return bool(pc.any(pc.equal(table.column("request_id"), request_id)).as_py())


def serving_ref(ref: str) -> tuple[str, str | None, int | None]:
    """``(name, alias, version)`` to serve; a bare name follows ``NAME@production``."""
    from ..registry.names import DEFAULT_ALIAS, parse_ref

    name, alias, version = parse_ref(ref)
    if alias is None and version is None:
        alias = DEFAULT_ALIAS
    return name, alias, version


def _feedback_fields(body: Any) -> tuple[str, Any, float | None]:
    """``(request_id, label, value)`` of a feedback body, or every problem with it."""
    if not isinstance(body, dict):
        raise SchemaMismatchError("feedback must be a JSON object {request_id, label?, value?}")
    problems = [
        f"unknown field {k!r}" for k in sorted(set(body) - {"request_id", "label", "value"})
    ]
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 64:
        problems.append("request_id must be the request id a prediction returned")
    if "label" in body:
        label = body["label"]
        number = isinstance(label, (int, float)) and not isinstance(label, bool)
        if not isinstance(label, (str, bool)) and not (number and finite_number(label)):
            problems.append("label must be text, a finite number or true/false")
    if "value" in body:
        value = body["value"]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not finite_number(value)
        ):
            problems.append("value must be a finite number")
    if "label" not in body and "value" not in body:
        problems.append("give a label, a value, or both")
    if problems:
        raise SchemaMismatchError(f"the feedback is not acceptable: {problems[0]}", problems)
    value = body.get("value")
    return str(request_id), body.get("label"), None if value is None else float(value)
