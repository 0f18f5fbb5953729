"""Benchmark: promotion requests of a protected alias, asked for, approved and listed.

Run from the repository root::

    .venv/bin/python bench/promotion_requests.py [--requests 1000] [--reps 9] [--json FILE]

A real SQLite store with model ``m`` (two versions, v1 in production) whose
production is protected. Timed, each after a warm-up, wall-clock median, min
and max over ``--reps``: ``promote`` to the protected alias (it opens a
pending request: the gate, the request row and its audit event in one
transaction), ``approve`` by someone else (the gate again, the alias move and
the request's decision in one transaction), and ``requests list`` (what the
CLI's ``--json``, Python and ``GET promotion-requests`` call) of a store
holding ``--requests`` requests, pending and all. Standard library only at
module level, like the other benchmarks.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchkit import add_json_option, log, summary, timed, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=9)
    add_json_option(parser)
    args = parser.parse_args()
    started = time.perf_counter()

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from mlops_nb import tracking
    from mlops_nb.errors import ApprovalRequiredError
    from mlops_nb.registry import promote, requests
    from mlops_nb.store import Store

    home = Path(tempfile.mkdtemp(prefix="bench-requests-")) / ".mlops"
    store = Store(home)
    X = np.arange(40.0).reshape(-1, 1)
    y = (X[:, 0] > 20).astype(int)
    for accuracy in (0.8, 0.9):
        with tracking.track(store, "m", model=LogisticRegression().fit(X, y),
                            metrics={"accuracy": accuracy}):  # fmt: skip
            pass
    promote(store, "m", 1, actor="alice")
    requests.protect(store, "m", "production", actor="admin")

    def ask() -> int:
        try:
            promote(store, "m", 2, require="accuracy>=production", actor="alice")
        except ApprovalRequiredError as exc:
            return int(exc.request["request_id"])
        raise AssertionError("the protected alias moved")

    def withdraw() -> None:
        for item in requests.requests(store, "m"):
            requests.reject(store, item["request_id"], "bench", actor="alice")

    def ask_fresh() -> None:
        withdraw()
        ask()

    asked = []
    for _ in range(args.reps + 1):  # promote: a new pending request each time
        withdraw()
        t0 = time.perf_counter()
        ask()
        asked.append((time.perf_counter() - t0) * 1000)
    approved = []
    for _ in range(args.reps + 1):  # approve: the alias moves; move it back unprotected
        withdraw()
        rid = ask()
        t0 = time.perf_counter()
        requests.approve(store, rid, "ok", actor="bob")
        approved.append((time.perf_counter() - t0) * 1000)
        requests.unprotect(store, "m", "production", actor="admin")
        promote(store, "m", 1, actor="admin")
        requests.protect(store, "m", "production", actor="admin")
    log(f"filling {args.requests} requests")
    while len(requests.requests(store, "m", "all")) < args.requests:
        ask_fresh()
    ask()  # one pending among them
    listed_all = timed(lambda: requests.requests(store, "m", "all"), args.reps, warmup=1)
    listed_pending = timed(lambda: requests.requests(store, None, "pending"), args.reps, warmup=1)
    results = {
        "meta": {
            "requests": args.requests,
            "reps": args.reps,
            "load_average": os.getloadavg()[0],
            "elapsed_s": round(time.perf_counter() - started, 1),
        },
        "promote_to_protected_ms": summary(asked[1:]),
        "approve_ms": summary(approved[1:]),
        "list_all_ms": summary(listed_all),
        "list_pending_ms": summary(listed_pending),
    }
    print(f"load average {results['meta']['load_average']:.1f}; {args.requests} requests")
    for key in ("promote_to_protected_ms", "approve_ms", "list_all_ms", "list_pending_ms"):
        s = results[key]
        print(f"{key:<26} median {s['median']:8.1f}  min {s['min']:8.1f}  max {s['max']:8.1f}")
    write_json(results, args.json)
    store.close()


if __name__ == "__main__":
    main()
