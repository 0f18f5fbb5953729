"""Benchmark: what tracking a training run costs, compared with MLflow.

Run from the repository root::

    .venv/bin/python bench/tracking.py
    .venv/bin/python bench/tracking.py --mlflow-python bench/.venv-mlflow/bin/python
    .venv/bin/python bench/tracking.py --json bench-tracking.json

It measures, reporting the median over several repetitions (the machine is
assumed noisy):

1. ``%load_ext mlops_nb`` in a fresh IPython shell process that has already
   imported pandas and scikit-learn (one fresh process per repetition).
2. The steady-state cost of one tracked run (fingerprint of a 100k x 20
   float frame and its target, skops serialization, SQLite writes) with the
   model fitted once, outside the timing; plus ``data_fingerprint(X)`` alone,
   and the cold cost (store creation and first run in a fresh process, which
   include importing SQLAlchemy and skops).
3. The same run logged with MLflow (``start_run`` + ``log_params`` +
   ``log_metric`` + default ``mlflow.sklearn.log_model``) to a SQLite tracking
   store in a temporary folder, and the ratio MLflow / mlops-nb.

This file imports only the standard library at module level, so any Python
interpreter can run its child modes (``--child ...``): that is how the fresh
processes and the MLflow half (with ``--mlflow-python``) are run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import add_json_option, emit, layout, log, timed, write_json

ROWS = 100_000
COLS = 20
SEED = 0

TARGET_LOAD_EXT_MS = 100.0
TARGET_RUN_MS = 50.0
TARGET_RATIO = 50.0

HEAVY_PACKAGES = (
    "sqlalchemy",
    "skops",
    "papermill",
    "nbformat",
    "nbclient",
    "matplotlib",
    "scipy",
    "jinja2",
    "croniter",
    "yaml",
    "pyarrow",
)


# -- shared helpers (run in any interpreter) ----------------------------------


def make_data(rows: int, cols: int, seed: int = SEED) -> tuple[Any, Any]:
    """A float frame and a binary target that a logistic regression can learn."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    values = rng.standard_normal((rows, cols))
    weights = rng.standard_normal(cols)
    noise = 0.5 * rng.standard_normal(rows)
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(cols)])
    target = pd.Series(((values @ weights + noise) > 0).astype("int64"), name="target")
    return frame, target


