"""Benchmark: what `mlops-nb run` adds over plain papermill, and what a scheduler tick costs.

Run from the repository root::

    .venv/bin/python bench/pipeline.py
    .venv/bin/python bench/pipeline.py --reps 3 --schedules 200      # quicker
    .venv/bin/python bench/pipeline.py --json bench-pipeline.json

It measures, reporting medians over several repetitions (the machine is
assumed noisy):

1. The wall time of ``mlops-nb --home TMP run NOTEBOOK -p ...`` against
   ``papermill NOTEBOOK OUT.ipynb -p ...``, both as fresh subprocesses with
   the same parameters, kernel and working directory, on (a) a trivial
   notebook generated in a temporary folder (a parameters cell and one
   ``print`` cell) and (b) ``notebooks/train_churn.ipynb`` (under plain
   papermill its ``%%mlops_track`` cell writes to a temporary store named by
   ``MLOPS_NB_HOME``). The two commands alternate within each repetition
   (and swap order every repetition) so they share the machine's noise; the
   ratio of medians and the per-repetition differences are reported.
2. ``scheduler.tick(store, now, run=False)`` on a temporary store holding
   1,000 schedules when no slot is due (the common case: a cron tick every
   minute, ``now`` advancing one minute per tick); the same with ``run=True``
   (which also scans for queued slots to start) and as a fresh
   ``mlops-nb tick --no-run`` process; a tick where every schedule has one
   slot due (claiming only, each repetition on a fresh copy of the store);
   and ``schedule.listing(store)``. If the no-op tick misses its target (or
   with ``--profile``) a cProfile of it is printed under the table.

Like the other benchmarks, this file imports only the standard library at
module level; mlops-nb is imported inside the functions that use it.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
TRAIN_NOTEBOOK = REPO / "notebooks" / "train_churn.ipynb"
KERNEL = "python3"

TARGET_RUN_RATIO = 1.15
TARGET_TICK_MS = 100.0

#: Schedules are created "now" at T0; their first slot (06:00 Berlin on the
#: 1st, i.e. 05:00 UTC in winter) is DUE_SLOT.
T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
DUE_SLOT = dt.datetime(2026, 2, 1, 5, 0, tzinfo=dt.timezone.utc)
CRON = "0 6 1 * *"
TZ = "Europe/Berlin"


# -- helpers ------------------------------------------------------------------------


def child_env(tmp: Path) -> dict[str, str]:
    """Environment for the child processes: the venv first on PATH, nothing
    written outside ``tmp`` (IPython profile, default store)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        {
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "MLOPS_NB_HOME": str(tmp / "default-home"),
            "IPYTHONDIR": str(tmp / "ipython"),
            "PYTHONWARNINGS": "ignore",
            "JUPYTER_PLATFORM_DIRS": "1",
        }
    )
    return env


def tool(name: str) -> str:
    """A console script of this venv (next to the interpreter), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found next to {sys.executable} or on PATH")
    return found


def run_timed(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> float:
    """Wall-clock seconds of one subprocess; raise with its stderr tail if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr.strip() or proc.stdout.strip()).splitlines()[-5:])
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return elapsed


