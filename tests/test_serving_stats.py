"""Live numbers of serving processes: counted on the request path, written off it.

A real :class:`Runtime` answers good and bad requests in process (and through
its Starlette app, for the errors only HTTP can make); the row it writes into
``serving_stats`` must say exactly what happened.
"""

from __future__ import annotations

import pytest
from models import numeric_rows as rows
from starlette.testclient import TestClient

from mlops_nb.errors import SchemaMismatchError
from mlops_nb.serving.app import create_app
from mlops_nb.serving.runtime import Runtime
from mlops_nb.serving.stats import WINDOW_S, RequestStats, StatsBeat
from mlops_nb.store import audit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runtime(store, **options) -> Runtime:
    # The alias is never polled and the log thread never wakes by itself:
    # the test writes the numbers when it wants them.
    return Runtime(store, "bench", poll=3600.0, flush_every=3600.0, **options)


def test_percentiles_come_within_the_histograms_precision():
    clock = Clock()
    stats = RequestStats(clock)
    for ms in range(1, 1001):  # 1 ms to 1000 ms, once each
        stats.answered(float(ms))
    clock.now += 30
    snap = stats.snapshot()
    assert snap.p50_ms == pytest.approx(500, rel=0.025)
    assert snap.p99_ms == pytest.approx(990, rel=0.025)
    assert snap.requests_per_min == pytest.approx(2000)  # 1000 in 30 s
    assert snap.errors_per_min == 0 and snap.errors_total == 0


def test_rates_cover_the_last_minute_and_totals_everything():
    clock = Clock()
    stats = RequestStats(clock)
    for _ in range(120):
        stats.answered(2.0)
    stats.failed(422)
    stats.failed(503)
    clock.now += 10
    first = stats.snapshot()
    assert first.requests_per_min == pytest.approx(122 * 6)
    assert first.errors_per_min == pytest.approx(12)
    assert (first.client_errors_total, first.server_errors_total) == (1, 1)
    clock.now += WINDOW_S + 1  # nothing more came in: the minute holds nothing
    quiet = stats.snapshot()
    assert quiet.requests_per_min == 0 and quiet.p50_ms is None and quiet.p99_ms is None
    assert quiet.requests_total == 122 and quiet.errors_total == 2


def test_a_latency_out_of_range_still_counts():
    stats = RequestStats()
    for odd in (0.0, -1.0, float("nan"), 1e12):
        stats.answered(odd)
    assert stats.snapshot().requests_total == 4


def test_the_row_says_what_a_real_runtime_answered(bench):
    with runtime(bench) as served:
        row = bench.serving_stats()[served.instance]  # written at start, before any request
        assert row["requests_total"] == 0 and row["p50_ms"] is None
        for i in range(20):
            served.predict({"rows": rows(i)})
        for body in ({"rows": [{"x0": 1.0}]}, {"nope": 1}, {"rows": [{"x9": "?"}]}):
            with pytest.raises(SchemaMismatchError):
                served.predict(body)
        served.beat.write()
        row = bench.serving_stats([served.instance])[served.instance]
        assert row["model"] == "bench" and row["every_s"] == 3600.0
        assert row["requests_total"] == 23 and row["errors_total"] == 3
        assert row["requests_per_min"] > row["errors_per_min"] > 0
        assert row["errors_per_min"] / row["requests_per_min"] == pytest.approx(3 / 23)
        assert 0 < row["p50_ms"] <= row["p99_ms"] < 10_000
        assert len(bench.serving_stats()) == 1  # written over, not added to
    assert bench.serving_stats() == {}  # the stop removed it
    assert audit.verify(bench).ok  # heartbeats leave the audit chain alone


def test_errors_only_http_can_make_are_counted_too(bench):
    served = runtime(bench)
    app = create_app(served, max_body=1000, own_runtime=True)
    with TestClient(app) as client:
        assert client.post("/predict", json={"rows": rows()}).status_code == 200
        assert client.post("/predict", content=b"not json").status_code == 400
        big = b'{"rows": [' + b" " * 2000 + b"]}"
        assert client.post("/predict", content=big).status_code == 413
        assert client.post("/predict", json={"rows": [{}]}).status_code == 422
        assert client.get("/health").status_code == 200  # not a prediction: not counted
        snap = served.beat.write()
    assert (snap.requests_total, snap.client_errors_total, snap.server_errors_total) == (4, 3, 0)


def test_a_store_that_refuses_the_row_does_not_stop_serving(bench, monkeypatch, capsys):
    from mlops_nb.errors import UnavailableError

    with runtime(bench) as served:

        def refuse(fields):
            raise UnavailableError("the database is locked")

        monkeypatch.setattr(bench, "put_serving_stats", refuse)
        beat = StatsBeat(bench, served.instance, "bench", served.stats, 0.0)
        beat.tick()
        beat.tick()
        assert capsys.readouterr().err.count("cannot write the serving numbers") == 1
        assert served.predict({"rows": rows()})[1] == 1


def test_the_log_writer_thread_writes_the_numbers(bench):
    import time

    served = Runtime(bench, "bench", poll=3600.0, flush_every=0.05, stats_every=0.05)
    with served:
        served.predict({"rows": rows()})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = bench.serving_stats().get(served.instance)
            if row and row["requests_total"] == 1:
                break
            time.sleep(0.05)
        assert row and row["requests_total"] == 1, row


def test_a_killed_process_shows_stale_until_the_next_server_closes_it(bench):
    import datetime as dt

    from mlops_nb import environment
    from mlops_nb.jsonutil import utcnow
    from mlops_nb.serving.stats import servers_now

    dead = 2**22 + 7  # above Linux's default pid_max: no such process
    assert not environment.process_alive(dead)
    bench.record_deploy(
        {"instance": "dead00000001", "server": "dead00000000", "model": "bench",
         "alias": "production", "action": "started", "from_version": None, "to_version": 1,
         "at": utcnow(), "host": environment.hostname(), "address": "127.0.0.1:1", "pid": dead,
         "reason": None},
        "test",
    )  # fmt: skip
    bench.put_serving_stats(
        {"instance": "dead00000001", "model": "bench", "at": utcnow(), "every_s": 10.0,
         "requests_per_min": 3.0, "errors_per_min": 0.0, "p50_ms": 1.0, "p99_ms": 1.0,
         "requests_total": 3, "errors_total": 0}
    )  # fmt: skip
    (fresh,) = servers_now(bench)
    assert fresh["stale"] is False and fresh["error_rate"] == 0
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=31)
    (silent,) = servers_now(bench, now=later)
    assert silent["stale"] is True and silent["silent_s"] >= 31
    with runtime(bench) as served:  # a new server on this host closes the dead one
        assert [s["instance"] for s in servers_now(bench)] == [served.instance]
        assert set(bench.serving_stats()) == {served.instance}
