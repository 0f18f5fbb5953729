"""``mlops-nb serve --engine ray``: the app as a Ray Serve deployment on a local Ray instance.

Run by test_serve_ray.py inside a network namespace of its own that has only
the loopback interface: Ray's own servers (GCS, raylet, workers) listen on
every interface of the machine, and there they can reach none but loopback.

One real server for the whole module (Ray takes a minute to start on two
cores): the CLI in a subprocess, two replicas, a SQLite store with model
``bench`` (version 1 in production, version 2 waiting). The tests run in
order, on that one server: the routes answer as uvicorn's do; a promotion
under load swaps both replicas in place with no failed request; SIGTERM
writes every answered request, records each replica's stop, and leaves no
Ray process behind. Skipped when Ray Serve is absent, a failure under CI.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import warnings
from pathlib import Path

import pytest
from models import add_bench, numeric_data
from models import numeric_rows as rows
from test_serve_process import Load, Served

import mlops_nb
from conftest import skip_or_fail, wait_for
from mlops_nb import registry
from mlops_nb.jsonutil import utcnow
from mlops_nb.store import Store, audit
from mlops_nb.store.location import ENV_ARTIFACTS, ENV_DB_URL

if os.environ.get("MLOPS_NB_TEST_PRIVATE_NETWORK") != "1":
    raise RuntimeError("run through tests/test_serve_ray.py, in a network of loopback only")

try:
    # Only to know it is there (the server imports it, in its own process);
    # Ray's own deprecation warnings are not this project's to fail on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ray.serve  # noqa: F401
except ImportError as exc:
    skip_or_fail(f"Ray Serve is not installed: {exc}")

pytestmark = pytest.mark.slow

#: Every request carries it; it must reach the replicas and be written nowhere.
TOKEN = "ray-replicas-check-this-token-7f3a"


class RayServed(Served):
    # A local Ray instance and two replicas take about a minute here; allow a loaded CI.
    start_timeout = 360.0


class Server:
    """The module's server, its store, and every request id it answered."""

    def __init__(self, store: Store, served: RayServed) -> None:
        self.store, self.served = store, served
        self.answered: dict[str, int] = {}  # request id -> the version that answered
        self.descendants: dict[int, str] = {}  # pid -> command line, taken once serving

    def predict(self, body: dict) -> tuple[int, dict, dict]:
        status, headers, doc = self.served.call("POST", "/predict", body)
        if status == 200:
            self.answered[doc["request_id"]] = doc["version"]
        return status, headers, doc


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


