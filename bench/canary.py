"""Simulated canary runs with known effects, judged by the mSPRT business guard.

Each run is a stream of requests; each request goes to the canary with
probability ``share`` and yields a metric value (a conversion: 1 with the
arm's rate, else 0; or a normal revenue value). The guard looks after every
value (:func:`mlops_nb.serving.sequential.first_stop`), exactly as a serving
process may. Printed: for each scenario the share of runs stopped, how many
were stopped the wrong way, and the median requests to a decision, next to
the expected number from :func:`~mlops_nb.serving.sequential.expected_samples`.

    .venv/bin/python bench/canary.py [--runs 200] [--horizon 200000] [--seed 12] [--json FILE]
    .venv/bin/python bench/canary.py --serve [--rounds 6] [--requests 2000]

``--serve`` measures instead what routing and the guards' bookkeeping cost a
real ``mlops-nb serve`` (bench/serve.py's server and client): one server,
rounds of one-row predictions on one keep-alive connection, in pairs: one
round with a canary running (share 0.1, two technical guards and the
feedback metric, so every request is routed, counted and remembered), one
without, in alternating order; the cost is the median over pairs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from mlops_nb.serving import sequential

BASE_RATE = 0.05


def simulate(
    kind: str, effect: float, share: float, runs: int, horizon: int, seed: int
) -> dict[str, object]:
    """``effect``: the canary's relative change of the mean (-0.5: half the sales)."""
    rng = np.random.default_rng(seed)
    stops: list[int] = []
    wrong = 0
    for _ in range(runs):
        arm = rng.random(horizon) < share
        if kind == "conversion":
            rate = np.where(arm, BASE_RATE * (1 + effect), BASE_RATE)
            values = (rng.random(horizon) < rate).astype(float)
        else:  # revenue: normal, mean 20, sd 10
            values = rng.normal(np.where(arm, 20.0 * (1 + effect), 20.0), 10.0)
        index, verdict = sequential.first_stop(arm, values)
        if index is not None:
            stops.append(index + 1)
            if effect == 0 or (verdict == "better") != (effect > 0):
                wrong += 1
    if kind == "conversion":
        sd = (BASE_RATE * (1 - BASE_RATE)) ** 0.5
        standardized = BASE_RATE * effect / sd
    else:
        standardized = 20.0 * effect / 10.0
    expected = sequential.expected_samples(standardized, share) if effect else None
    return {
        "metric": kind,
        "effect": effect,
        "share": share,
        "runs": runs,
        "stopped": len(stops) / runs,
        "wrong_way": wrong / runs,
        "median_requests": statistics.median(stops) if stops else None,
        "expected_requests": expected,
    }


SCENARIOS = [
    ("conversion", 0.0, 0.5),
    ("conversion", 0.0, 0.1),
    ("conversion", -0.5, 0.5),
    ("conversion", -0.5, 0.1),
    ("conversion", -0.2, 0.5),
    ("conversion", -0.2, 0.1),
    ("conversion", 0.2, 0.5),
    ("revenue", 0.0, 0.1),
    ("revenue", -0.1, 0.1),
    ("revenue", -0.05, 0.5),
]


def _start_canary(store) -> None:
    """The canary every routing round runs: version 2 on a tenth of the requests, two
    technical guards and the feedback metric, so each request is routed, counted and
    remembered for its feedback."""
    import mlops_nb

    mlops_nb.deploy_canary(
        "bench", 2, 0.1, guards=["error_rate<=0.05", "p99_ms<=1000"], metric="value", store=store
    )


def _order(i: int) -> tuple[str, str]:
    """Pair ``i``'s rounds, with and without a canary, the first alternating."""
    return ("on", "off") if i % 2 == 0 else ("off", "on")


def measure_in_process(rounds: int, count: int) -> dict[str, object]:
    """Microseconds per ``Runtime.predict`` (no HTTP) with and without a routed canary."""
    import tempfile

    import serve as served  # bench/serve.py

    import mlops_nb
    from mlops_nb.serving.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        served.make_store(home)
        store = mlops_nb.Store(home)
        frame, _ = served.make_data()
        bodies = [
            {"rows": [{c: float(v) for c, v in r.items()}]}
            for r in frame.head(200).to_dict("records")
        ]
        runtime = Runtime(store, "bench", poll=0.1)
        runtime.start()
        try:
            pairs = []
            for i in range(rounds * 2):
                us = {}
                for label in _order(i):
                    if label == "on":
                        _start_canary(store)
                        runtime.router.check_now()
                        assert runtime.router.current is not None
                    started = time.perf_counter()
                    for n in range(count):
                        runtime.predict(bodies[n % len(bodies)])
                    us[label] = (time.perf_counter() - started) / count * 1e6
                    if label == "on":
                        mlops_nb.deploy_abort("bench", "bench round over", store=store)
                        runtime.router.check_now()
                pairs.append((us["on"], us["off"]))
            bookkeeping = _bookkeeping_us(runtime, store, bodies[0], count * 5)
        finally:
            runtime.stop()
            store.close()
    return {
        "us_on": statistics.median(p[0] for p in pairs),
        "us_off": statistics.median(p[1] for p in pairs),
        "in_process_cost": statistics.median(on / off - 1 for on, off in pairs),
        "bookkeeping_us": bookkeeping,
    }


