"""Real ``mlops-nb serve`` processes on loopback ports: swaps under load, stops, kills, replicas.

Every server binds 127.0.0.1 on a port the kernel picks (``--port 0``),
reports it on stdout (``--json``) and is stopped by its pid; a test that
fails still stops it. Load is bounded and ends by itself. Nothing here is
timed: waits have generous deadlines and never decide an outcome.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from models import add_bench, numeric_data, numeric_model
from models import numeric_rows as rows

import mlops_nb
from conftest import wait_for
from mlops_nb import registry, tracking
from mlops_nb.jsonutil import utcnow
from mlops_nb.store import Store, audit

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 120.0


class Served:
    """One ``mlops-nb serve`` process, started and stopped by the test."""

    start_timeout = START_TIMEOUT_S

    def __init__(self, home: Path, ref: str, *options: str, env: dict | None = None) -> None:
        self.log_path = home.parent / f"serve-{time.monotonic_ns()}.log"
        self._stderr = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlops_nb", "--home", str(home), "serve", ref,
             "--port", "0", "--json", *options],
            stdout=subprocess.PIPE, stderr=self._stderr, env={**os.environ, **(env or {})},
        )  # fmt: skip
        try:
            self.info = self._ready()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise
        self.port = self.info["port"]
        self.headers: dict[str, str] = {}

    def _ready(self) -> dict:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if readable:
                line = self.proc.stdout.readline()
                if line:
                    return json.loads(line)
            if self.proc.poll() is not None:
                break
        raise AssertionError(f"the server did not start: {self.stderr()}")

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def call(self, method: str, path: str, body=None, conn=None) -> tuple[int, dict, dict]:
        own = conn is None
        conn = conn or self.connection()
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **self.headers}
            conn.request(method, path, data, headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), json.loads(payload or b"null")
        finally:
            if own:
                conn.close()

    def version(self) -> int:
        return self.call("GET", "/health")[2]["version"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._stderr.close()
        return code


@pytest.fixture
def servers():
    """Start servers with ``servers(home, ref, *options)``; all are stopped afterwards."""
    started: list[Served] = []

    def start(home, ref, *options, env=None):
        served = Served(home, ref, *options, env=env)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.stop(signal.SIGKILL)


class Load:
    """``clients`` threads, each on one keep-alive connection, predicting until stopped."""

    def __init__(self, served: Served, clients: int, body: dict) -> None:
        self.served, self.body = served, body
        self.answers: list[tuple[int, dict, dict]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        conn = self.served.connection()
        try:
            while not self._stop.is_set():
                try:
                    answer = self.served.call("POST", "/predict", self.body, conn)
                except (OSError, http.client.HTTPException) as exc:
                    with self._lock:
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = self.served.connection()
                    continue
                with self._lock:
                    self.answers.append(answer)
        finally:
            conn.close()

    def count(self) -> int:
        with self._lock:
            return len(self.answers)

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(120)


def logged(store: Store, name: str = "bench"):
    return mlops_nb.predictions(name, store=store)


def test_promote_and_rollback_under_load_fail_no_request_and_mix_no_versions(bench, home, servers):
    body = {"rows": rows(3)}
    sent = numeric_data()[0].iloc[3:4]
    want = {
        v: registry.load_model(f"bench:{v}", bench).predict_proba(sent).tolist() for v in (1, 2)
    }
    assert abs(want[1][0][0] - want[2][0][0]) > 0.01
    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.5")
    load = Load(served, clients=8, body=body)
    moments = []
    try:
        for flip in range(20):
            before = load.count()
            if flip % 2 == 0:
                registry.promote(bench, "bench", 2, reason=f"flip {flip}")
            else:
                registry.rollback(bench, "bench", reason=f"flip {flip}")
            target = 2 if flip % 2 == 0 else 1
            wait_for(lambda t=target: served.version() == t, what=f"the swap to {target}")
            wait_for(lambda b=before: load.count() > b + 20, what="requests after the swap")
            moments.append((utcnow(), target))
    finally:
        load.stop()
    assert load.errors == []
    assert len(load.answers) > 400
    seen = {1: 0, 2: 0}
    for status, headers, doc in load.answers:
        assert status == 200, doc
        version = doc["version"]
        assert headers["x-model-version"] == str(version)
        assert doc["probabilities"] == want[version], "a request mixed two versions"
        seen[version] += 1
    assert min(seen.values()) > 100
    assert served.stop() == 0, served.stderr()
    # Everything answered is in the log once, with the version that answered it.
    frame = logged(bench)
    answered = {doc["request_id"]: doc["version"] for _, _, doc in load.answers}
    assert len(frame) == len(answered)
    assert dict(zip(frame["request_id"], frame["version"].astype(int))) == answered
    steps = [d["action"] for d in bench.deploys("bench")]
    assert steps == ["started"] + ["swapped"] * 20 + ["stopped"]
    for moment, version in moments:
        (server,) = mlops_nb.which("bench@production", at=moment, store=bench).servers
        assert server["version"] == version
        assert server["address"] == f"127.0.0.1:{served.port}"
    assert audit.verify(bench).ok


def test_sigterm_writes_everything_and_a_restart_serves_on(bench, home, servers):
    served = servers(home, "bench", "--log-flush", "3600", "--log-batch", "1000000")
    conn = served.connection()
    ids = [served.call("POST", "/predict", {"rows": rows(i, 2)}, conn)[2]["request_id"]
           for i in range(40)]  # fmt: skip
    feedback = served.call("POST", "/feedback", {"request_id": ids[0], "label": 1}, conn)
    assert feedback[0] == 202
    conn.close()
    assert logged(bench).empty  # all of it still in memory
    assert served.stop(signal.SIGTERM) == 0, served.stderr()
    frame = logged(bench)
    assert list(frame["request_id"].unique()) == ids and len(frame) == 80
    assert frame.loc[frame["request_id"] == ids[0], "label"].tolist() == [1, 1]
    again = servers(home, "bench")
    assert again.call("POST", "/predict", {"rows": rows()})[0] == 200
    assert again.stop(signal.SIGINT) == 0
    instances = [d["instance"] for d in bench.deploys("bench") if d["action"] == "stopped"]
    assert len(set(instances)) == 2
    assert audit.verify(bench).ok


def test_sigkill_loses_only_the_requests_after_the_last_written_batch(bench, home, servers):
    served = servers(home, "bench", "--log-flush", "0.3")
    conn = served.connection()
    first = [served.call("POST", "/predict", {"rows": rows(i)}, conn)[2]["request_id"]
             for i in range(100)]  # fmt: skip
    wait_for(lambda: len(logged(bench)) == 100, what="the first batch")
    later = [served.call("POST", "/predict", {"rows": rows(i)}, conn)[2]["request_id"]
             for i in range(50)]  # fmt: skip
    conn.close()
    assert served.stop(signal.SIGKILL) == -signal.SIGKILL
    assert audit.verify(bench).ok
    kept = set(logged(bench)["request_id"])
    answered = first + later
    assert set(first) <= kept <= set(answered)
    lost = [rid for rid in answered if rid not in kept]
    if lost:  # only a tail: everything after the last committed request
        assert lost == answered[-len(lost) :]
    # The next server on this host records that the killed one is gone.
    again = servers(home, "bench")
    killed = served.info["pid"]
    closing = [d for d in bench.deploys("bench") if d["pid"] == killed]
    assert [d["action"] for d in closing] == ["started", "stopped"]
    assert "ended without recording its stop" in closing[-1]["reason"]
    assert again.stop() == 0


def test_workers_share_the_port_follow_the_alias_and_are_replaced_when_killed(bench, home, servers):
    served = servers(home, "bench", "--workers", "2", "--poll", "0.2", "--log-flush", "0.5")
    server_id = served.info["server"]

    def workers(action):
        return {d["instance"] for d in bench.deploys("bench") if d["server"] == server_id
                and d["action"] == action}  # fmt: skip

    assert len(workers("started")) == 2
    load = Load(served, clients=4, body={"rows": rows()})
    try:
        registry.promote(bench, "bench", 2)
        wait_for(lambda: workers("swapped") == workers("started"), what="both workers to swap")
        victim = next(iter(workers("started")))
        pid = next(d["pid"] for d in bench.deploys(instance=victim))
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(workers("started")) == 3, what="a new worker")
        before = load.count()
        wait_for(lambda: load.count() > before + 50, what="requests after the replacement")
    finally:
        load.stop()
    assert served.stop() == 0, served.stderr()
    ok = [doc for status, _, doc in load.answers if status == 200]
    assert ok and {doc["version"] for doc in ok} <= {1, 2}
    # The replacement recorded that the killed worker is gone; the others stopped cleanly.
    assert workers("stopped") == workers("started")
    reasons = {
        d["instance"]: d["reason"] for d in bench.deploys("bench") if d["action"] == "stopped"
    }
    assert "ended without recording its stop" in reasons[victim]
    assert {reasons[i] for i in workers("started") - {victim}} == {"signal SIGTERM"}
    assert audit.verify(bench).ok


def test_two_replicas_on_one_postgresql_store(tmp_path, pg_url, servers, monkeypatch):
    monkeypatch.setenv("MLOPS_NB_DB_URL", pg_url)
    home = tmp_path / "team"
    store = add_bench(Store(home))
    a = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.5")
    b = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.5")
    answered_by_b = b.call("POST", "/predict", {"rows": rows()})[2]["request_id"]
    assert a.call("POST", "/predict", {"rows": rows()})[0] == 200
    # Feedback reaches a replica that did not answer: it waits for the other's batch.
    status, _, doc = a.call("POST", "/feedback", {"request_id": answered_by_b, "value": 9.5})
    assert status == 202, doc
    middle = utcnow()
    registry.promote(store, "bench", 2)
    wait_for(lambda: a.version() == 2 and b.version() == 2, what="both replicas to swap")
    assert a.stop() == 0 and b.stop() == 0
    frame = mlops_nb.predictions("bench", store=store)
    assert frame["request_id"].str.split("-").str[0].nunique() == 2
    assert frame.loc[frame["request_id"] == answered_by_b, "value"].tolist() == [9.5]
    servers_then = mlops_nb.which("bench@production", at=middle, store=store).servers
    assert sorted(s["address"] for s in servers_then) == sorted(
        f"127.0.0.1:{s.port}" for s in (a, b)
    )
    assert audit.verify(store).ok
    store.close()


@pytest.mark.parametrize("model", ["bench", "churn"])
def test_the_served_openapi_document_passes_schemathesis(model, request, home, servers):
    store = request.getfixturevalue("bench" if model == "bench" else "churn_versions")
    if model == "churn":
        registry.promote(store, "churn", 2)
    token = "s3cret-token-for-the-fuzzer"
    served = servers(home, model, "--log-flush", "0.5", env={"MLOPS_NB_SERVE_TOKEN": token})
    fuzz = subprocess.run(
        [str(Path(sys.executable).parent / "schemathesis"), "run",
         f"http://127.0.0.1:{served.port}/openapi.json", "--checks", "all",
         "--header", f"Authorization: Bearer {token}", "--max-examples", "60", "--seed", "1",
         "--workers", "1", "--generation-database", "none", "--no-color"],
        capture_output=True, text=True, timeout=900, cwd=home.parent,
    )  # fmt: skip
    assert fuzz.returncode == 0, fuzz.stdout[-6000:]
    assert " passed" in fuzz.stdout and "failed" not in fuzz.stdout.split("SUMMARY")[-1]
    assert served.call("GET", "/health")[0] == 401  # no token: the fuzzer's traffic proves auth
    served.headers = {"Authorization": f"Bearer {token}"}
    assert served.call("GET", "/health")[0] == 200
    assert served.stop() == 0, served.stderr()
    assert audit.verify(store).ok


def test_bad_requests_do_not_bring_the_server_down(bench, home, servers):
    import socket

    served = servers(home, "bench", "--max-body", "4096")

    def raw(data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
            sock.sendall(data)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    announced = raw(head + b"Content-Length: 1000000000\r\nConnection: close\r\n\r\n")
    assert announced.startswith(b"HTTP/1.1 413") and b'"payload_too_large"' in announced
    not_json = raw(head + b"Content-Length: 5\r\nConnection: close\r\n\r\n{{{{{")
    assert not_json.startswith(b"HTTP/1.1 400") and b'"invalid_input"' in not_json
    assert raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    cut = raw(head + b"Content-Length: 100\r\n\r\n" + json.dumps({"rows": rows()}).encode()[:20])
    assert cut == b"" or cut.startswith(b"HTTP/1.1 4")
    status, _, doc = served.call("POST", "/predict", {"rows": [{"x0": "a"}]})
    assert status == 422 and doc["type"] == "schema_mismatch"
    assert served.call("POST", "/predict", {"rows": rows()})[0] == 200
    assert served.stop() == 0


def test_a_version_the_server_cannot_load_is_refused_with_an_alert(bench, home, servers):
    mlops_nb.add_alert_channel("bench", "log", path=str(home.parent / "alerts.log"), store=bench)
    served = servers(home, "bench", "--poll", "0.2")
    X, _ = numeric_data()
    with tracking.track(bench, "bench", model=numeric_model(0.5), data=X, serializer="pickle"):
        pass
    registry.promote(bench, "bench", 3)
    wait_for(lambda: any(d["action"] == "refused" for d in bench.deploys("bench")),
             what="the refusal")  # fmt: skip
    assert served.version() == 1
    assert served.call("POST", "/predict", {"rows": rows()})[2]["version"] == 1
    alerts = home.parent / "alerts.log"
    delivered = wait_for(lambda: alerts.exists() and alerts.read_text(), what="the alert")
    assert "keeps serving version 1" in delivered
    assert served.stop() == 0
    assert "could not load it" in served.stderr()


def test_a_worker_that_will_not_stop_is_killed_after_the_grace(monkeypatch):
    from mlops_nb.serving import server

    monkeypatch.setattr(server, "STOP_GRACE_S", 0.5)
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker stuck in its shutdown: SIGTERM does nothing
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(ready_write, b".")
        time.sleep(60)
        os._exit(0)
    os.read(ready_read, 1)
    os.close(ready_read)
    os.close(ready_write)
    os.kill(pid, signal.SIGTERM)
    began = time.monotonic()
    status = server._reap({pid: began}, [signal.SIGTERM], lambda: None)
    assert status == 1
    assert time.monotonic() - began < 5
    with pytest.raises(ChildProcessError):  # reaped, not left a zombie
        os.waitpid(pid, os.WNOHANG)


def test_each_worker_writes_its_own_numbers_and_removes_them_when_it_stops(bench, home, servers):
    from mlops_nb.serving.stats import servers_now

    served = servers(home, "bench", "--workers", "2", "--log-flush", "0.5")
    mine = {d["instance"] for d in bench.deploys("bench") if d["server"] == served.info["server"]}
    assert len(mine) == 2 and set(bench.serving_stats()) == mine  # a row each, from the start
    for i in range(30):  # a connection each: the kernel spreads them over the workers
        assert served.call("POST", "/predict", {"rows": rows(i)})[0] == 200
    assert served.call("POST", "/predict", {"rows": [{}]})[0] == 422

    def counted():
        return sum(s["requests_total"] or 0 for s in servers_now(bench))

    wait_for(lambda: counted() == 31, within=60, what="both workers' next numbers")
    listed = servers_now(bench)
    assert {s["instance"] for s in listed} == mine
    assert sum(s["errors_total"] for s in listed) == 1
    assert not any(s["stale"] for s in listed) and {s["version"] for s in listed} == {1}
    assert served.stop() == 0, served.stderr()
    assert servers_now(bench) == [] and bench.serving_stats() == {}