def fit_model(frame: Any, target: Any) -> tuple[Any, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(frame, target)
    return model, float(model.score(frame, target))


# -- child modes ----------------------------------------------------------------


def child_load_ext() -> None:
    """Fresh process: IPython shell with pandas + sklearn loaded, then time %load_ext."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    import pandas  # noqa: F401
    import sklearn
    import sklearn.linear_model  # noqa: F401

    before = set(sys.modules)
    start = time.perf_counter()
    shell.run_line_magic("load_ext", "mlops_nb")
    elapsed = (time.perf_counter() - start) * 1000.0
    new = set(sys.modules) - before
    tops = sorted({name.split(".")[0] for name in new})
    emit({"ms": elapsed, "new_modules": len(new), "new_packages": tops})


def child_cold(rows: int, cols: int) -> None:
    """Fresh process with pandas + sklearn loaded and a fitted model: time the
    store creation and the first tracked run (they import SQLAlchemy, skops...)."""
    frame, target = make_data(rows, cols)
    model, acc = fit_model(frame, target)

    start = time.perf_counter()
    import mlops_nb

    import_ms = (time.perf_counter() - start) * 1000.0
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-cold-") as tmp:
        start = time.perf_counter()
        store = mlops_nb.Store(Path(tmp) / "store")
        store_ms = (time.perf_counter() - start) * 1000.0

        def one_run() -> None:
            with mlops_nb.track("bench", store=store, data=frame, target=target) as run:
                run.set_model(model)
                run.log_metric("accuracy", acc)

        start = time.perf_counter()
        one_run()
        first_ms = (time.perf_counter() - start) * 1000.0
        start = time.perf_counter()
        one_run()
        second_ms = (time.perf_counter() - start) * 1000.0
        store.close()
    emit(
        {
            "import_ms": import_ms,
            "store_ms": store_ms,
            "first_run_ms": first_ms,
            "second_run_ms": second_ms,
        }
    )


def mlflow_measure(rows: int, cols: int, reps: int, warmup: int) -> dict[str, Any]:
    """Time the same run logged with MLflow's defaults; runs in whatever
    interpreter has mlflow (this process or a ``--mlflow-python`` child)."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    import mlflow
    import mlflow.sklearn

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    frame, target = make_data(rows, cols)
    model, acc = fit_model(frame, target)
    params = model.get_params()

    with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
        root = Path(tmp)
        mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
        start = time.perf_counter()
        experiment = mlflow.create_experiment(
            "bench", artifact_location=(root / "artifacts").as_uri()
        )
        setup_ms = (time.perf_counter() - start) * 1000.0
        mlflow.set_experiment(experiment_id=experiment)

        def one_run() -> None:
            with mlflow.start_run():
                mlflow.log_params(params)
                mlflow.log_metric("accuracy", acc)
                mlflow.sklearn.log_model(model, name="model")

        samples = timed(one_run, reps, warmup)
    return {
        "version": mlflow.__version__,
        "samples_ms": samples,
        "setup_ms": setup_ms,
        "python": sys.executable,
    }


def child_mlflow(rows: int, cols: int, reps: int, warmup: int) -> None:
    emit(mlflow_measure(rows, cols, reps, warmup))


# -- parent -----------------------------------------------------------------------


def child_env(tmp: Path) -> dict[str, str]:
    """Environment for child processes: nothing written outside ``tmp``, no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            "MLOPS_NB_HOME": str(tmp / "default-home"),
            "IPYTHONDIR": str(tmp / "ipython"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow-default.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


def run_child(python: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        [python, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise RuntimeError(f"{python} {' '.join(args)} failed (exit {proc.returncode}): {tail}")
    return json.loads(lines[-1])


def summary(samples: list[float]) -> dict[str, Any]:
    return {
        "median_ms": statistics.median(samples),
        "min_ms": min(samples),
        "max_ms": max(samples),
        "n": len(samples),
        "samples_ms": samples,
    }


def measure_load_ext(opts: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    results = []
    for i in range(opts.procs):
        log(f"  %load_ext: fresh process {i + 1}/{opts.procs}")
        results.append(run_child(sys.executable, ["--child", "load-ext"], env, 300))
    out = summary([r["ms"] for r in results])
    out["new_modules"] = results[-1]["new_modules"]
    out["new_packages"] = results[-1]["new_packages"]
    return out


def measure_steady(opts: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import mlops_nb

    log(f"  steady state: building {opts.rows:,} x {opts.cols} frame and fitting the model")
    frame, target = make_data(opts.rows, opts.cols)
    model, acc = fit_model(frame, target)
    store = mlops_nb.Store(tmp / "steady-store")

    def one_run() -> None:
        with mlops_nb.track("bench", store=store, data=frame, target=target) as run:
            run.set_model(model)
            run.log_metric("accuracy", acc)

    def bare_run() -> None:
        with mlops_nb.track("bench", store=store, data=frame, target=target, profile=False) as run:
            run.set_model(model)
            run.log_metric("accuracy", acc)

    log(f"  steady state: {opts.warmup} warm-up + {opts.reps} timed tracked runs")
    runs = timed(one_run, opts.reps, opts.warmup)
    log(f"  steady state: {opts.warmup} warm-up + {opts.reps} runs without the drift profile")
    bare = timed(bare_run, opts.reps, opts.warmup)
    log(f"  steady state: {opts.reps} x data_fingerprint(X)")
    fingerprint = timed(lambda: mlops_nb.data_fingerprint(frame), opts.reps, 1)
    profile_text = None
    if opts.profile:
        profile_text = profile_runs(one_run, opts.reps)
    store.close()
    return {
        "run": summary(runs),
        "bare_run": summary(bare),
        "fingerprint": summary(fingerprint),
        "accuracy": acc,
        "profile": profile_text,
    }


def profile_runs(one_run: Any, reps: int) -> str:
    """cProfile of ``reps`` tracked runs (main thread only), top entries by cumulative time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reps):
        one_run()
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats("cumulative")
    stats.print_stats(30)
    buffer.write(f"(totals over {reps} runs)\n")
    return buffer.getvalue()