def _descendants(root: int) -> dict[int, str]:
    """Every live process below ``root`` (Linux /proc), with its command line."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        line = _cmdline(pid)
        if line is not None:
            found[pid] = line
        todo.extend(children.get(pid, []))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``bench`` served by ``mlops-nb serve --engine ray --workers 2``; stopped at the end."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_DB_URL, raising=False)
        mp.delenv(ENV_ARTIFACTS, raising=False)
        home = tmp_path_factory.mktemp("ray") / "store"
        mp.setenv("MLOPS_NB_HOME", str(home))
        store = add_bench(Store(home))
        served = RayServed(
            home, "bench", "--engine", "ray", "--workers", "2",
            "--poll", "0.2", "--log-flush", "0.5", env={"MLOPS_NB_SERVE_TOKEN": TOKEN},
        )  # fmt: skip
        served.headers = {"Authorization": f"Bearer {TOKEN}"}
        running = Server(store, served)
        running.descendants = _descendants(served.proc.pid)
        try:
            yield running
        finally:
            if served.proc.poll() is None:
                served.stop(signal.SIGTERM)
            store.close()
            # Whatever of the local Ray outlived a failed stop: this test started it.
            for pid, line in running.descendants.items():
                if _cmdline(pid) == line:
                    os.kill(pid, signal.SIGKILL)


def test_it_reports_the_ray_engine_and_answers_like_the_uvicorn_server(server):
    served = server.served
    assert served.info["engine"] == "ray" and served.info["workers"] == 2
    assert served.info["url"] == f"http://127.0.0.1:{served.port}"
    assert served.info["auth"] == "bearer token"
    served.headers = {}
    try:
        for method, path in (("GET", "/health"), ("POST", "/predict"), ("GET", "/nowhere")):
            status, headers, doc = served.call(method, path, {"rows": rows()})
            assert (status, doc["type"]) == (401, "authentication"), (path, doc)
            assert headers["www-authenticate"] == "Bearer"
    finally:
        served.headers = {"Authorization": f"Bearer {TOKEN}"}
    status, _, health = served.call("GET", "/health")
    assert status == 200
    assert {k: health[k] for k in ("status", "model", "alias", "version")} == {
        "status": "ok", "model": "bench", "alias": "production", "version": 1,
    }  # fmt: skip
    status, headers, doc = server.predict({"rows": rows(0, 2)})
    assert status == 200 and headers["x-model-version"] == "1"
    assert set(doc) >= {"model", "version", "request_id", "predictions", "probabilities"}
    assert len(doc["predictions"]) == 2
    feedback = served.call("POST", "/feedback", {"request_id": doc["request_id"], "label": 1})
    assert feedback[0] == 202, feedback
    # Ray's proxy adds its own X-Request-ID: the response carries one, the log's.
    conn = served.connection()
    try:
        headers = {"Content-Type": "application/json", **served.headers}
        conn.request("POST", "/predict", json.dumps({"rows": rows(0, 1)}), headers)
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 200
        assert response.msg.get_all("X-Request-ID") == [body["request_id"]]
        server.answered[body["request_id"]] = body["version"]  # the log must hold it too
    finally:
        conn.close()
    # The same error objects and status codes as under uvicorn.
    unknown = served.call("POST", "/feedback", {"request_id": "0123456789ab-7", "label": 1})
    assert unknown[0] == 404 and unknown[2]["type"] == "not_found"
    wrong = served.call("POST", "/predict", {"rows": [{"x0": 1.0, "nope": 2.0}]})
    assert wrong[0] == 422 and wrong[2]["type"] == "schema_mismatch"
    assert any("nope" in p for p in wrong[2]["problems"])
    conn = served.connection()
    try:
        conn.request("POST", "/predict", b"{not json", served.headers)
        response = conn.getresponse()
        assert response.status == 400
        assert b'"type": "invalid_input"' in response.read()
    finally:
        conn.close()
    status, _, missing = served.call("GET", "/nowhere")
    assert (status, missing) == (404, {"error": "Not Found", "type": "not_found"})
    status, _, document = served.call("GET", "/openapi.json")
    assert status == 200 and "/predict" in document["paths"]


def _listening() -> list[str]:
    """The local addresses of every listening TCP socket in this network (Linux /proc)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                found.append(fields[1].rsplit(":", 1)[0])
    return found


def test_every_ray_server_is_reachable_through_loopback_only(server):
    # The only interface of this network is loopback, so a socket bound to
    # "every interface" is one more loopback socket; no other address exists.
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    loopback = {
        "0100007F",  # 127.0.0.1
        "00000000000000000000000001000000",  # ::1
        "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
    }
    every = {"00000000", "00000000000000000000000000000000"}  # 0.0.0.0, ::
    addresses = _listening()
    assert len(addresses) > 3, "Ray's GCS, raylet, proxy and workers: is the server up?"
    assert set(addresses) <= loopback | every, addresses
    assert set(addresses) & loopback  # most of Ray binds 127.0.0.1 itself here