def _bookkeeping_us(runtime: object, store: object, body: dict, count: int) -> float:
    """What routing adds to one request, alone: pick the arm, count the answer,
    remember the arm for feedback (the model's prediction itself excluded)."""
    import mlops_nb

    mlops_nb.deploy_canary("bench", 2, 0.1, metric="value", store=store)
    router = runtime.router  # type: ignore[attr-defined]
    router.check_now()
    route = router.current
    production = runtime.predictor  # type: ignore[attr-defined]
    output = production.predict(production.schema.parse(body))
    started = time.perf_counter()
    for n in range(count):
        _, arm = router.pick(route, production, None)
        arm.answered(0.3, output.predictions)
        router.remember(n, route, arm)
    spent = (time.perf_counter() - started) / count * 1e6
    mlops_nb.deploy_abort("bench", "bench over", store=store)
    return spent


def measure_routing(rounds: int, count: int) -> dict[str, object]:
    import tempfile

    import serve as served  # bench/serve.py

    import mlops_nb

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        served.make_store(home)
        store = mlops_nb.Store(home)
        server = served.mlops_server(home, served.free_port(), 1.0, poll=0.2)
        try:
            server.wait_ready()
            frame, _ = served.make_data()
            rows = [{c: float(v) for c, v in r.items()} for r in frame.head(200).to_dict("records")]
            served.sequential(server, rows, 500)
            pairs = []
            for i in range(rounds * 2):
                rps = {}
                for label in _order(i):
                    if label == "on":
                        _start_canary(store)
                        time.sleep(1.0)  # the server's next poll loads the canary
                    rps[label] = served.sequential(server, rows, count)["rps"]
                    if label == "on":
                        # the arms' counts reach the store at the server's next log flush
                        deadline = time.monotonic() + 15.0
                        while True:
                            status = mlops_nb.deploy_status("bench", store=store)
                            if status["arms"][1]["requests"] > 0 or time.monotonic() > deadline:
                                break
                            time.sleep(0.2)
                        assert status["arms"][1]["requests"] > 0, status
                        mlops_nb.deploy_abort("bench", "bench round over", store=store)
                        time.sleep(1.0)
                pairs.append((rps["on"], rps["off"]))
        finally:
            server.stop()
            store.close()
    ratios = [on / off for on, off in pairs]
    return {
        **measure_in_process(rounds, count),
        "cost": 1 - statistics.median(ratios),
        "rps_on": statistics.median(p[0] for p in pairs),
        "rps_off": statistics.median(p[1] for p in pairs),
        "pairs": pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", action="store_true", help="measure routing's serving cost")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if args.serve:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        found = measure_routing(args.rounds, args.requests)
        print(
            f"one-row predictions, one keep-alive client, {args.rounds * 2} pairs of "
            f"{args.requests} requests:\n"
            f"  without a canary {found['rps_off']:,.0f} req/s, with a routed canary "
            f"{found['rps_on']:,.0f} req/s: routing costs {found['cost']:.1%} (target <= 5 %)\n"
            f"  in process (Runtime.predict, no HTTP): {found['us_off']:.0f} us without, "
            f"{found['us_on']:.0f} us with: {found['in_process_cost']:+.1%}\n"
            f"  routing's own bookkeeping per request (pick, count, remember): "
            f"{found['bookkeeping_us']:.1f} us"
        )
        if args.json:
            args.json.write_text(json.dumps(found, indent=1))
        return
    rows = []
    started = time.perf_counter()
    for i, (kind, effect, share) in enumerate(SCENARIOS):
        print(f"simulating {kind} effect {effect:+.0%} share {share} ...", file=sys.stderr)
        rows.append(simulate(kind, effect, share, args.runs, args.horizon, args.seed + i))
    print(
        f"mSPRT guard, alpha {sequential.ALPHA}, tau {sequential.TAU} sd, at least "
        f"{sequential.MIN_SAMPLES} values per arm; {args.runs} runs of up to {args.horizon:,} "
        f"requests each ({time.perf_counter() - started:.0f} s)\n"
    )
    print(
        f"{'metric':<11} {'effect':>7} {'share':>6} {'stopped':>8} {'wrong':>6} "
        f"{'median req':>11} {'expected':>9}"
    )
    for r in rows:
        median = "-" if r["median_requests"] is None else f"{r['median_requests']:,.0f}"
        expected = "-" if r["expected_requests"] is None else f"{r['expected_requests']:,}"
        print(
            f"{r['metric']:<11} {r['effect']:>+7.0%} {r['share']:>6} {r['stopped']:>8.1%} "
            f"{r['wrong_way']:>6.1%} {median:>11} {expected:>9}"
        )
    nulls = [r for r in rows if r["effect"] == 0]
    worst = max(float(r["stopped"]) for r in nulls)  # type: ignore[arg-type]
    halved = [r for r in rows if r["effect"] == -0.5]
    print(
        f"\nfalse stops on equal candidates: at most {worst:.1%} (target <= 5 %); "
        f"50 % drop stopped in {min(float(r['stopped']) for r in halved):.0%} of runs "  # type: ignore[arg-type]
        "(target: stopped)"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
