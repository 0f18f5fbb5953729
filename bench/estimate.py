"""Benchmark: how close the label-free accuracy estimate is to the realised one, and its cost.

    .venv/bin/python bench/estimate.py                  # accuracy table and timing
    .venv/bin/python bench/estimate.py --seeds 3 --timing-reps 3 --json bench-estimate.json

Accuracy: synthetic binary data with a fixed labelling rule P(y=1 | x) (four numeric
features, an interaction, label noise). Each seed trains a logistic regression and a
histogram gradient boosting classifier on 5,000 rows and tracks them with a 2,000-row
holdout (so the version stores its calibration map). Batches of 20,000 rows then move the
covariates by several amounts, with the rule unchanged (covariate shift):

* ``toward``: the features' means move toward the decision boundary (accuracy falls);
* ``away``: they move away from it (accuracy rises);
* ``squeeze``: the two strongest features shrink toward the boundary (accuracy falls).

For each model, shift and amount: the median over the seeds of the estimated accuracy, the
realised accuracy (the batch's labels, never shown to the estimate) and the absolute error.
One *concept drift* row keeps the features where they were and flips the sign of one
feature's effect: the realised accuracy falls and the estimate, which cannot see labels,
does not; it documents the method's limit.

Timing: a 100k-row, 20-column batch (bench/drift.py's frames and model) checked with
``check_drift`` against two versions of one model, tracked without and with a holdout;
the median difference is what the estimate adds to a check (with the model scoring the
batch, and with scores given, as from a prediction log).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import add_json_option, log, summary, timed, write_json

AMOUNTS = (0.0, 0.5, 1.0, 1.5, 2.0)
SHIFTS = ("toward", "away", "squeeze")
TRAIN, HOLDOUT, BATCH = 5_000, 2_000, 20_000


def features(rng: Any, rows: int, shift: str = "none", amount: float = 0.0) -> Any:
    import pandas as pd

    x = rng.normal(0.0, 1.0, (rows, 4))
    x[:, 0] += 1.0  # training data mostly on the positive side: room to move toward the boundary
    if shift == "toward":
        x[:, 0] -= amount * 0.5
        x[:, 1] += amount * 0.3
    elif shift == "away":
        x[:, 0] += amount * 0.5
    elif shift == "squeeze":
        x[:, 0] = 0.3 + (x[:, 0] - 0.3) / (1.0 + amount)
        x[:, 1] = x[:, 1] / (1.0 + amount)
    return pd.DataFrame(x, columns=["f0", "f1", "f2", "f3"])


def labels(rng: Any, x: Any, concept: bool = False) -> Any:
    import numpy as np

    sign = -1.0 if concept else 1.0
    logit = 2.0 * x.f0 - sign * 1.5 * x.f1 + 0.8 * x.f2 * x.f3 - 0.6
    return (rng.random(len(x)) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))).astype(int)


def models() -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    return {
        "logistic": lambda: LogisticRegression(),
        "hist_gbm": lambda: HistGradientBoostingClassifier(max_iter=100, random_state=0),
    }


def accuracy_rows(seeds: int) -> list[dict[str, Any]]:
    import numpy as np

    import mlops_nb

    cases = [(s, a) for s in SHIFTS for a in AMOUNTS if a or s == SHIFTS[0]] + [("concept", 0.0)]
    found: dict[tuple[str, str, float], list[tuple[float, float]]] = {}
    for seed in range(seeds):
        home = tempfile.mkdtemp(prefix="mlops-est-")
        rng = np.random.default_rng([20_261_130, seed])
        x, xh = features(rng, TRAIN), features(rng, HOLDOUT)
        y, yh = labels(rng, x), labels(rng, xh)
        for name, make in models().items():
            model = make().fit(x, y)
            with mlops_nb.track(name, model=model, data=x, target=y, holdout=(xh, yh), home=home):
                pass
            for shift, amount in cases:
                xb = features(rng, BATCH, "none" if shift == "concept" else shift, amount)
                yb = labels(rng, xb, concept=shift == "concept")
                report = mlops_nb.check_drift(name, xb, home=home, record=False)
                est = report.estimated_performance["accuracy"]
                real = float((model.predict(xb) == yb).mean())
                found.setdefault((name, shift, amount), []).append((est, real))
        log(f"seed {seed + 1}/{seeds} done")
    rows = []
    for (name, shift, amount), pairs in found.items():
        rows.append(
            {
                "model": name,
                "shift": shift,
                "amount": amount,
                "estimated": statistics.median(p[0] for p in pairs),
                "realised": statistics.median(p[1] for p in pairs),
                "abs_error": statistics.median(abs(p[0] - p[1]) for p in pairs),
                "max_abs_error": max(abs(p[0] - p[1]) for p in pairs),
            }
        )
    return rows


def timing(reps: int) -> dict[str, Any]:
    """What the estimate adds to a 100k x 20 check (bench/drift.py's frames and model)."""
    from drift import COLUMNS, make_frames, registered_model

    import mlops_nb

    ref, cur, plan = make_frames(100_000, *COLUMNS[20])
    home = tempfile.mkdtemp(prefix="mlops-est-time-")
    store = mlops_nb.get_store(home)
    model = registered_model(store, "plain", ref, plan)
    label = (ref[next(c["name"] for c in plan if c["kind"] == "numeric")] > 0).astype(int)
    with mlops_nb.track(
        "calibrated",
        model=model,
        data=ref,
        target=label,
        holdout=(ref.iloc[-5_000:], label.iloc[-5_000:]),
        store=store,
    ):
        pass
    scores = model.predict_proba(cur)[:, 1]
    from mlops_nb.monitoring.estimate import estimate
    from mlops_nb.monitoring.estimate_check import load_calibration
    from mlops_nb.monitoring.monitor import load_profile

    version = mlops_nb.registry.resolve(store, "calibrated")
    doc, _ = load_calibration(store, version)
    profile = load_profile(store, version)
    out: dict[str, Any] = {
        "estimate alone": summary(
            timed(lambda: estimate(model, cur, doc, profile=profile, scores=scores), reps * 3, 1)
        )
    }
    for row, extra in (("model scores", {}), ("scores given", {"predictions": scores})):
        samples: dict[str, list[float]] = {"plain": [], "calibrated": []}
        for name in samples:  # first calls: model and profile loads, untimed
            mlops_nb.check_drift(name, cur, store=store, trigger=False, **extra)
        for _ in range(reps):  # interleaved, so load on the machine hits both alike
            for name in samples:
                samples[name] += timed(
                    lambda name=name, extra=extra: mlops_nb.check_drift(
                        name, cur, store=store, trigger=False, **extra
                    ),
                    1,
                )
        out[row] = {name: summary(s) for name, s in samples.items()}
        out[row]["added_ms"] = statistics.median(samples["calibrated"]) - statistics.median(
            samples["plain"]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--timing-reps", type=int, default=7)
    parser.add_argument("--skip-timing", action="store_true")
    add_json_option(parser)
    opts = parser.parse_args()
    started = time.perf_counter()
    rows = accuracy_rows(opts.seeds) if opts.seeds else []
    out = sys.stderr if opts.json == "-" else sys.stdout
    print(
        f"estimated vs realised accuracy, median over {opts.seeds} seeds, {BATCH:,} rows a batch",
        file=out,
    )
    print(
        f"{'model':<10} {'shift':<8} {'amount':>6} {'estimated':>9} {'realised':>9} "
        f"{'|error|':>8} {'max':>7}",
        file=out,
    )
    for r in rows:
        print(
            f"{r['model']:<10} {r['shift']:<8} {r['amount']:>6.1f} {r['estimated']:>9.4f} "
            f"{r['realised']:>9.4f} {r['abs_error']:>8.4f} {r['max_abs_error']:>7.4f}",
            file=out,
        )
    covariate = [r["abs_error"] for r in rows if r["shift"] != "concept"] or [0.0]
    print(
        f"covariate shift: median |error| {statistics.median(covariate):.4f}, "
        f"largest median |error| {max(covariate):.4f}",
        file=out,
    )
    result: dict[str, Any] = {"accuracy": rows}
    if not opts.skip_timing:
        log(f"timing: {opts.timing_reps} interleaved checks of 100k x 20 rows per version")
        result["timing"] = timing(opts.timing_reps)
        result["estimate_alone_ms"] = result["timing"]["estimate alone"]
        alone = result["timing"].pop("estimate alone")
        print(
            f"estimate() alone on 100k rows (scores given): {alone['median']:.1f} ms median",
            file=out,
        )
        for row, t in result["timing"].items():
            print(
                f"100k x 20 check, {row}: {t['plain']['median']:.1f} ms without calibration, "
                f"{t['calibrated']['median']:.1f} ms with, +{t['added_ms']:.1f} ms",
                file=out,
            )
    import sklearn

    result["meta"] = {
        "seeds": opts.seeds,
        "timing_reps": opts.timing_reps,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "sklearn": sklearn.__version__,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    write_json(result, opts.json)


if __name__ == "__main__":
    main()