def write_trivial_notebook(folder: Path) -> Path:
    """A notebook with a parameters cell and one print cell (nbformat 4.5, by hand)."""

    def code(cell_id: str, source: str, tags: list[str] | None = None) -> dict[str, Any]:
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": cell_id,
            "metadata": {"tags": tags} if tags else {},
            "outputs": [],
            "source": source,
        }

    notebook = {
        "cells": [
            code("params", 'n = 1\nlabel = "default"', ["parameters"]),
            code("show", 'print(f"{label}: {n * 2}")'),
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": KERNEL},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trivial.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    return path


# -- 1. mlops-nb run vs papermill ---------------------------------------------------


def measure_run_case(
    label: str,
    notebook: Path,
    params: list[tuple[str, str]],
    opts: argparse.Namespace,
    tmp: Path,
    env: dict[str, str],
) -> dict[str, Any]:
    work = tmp / f"run-{label}"
    work.mkdir(parents=True, exist_ok=True)
    flags = [arg for key, value in params for arg in ("-p", key, value)]
    mlops_cmd = [
        tool("mlops-nb"),
        "--home",
        str(work / "mlops-home"),
        "run",
        str(notebook),
        *flags,
        "--kernel",
        KERNEL,
        "--cwd",
        str(notebook.parent),
        "--no-progress",
    ]
    papermill_cmd = [
        tool("papermill"),
        str(notebook),
        str(work / "out.ipynb"),
        *flags,
        "-k",
        KERNEL,
        "--cwd",
        str(notebook.parent),
        "--no-progress-bar",
    ]
    # Plain papermill: the notebook's %%mlops_track cell needs a store too.
    papermill_env = {**env, "MLOPS_NB_HOME": str(work / "papermill-home")}
    commands = {
        "mlops-nb": (mlops_cmd, env),
        "papermill": (papermill_cmd, papermill_env),
    }
    times: dict[str, list[float]] = {"mlops-nb": [], "papermill": []}

    def one(name: str) -> float:
        cmd, cmd_env = commands[name]
        return run_timed(cmd, cmd_env, work, opts.run_timeout)

    for i in range(opts.warmup):
        log(f"  {label}: warm-up {i + 1}/{opts.warmup}")
        one("mlops-nb")
        one("papermill")
    for i in range(opts.reps):
        order = ["mlops-nb", "papermill"] if i % 2 == 0 else ["papermill", "mlops-nb"]
        for name in order:
            times[name].append(one(name))
        log(
            f"  {label}: repetition {i + 1}/{opts.reps}: mlops-nb "
            f"{times['mlops-nb'][-1]:.2f} s, papermill {times['papermill'][-1]:.2f} s"
        )
    mlops, paper = summary(times["mlops-nb"]), summary(times["papermill"])
    diffs = [m - p for m, p in zip(times["mlops-nb"], times["papermill"])]
    ratios = [m / p for m, p in zip(times["mlops-nb"], times["papermill"])]
    return {
        "notebook": str(notebook),
        "parameters": dict(params),
        "commands": {"mlops-nb": mlops_cmd, "papermill": papermill_cmd},
        "mlops_nb_s": mlops,
        "papermill_s": paper,
        "ratio": mlops["median"] / paper["median"],
        "paired_ratio": summary(ratios),
        "diff_s": summary(diffs),
    }


def measure_runs(opts: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    trivial = write_trivial_notebook(tmp / "trivial-notebook")
    out = {
        "trivial": measure_run_case(
            "trivial", trivial, [("n", "21"), ("label", "bench")], opts, tmp, env
        )
    }
    if opts.skip_churn:
        out["churn"] = {"skipped": "skipped (--skip-churn)"}
    else:
        out["churn"] = measure_run_case(
            "train_churn",
            TRAIN_NOTEBOOK,
            [("month", "2026-12"), ("seed", "11")],
            opts,
            tmp,
            env,
        )
    return out


# -- 2. scheduler tick with many schedules --------------------------------------------


def timed_ms(func: Any, args_list: list[Any]) -> list[float]:
    out = []
    for args in args_list:
        start = time.perf_counter()
        func(*args)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def profile_text(func: Any, args_list: list[Any], sort: str, limit: int) -> str:
    """cProfile of ``func(*args)`` for each args in ``args_list``, top entries by ``sort``."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for args in args_list:
        func(*args)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(sort)
    stats.print_stats(limit)
    # Drop pstats' preamble up to the column header; keep the totals line.
    lines = buffer.getvalue().splitlines()
    keep = [line.strip() for line in lines if "function calls" in line]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    body = [line for line in lines[start:] if line.strip()]
    footer = f"(totals over {len(args_list)} ticks, sorted by {sort})"
    return "\n".join([*keep, *body, footer]) + "\n"


def measure_schedules(opts: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    from mlops_nb.schedules import schedule as sch
    from mlops_nb.schedules import scheduler as firing
    from mlops_nb.store import Store

    home = tmp / "schedule-store"
    store = Store(home)
    count = opts.schedules
    log(f"  adding {count:,} schedules (setup, not timed per call)")
    start = time.perf_counter()
    for i in range(count):
        sch.add(store, f"s{i:04d}", str(TRAIN_NOTEBOOK), CRON, tz=TZ, now=T0)
    add_s = time.perf_counter() - start
    minute = dt.timedelta(minutes=1)

    # No-op ticks: nothing due, the cursors do not move, so each tick sees the same store.
    def noop(now: dt.datetime, run: bool) -> None:
        fired = firing.tick(store, now, run=run)
        if fired:
            raise RuntimeError(f"expected a no-op tick at {now}, it recorded {len(fired)} slots")

    log(f"  no-op tick (run=False): 1 warm-up + {opts.ticks} timed")
    noop(T0 + minute, False)
    moments = [(T0 + (2 + i) * minute, False) for i in range(opts.ticks)]
    tick_noop = timed_ms(noop, moments)
    log(f"  no-op tick (run=True): {opts.run_ticks} timed")
    base = T0 + (2 + opts.ticks) * minute
    tick_noop_run = timed_ms(noop, [(base + i * minute, True) for i in range(opts.run_ticks)])

    # Where a no-op tick's time goes: the parts it is made of, each timed alone.
    log("  no-op tick components")
    rows = store.list_schedules(enabled_only=True)
    quiet = T0 + 30 * minute

    def list_enabled() -> None:
        store.list_schedules(enabled_only=True)

    def plan_all() -> None:
        for schedule in rows:
            firing.plan({**schedule, "active": 0}, quiet)

    def empty_writes() -> None:
        for _ in range(count):
            with store.write():
                pass

    components = {
        name: summary(timed_ms(func, [()] * opts.listing_reps))
        for name, func in (
            ("list_schedules", list_enabled),
            ("plan_all", plan_all),
            ("empty_writes", empty_writes),
        )
    }

    log(f"  listing: 1 warm-up + {opts.listing_reps} timed")

    def listing() -> None:
        rows = sch.listing(store)
        if len(rows) != count:
            raise RuntimeError(f"listing returned {len(rows)} schedules, expected {count}")

    listing()
    listing_ms = timed_ms(listing, [()] * opts.listing_reps)

    profile = None
    noop_median = statistics.median(tick_noop)
    if opts.profile or noop_median >= TARGET_TICK_MS:
        log("  profiling the no-op tick (cProfile, 5 ticks)")
        later = base + (opts.run_ticks + 1) * minute
        calls = [(later + i * minute, False) for i in range(5)]
        profile = {
            "cumulative": profile_text(noop, calls, "cumulative", opts.profile_lines),
            "tottime": profile_text(noop, calls, "tottime", opts.profile_lines),
        }
    store.close()

    # A fresh `mlops-nb tick --no-run` process, as a system cron entry runs it.
    log(f"  mlops-nb tick --no-run, fresh process: {opts.cli_ticks} timed")
    cli_base = base + (opts.run_ticks + 10) * minute
    cli_ms = []
    for i in range(opts.cli_ticks):
        now = (cli_base + i * minute).isoformat()
        cmd = [tool("mlops-nb"), "--home", str(home), "tick", "--no-run", "--now", now]
        cli_ms.append(run_timed(cmd, env, tmp, 300) * 1000.0)
    start = time.perf_counter()
    run_timed([tool("mlops-nb"), "--version"], env, tmp, 60)
    cli_version_ms = (time.perf_counter() - start) * 1000.0

    # Every schedule has one slot due: each repetition claims on a fresh copy.
    log(f"  tick with all {count:,} slots due (run=False): {opts.due_reps} copies")
    due_ms = []
    due_now = DUE_SLOT + dt.timedelta(seconds=30)
    for i in range(opts.due_reps):
        copy = tmp / f"due-store-{i}"
        shutil.copytree(home, copy)
        fresh = Store(copy)
        fresh.list_schedules()  # connect and warm the page cache outside the timing
        start = time.perf_counter()
        fired = firing.tick(fresh, due_now, run=False)
        due_ms.append((time.perf_counter() - start) * 1000.0)
        queued = sum(1 for s in fired if s["status"] == "queued")
        if queued != count:
            raise RuntimeError(f"due tick queued {queued} slots, expected {count}")
        fresh.close()
        shutil.rmtree(copy)
    db_bytes = (home / "mlops.db").stat().st_size
    return {
        "schedules": count,
        "cron": CRON,
        "tz": TZ,
        "add_total_s": add_s,
        "db_bytes": db_bytes,
        "tick_noop_ms": summary(tick_noop),
        "tick_noop_run_ms": summary(tick_noop_run),
        "components_ms": components,
        "tick_cli_ms": summary(cli_ms),
        "cli_version_ms": cli_version_ms,
        "tick_due_ms": summary(due_ms),
        "listing_ms": summary(listing_ms),
        "profile": profile,
    }


# -- report ---------------------------------------------------------------------------


def versions() -> dict[str, str]:
    import sqlite3
    from importlib import metadata

    import mlops_nb

    out = {"python": platform.python_version(), "mlops_nb": mlops_nb.__version__}
    for dist in ("papermill", "nbclient", "jupyter_client", "ipykernel", "sqlalchemy", "cronsim"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    out["sqlite"] = sqlite3.sqlite_version
    return out


def render(results: dict[str, Any]) -> str:
    header = ("measurement", "median", "min", "max", "n", "target", "ok")
    rows: list[tuple[str, ...]] = []
    notes: list[tuple[str, str]] = []

    def sec(value: float, sign: bool = False) -> str:
        return f"{value:+,.2f} s" if sign else f"{value:,.2f} s"

    def ms(value: float) -> str:
        return f"{value:,.1f} ms"

    def add(label: str, stats: dict[str, Any], fmt: Any, target: str = "", ok: str = "") -> None:
        rows.append(
            (
                label,
                fmt(stats["median"]),
                fmt(stats["min"]),
                fmt(stats["max"]),
                str(stats["n"]),
                target,
                ok,
            )
        )

    runs = results["runs"]
    for key, name in (("trivial", "trivial notebook"), ("churn", "train_churn.ipynb")):
        case = runs[key]
        if "skipped" in case:
            notes.append((f"{name}: mlops-nb run vs papermill", case["skipped"]))
            continue
        add(f"{name}: papermill NB OUT -p ..", case["papermill_s"], sec)
        add(f"{name}: mlops-nb --home TMP run NB -p ..", case["mlops_nb_s"], sec)
        ratio = case["ratio"]
        rows.append(
            (
                f"{name}: ratio mlops-nb / papermill",
                f"{ratio:.3f}x",
                f"{case['paired_ratio']['min']:.3f}x",
                f"{case['paired_ratio']['max']:.3f}x",
                str(case["paired_ratio"]["n"]),
                f"<= {TARGET_RUN_RATIO:.2f}x",
                "yes" if ratio <= TARGET_RUN_RATIO else "NO",
            )
        )
        add(
            f"{name}: difference (paired, per repetition)",
            case["diff_s"],
            lambda v: sec(v, sign=True),
        )

    sched = results["schedules"]
    count = f"{sched['schedules']:,}"
    noop = sched["tick_noop_ms"]
    add(
        f"tick, {count} schedules, none due (run=False)",
        noop,
        ms,
        f"< {TARGET_TICK_MS:.0f} ms",
        "yes" if noop["median"] < TARGET_TICK_MS else "NO",
    )
    parts = sched["components_ms"]
    add("  component: store.list_schedules(enabled_only=True)", parts["list_schedules"], ms)
    add(f"  component: plan() of {count} schedules in memory (cronsim)", parts["plan_all"], ms)
    add(f"  component: {count} empty write transactions", parts["empty_writes"], ms)
    add(f"tick, {count} schedules, none due (run=True)", sched["tick_noop_run_ms"], ms)
    add("`mlops-nb tick --no-run`, fresh process, none due", sched["tick_cli_ms"], ms)
    add(f"tick, {count} schedules, all due (claim only)", sched["tick_due_ms"], ms)
    add(f"listing(store), {count} schedules", sched["listing_ms"], ms)

    lines = layout(header, rows, notes)

    meta = results["meta"]
    lines.append("")
    lines.append(
        f"runs: {meta['reps']} repetitions after {meta['warmup']} warm-up, the two commands "
        f"alternating (order swapped each repetition), kernel {KERNEL}; "
        "ratio min/max are per repetition"
    )
    lines.append(
        f"schedules: '{sched['cron']}' in {sched['tz']}; adding {count} took "
        f"{sched['add_total_s']:.1f} s ({sched['add_total_s'] * 1000 / sched['schedules']:.1f} "
        f"ms each); database {sched['db_bytes'] / 1e6:.1f} MB; `mlops-nb --version` "
        f"alone {sched['cli_version_ms']:.0f} ms"
    )
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    lines.append(
        f"machine: {meta['cpus']} CPUs, {meta['platform']}, load average at start {meta['loadavg']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_option(parser)
    parser.add_argument(
        "--reps", type=int, default=5, help="timed runs of each command (default 5)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed runs of each command first (default 1)"
    )
    parser.add_argument("--run-timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--skip-churn", action="store_true", help="trivial notebook only")
    parser.add_argument(
        "--schedules", type=int, default=1000, help="schedules in the store (default 1,000)"
    )
    parser.add_argument("--ticks", type=int, default=15, help="timed no-op ticks (default 15)")
    parser.add_argument(
        "--run-ticks", type=int, default=5, help="timed no-op ticks with run=True (default 5)"
    )
    parser.add_argument(
        "--cli-ticks", type=int, default=5, help="timed `mlops-nb tick` processes (default 5)"
    )
    parser.add_argument(
        "--due-reps",
        type=int,
        default=3,
        help="timed all-due ticks, one store copy each (default 3)",
    )
    parser.add_argument(
        "--listing-reps", type=int, default=5, help="timed listing() calls (default 5)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile of the no-op tick even when it meets its target",
    )
    parser.add_argument("--profile-lines", type=int, default=25, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)

    started = time.perf_counter()
    loadavg = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-pipeline-") as tmpdir:
        tmp = Path(tmpdir)
        env = child_env(tmp)
        os.environ["MLOPS_NB_HOME"] = env["MLOPS_NB_HOME"]
        log("1/2 mlops-nb run vs papermill")
        runs = measure_runs(opts, tmp, env)
        log(f"2/2 scheduler tick with {opts.schedules:,} schedules")
        schedules = measure_schedules(opts, tmp, env)

    results: dict[str, Any] = {
        "meta": {
            "reps": opts.reps,
            "warmup": opts.warmup,
            "versions": versions(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg": loadavg,
            "elapsed_s": round(time.perf_counter() - started, 1),
            "targets": {"run_ratio": TARGET_RUN_RATIO, "tick_ms": TARGET_TICK_MS},
        },
        "runs": runs,
        "schedules": {k: v for k, v in schedules.items() if k != "profile"},
        "profile": schedules["profile"],
    }
    table = render(results)
    to_stdout = opts.json != "-"
    out = sys.stdout if to_stdout else sys.stderr
    print(table, file=out, flush=True)
    if schedules["profile"]:
        missed = results["schedules"]["tick_noop_ms"]["median"] >= TARGET_TICK_MS
        print(
            "\ncProfile of the no-op tick"
            + (" (it missed its target)" if missed else "")
            + ", by cumulative time:\n"
            + schedules["profile"]["cumulative"]
            + "\nby own time:\n"
            + schedules["profile"]["tottime"],
            file=out,
            flush=True,
        )
    write_json(results, opts.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