def measure_cold(opts: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    results = []
    for i in range(opts.cold_procs):
        log(f"  cold run: fresh process {i + 1}/{opts.cold_procs}")
        results.append(
            run_child(
                sys.executable,
                ["--child", "cold", "--rows", str(opts.rows), "--cols", str(opts.cols)],
                env,
                600,
            )
        )
    return {
        key: summary([r[f"{key}_ms"] for r in results])
        for key in ("import", "store", "first_run", "second_run")
    }


def measure_mlflow(opts: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    args = [
        "--rows",
        str(opts.rows),
        "--cols",
        str(opts.cols),
        "--mlflow-reps",
        str(opts.mlflow_reps),
        "--warmup",
        str(opts.warmup),
    ]
    if opts.skip_mlflow:
        return {"skipped": "skipped (--skip-mlflow)"}
    if opts.mlflow_python:
        log(f"  MLflow: {opts.warmup} warm-up + {opts.mlflow_reps} runs in {opts.mlflow_python}")
        raw = run_child(opts.mlflow_python, ["--child", "mlflow", *args], env, 1800)
    else:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            return {"skipped": "MLflow not installed: skipped"}
        log(f"  MLflow: {opts.warmup} warm-up + {opts.mlflow_reps} runs in this process")
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
            os.environ[key] = env[key]
        raw = mlflow_measure(opts.rows, opts.cols, opts.mlflow_reps, opts.warmup)
    return {
        **summary(raw["samples_ms"]),
        "version": raw["version"],
        "python": raw["python"],
        "setup_ms": raw["setup_ms"],
    }


def versions() -> dict[str, str]:
    import pandas
    import sklearn

    import mlops_nb

    return {
        "python": platform.python_version(),
        "mlops_nb": mlops_nb.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
    }


def fmt_ms(value: float) -> str:
    return f"{value:,.1f}"


def render(results: dict[str, Any]) -> str:
    header = ("measurement", "median ms", "min ms", "max ms", "n", "target", "ok")
    rows: list[tuple[str, ...]] = []
    notes: list[tuple[str, str]] = []  # (label, text) rows without numbers

    def add(label: str, stats: dict[str, Any], target: str = "", ok: str = "") -> None:
        rows.append(
            (
                label,
                fmt_ms(stats["median_ms"]),
                fmt_ms(stats["min_ms"]),
                fmt_ms(stats["max_ms"]),
                str(stats["n"]),
                target,
                ok,
            )
        )

    def verdict(value: float, limit: float) -> str:
        return "yes" if value < limit else "NO"

    load = results["load_ext"]
    add(
        "%load_ext mlops_nb (fresh shell, pandas+sklearn loaded)",
        load,
        f"< {TARGET_LOAD_EXT_MS:.0f}",
        verdict(load["median_ms"], TARGET_LOAD_EXT_MS),
    )
    steady = results["steady"]
    # The target is for the run as users get it: with the drift profile.
    add(
        "tracked run, steady state (fit excluded), with drift profile (default)",
        steady["run"],
        f"< {TARGET_RUN_MS:.0f}",
        verdict(steady["run"]["median_ms"], TARGET_RUN_MS),
    )
    add("tracked run, steady state, no drift profile", steady["bare_run"])
    add("  component: data_fingerprint(X)", steady["fingerprint"])
    cold = results["cold"]
    add("cold, fresh process: import mlops_nb", cold["import"])
    add("cold, fresh process: Store(new dir) [imports SQLAlchemy]", cold["store"])
    add("cold, fresh process: first tracked run [imports skops..]", cold["first_run"])
    add("cold, fresh process: second tracked run", cold["second_run"])
    mlflow = results["mlflow"]
    if "skipped" in mlflow:
        notes.append(("MLflow run (log_params+log_metric+sklearn.log_model)", mlflow["skipped"]))
        notes.append(("ratio MLflow / mlops-nb run with drift profile", "n/a"))
    else:
        add(f"MLflow {mlflow['version']} run (log_params+log_metric+sklearn.log_model)", mlflow)
        ratio = results["ratio"]
        rows.append(
            (
                "ratio MLflow / mlops-nb run with drift profile",
                f"{ratio:,.1f}x",
                "",
                "",
                "",
                f">= {TARGET_RATIO:.0f}x",
                "yes" if ratio >= TARGET_RATIO else "NO",
            )
        )

    lines = layout(header, rows, notes)
    meta = results["meta"]
    lines.append("")
    lines.append(
        f"data: {meta['rows']:,} x {meta['cols']} float64 frame, binary target; "
        f"LogisticRegression accuracy {steady['accuracy']:.3f}"
    )
    lines.append(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + (f", mlflow {mlflow['version']}" if "version" in mlflow else "")
    )
    heavy = [p for p in load["new_packages"] if p in HEAVY_PACKAGES]
    lines.append(
        f"%load_ext imported {load['new_modules']} new modules"
        + (f" (incl. {', '.join(heavy)})" if heavy else "")
    )
    lines.append(f"machine: {meta['cpus']} CPUs, {meta['platform']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_option(parser)
    parser.add_argument(
        "--mlflow-python",
        metavar="PATH",
        help="python of a venv with mlflow; runs the MLflow half there",
    )
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument(
        "--procs", type=int, default=7, help="fresh processes for %%load_ext (default 7)"
    )
    parser.add_argument(
        "--cold-procs", type=int, default=5, help="fresh processes for the cold run (default 5)"
    )
    parser.add_argument("--reps", type=int, default=15, help="timed tracked runs (default 15)")
    parser.add_argument("--mlflow-reps", type=int, default=7, help="timed MLflow runs (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up runs (default 2)")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--cols", type=int, default=COLS)
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of the steady-state runs"
    )
    parser.add_argument("--child", choices=("load-ext", "cold", "mlflow"), help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)

    if opts.child == "load-ext":
        child_load_ext()
        return 0
    if opts.child == "cold":
        child_cold(opts.rows, opts.cols)
        return 0
    if opts.child == "mlflow":
        child_mlflow(opts.rows, opts.cols, opts.mlflow_reps, opts.warmup)
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = child_env(tmp)
        os.environ["MLOPS_NB_HOME"] = env["MLOPS_NB_HOME"]
        log("1/4 %load_ext cost")
        load_ext = measure_load_ext(opts, env)
        log("2/4 per-run tracking cost")
        steady = measure_steady(opts, tmp)
        log("3/4 cold first run")
        cold = measure_cold(opts, env)
        log("4/4 MLflow")
        mlflow = measure_mlflow(opts, env)

    results: dict[str, Any] = {
        "meta": {
            "rows": opts.rows,
            "cols": opts.cols,
            "versions": versions(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "elapsed_s": round(time.perf_counter() - started, 1),
            "targets": {
                "load_ext_ms": TARGET_LOAD_EXT_MS,
                "run_ms": TARGET_RUN_MS,
                "mlflow_ratio": TARGET_RATIO,
            },
        },
        "load_ext": load_ext,
        "steady": {k: v for k, v in steady.items() if k != "profile"},
        "cold": cold,
        "mlflow": mlflow,
        "ratio": (
            mlflow["median_ms"] / steady["run"]["median_ms"] if "median_ms" in mlflow else None
        ),
    }
    table = render(results)
    to_stdout = opts.json != "-"
    out = sys.stdout if to_stdout else sys.stderr
    print(table, file=out, flush=True)
    if steady["profile"]:
        print("\n" + steady["profile"], file=out, flush=True)
    write_json(results, opts.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