def test_a_promotion_swaps_both_replicas_in_place_with_no_failed_request(server):
    served, store = server.served, server.store
    sent = numeric_data()[0].iloc[3:4]
    want = {
        v: registry.load_model(f"bench:{v}", store).predict_proba(sent).tolist() for v in (1, 2)
    }
    load = Load(served, clients=4, body={"rows": rows(3)})
    try:
        wait_for(lambda: load.count() > 100, what="requests before the promotion")
        promoted = time.monotonic()
        registry.promote(store, "bench", 2, reason="ray swap")
        swapped = wait_for(
            lambda: [d for d in store.deploys("bench") if d["action"] == "swapped"][1:],
            within=10.0,
            what="both replicas to swap",
        )
        took = time.monotonic() - promoted
        after = load.count()
        wait_for(lambda: load.count() > after + 100, what="requests after the swap")
    finally:
        load.stop()
    print(f"both replicas swapped {took:.2f} s after the promotion (seen by polling)")
    assert swapped
    assert load.errors == []
    by_instance: dict[str, list[int]] = {}
    for status, headers, doc in load.answers:
        assert status == 200, doc
        version = doc["version"]
        assert headers["x-model-version"] == str(version)
        assert doc["probabilities"] == want[version], "a request mixed two versions"
        by_instance.setdefault(doc["request_id"].split("-")[0], []).append(version)
        server.answered[doc["request_id"]] = version
    # Both replicas answered, each first with version 1 and last with version 2.
    assert len(by_instance) == 2
    for versions in by_instance.values():
        assert versions == sorted(versions) and versions[-1] == 2
    assert served.version() == 2
    # In place: the same two replicas all along, none replaced.
    deploys = store.deploys("bench")
    started = {d["instance"] for d in deploys if d["action"] == "started"}
    assert started == set(by_instance)
    assert sorted((d["instance"], d["from_version"], d["to_version"])
                  for d in deploys if d["action"] == "swapped") == sorted(
        (i, 1, 2) for i in started
    )  # fmt: skip


def test_sigterm_writes_every_answered_request_records_the_stops_and_ends_ray(server):
    served, store = server.served, server.store
    assert served.stop(signal.SIGTERM) == 0, served.stderr()
    assert "Traceback" not in served.stderr() and TOKEN not in served.stderr()
    frame = mlops_nb.predictions("bench", store=store)
    logged = dict(zip(frame["request_id"], frame["version"].astype(int)))
    assert server.answered and set(server.answered) <= set(logged)
    assert {k: logged[k] for k in server.answered} == server.answered
    assert frame["label"].notna().sum() == 2  # the feedback of the first test, both rows
    deploys = store.deploys("bench")
    steps: dict[str, list[str]] = {}
    for d in deploys:
        steps.setdefault(d["instance"], []).append(d["action"])
        assert d["address"] == f"127.0.0.1:{served.port}"
    assert sorted(steps.values()) == [["started", "swapped", "stopped"]] * 2
    assert {d["server"] for d in deploys} == {served.info["server"]}
    assert store.open_instances() == []
    assert mlops_nb.which("bench@production", at=utcnow(), store=store).servers == []
    assert audit.verify(store).ok
    # The local Ray the server started is gone: raylet, GCS, replicas, proxy, controller.
    assert any("raylet" in line for line in server.descendants.values())
    left = {pid: line for pid, line in server.descendants.items() if _cmdline(pid) == line}
    assert left == {}, left
    for pid in {int(d["pid"]) for d in deploys}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # Ray keeps its session folder (logs, sockets) after a stop; the token is in none of it.
    (session,) = {
        part.split("=", 1)[1]
        for line in server.descendants.values()
        for part in line.split()
        if part.startswith("--session-dir=")
    }
    for path in Path(session).rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_cluster_address_nobody_answers_is_one_line_exit_9(cli, bench):
    result = cli("serve", "bench", "--engine", "ray", "--ray-address", "127.0.0.1:1", "--port", "0",
                 timeout=120)  # fmt: skip
    assert result.code == 9, result.err
    lines = result.err.strip().splitlines()
    assert lines == ["mlops-nb: error: no Ray cluster answers at 127.0.0.1:1: Connection refused"]
    assert bench.deploys("bench") == []
