"""Benchmark: tracked runs per second under concurrent writers, and pipeline throughput.

Run from the repository root::

    .venv/bin/python bench/concurrency.py
    .venv/bin/python bench/concurrency.py --reps 1 --runs 10 --notebooks 4   # quicker
    .venv/bin/python bench/concurrency.py --json bench-concurrency.json

What it measures (medians over ``--reps`` repetitions; the machine is assumed noisy):

1. **Tracked runs per second** with 1, 4 and 8 writer processes on one store,
   for SQLite (the embedded default) and PostgreSQL (a throw-away server
   started the way the tests start theirs, ``tests/postgres.py``: trust auth
   on loopback, ``fsync`` off — so the numbers show the locking and round
   trips, not the disk). Every writer process opens the store, fits a small
   LogisticRegression once, then tracks ``--runs`` runs, each one a new model
   version with metrics and a 2,000-row training-data fingerprint (no drift
   profile), i.e. the write path of ``%%mlops_track``. Writers start together
   (a barrier file); throughput = all runs / wall time from the barrier to the
   last writer's end. After each cell the audit chain is verified, so a fast
   but lossy result cannot pass.
2. **Pipeline throughput**: a pipeline of ``--notebooks`` independent small
   notebooks (a parameters cell and one ``print``), run through
   ``mlops_nb.execution.pipeline`` on the local executor (2 kernels at a time) and on a
   ``dask.distributed.LocalCluster`` with 2 worker processes; notebooks per
   minute. Kernel start-up dominates both.

Like the other benchmarks, only the standard library is imported at module
level; mlops-nb, Dask and the PostgreSQL helper are imported where used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import add_json_option, layout, log, summary, write_json

REPO = Path(__file__).resolve().parents[1]
WRITERS = (1, 4, 8)


# ---------------------------------------------------------------- writer child


def writer(locator: dict[str, Any], runs: int, barrier: str, ready: str) -> None:
    """Child process: warm up, say ready, wait for the barrier, track ``runs`` runs."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlops_nb import tracking
    from mlops_nb.store import Store

    rng = np.random.default_rng(os.getpid())
    X = pd.DataFrame(rng.normal(size=(2000, 8)), columns=[f"f{i}" for i in range(8)])
    y = (X["f0"] + rng.normal(scale=0.5, size=len(X)) > 0).astype(int)
    model = LogisticRegression(max_iter=200).fit(X, y)
    store = Store(**locator)
    with tracking.track(store, f"warmup-{os.getpid()}", model=model, data=X, profile=False):
        pass
    Path(ready).touch()
    while not os.path.exists(barrier):
        time.sleep(0.002)
    start = time.time()
    for i in range(runs):
        with tracking.track(
            store, "bench", model=model, data=X, profile=False, metrics={"i": float(i)}
        ):
            pass
    end = time.time()
    store.close()
    print(json.dumps({"start": start, "end": end, "runs": runs}))


def run_writers(locator: dict[str, Any], writers: int, runs: int, work: Path) -> dict[str, Any]:
    """Start the writers, wait until each has warmed up, release them together."""
    stamp = time.monotonic_ns()
    barrier = work / f"go-{writers}-{stamp}"
    ready = [work / f"ready-{writers}-{stamp}-{n}" for n in range(writers)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child-writer",
                json.dumps(locator),
                str(runs),
                str(barrier),
                str(ready[n]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(writers)
    ]
    deadline = time.monotonic() + 300
    while not all(path.exists() for path in ready):
        if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
            for proc in procs:
                proc.kill()
            raise RuntimeError(f"writers did not get ready: {procs[0].communicate()[1][-3000:]}")
        time.sleep(0.02)
    t0 = time.time()
    barrier.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"writer failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = max(r["end"] for r in results) - t0
    total = sum(r["runs"] for r in results)
    return {"runs": total, "wall_s": wall, "runs_per_s": total / wall}


def verify(locator: dict[str, Any], expected_runs: int) -> None:
    from mlops_nb.store import Store, audit

    store = Store(**locator)
    try:
        result = audit.verify(store)
        if not result.ok:
            raise RuntimeError(f"audit verify failed after the writers: {result}")
        versions = store.list_versions("bench")
        if len(versions) != expected_runs:
            raise RuntimeError(f"{len(versions)} versions of 'bench', expected {expected_runs}")
    finally:
        store.close()


def bench_backend(
    name: str, make_locator: Any, args: argparse.Namespace, work: Path
) -> list[dict[str, Any]]:
    rows = []
    for writers in WRITERS:
        samples = []
        for rep in range(args.reps):
            locator = make_locator(f"{name}-{writers}-{rep}")
            result = run_writers(locator, writers, args.runs, work)
            verify(locator, writers * args.runs)
            samples.append(result["runs_per_s"])
            log(f"  {name}, {writers} writer(s), rep {rep + 1}: {result['runs_per_s']:.1f} runs/s")
        rows.append({"backend": name, "writers": writers, "runs_per_s": summary(samples)})
    return rows


# ------------------------------------------------------------ pipeline throughput


def small_pipeline(folder: Path, notebooks: int) -> Path:
    import nbformat
    import yaml

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("i = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('step', i)")]
    nbformat.write(nb, str(folder / "small.ipynb"))
    steps = [
        {"name": f"s{i}", "notebook": "small.ipynb", "parameters": {"i": i}}
        for i in range(notebooks)
    ]
    path = folder / "many.yaml"
    doc = {"name": "many", "settings": {"max_parallel": 2}, "steps": steps}
    path.write_text(yaml.safe_dump(doc))
    return path


