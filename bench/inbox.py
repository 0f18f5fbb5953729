"""Benchmark: the alert inbox listed from a store holding 10,000 alerts.

Run from the repository root::

    .venv/bin/python bench/inbox.py
    .venv/bin/python bench/inbox.py --alerts 10000 --reps 9 --json bench-inbox.json

The store: 10,000 drift alerts over 100 models in a real SQLite file, written
through the store's own path (``file_alert``, one audit event each, batched
in ``store.transaction()`` blocks), each about its own set of columns so
none groups into another; then 20 % acknowledged and 40 % resolved
(``change_alert``, as :mod:`mlops_nb.monitoring.inbox` records the steps).
The table gives the wall-clock median, min and max over ``--reps`` calls
(after one warm-up), and the median processor time (``cpu ms``: the wall
clock of a quiet machine; the load average is printed above the table), of
:func:`mlops_nb.monitoring.inbox.inbox`, what the CLI's
``alerts inbox --json``, ``mlops_nb.alert_inbox`` and ``GET alerts`` all
call, for the open alerts, all 10,000, one model's, and one page of 50,
against the 100 ms target. Like the other benchmarks, this file imports only
the standard library at module level.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import add_json_option, log, summary, timed, write_json

TARGET_MS = 100.0
MODELS = 100
COLUMNS = [f"c{i:02d}" for i in range(20)]


def build(home: Path, alerts: int) -> Any:
    from mlops_nb.jsonutil import utcnow
    from mlops_nb.store import Store

    store = Store(home)
    if store.alert_inbox(None, ("open", "acknowledged", "resolved"), 1):
        log(f"reusing the alerts of {home}")
        return store
    started = time.perf_counter()
    batch = 500
    for first in range(0, alerts, batch):
        with store.transaction():
            for n in range(first, min(first + batch, alerts)):
                now = utcnow()
                # n's binary digits pick its columns: a different set for each alert of a model
                picked = [c for bit, c in enumerate(COLUMNS) if (n // MODELS + 1) >> bit & 1]
                store.file_alert(
                    {
                        "kind": "drift",
                        "model": f"model-{n % MODELS:03d}",
                        "subject": f"drift_check:{n + 1}",
                        "at": now,
                        "message": f"mlops-nb: drift in model-{n % MODELS:03d}: {picked}",
                        "payload": {"check_id": n + 1, "drifted_columns": picked},
                        "group_columns": picked,
                        "last_check_id": n + 1,
                    },
                    now,
                    "bench",
                )
    with store.transaction():
        for alert_id in range(1, alerts + 1):
            share = alert_id % 10
            if share < 2:
                changes = {"state": "acknowledged", "acked_by": "bench", "acked_at": utcnow()}
                store.change_alert(alert_id, changes, "alert.acknowledged", "bench")
            elif share < 6:
                changes = {
                    "state": "resolved",
                    "resolved_by": "bench",
                    "resolved_at": utcnow(),
                    "decision": "rebaseline",
                    "decision_detail": {},
                }
                store.change_alert(alert_id, changes, "alert.resolved", "bench")
    log(f"built {alerts} alerts in {time.perf_counter() - started:.1f} s")
    return store


def cpu_ms(call: Any) -> float:
    """The processor time of one call (what the wall clock is on a quiet machine)."""
    gc.collect()
    start = time.process_time()
    call()
    return (time.process_time() - start) * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument(
        "--home",
        help="build the store here, or reuse the one built there (default: a temporary folder)",
    )
    add_json_option(parser)
    args = parser.parse_args()
    began = time.perf_counter()
    from mlops_nb.monitoring.inbox import inbox

    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(args.home or tmp) / "store", args.alerts)
        cases = {
            "open (default)": lambda: inbox(store),
            "all states": lambda: inbox(store, state="all"),
            "one model, all": lambda: inbox(store, "model-007", state="all"),
            "open, newest 50": lambda: inbox(store, limit=50),
        }
        rows = []
        for label, call in cases.items():
            count = len(call())
            stats = summary(timed(call, args.reps, warmup=1))
            cpu = statistics.median(cpu_ms(call) for _ in range(args.reps))
            rows.append({"case": label, "items": count, "cpu_median": cpu, **stats})
        store.close()
    print(f"alert inbox, {args.alerts} alerts in SQLite ({platform.machine()}, {sys.version[:6]})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'case':<18} {'items':>6} {'median ms':>10} {'min':>8} {'max':>8} {'cpu ms':>8}  target"
    )
    for row in rows:
        ok = "ok" if row["median"] <= TARGET_MS else "OVER"
        print(
            f"{row['case']:<18} {row['items']:>6} {row['median']:>10.1f} {row['min']:>8.1f} "
            f"{row['max']:>8.1f} {row['cpu_median']:>8.1f}  <= {TARGET_MS:g} ms {ok}"
        )
    meta = {"elapsed_s": round(time.perf_counter() - began, 1), "machine": platform.machine()}
    write_json({"alerts": args.alerts, "reps": args.reps, "rows": rows, "meta": meta}, args.json)


if __name__ == "__main__":
    main()
