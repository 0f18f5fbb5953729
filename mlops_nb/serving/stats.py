"""Live numbers of one serving process: requests, errors and latency over the last minute.

The request path only counts: :meth:`RequestStats.answered` and
:meth:`RequestStats.failed` take a lock and bump a few integers, one of them
a bin of a latency histogram (bins 2**(1/16) apart, so a percentile read
from it is within 2.2 % of the true one, in constant memory whatever the
traffic). Off the request path, the prediction log's writer thread calls
:meth:`StatsBeat.tick` after each of its wake-ups: it closes the counting
window and, every :data:`STATS_EVERY_S` seconds, writes one row per process
into ``serving_stats`` (overwritten in place, see the store's
``put_serving_stats``), which the REST API and the panel read.

The numbers go through the store, not over HTTP, because the workers of
one ``mlops-nb serve`` share a port: a request to it reaches one worker at
random, while every worker writes its own row.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..jsonutil import utcnow

if TYPE_CHECKING:
    from ..store import Store

#: How often each serving process writes its row (at least its log's flush interval).
STATS_EVERY_S = 10.0
#: A process whose row is older than this many of its intervals shows as stale.
STALE_AFTER = 3
#: The window requests per minute and the percentiles are taken over.
WINDOW_S = 60.0
#: Histogram bins per doubling of latency, and the range they cover (1 µs to ~36 h).
_PER_OCTAVE = 16
_LOWEST_OCTAVE = -10  # 2**-10 ms, about 1 µs
_BINS = 38 * _PER_OCTAVE


def _bin(latency_ms: float, log2: Callable[[float], float] = math.log2) -> int:
    # On the request path: plain comparisons, not min/max calls.
    if not latency_ms > 0:  # 0, negative or NaN: the lowest bin
        return 0
    found = int((log2(latency_ms) - _LOWEST_OCTAVE) * _PER_OCTAVE)
    if found < 0:
        return 0
    return found if found < _BINS else _BINS - 1


def _bin_value(index: int) -> float:
    """The middle of a bin (geometrically), in milliseconds."""
    return float(2 ** ((index + 0.5) / _PER_OCTAVE + _LOWEST_OCTAVE))


class _Window:
    """What was counted between two ticks."""

    __slots__ = ("answered", "client_errors", "end", "latencies", "server_errors", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.end = start
        self.answered = 0
        self.client_errors = 0
        self.server_errors = 0
        self.latencies = [0] * _BINS


@dataclass(frozen=True)
class StatsSnapshot:
    """One process's numbers at one moment (rates over the last :data:`WINDOW_S`)."""

    requests_per_min: float
    errors_per_min: float
    p50_ms: float | None  # None: nothing answered in the window
    p99_ms: float | None
    requests_total: int
    errors_total: int
    client_errors_total: int
    server_errors_total: int

    def to_json(self) -> dict[str, Any]:
        return {
            "requests_per_min": self.requests_per_min,
            "errors_per_min": self.errors_per_min,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests_total": self.requests_total,
            "errors_total": self.errors_total,
        }


