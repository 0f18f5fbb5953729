"""Benchmark: the prediction server, side by side with ``mlflow models serve``.

Run from the repository root::

    .venv/bin/python bench/serve.py --mlflow-python bench/.venv-mlflow/bin/python
    .venv/bin/python bench/serve.py                   # MLflow column: skipped
    .venv/bin/python bench/serve.py --json bench-serve.json

Both servers serve the same model: a LogisticRegression on five float
columns (2,000 rows), registered as ``bench@production`` in each one's
registry, one worker, on 127.0.0.1. One client (this process, ``http.client``
keep-alive connections) drives both. Every measurement is repeated and the
table shows medians; the machine is assumed noisy, so compare the columns
of one run, not runs of different days.

What it measures (targets at the top of this file; bench/README.md says how):

- ready after start: spawn, then poll the health route every 10 ms until it answers;
- one-row predictions on one keep-alive connection: client round trip p50/p99 and
  requests per second, and mlops-nb's own time per request from its prediction log;
- 8 concurrent clients: requests per second, p50/p99;
- what the log costs: the log on and off, two servers at once, rounds alternating;
- 20 alias flips under 8 clients: failed or mixed answers, and how long each swap
  took to show on ``/health``;
- the log's memory over 1M records fed to one ``PredictionLog``, as the request path does.

The MLflow half: ``--mlflow-python PATH`` is the interpreter of a venv with
mlflow (see bench/README.md); this same file runs there in a child mode
(standard library only at the top) to register the model, and ``mlflow
models serve --env-manager local -w 1`` runs next to it. Without it, or if
it fails, the MLflow column reads "skipped" and the figures measured for
the research note on this machine class are printed as the reference
(ready 11.8 s, p50 1.0 ms, ~900 req/s sequential). Load goes to loopback
only and every phase ends by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchkit import add_json_option, emit, layout, log, rss_bytes, write_json

ROWS = 2_000
SEED = 0
FEATURES = [f"x{i}" for i in range(5)]

TARGET_READY_S = 2.0
TARGET_SERVER_P50_MS = 0.5
TARGET_RATIO = 2.0
TARGET_LOG_COST = 0.10
TARGET_SWAP_S = 2.0
#: What the research note measured for ``mlflow models serve`` on this machine class.
MLFLOW_REFERENCE = {"ready_s": 11.8, "p50_ms": 1.0, "rps": 900.0}


# -- shared helpers (any interpreter) --------------------------------------------------


def make_data(rows: int = ROWS, seed: int = SEED) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((rows, len(FEATURES))), columns=FEATURES)
    target = pd.Series((frame.sum(axis=1) > 0).astype("int64"), name="y")
    return frame, target


def fit(C: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    frame, target = make_data()
    return LogisticRegression(C=C).fit(frame, target)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_mlflow_setup(root: str) -> None:
    """In MLflow's venv: register the same model as ``bench`` with alias ``production``."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    frame, _ = make_data()
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    experiment = mlflow.create_experiment("bench", artifact_location=Path(root, "art").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(
            fit(1.0), name="model", registered_model_name="bench", input_example=frame.head(2)
        )
    MlflowClient().set_registered_model_alias("bench", "production", "1")
    emit({"mlflow": mlflow.__version__, "model_uri": info.model_uri})


# -- servers ------------------------------------------------------------------------------


class Server:
    """A server process on 127.0.0.1:port, and how to talk to it."""

    def __init__(self, kind: str, cmd: list[str], port: int, env: dict[str, str]) -> None:
        self.kind, self.port = kind, port
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self.health = "/health" if kind == "mlops-nb" else "/ping"
        self.path = "/predict" if kind == "mlops-nb" else "/invocations"

    def wait_ready(self, timeout: float = 180.0) -> float:
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"{self.kind} server exited: {err[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.health)
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - self.started
                conn.close()
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{self.kind} server not ready after {timeout} s")

    def body(self, row: dict[str, float]) -> bytes:
        if self.kind == "mlops-nb":
            return json.dumps({"rows": [row]}).encode()
        return json.dumps({"dataframe_records": [row]}).encode()

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system, all its threads)."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss(self) -> int | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()
        finally:
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def mlops_server(home: Path, port: int, sample: float = 1.0, poll: float = 0.5) -> Server:
    cmd = [
        sys.executable, "-c",
        "import sys\n"
        "from mlops_nb.store.location import StoreLocation\n"
        "from mlops_nb.serving.server import ServeOptions, serve\n"
        "options = ServeOptions(ref='bench', port=int(sys.argv[2]), sample=float(sys.argv[3]),\n"
        "                       poll=float(sys.argv[4]))\n"
        "sys.exit(serve(StoreLocation.resolve(sys.argv[1]), options))\n",
        str(home), str(port), str(sample), str(poll),
    ]  # fmt: skip
    return Server("mlops-nb", cmd, port, dict(os.environ))


