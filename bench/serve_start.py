"""Benchmark: how long `mlops-nb serve` takes from start until `/health` answers, for two
checkouts side by side (say main and a change), in interleaved starts.

    .venv/bin/python bench/serve_start.py OLD_CHECKOUT NEW_CHECKOUT [--reps 9]

Each checkout gets its own store (a churn LogisticRegression on 2,000 rows, promoted to
production), made with its own code, so schema versions never mix. Each start is a new
process on a free loopback port, stopped with SIGTERM once it answers. Prints the median
and every run per checkout, and the load average: read it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SETUP = """
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from mlops_nb import registry, tracking
from mlops_nb.datasets import make_churn
from mlops_nb.store import Store
df = make_churn(2000, seed=1)
X = df.drop(columns=["churned"]).select_dtypes("number")
y = df["churned"]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
with Store(HOME) as store:
    with tracking.track(store, "churn", data=X, target=y, model=model):
        pass
    registry.promote(store, "churn", 1)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_once(checkout: str, home: Path) -> float:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": checkout, "MLOPS_NB_HOME": str(home)}
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb", "serve", "churn", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - began
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"serve from {checkout} exited with {proc.returncode}")
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2)
    parser.add_argument("--reps", type=int, default=9)
    opts = parser.parse_args()
    homes = {c: Path(tempfile.mkdtemp(prefix="serve-start-")) / ".mlops" for c in opts.checkouts}
    for checkout, home in homes.items():
        code = SETUP.replace("HOME", repr(str(home)))
        subprocess.run(
            [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": checkout}
        )
    runs: dict[str, list[float]] = {c: [] for c in opts.checkouts}
    for i in range(opts.reps):
        for checkout in opts.checkouts if i % 2 == 0 else opts.checkouts[::-1]:
            runs[checkout].append(start_once(checkout, homes[checkout]))
    print(f"{'checkout':<40} {'median':>8}  runs (s)")
    for checkout, times in runs.items():
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"{checkout:<40} {statistics.median(times):>7.2f}s  {shown}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; target: ready ≤ 2 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