def run_pipeline_once(pipeline_file: Path, home: Path, executor: Any) -> float:
    from mlops_nb.execution import pipeline
    from mlops_nb.store import Store

    store = Store(home)
    try:
        start = time.perf_counter()
        result = pipeline.run(store, pipeline.load(pipeline_file), executor=executor)
        elapsed = time.perf_counter() - start
        if result.status != "finished":
            raise RuntimeError(f"pipeline {result.status}: {result.error}")
        return elapsed
    finally:
        store.close()


def bench_pipelines(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    from mlops_nb.execution.executor import LocalExecutor

    pipeline_file = small_pipeline(work, args.notebooks)
    rows = []
    local = []
    for rep in range(args.reps):
        seconds = run_pipeline_once(pipeline_file, work / f"local-{rep}", LocalExecutor(2))
        local.append(args.notebooks / seconds * 60)
        log(f"  local executor, rep {rep + 1}: {local[-1]:.1f} notebooks/min")
    rows.append({"executor": "local (2 kernels)", "per_min": summary(local)})

    from distributed import LocalCluster

    from mlops_nb.execution.dask_executor import DaskExecutor

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = []
        for rep in range(args.reps):
            executor = DaskExecutor(cluster.scheduler_address, max_parallel=2)
            seconds = run_pipeline_once(pipeline_file, work / f"dask-{rep}", executor)
            dask.append(args.notebooks / seconds * 60)
            log(f"  dask, 2 workers, rep {rep + 1}: {dask[-1]:.1f} notebooks/min")
    rows.append({"executor": "dask LocalCluster (2 workers)", "per_min": summary(dask)})
    return rows


# ------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--runs", type=int, default=25, help="tracked runs per writer")
    parser.add_argument("--notebooks", type=int, default=8, help="notebooks in the pipeline")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-pipelines", action="store_true")
    add_json_option(parser)
    args = parser.parse_args()
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-conc-"))
    results: dict[str, Any] = {"tracking": [], "pipelines": []}
    server = None
    try:
        log("tracked runs per second, SQLite")
        results["tracking"] += bench_backend(
            "sqlite", lambda key: {"home": str(work / key)}, args, work
        )
        if not args.skip_postgres:
            sys.path.insert(0, str(REPO / "tests"))
            import postgres  # the tests' throw-away server

            server = postgres.provide()
            log("tracked runs per second, PostgreSQL")
            results["tracking"] += bench_backend(
                "postgresql",
                lambda key: {
                    "home": str(work / key),
                    "db_url": server.url(server.create_database()),
                },
                args,
                work,
            )
        if not args.skip_pipelines:
            log(f"pipeline of {args.notebooks} small notebooks")
            results["pipelines"] = bench_pipelines(args, work)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    rows = [
        (
            r["backend"],
            str(r["writers"]),
            f"{r['runs_per_s']['median']:.1f}",
            f"{r['runs_per_s']['min']:.1f}",
            f"{r['runs_per_s']['max']:.1f}",
        )
        for r in results["tracking"]
    ]
    rows += [
        (
            r["executor"],
            "-",
            f"{r['per_min']['median']:.1f}",
            f"{r['per_min']['min']:.1f}",
            f"{r['per_min']['max']:.1f}",
        )
        for r in results["pipelines"]
    ]
    notes = []
    by = {(r["backend"], r["writers"]): r["runs_per_s"]["median"] for r in results["tracking"]}
    for backend in ("sqlite", "postgresql"):
        if (backend, 1) in by and (backend, 8) in by:
            notes.append((f"{backend} 8 vs 1", f"{by[(backend, 8)] / by[(backend, 1)]:.2f}×"))
    if len(results["pipelines"]) == 2:
        local, dask = (r["per_min"]["median"] for r in results["pipelines"])
        notes.append(("dask / local", f"{dask / local:.2f}× notebooks per minute"))
    table = layout(("what", "writers", "median", "min", "max"), rows, notes)
    results["meta"] = {
        "elapsed_s": round(time.monotonic() - began, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "reps": args.reps,
        "runs_per_writer": args.runs,
        "notebooks": args.notebooks,
        "median_of": statistics.median.__name__,
    }
    out = sys.stderr if args.json == "-" else sys.stdout
    print("tracked runs/s (rows 1-6) and pipeline notebooks/min (last rows)", file=out)
    print("\n".join(table), file=out)
    write_json(results, args.json)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-writer":
        writer(json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
