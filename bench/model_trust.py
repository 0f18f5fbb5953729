"""Benchmark: what checking a model file costs on top of skops' own load.

Run from the repository root::

    .venv/bin/python bench/model_trust.py
    .venv/bin/python bench/model_trust.py --reps 5 --json bench-model-trust.json

For a few fitted models of different shapes it times, as medians of
``--reps`` repetitions (the machine is assumed noisy):

- ``audit``: :func:`mlops_nb.registry.trust.audit`, every node of the file
  checked against the exact-type trust list;
- ``trees``: :func:`mlops_nb.registry.trees.check` on the loaded model;
- ``skops``: ``skops.io.loads`` with the names the audit returned, the part
  that existed before;
- ``load``: :func:`mlops_nb.registry.serialization.load`, all of it;

and once per process, building the default trust list from the installed
scikit-learn, numpy and scipy (``default_trust()``, cached afterwards).

Like the other benchmarks, this file imports only the standard library at
module level; mlops-nb is imported inside the functions that use it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from typing import Any

from benchkit import add_json_option, layout, log, summary, timed, write_json

#: The checks may add at most this share to skops' own load time (the audit parses
#: the file's schema once more, about a fifth of skops' own work on a big forest)...
TARGET_OVERHEAD = 0.5
#: ...or this many milliseconds, whichever is larger (small models load in a few ms).
TARGET_OVERHEAD_MS = 5.0


def models() -> dict[str, Any]:
    """Fitted models of the shapes the trust checks walk: pipelines, forests, boosting."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(5_000, 10)), columns=[f"x{i}" for i in range(10)])
    X["plan"] = rng.choice(["basic", "pro", "team"], size=len(X))
    y = (X["x0"] + X["x1"] > 0).astype(int)
    numeric = [c for c in X.columns if c != "plan"]
    pipeline = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), (StandardScaler(), numeric)),
        LogisticRegression(max_iter=500),
    )
    return {
        "logistic regression pipeline": pipeline.fit(X, y),
        "random forest, 100 trees": RandomForestClassifier(100, random_state=0).fit(X[numeric], y),
        "hist gradient boosting, 100 iterations": HistGradientBoostingClassifier(
            random_state=0
        ).fit(X[numeric], y),
        "k nearest neighbours": KNeighborsClassifier().fit(X[numeric], y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    add_json_option(parser)
    args = parser.parse_args()
    started = time.perf_counter()

    import skops.io as sio

    from mlops_nb.registry import allowlist, serialization, trees, trust

    start = time.perf_counter()
    allowlist.default_trust()
    build_ms = (time.perf_counter() - start) * 1000
    log(f"default trust list: {len(allowlist.default_trust())} names in {build_ms:.1f} ms")

    results: dict[str, Any] = {"build_default_trust_ms": build_ms, "models": {}}
    rows = []
    for name, model in models().items():
        log(f"timing {name}")
        blob = serialization.dump(model, "skops")
        names = trust.audit(blob)
        loaded = sio.loads(blob, trusted=names)
        parts = {
            "audit": timed(lambda: trust.audit(blob), args.reps),  # noqa: B023
            "trees": timed(lambda: trees.check(loaded), args.reps),  # noqa: B023
            "skops": timed(lambda: sio.loads(blob, trusted=names), args.reps),  # noqa: B023
            "load": timed(lambda: serialization.load(blob, "skops"), args.reps),  # noqa: B023
        }
        medians = {part: statistics.median(samples) for part, samples in parts.items()}
        overhead = medians["audit"] + medians["trees"]
        ok = overhead <= max(TARGET_OVERHEAD * medians["skops"], TARGET_OVERHEAD_MS)
        results["models"][name] = {
            "file_kb": len(blob) / 1024,
            **{part: summary(samples) for part, samples in parts.items()},
            "overhead_ms": overhead,
            "within_target": ok,
        }
        rows.append(
            (
                name,
                f"{len(blob) / 1024:,.0f}",
                f"{medians['audit']:.2f}",
                f"{medians['trees']:.2f}",
                f"{medians['skops']:.2f}",
                f"{medians['load']:.2f}",
                f"{100 * overhead / medians['skops']:.0f} %" + ("" if ok else "  MISSED"),
            )
        )
    header = ("model", "file KiB", "audit ms", "trees ms", "skops ms", "load ms", "overhead")
    notes = [
        (
            "target",
            f"audit + trees <= {TARGET_OVERHEAD:.0%} of skops, or <= {TARGET_OVERHEAD_MS:.0f} ms",
        ),
        ("once per process", f"building the default trust list: {build_ms:.1f} ms"),
        (
            "machine",
            f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}",
        ),
    ]
    print(
        "\n".join(layout(header, rows, notes)), file=sys.stderr if args.json == "-" else sys.stdout
    )
    results["meta"] = {"reps": args.reps, "elapsed_s": round(time.perf_counter() - started, 1)}
    write_json(results, args.json)


if __name__ == "__main__":
    main()