class RequestStats:
    """Counters of one serving process's prediction requests.

    Parameters
    ----------
    clock
        Seconds from a monotonic clock (tests pass their own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._current = _Window(clock())
        self._closed: deque[_Window] = deque(maxlen=600)
        self._answered = 0
        self._client_errors = 0
        self._server_errors = 0

    # -- the request path ---------------------------------------------------------------

    def answered(self, latency_ms: float) -> None:
        """Count one answered request and how long it took."""
        index = _bin(latency_ms)
        with self._lock:
            window = self._current
            window.answered += 1
            window.latencies[index] += 1

    def failed(self, status: int) -> None:
        """Count one request refused (4xx) or failed (5xx) with HTTP ``status``."""
        with self._lock:
            if status >= 500:
                self._current.server_errors += 1
            else:
                self._current.client_errors += 1

    # -- off the request path ---------------------------------------------------------

    def snapshot(self) -> StatsSnapshot:
        """Close the counting window and read the numbers of the last minute."""
        now = self._clock()
        with self._lock:
            closing, self._current = self._current, _Window(now)
        closing.end = now
        self._answered += closing.answered
        self._client_errors += closing.client_errors
        self._server_errors += closing.server_errors
        self._closed.append(closing)
        while self._closed and self._closed[0].end <= now - WINDOW_S:
            self._closed.popleft()
        windows = list(self._closed)
        # The span the counts cover: from the oldest window kept (whole, so the
        # rate is not inflated by a window counted in full but timed in part).
        span = max(now - windows[0].start, 1e-3) if windows else 1e-3
        answered = sum(w.answered for w in windows)
        errors = sum(w.client_errors + w.server_errors for w in windows)
        histogram = [sum(column) for column in zip(*(w.latencies for w in windows), strict=True)]
        per_min = 60.0 / span
        return StatsSnapshot(
            requests_per_min=(answered + errors) * per_min,
            errors_per_min=errors * per_min,
            p50_ms=_percentile(histogram, answered, 0.50),
            p99_ms=_percentile(histogram, answered, 0.99),
            requests_total=self._answered + self._client_errors + self._server_errors,
            errors_total=self._client_errors + self._server_errors,
            client_errors_total=self._client_errors,
            server_errors_total=self._server_errors,
        )


def _percentile(histogram: list[int], count: int, share: float) -> float | None:
    """The latency below which ``share`` of ``count`` requests fell (nearest rank)."""
    if count == 0:
        return None
    rank = max(1, math.ceil(share * count))
    seen = 0
    for index, found in enumerate(histogram):
        seen += found
        if seen >= rank:
            return round(_bin_value(index), 4)
    return None  # unreachable: the bins hold every counted request


class StatsBeat:
    """Writes a serving process's row every ``every`` seconds, from its log's writer thread.

    Parameters
    ----------
    store
        Where the row goes.
    instance, model
        Whose row it is.
    stats
        The counters read.
    every
        Seconds between two rows.
    """

    def __init__(
        self, store: Store, instance: str, model: str, stats: RequestStats, every: float
    ) -> None:
        self.store = store
        self.instance = instance
        self.model = model
        self.stats = stats
        self.every = every
        self._last_write: float | None = None
        self._complained = False

    def tick(self) -> None:
        """Write the row when it is due; never raise (serving goes on without numbers)."""
        now = time.monotonic()
        if self._last_write is not None and now - self._last_write < self.every:
            return
        try:
            self.write()
        except Exception as exc:
            if not self._complained:
                print(
                    f"mlops-nb serve: cannot write the serving numbers yet, will retry: "
                    f"{type(exc).__name__}: {exc}",
                    file=sys.stderr,
                    flush=True,
                )
                self._complained = True

    def write(self) -> StatsSnapshot:
        """Take a snapshot and write it now."""
        snapshot = self.stats.snapshot()
        self.store.put_serving_stats(
            {
                "instance": self.instance,
                "model": self.model,
                "at": utcnow(),
                "every_s": self.every,
                **snapshot.to_json(),
            }
        )
        self._last_write = time.monotonic()
        self._complained = False
        return snapshot

    def forget(self) -> None:
        """Remove the row once the process has recorded its stop."""
        self.store.delete_serving_stats(self.instance)


# -- reading: what every open serving process does now ------------------------------------


def servers_now(store: Store, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every serving process that has not recorded its stop, with its live numbers.

    Each item: ``instance, server, model, alias, version, host, address, pid,
    since`` (when it began answering with ``version``), ``last_swap``
    (``{at, from_version, to_version}`` of its latest swap, or ``None``),
    ``requests_per_min, errors_per_min, error_rate`` (errors per request over
    the last minute; ``None`` without requests), ``p50_ms, p99_ms``,
    ``requests_total, errors_total``, ``stats_at`` (when its numbers were
    taken), ``silent_s`` (seconds since then, or since it started when it
    never wrote any) and ``stale`` (more than :data:`STALE_AFTER` of its
    intervals have passed: it was killed, hangs, or cannot write the store).
    Sorted by model, host, address, instance.
    """
    from .history import serving_version

    moment = now or dt.datetime.now(dt.timezone.utc)
    latest = store.open_instances()
    instances = [str(r["instance"]) for r in latest]
    steps: dict[str, list[dict[str, Any]]] = {}
    for row in store.deploys_of(instances):
        steps.setdefault(row["instance"], []).append(row)
    numbers = store.serving_stats(instances)
    out = []
    for row in latest:
        version: int | None = None
        since, last_swap = row["at"], None
        for step in steps.get(row["instance"], [row]):
            serving = serving_version(step)
            if serving is not None and serving != version:
                version, since = serving, step["at"]
            if step["action"] == "swapped":
                last_swap = {
                    "at": step["at"],
                    "from_version": step["from_version"],
                    "to_version": step["to_version"],
                }
        stats = numbers.get(row["instance"])
        heard = stats["at"] if stats else since
        every = float(stats["every_s"]) if stats else STATS_EVERY_S
        silent = max(0.0, (moment - dt.datetime.fromisoformat(heard)).total_seconds())
        requests = stats["requests_per_min"] if stats else None
        errors = stats["errors_per_min"] if stats else None
        out.append(
            {
                **{k: row[k] for k in ("instance", "server", "model", "alias", "host")},
                "version": version,
                **{k: row[k] for k in ("address", "pid")},
                "since": since,
                "last_swap": last_swap,
                "requests_per_min": requests,
                "errors_per_min": errors,
                "error_rate": errors / requests if requests and errors is not None else None,
                "p50_ms": stats["p50_ms"] if stats else None,
                "p99_ms": stats["p99_ms"] if stats else None,
                "requests_total": stats["requests_total"] if stats else None,
                "errors_total": stats["errors_total"] if stats else None,
                "stats_at": stats["at"] if stats else None,
                "silent_s": round(silent, 1),
                "stale": silent > STALE_AFTER * every,
            }
        )
    return sorted(out, key=lambda s: (s["model"], s["host"], s["address"], s["instance"]))