def mlflow_server(opts: argparse.Namespace, root: Path, port: int) -> Server:
    exe = str(Path(opts.mlflow_python).parent / "mlflow")
    cmd = [exe, "models", "serve", "-m", "models:/bench@production", "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port), "-w", "1"]  # fmt: skip
    env = {
        **os.environ,
        # MLflow starts `uvicorn` from PATH, as in an activated venv.
        "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "PYTHONWARNINGS": "ignore",
    }
    return Server("mlflow", cmd, port, env)


# -- clients ------------------------------------------------------------------------------


def sequential(server: Server, rows: list[dict[str, float]], count: int) -> dict[str, Any]:
    """``count`` one-row predictions on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    bodies = [server.body(rows[i % len(rows)]) for i in range(count)]
    times = []
    ids = []
    for body in bodies:
        start = time.perf_counter()
        conn.request("POST", server.path, body, headers)
        response = conn.getresponse()
        payload = response.read()
        times.append((time.perf_counter() - start) * 1000.0)
        if response.status != 200:
            raise RuntimeError(f"{server.kind} answered {response.status}: {payload[:300]!r}")
        rid = response.getheader("X-Request-ID")
        if rid:
            ids.append(rid)
    conn.close()
    return {"ms": times, "ids": ids, "rps": count / (sum(times) / 1000.0)}


def concurrent(server: Server, rows: list[dict[str, float]], clients: int, seconds: float) -> dict:
    stop = threading.Event()
    lock = threading.Lock()
    times: list[float] = []
    errors: list[str] = []

    def run(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        body = server.body(rows[n % len(rows)])
        mine = []
        while not stop.is_set():
            start = time.perf_counter()
            try:
                conn.request("POST", server.path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                with lock:
                    errors.append(str(exc))
            if ok:
                mine.append((time.perf_counter() - start) * 1000.0)
        conn.close()
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"rps": len(times) / elapsed, **percentiles(times), "errors": len(errors)}


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


# -- phases -----------------------------------------------------------------------------------


def make_store(home: Path) -> None:
    import mlops_nb

    store = mlops_nb.Store(home)
    frame, target = make_data()
    for C in (1.0, 0.01):
        with mlops_nb.track("bench", store=store, model=fit(C), data=frame, target=target):
            pass
    mlops_nb.promote("bench", 1, store=store)
    store.close()


def measure_ready(opts: argparse.Namespace, home: Path, mlroot: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {"mlops-nb": []}
    for i in range(opts.starts):
        log(f"  ready: mlops-nb start {i + 1}/{opts.starts}")
        server = mlops_server(home, free_port())
        out["mlops-nb"].append(server.wait_ready())
        server.stop()
    if mlroot is not None:
        out["mlflow"] = []
        for i in range(opts.starts):
            log(f"  ready: mlflow start {i + 1}/{opts.starts}")
            server = mlflow_server(opts, mlroot, free_port())
            out["mlflow"].append(server.wait_ready())
            server.stop()
    return out


def measure_speed(opts: argparse.Namespace, home: Path, mlroot: Path | None) -> dict[str, Any]:
    import mlops_nb

    frame, _ = make_data()
    rows = [{c: float(v) for c, v in r.items()} for r in frame.head(200).to_dict("records")]
    out: dict[str, Any] = {}
    kinds = ["mlops-nb"] + (["mlflow"] if mlroot is not None else [])
    for kind in kinds:
        server = (
            mlops_server(home, free_port()) if kind == "mlops-nb"
            else mlflow_server(opts, mlroot, free_port())  # type: ignore[arg-type]
        )  # fmt: skip
        server.wait_ready()
        log(f"  {kind}: warm-up, then {opts.rounds} x {opts.requests} sequential requests")
        sequential(server, rows, 500)
        rss_before = server.rss()
        rounds = [sequential(server, rows, opts.requests) for _ in range(opts.rounds)]
        log(f"  {kind}: 8 clients for {opts.seconds} s")
        busy = concurrent(server, rows, 8, opts.seconds)
        rss_after = server.rss()
        server.stop()
        result = {
            "p50_ms": statistics.median(percentiles(r["ms"])["p50_ms"] for r in rounds),
            "p99_ms": statistics.median(percentiles(r["ms"])["p99_ms"] for r in rounds),
            "rps": statistics.median(r["rps"] for r in rounds),
            "rounds_rps": [r["rps"] for r in rounds],
            "concurrent": busy,
            "rss_before": rss_before,
            "rss_after": rss_after,
        }
        if kind == "mlops-nb":
            logged = mlops_nb.predictions("bench", home=str(home), feedback=False)
            measured = {rid for r in rounds for rid in r["ids"]}
            mine = logged[logged["request_id"].isin(measured)]
            per_round = [
                statistics.median(mine[mine["request_id"].isin(set(r["ids"]))]["latency_ms"])
                for r in rounds
            ]
            result["server_p50_ms"] = statistics.median(per_round)
            result["logged"] = len(mine)
            result["measured"] = len(measured)
        out[kind] = result
    return out


def measure_log_cost(opts: argparse.Namespace, home: Path) -> dict[str, Any]:
    """Two servers at once, the log on and off; rounds in pairs, each pair in turn order.

    On a shared machine the throughput of two rounds far apart is not comparable, so
    the cost is the median over pairs of adjacent rounds; the servers' own CPU time
    per request (threads included: the log's writer too) is reported beside it.
    """
    frame, _ = make_data()
    rows = [{c: float(v) for c, v in r.items()} for r in frame.head(200).to_dict("records")]
    on, off = mlops_server(home, free_port(), 1.0), mlops_server(home, free_port(), 0.0)
    on.wait_ready()
    off.wait_ready()
    sequential(on, rows, 500)
    sequential(off, rows, 500)
    count = max(200, opts.requests // 3)
    pairs, cpu = [], {"on": 0.0, "off": 0.0}
    for i in range(opts.rounds * 4):
        order = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
        rps = {}
        for label, server in order:
            used = server.cpu_s()
            rps[label] = sequential(server, rows, count)["rps"]
            cpu[label] += server.cpu_s() - used
        pairs.append((rps["on"], rps["off"]))
    on.stop()
    off.stop()
    ratios = [a / b for a, b in pairs]
    requests = count * len(pairs)
    return {
        "cost": 1 - statistics.median(ratios),
        "pairs": pairs,
        "cpu_us_on": cpu["on"] / requests * 1e6,
        "cpu_us_off": cpu["off"] / requests * 1e6,
        "cpu_cost": cpu["on"] / cpu["off"] - 1,
    }


def measure_flips(opts: argparse.Namespace, home: Path) -> dict[str, Any]:
    import mlops_nb
    from mlops_nb import registry

    frame, _ = make_data()
    rows = [{c: float(v) for c, v in r.items()} for r in frame.head(200).to_dict("records")]
    server = mlops_server(home, free_port())
    server.wait_ready()
    store = mlops_nb.Store(home)
    stop = threading.Event()
    lock = threading.Lock()
    answers = {"ok": 0, "errors": 0, "mismatched": 0}

    def load(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        body = server.body(rows[n])
        while not stop.is_set():
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                doc = json.loads(response.read())
                good = response.status == 200
                same = good and str(doc["version"]) == response.getheader("X-Model-Version")
                with lock:
                    answers["ok" if good else "errors"] += 1
                    answers["mismatched"] += good and not same
            except (OSError, http.client.HTTPException, ValueError):
                with lock:
                    answers["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    visible = []
    watch = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        for flip in range(opts.flips):
            target = 2 if flip % 2 == 0 else 1
            if target == 2:
                registry.promote(store, "bench", 2, reason="bench flip")
            else:
                registry.rollback(store, "bench", reason="bench flip")
            moved = time.perf_counter()
            while True:
                watch.request("GET", "/health")
                if json.loads(watch.getresponse().read())["version"] == target:
                    break
                if time.perf_counter() - moved > 30:
                    raise RuntimeError("the swap did not show within 30 s")
                time.sleep(0.005)
            visible.append(time.perf_counter() - moved)
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        watch.close()
        server.stop()
    swapped = sum(d["action"] == "swapped" for d in store.deploys("bench"))
    store.close()
    return {
        **answers,
        "flips": opts.flips,
        "swaps_recorded": swapped,
        "visible_s": visible,
        "visible_median_s": statistics.median(visible),
        "visible_max_s": max(visible),
    }


def measure_log_memory(opts: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """A PredictionLog fed ``opts.log_records`` one-row records, as the request path feeds it."""
    import gc

    import mlops_nb
    from mlops_nb.serving.inputs import Rows
    from mlops_nb.serving.log import Prediction, PredictionLog
    from mlops_nb.serving.predictor import Predictor

    home = tmp / "memory"
    make_store(home)
    store = mlops_nb.Store(home)
    predictor = Predictor.load(store, "bench", 1)
    frame, _ = make_data()
    first = [{c: [float(frame.iloc[i][c])] for c in FEATURES} for i in range(100)]
    output = predictor.predict(Rows(first[0], 1))
    plog = PredictionLog(store, "bench", "b" * 12, flush_every=1.0)
    plog.start()
    samples = []
    gc.collect()
    base = rss_bytes() or 0
    started = time.perf_counter()
    for n in range(1, opts.log_records + 1):
        columns = {c: list(v) for c, v in first[n % 100].items()}  # a fresh record each time
        plog.add(Prediction(n, f"{'b' * 12}-{n}", time.time(), predictor, Rows(columns, 1),
                            output, 0.3))  # fmt: skip
        if n % 100_000 == 0:
            samples.append({"records": n, "rss": rss_bytes() or 0, "pending": plog.pending_rows})
        while plog.pending_rows > plog.batch_rows * 1.5:  # the writer keeps up, as in serving
            time.sleep(0.001)
    plog.close()
    elapsed = time.perf_counter() - started
    written = plog.rows_written
    batches = len(store.log_batches("bench"))
    store.close()
    rss = [s["rss"] for s in samples]
    return {
        "records": opts.log_records,
        "written": written,
        "batches": batches,
        "elapsed_s": elapsed,
        "base_rss": base,
        "samples": samples,
        "growth_first_to_last": rss[-1] - rss[0] if rss else 0,
        "peak_over_base": max(rss) - base if rss else 0,
    }


# -- the table ----------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    speed, ready = results["speed"], results["ready"]
    mine, theirs = speed["mlops-nb"], speed.get("mlflow")
    ref = MLFLOW_REFERENCE
    rows: list[tuple[str, ...]] = []
    notes: list[tuple[str, str]] = []

    def add(label: str, ours: str, other: str = "", target: str = "", ok: bool | None = None):
        rows.append((label, ours, other, target, "" if ok is None else "yes" if ok else "NO"))

    def their(key: str, fmt: str, unit: str = "") -> str:
        return "skipped" if theirs is None else format(theirs[key], fmt) + unit

    ready_mine = statistics.median(ready["mlops-nb"])
    ready_theirs = f"{statistics.median(ready['mlflow']):.2f} s" if "mlflow" in ready else "skipped"
    add("ready after start (median)", f"{ready_mine:.2f} s", ready_theirs,
        f"<= {TARGET_READY_S:g} s", ready_mine <= TARGET_READY_S)  # fmt: skip
    add(
        "sequential p50, client round trip",
        f"{mine['p50_ms']:.3f} ms",
        their("p50_ms", ".3f", " ms"),
    )
    add(
        "sequential p99, client round trip",
        f"{mine['p99_ms']:.3f} ms",
        their("p99_ms", ".3f", " ms"),
    )
    server = mine["server_p50_ms"]
    add("server time p50 (from the log), logging on", f"{server:.3f} ms", "",
        f"<= {TARGET_SERVER_P50_MS:g} ms", server <= TARGET_SERVER_P50_MS)  # fmt: skip
    add("sequential req/s", f"{mine['rps']:,.0f}", their("rps", ",.0f"))
    base = ref["rps"] if theirs is None else theirs["rps"]
    ratio = mine["rps"] / base
    label = "req/s ratio mlops-nb / MLflow" + (" (reference)" if theirs is None else "")
    add(label, f"{ratio:.2f}x", "", f">= {TARGET_RATIO:g}x", ratio >= TARGET_RATIO)
    busy = mine["concurrent"]
    other = theirs["concurrent"] if theirs else None
    add("8 clients: req/s", f"{busy['rps']:,.0f}", f"{other['rps']:,.0f}" if other else "skipped")
    add(
        "8 clients: p50 / p99",
        f"{busy['p50_ms']:.2f} / {busy['p99_ms']:.2f} ms",
        f"{other['p50_ms']:.2f} / {other['p99_ms']:.2f} ms" if other else "skipped",
    )
    cost = results["log_cost"]
    add("log cost: 1 - req/s with / without (paired rounds)", f"{cost['cost'] * 100:.1f} %", "",
        f"<= {TARGET_LOG_COST * 100:g} %", cost["cost"] <= TARGET_LOG_COST)  # fmt: skip
    add("log cost: server CPU per request, with / without",
        f"{cost['cpu_us_on']:.0f} / {cost['cpu_us_off']:.0f} us "
        f"({cost['cpu_cost'] * 100:+.1f} %)")  # fmt: skip
    flips = results["flips"]
    add(f"{flips['flips']} alias flips, 8 clients: failed / mixed",
        f"{flips['errors']} / {flips['mismatched']} of {flips['ok']:,}", "", "0",
        flips["errors"] == 0 and flips["mismatched"] == 0)  # fmt: skip
    add("swap visible after the move: median / max",
        f"{flips['visible_median_s']:.2f} / {flips['visible_max_s']:.2f} s", "",
        f"<= {TARGET_SWAP_S:g} s", flips["visible_max_s"] <= TARGET_SWAP_S)  # fmt: skip
    memory = results["log_memory"]
    mb = 1 / (1 << 20)
    add(f"log memory, {memory['records']:,} records: 100k -> end",
        f"{memory['growth_first_to_last'] * mb:+.1f} MB", "", "flat")  # fmt: skip
    if theirs is None:
        notes.append(
            (
                "MLflow",
                f"{results.get('mlflow_skipped', 'skipped')}; reference figures: ready "
                f"{ref['ready_s']} s, p50 {ref['p50_ms']} ms, ~{ref['rps']:.0f} req/s sequential",
            )
        )
    lines = layout(("measurement", "mlops-nb", "MLflow", "target", "ok"), rows, notes)
    meta = results["meta"]
    rss = [
        f"{k} {v['rss_before'] * mb:.0f} / {v['rss_after'] * mb:.0f} MB"
        for k, v in speed.items()
        if v.get("rss_before") and v.get("rss_after")
    ]
    lines += [
        "",
        f"sequential: {meta['rounds']} rounds x {meta['requests']:,} requests after a "
        f"500-request warm-up; 8 clients for {meta['seconds']} s; medians of the rounds",
        f"the log after the speed runs holds {mine['logged']:,} of the "
        f"{mine['measured']:,} measured requests",
        "server RSS before / after the speed runs: " + ", ".join(rss),
        f"log memory: {memory['written']:,} rows in {memory['batches']} batches in "
        f"{memory['elapsed_s']:.1f} s; RSS above the start at each 100k: "
        + ", ".join(f"{(s['rss'] - memory['base_rss']) * mb:.0f}" for s in memory["samples"])
        + " MB",
        "log cost pairs (req/s with, without): "
        + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in cost["pairs"]),
        "ready samples (s): "
        + "; ".join(f"{k} {[round(x, 2) for x in v]}" for k, v in ready.items()),
        "versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, load {meta['load']}",
    ]
    return "\n".join(lines)


def setup_mlflow(opts: argparse.Namespace, tmp: Path) -> tuple[Path | None, dict[str, Any]]:
    if opts.skip_mlflow or not opts.mlflow_python:
        return None, {"skipped": "skipped (no --mlflow-python)" if not opts.skip_mlflow
                      else "skipped (--skip-mlflow)"}  # fmt: skip
    root = tmp / "mlflow"
    root.mkdir()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
           "PYTHONWARNINGS": "ignore"}  # fmt: skip
    proc = subprocess.run(
        [opts.mlflow_python, str(Path(__file__).resolve()), "--child", "mlflow-setup", str(root)],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return None, {"skipped": f"skipped (MLflow setup failed: {tail})"}
    return root, json.loads(lines[-1])


def versions() -> dict[str, str]:
    import sklearn
    import starlette
    import uvicorn

    import mlops_nb

    return {
        "python": platform.python_version(),
        "mlops_nb": mlops_nb.__version__,
        "scikit-learn": sklearn.__version__,
        "starlette": starlette.__version__,
        "uvicorn": uvicorn.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_option(parser)
    parser.add_argument("--mlflow-python", metavar="PATH", help="python of a venv with mlflow")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--starts", type=int, default=3, help="starts per server (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="sequential rounds (default 3)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--seconds", type=float, default=5.0, help="8-client phase length")
    parser.add_argument("--flips", type=int, default=20, help="alias flips (default 20)")
    parser.add_argument("--log-records", type=int, default=1_000_000)
    parser.add_argument("--child", choices=("mlflow-setup",), help=argparse.SUPPRESS)
    parser.add_argument("root", nargs="?", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child == "mlflow-setup":
        child_mlflow_setup(opts.root)
        return 0

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-serve-") as tmpdir:
        tmp = Path(tmpdir)
        os.environ["MLOPS_NB_HOME"] = str(tmp / "default-home")
        home = tmp / "store"
        log("setting up: the model in mlops-nb's registry and in MLflow's")
        make_store(home)
        mlroot, mlflow_info = setup_mlflow(opts, tmp)
        log("1/5 ready after start")
        ready = measure_ready(opts, home, mlroot)
        log("2/5 sequential and concurrent requests")
        speed = measure_speed(opts, home, mlroot)
        log("3/5 what the log costs")
        log_cost = measure_log_cost(opts, home)
        log("4/5 alias flips under load")
        flips = measure_flips(opts, home)
        log(f"5/5 log memory over {opts.log_records:,} records")
        memory = measure_log_memory(opts, tmp)
    results: dict[str, Any] = {
        "meta": {
            "rounds": opts.rounds,
            "requests": opts.requests,
            "seconds": opts.seconds,
            "versions": {**versions(), **{k: v for k, v in mlflow_info.items() if k == "mlflow"}},
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "elapsed_s": round(time.perf_counter() - began, 1),
        },
        "ready": ready,
        "speed": speed,
        "log_cost": log_cost,
        "flips": flips,
        "log_memory": memory,
    }
    if "skipped" in mlflow_info:
        results["mlflow_skipped"] = mlflow_info["skipped"]
    for kind in speed.values():
        kind.pop("ids", None)
    table = render(results)
    print(table, file=sys.stderr if opts.json == "-" else sys.stdout)
    write_json(results, opts.json)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
