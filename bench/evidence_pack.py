"""Benchmark: the evidence pack of a model's year, with weekly drift checks.

Run from the repository root::

    .venv/bin/python bench/evidence_pack.py
    .venv/bin/python bench/evidence_pack.py --reps 7 --json bench-evidence.json

The store: model ``routes`` (:func:`mlops_nb.datasets.make_pool_visits`, a
ridge regression) through 2026 in a real SQLite file, written through the
usual API under the simulated clock (:func:`mlops_nb.jsonutil.simulated_clock`):
a version trained every quarter (4), each promoted to ``staging`` and then to
``production`` behind a gate, a worse candidate refused in the summer, one
rollback, and 52 weekly drift checks of ``routes@production`` whose summer
weeks drift and raise alerts (grouped into a few), resolved (ignored for two
weeks) or acknowledged. The table gives the wall-clock median, min and max over ``--reps``
builds (after one warm-up) of the pack for the whole year, as JSON
(:func:`mlops_nb.evidence.build`, what ``audit report --json`` and
``mlops_nb.audit_report`` call; it includes the full ``audit verify``), the
same with the HTML page rendered, and the summer alone, against the 2 s
target. Like the other benchmarks, this file imports only the standard
library at module level.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import add_json_option, layout, log, summary, timed, write_json

TARGET_MS = 2000.0


def build_year(home: Path) -> tuple[Any, dict[str, int]]:
    from sklearn.linear_model import Ridge

    from mlops_nb import registry, tracking
    from mlops_nb.datasets import make_pool_visits, route_feature_columns
    from mlops_nb.errors import GateFailedError
    from mlops_nb.jsonutil import simulated_clock
    from mlops_nb.monitoring import inbox
    from mlops_nb.monitoring.monitor import check_drift
    from mlops_nb.store import Store

    store = Store(home)
    columns = route_feature_columns()
    os.environ.setdefault("MLOPS_NB_ACTOR", "bench")

    def later(moment: str, days: int) -> str:
        return (dt.datetime.fromisoformat(moment) + dt.timedelta(days=days)).date().isoformat()

    def heat(week: int) -> float:  # June to August hot, the rest mild
        return 0.9 if 22 <= week < 35 else 0.1

    def train(week: int, mae: float) -> None:
        data = make_pool_visits(300, seed=week, heat=heat(week))
        model = Ridge().fit(data[columns], data["minutes"])
        with tracking.track(
            store, "routes", model=model, data=data[columns], target=data["minutes"],
            metrics={"mae": mae},
        ):  # fmt: skip
            pass

    started = time.perf_counter()
    with simulated_clock("2026-01-05T06:00") as clock:
        version = 0
        for week in range(52):
            if week % 13 == 0:  # a version every quarter, better each time
                train(week, 3.0 - 0.2 * version)
                version += 1
                registry.promote(store, "routes", version, alias="staging", reason="quarterly")
                registry.promote(store, "routes", version, require="mae<=production")
            if week == 27:  # a worse candidate in the summer: refused
                train(week, 9.0)
                version += 1
                try:
                    registry.promote(store, "routes", version, require="mae<=production")
                except GateFailedError:
                    pass
            if week == 40:
                registry.rollback(store, "routes", reason="autumn incident")
            batch = make_pool_visits(200, seed=1000 + week, heat=heat(week))
            check_drift(store, "routes@production", batch[columns], batch=f"week {week + 1}")
            if week in (25, 31, 45):  # decide on what is open: rebaseline, then look again
                for item in inbox.inbox(store, "routes", "all"):
                    if item["state"] == "open" and week != 45:
                        inbox.resolve(
                            store, item["alert_id"], "ignore", f"week {week + 1}: seasonal",
                            until=later(clock.now(), 14), actor="ana",
                        )  # fmt: skip
                    elif item["state"] == "open":
                        inbox.ack(store, item["alert_id"], "autumn: looking", actor="ana")
            clock.advance(days=7)
    counts = {
        "checks": len(store.drift_checks("routes")),
        "versions": len(store.list_versions("routes")),
        "alias moves": len(store.alias_changes("routes")),
        "alerts": len(store.list_alerts("routes")),
        "events": store.chain_head()[0],
    }
    log(f"built the year in {time.perf_counter() - started:.1f} s: {counts}")
    return store, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    add_json_option(parser)
    args = parser.parse_args()
    began = time.perf_counter()
    from mlops_nb.evidence import build, report

    with tempfile.TemporaryDirectory() as tmp:
        store, counts = build_year(Path(tmp) / "store")
        year = ("2026-01-01", "2026-12-31")
        cases = {
            "year, JSON": lambda: build(store, "routes", *year),
            "year, JSON + HTML": lambda: report(store, "routes", *year).to_html(),
            "summer, JSON": lambda: build(store, "routes", "2026-06-01", "2026-08-31"),
        }
        sizes = {
            "year, JSON": len(build(store, "routes", *year)["drift_checks"]),
            "year, JSON + HTML": len(report(store, "routes", *year).to_html()),
            "summer, JSON": len(build(store, "routes", "2026-06-01", "2026-08-31")["drift_checks"]),
        }
        rows = []
        for label, call in cases.items():
            rows.append({"case": label, **summary(timed(call, args.reps, warmup=1))})
        store.close()
    print(f"evidence pack of one model's year in SQLite ({platform.machine()}, {sys.version[:6]})")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; store: {counts}")
    table = [
        (
            r["case"],
            f"{r['median']:.0f}",
            f"{r['min']:.0f}",
            f"{r['max']:.0f}",
            f"<= {TARGET_MS:.0f} ms {'ok' if r['median'] <= TARGET_MS else 'OVER'}",
        )
        for r in rows
    ]
    notes = [("sizes", ", ".join(f"{k}: {v}" for k, v in sizes.items()) + " (checks; HTML chars)")]
    for line in layout(("case", "median ms", "min", "max", "target"), table, notes):
        print(line)
    meta = {"elapsed_s": round(time.perf_counter() - began, 1), "machine": platform.machine()}
    write_json({"reps": args.reps, "counts": counts, "rows": rows, "meta": meta}, args.json)


if __name__ == "__main__":
    main()
