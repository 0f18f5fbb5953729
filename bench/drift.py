"""Benchmark: what a drift check costs, how exact it is, and Evidently for scale.

Run from the repository root::

    .venv/bin/python bench/drift.py
    .venv/bin/python bench/drift.py --evidently-python bench/.venv-evidently/bin/python
    .venv/bin/python bench/drift.py --json bench-drift.json

On synthetic frames of 1,000,000 rows (20 columns: 15 numeric, 5 text
categories; and 100 columns: 85 numeric, 15 categories), a reference batch
and a "current" batch in which a few columns are shifted, it reports the
median over several repetitions (the machine is assumed noisy) of:

1. ``mlops_nb.profile(reference)`` and ``check_frame(profile, current)``,
   wall clock, plus the peak extra memory of each call (``tracemalloc`` peak,
   and the peak resident-set growth sampled from ``/proc/self/statm``) next
   to the frame's own size (``memory_usage(deep=True)``).
2. How far the reported statistics are from exact ones computed on the raw
   rows: the KS statistic against ``scipy.stats.ks_2samp`` for every numeric
   column, the Jensen-Shannon distance against
   ``scipy.spatial.distance.jensenshannon(base=2)`` for every categorical one.
3. Evidently's ``DataDriftPreset`` report on the same 1M x 20 data, and the
   ratio Evidently / mlops-nb.

This file imports only the standard library at module level, so any Python
interpreter with numpy and pandas can run its child mode (``--child
evidently``): that is how the Evidently half runs in its own venv (Evidently
needs pandas < 3) with ``--evidently-python``. Both sides build the data with
the same seeded numpy code; a checksum of the data is printed for each side.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchkit import add_json_option, emit, log, summary, write_json

ROWS = 1_000_000
SEED = 20_260_101
SIZES = {"20": (15, 5), "100": (85, 15)}  # columns -> (numeric, categorical)

TARGET_CHECK_MS = 500.0  # 1M x 20
TARGET_PROFILE_MS = 1000.0  # 1M x 20
TARGET_STAT_DIFF = 0.01

MB = 1024.0 * 1024.0

# -- data (runs in any interpreter with numpy and pandas) -------------------------

# Numeric column kinds, cycled over the numeric columns. Each takes
# (rng, rows, shifted) and returns float64 values (NaN for missing).
NUMERIC_KINDS = (
    "normal",
    "normal_nan5",
    "lognormal",
    "exponential",
    "int1000",
    "poisson",
    "uniform",
    "student_t3",
    "lognormal_nan1",
    "gamma",
    "int10",
    "normal_nan20",
    "beta",
    "bimodal",
    "pareto",
)
CATEGORY_SIZES = (3, 7, 12, 25, 50)


def _with_nan(rng: Any, values: Any, share: float) -> Any:
    import numpy as np

    values[rng.random(values.size) < share] = np.nan
    return values


def numeric_values(kind: str, rng: Any, rows: int, shifted: bool) -> Any:
    """One numeric column; ``shifted`` moves its distribution (about KS 0.1-0.2)."""
    import numpy as np

    s = 1.0 if shifted else 0.0
    if kind == "normal":
        return rng.normal(0.4 * s, 1.0, rows)
    if kind == "normal_nan5":
        return _with_nan(rng, rng.normal(50.0 + 4.0 * s, 10.0, rows), 0.05 + 0.05 * s)
    if kind == "lognormal":
        return rng.lognormal(0.4 * s, 1.0, rows)
    if kind == "exponential":
        return rng.exponential(2.0 * (1.0 + 0.5 * s), rows)
    if kind == "int1000":
        return rng.integers(0, 1000 + int(300 * s), rows).astype(np.float64)
    if kind == "poisson":
        return rng.poisson(3.0 + s, rows).astype(np.float64)
    if kind == "uniform":
        return rng.uniform(-1.0 + 0.4 * s, 1.0, rows)
    if kind == "student_t3":
        return rng.standard_t(3, rows) * (1.0 + 0.6 * s)
    if kind == "lognormal_nan1":
        return _with_nan(rng, rng.lognormal(3.0 + 0.2 * s, 0.5, rows), 0.01)
    if kind == "gamma":
        return rng.gamma(2.0 + s, 2.0, rows)
    if kind == "int10":
        weights = np.linspace(1.0, 1.0 + 2.0 * s, 10)
        return rng.choice(10, rows, p=weights / weights.sum()).astype(np.float64)
    if kind == "normal_nan20":
        return _with_nan(rng, rng.normal(-5.0, 2.0 + 0.8 * s, rows), 0.2)
    if kind == "beta":
        return rng.beta(2.0 + 1.5 * s, 5.0, rows)
    if kind == "bimodal":
        upper = rng.random(rows) < 0.3 + 0.2 * s
        return np.where(upper, rng.normal(4.0, 1.0, rows), rng.normal(0.0, 1.0, rows))
    if kind == "pareto":
        return rng.pareto(3.0 - s, rows)
    raise ValueError(kind)


def category_values(size: int, rng: Any, rows: int, shifted: bool) -> Any:
    """One text column with ``size`` categories, Zipf-like shares (object array)."""
    import numpy as np

    labels = np.array([f"k{size}_{v:02d}" for v in range(size)] + [None], dtype=object)
    shares = 1.0 / np.arange(1, size + 1)
    shares /= shares.sum()
    if shifted:  # move a third of the mass towards the rare categories
        shares = 0.65 * shares + 0.35 * shares[::-1]
    codes = rng.choice(size, rows, p=shares)
    if size == 12:  # one kind of column has 2% missing values
        codes[rng.random(rows) < 0.02] = size
    return labels[codes]


def column_plan(n_num: int, n_cat: int) -> list[dict[str, Any]]:
    """Names, kinds and which columns the current batch shifts."""
    plan = []
    for i in range(n_num):
        kind = NUMERIC_KINDS[i % len(NUMERIC_KINDS)]
        plan.append(
            {
                "name": f"n{i:02d}_{kind}",
                "kind": "numeric",
                "spec": kind,
                "index": i,
                "shifted": i == 0 or i % 7 == 3,
            }
        )
    for j in range(n_cat):
        size = CATEGORY_SIZES[j % len(CATEGORY_SIZES)]
        plan.append(
            {
                "name": f"c{j:02d}_k{size}",
                "kind": "categorical",
                "spec": size,
                "index": 1000 + j,
                "shifted": j % 4 == 1,
            }
        )
    return plan


def make_frames(
    rows: int, n_num: int, n_cat: int, seed: int = SEED, sides: tuple[int, ...] = (0, 1)
) -> tuple[Any, Any, list]:
    """Reference and current frames (``None`` for a side not in ``sides``); every
    column has its own seeded generator, so the data does not depend on the
    column count or the pandas version."""
    import numpy as np
    import pandas as pd

    plan = column_plan(n_num, n_cat)
    frames: list[Any] = [None, None]
    for side in sides:
        data = {}
        for col in plan:
            rng = np.random.default_rng([seed, col["index"], side])
            shifted = bool(side == 1 and col["shifted"])
            if col["kind"] == "numeric":
                data[col["name"]] = numeric_values(col["spec"], rng, rows, shifted)
            else:
                # pandas 3 infers its "str" dtype here, pandas 2 keeps object
                data[col["name"]] = pd.Series(category_values(col["spec"], rng, rows, shifted))
        frames[side] = pd.DataFrame(data)
    return frames[0], frames[1], plan


def data_checksum(frames: list[Any]) -> str:
    """A digest of the values (sums, NaN counts, category counts), equal across
    pandas versions and dtypes when the data is the same."""
    import numpy as np
    import pandas as pd

    digest = hashlib.sha256()
    for frame in frames:
        for name in frame.columns:
            col = frame[name]
            if col.dtype.kind == "f":
                values = col.to_numpy()
                digest.update(
                    f"{name}:{np.nansum(values)!r}:{int(np.isnan(values).sum())}".encode()
                )
            else:
                counts = col.value_counts(dropna=False)
                items = sorted(
                    ("<NA>" if pd.isna(k) else str(k), int(v)) for k, v in counts.items()
                )
                digest.update(f"{name}:{items!r}".encode())
    return digest.hexdigest()[:16]


# -- measuring helpers (stdlib only) -------------------------------------------------


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None


class RssSampler:
    """Peak resident set size while the block runs, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.base = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = rss_bytes() or 0
            if now > self.peak:
                self.peak = now
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        gc.collect()
        self.base = self.peak = rss_bytes() or 0
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        now = rss_bytes() or 0
        self.peak = max(self.peak, now)

    @property
    def extra(self) -> int:
        return max(0, self.peak - self.base)


def extra_rss(func: Callable[[], Any]) -> int | None:
    if rss_bytes() is None:
        return None
    with RssSampler() as sampler:
        func()
    return sampler.extra


def extra_tracemalloc(func: Callable[[], Any]) -> int:
    """Peak of traced allocations during ``func()`` above what was traced before."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(0, peak - before)


def timed(func: Callable[[], Any], reps: int) -> list[float]:
    """Wall-clock milliseconds of ``reps`` calls."""
    out = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        func()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


# -- Evidently half (runs in whichever interpreter has evidently) ------------------


def evidently_measure(rows: int, reps: int) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    import evidently

    version = getattr(evidently, "__version__", "?")
    n_num, n_cat = SIZES["20"]
    log(f"  Evidently {version}: building {rows:,} x {n_num + n_cat} frames")
    ref, cur, plan = make_frames(rows, n_num, n_cat)
    checksum = data_checksum([ref, cur])
    try:  # evidently >= 0.7
        from evidently import Report
        from evidently.presets import DataDriftPreset

        def run() -> Any:
            return Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)

        api = "evidently.Report([DataDriftPreset()]).run(current_data, reference_data)"
    except ImportError:  # the legacy API of evidently < 0.7
        from evidently.metric_preset import DataDriftPreset  # type: ignore[no-redef]
        from evidently.report import Report  # type: ignore[no-redef]

        def run() -> Any:
            report = Report(metrics=[DataDriftPreset()])
            report.run(reference_data=ref, current_data=cur)
            return report

        api = (
            "evidently.report.Report(metrics=[DataDriftPreset()]).run(reference_data, current_data)"
        )
    samples, rss, drifted = [], [], None
    for i in range(reps):
        log(f"  Evidently: DataDriftPreset run {i + 1}/{reps}")
        gc.collect()
        with RssSampler(0.01) as sampler:
            start = time.perf_counter()
            result = run()
            samples.append((time.perf_counter() - start) * 1000.0)
        rss.append(sampler.extra)
        log(f"    {samples[-1] / 1000.0:.1f} s")
        drifted = _evidently_drifted(result)
        del result
    return {
        "version": version,
        "api": api,
        "python": sys.executable,
        "pandas": __import__("pandas").__version__,
        "samples_ms": samples,
        "rss_extra": rss,
        "drifted_count": drifted,
        "columns": len(plan),
        "frame_bytes": int(ref.memory_usage(deep=True).sum()),
        "dtypes": sorted({str(t) for t in ref.dtypes}),
        "checksum": checksum,
    }


def _evidently_drifted(result: Any) -> float | None:
    """Evidently's own count of drifted columns, when its result says so."""
    try:
        for metric in result.dict().get("metrics", []):
            if "DriftedColumnsCount" in str(metric.get("metric_name", "")):
                return float(metric["value"]["count"])
    except Exception:
        return None
    return None


def child_evidently(rows: int, reps: int) -> None:
    emit(evidently_measure(rows, reps))


def run_child(
    python: str, args: list[str], timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    env = dict(os.environ if env is None else env)
    env.update({"DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"})
    proc = subprocess.run(
        [python, str(Path(__file__).resolve()), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,  # progress lines go straight to our stderr
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{python} {' '.join(args)} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


def measure_evidently(opts: argparse.Namespace) -> dict[str, Any]:
    if opts.evidently_reps <= 0:
        return {"skipped": "skipped (--evidently-reps 0)"}
    if opts.evidently_python:
        log(f"Evidently: {opts.evidently_reps} run(s) in {opts.evidently_python}")
        args = ["--child", "evidently", "--rows", str(opts.rows)]
        args += ["--evidently-reps", str(opts.evidently_reps)]
        try:
            raw = run_child(opts.evidently_python, args, 3600)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            # keep the mlops-nb numbers measured so far; say why this row is empty
            return {"skipped": f"Evidently failed: {exc}"}
    else:
        try:
            import evidently  # noqa: F401
        except ImportError:
            return {"skipped": "Evidently not installed: skipped"}
        log(f"Evidently: {opts.evidently_reps} run(s) in this process")
        raw = evidently_measure(opts.rows, opts.evidently_reps)
    out = {**summary(raw["samples_ms"]), **{k: v for k, v in raw.items() if k != "samples_ms"}}
    out["rss_extra_median"] = statistics.median(raw["rss_extra"])
    return out


# -- mlops-nb half -------------------------------------------------------------------


def agreement(report: Any, ref: Any, cur: Any, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Largest gaps between the reported statistics and exact ones on the raw rows."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    by_name = {c.column: c for c in report.columns}
    ks_diffs, js_diffs, problems = {}, {}, []
    for col in plan:
        name = col["name"]
        result = by_name.get(name)
        expected = "ks" if col["kind"] == "numeric" else "jensenshannon"
        if result is None or result.method != expected or result.statistic is None:
            method = None if result is None else result.method
            problems.append(f"{name}: method {method!r}, expected {expected!r}")
            continue
        if col["kind"] == "numeric":
            exact = ks_2samp(ref[name].dropna(), cur[name].dropna(), method="asymp").statistic
            ks_diffs[name] = abs(float(result.statistic) - float(exact))
        else:
            p_counts = ref[name].value_counts(dropna=True)
            q_counts = cur[name].value_counts(dropna=True)
            union = sorted(set(p_counts.index) | set(q_counts.index))
            p = p_counts.reindex(union, fill_value=0).to_numpy(dtype=np.float64)
            q = q_counts.reindex(union, fill_value=0).to_numpy(dtype=np.float64)
            exact = jensenshannon(p, q, base=2)
            js_diffs[name] = abs(float(result.statistic) - float(exact))

    def worst(diffs: dict[str, float]) -> dict[str, Any]:
        if not diffs:
            return {"max": None, "column": None, "n": 0}
        name = max(diffs, key=diffs.get)  # type: ignore[arg-type]
        return {"max": diffs[name], "column": name, "n": len(diffs), "all": diffs}

    return {"ks": worst(ks_diffs), "js": worst(js_diffs), "problems": problems}


def verdicts(report: Any, plan: list[dict[str, Any]]) -> dict[str, Any]:
    shifted = {c["name"] for c in plan if c["shifted"]}
    by_name = {c.column: c for c in report.columns}
    flagged = {c.column for c in report.columns if c.drift}

    def describe(names: set[str]) -> list[str]:
        out = []
        for name in sorted(names):
            c = by_name[name]
            stat = "n/a" if c.statistic is None else f"{c.statistic:.3f}"
            out.append(f"{name} ({c.method} {stat}, threshold {c.threshold})")
        return out

    return {
        "dataset_drift": bool(report.drift),
        "drift_share": report.drift_share,
        "shifted": len(shifted),
        "shifted_flagged": len(shifted & flagged),
        "missed": describe(shifted - flagged),
        "false_alarms": describe(flagged - shifted),
    }


def rss_env() -> dict[str, str]:
    """Environment of the fresh memory processes: glibc malloc hands big blocks
    back to the system when freed (no adaptive mmap threshold), so the peak
    resident size is not hidden by memory left over from building the data."""
    env = dict(os.environ)
    env.update({"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"})
    return env


def child_rss(rows: int, key: str, op: str, profile_file: str) -> None:
    """Fresh process: peak resident-set growth during one profile() or check_frame()
    on data built here; the check reads the parent's profile from a JSON file,
    as a real check reads the stored one."""
    import mlops_nb
    from mlops_nb.monitoring.drift import Profile, check_frame

    n_num, n_cat = SIZES[key]
    small_ref, small_cur, _ = make_frames(20_000, n_num, n_cat)  # lazy imports, untimed
    check_frame(mlops_nb.profile(small_ref), small_cur)
    del small_ref, small_cur
    if op == "profile":
        ref, _, _ = make_frames(rows, n_num, n_cat, sides=(0,))
        extra = extra_rss(lambda: mlops_nb.profile(ref))
    else:
        prof = Profile.from_json(json.loads(Path(profile_file).read_text()))
        _, cur, _ = make_frames(rows, n_num, n_cat, sides=(1,))
        extra = extra_rss(lambda: check_frame(prof, cur))
    emit({"rss_extra": extra})


def measure_size(opts: argparse.Namespace, key: str, tmp: str) -> dict[str, Any]:
    import mlops_nb
    from mlops_nb.monitoring.drift import check_frame

    n_num, n_cat = SIZES[key]
    label = f"{opts.rows / 1e6:g}M x {n_num + n_cat}"
    log(f"{label}: building reference and current frames")
    start = time.perf_counter()
    ref, cur, plan = make_frames(opts.rows, n_num, n_cat)
    build_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "label": label,
        "rows": opts.rows,
        "numeric": n_num,
        "categorical": n_cat,
        "build_s": round(build_s, 1),
        "frame_bytes": int(ref.memory_usage(deep=True).sum()),
        "dtypes": sorted({str(t) for t in ref.dtypes}),
    }
    if key == "20":
        out["checksum"] = data_checksum([ref, cur])

    log(f"{label}: first calls (include lazy imports)")
    start = time.perf_counter()
    prof = mlops_nb.profile(ref)
    out["first_profile_ms"] = (time.perf_counter() - start) * 1000.0
    start = time.perf_counter()
    report = check_frame(prof, cur)
    out["first_check_ms"] = (time.perf_counter() - start) * 1000.0

    log(f"{label}: {opts.reps} x profile(reference)")
    out["profile"] = summary(timed(lambda: mlops_nb.profile(ref), opts.reps))
    log(f"{label}: {opts.reps} x check_frame(profile, current)")
    out["check"] = summary(timed(lambda: check_frame(prof, cur), opts.reps))

    log(f"{label}: peak memory, {opts.mem_reps} x tracemalloc, {opts.mem_reps} fresh processes")
    profile_file = Path(tmp) / f"profile-{key}.json"
    profile_file.write_text(json.dumps(prof.to_json()))
    for name, func in (
        ("profile", lambda: mlops_nb.profile(ref)),
        ("check", lambda: check_frame(prof, cur)),
    ):
        traced = [extra_tracemalloc(func) for _ in range(opts.mem_reps)]
        rss = []
        for _ in range(opts.mem_reps):
            args = ["--child", "rss", "--rows", str(opts.rows), "--size", key, "--op", name]
            args += ["--profile-file", str(profile_file)]
            rss.append(run_child(sys.executable, args, 1200, rss_env())["rss_extra"])
        out[f"{name}_mem"] = {
            "tracemalloc": statistics.median(traced),
            "rss": None if None in rss else statistics.median(rss),
            "tracemalloc_samples": traced,
            "rss_samples": rss,
        }

    log(f"{label}: exact statistics with scipy on the raw rows")
    out["agreement"] = agreement(report, ref, cur, plan)
    out["verdicts"] = verdicts(report, plan)
    out["profile_json_bytes"] = len(json.dumps(prof.to_json()))
    if opts.profile:
        out["cprofile"] = cprofile_calls(
            {"profile": lambda: mlops_nb.profile(ref), "check": lambda: check_frame(prof, cur)},
            opts.reps,
        )
    return out  # the frames are freed here, before the next size is built


class _InlinePool:
    """Stands in for ``ThreadPoolExecutor`` while profiling: runs jobs in the caller."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def map(self, func: Callable[..., Any], *iterables: Any) -> Any:
        return iter([func(*args) for args in zip(*iterables)])


def cprofile_calls(funcs: dict[str, Callable[[], Any]], reps: int) -> dict[str, str]:
    """cProfile of ``reps`` calls of each. cProfile sees only its own thread, so
    the library's thread pools are swapped for an inline one meanwhile (the
    calls then run on one core: compare the profile's totals with each other,
    not with the timed medians)."""
    import cProfile
    import io
    import pstats
    from concurrent.futures import ThreadPoolExecutor

    modules = [
        m
        for n, m in list(sys.modules.items())
        if n.startswith("mlops_nb") and getattr(m, "ThreadPoolExecutor", None) is ThreadPoolExecutor
    ]
    texts = {}
    for name, func in funcs.items():
        profiler = cProfile.Profile()
        for module in modules:
            module.ThreadPoolExecutor = _InlinePool
        try:
            profiler.enable()
            for _ in range(reps):
                func()
            profiler.disable()
        finally:
            for module in modules:
                module.ThreadPoolExecutor = ThreadPoolExecutor
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats("tottime").print_stats(20)
        texts[name] = f"-- {name}: totals over {reps} calls\n{buffer.getvalue()}"
    return texts


def versions() -> dict[str, str]:
    import numpy
    import pandas
    import scipy

    import mlops_nb

    return {
        "python": platform.python_version(),
        "mlops_nb": mlops_nb.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }


# -- rendering -----------------------------------------------------------------------


def fmt_ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 10_000 else f"{value / 1000.0:,.1f} s"


def fmt_mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value / MB:,.1f} MB"


def render(results: dict[str, Any]) -> str:
    header = ("measurement", "median", "min", "max", "n", "target", "ok")
    rows: list[tuple[str, ...]] = []  # a 2-tuple is a label with free text
    notes: list[str] = []

    def add(label: str, *cells: str) -> None:
        rows.append((label, *cells, *([""] * (len(header) - 1 - len(cells)))))

    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    def add_time(label: str, stats: dict[str, Any], limit: float | None = None) -> None:
        target = f"< {fmt_ms(limit)}" if limit else ""
        verdict = ok(stats["median"] < limit) if limit else ""
        add(
            label,
            fmt_ms(stats["median"]),
            fmt_ms(stats["min"]),
            fmt_ms(stats["max"]),
            str(stats["n"]),
            target,
            verdict,
        )

    def add_mem(label: str, samples: list[float], frame: int) -> None:
        value = statistics.median(samples)
        add(
            label,
            fmt_mb(value),
            fmt_mb(min(samples)),
            fmt_mb(max(samples)),
            str(len(samples)),
            f"< {fmt_mb(frame)}",
            ok(value < frame),
        )

    for key, size in results["sizes"].items():
        lab = size["label"]
        frame = size["frame_bytes"]
        main = key == "20"
        add(f"{lab}: reference frame, memory_usage(deep=True)", fmt_mb(frame))
        add_time(f"{lab}: profile(reference)", size["profile"], TARGET_PROFILE_MS if main else None)
        add_time(
            f"{lab}: check_frame(profile, current)",
            size["check"],
            TARGET_CHECK_MS if main else None,
        )
        first = size["first_profile_ms"] + size["first_check_ms"]
        add(f"{lab}: first profile + check in the process", fmt_ms(first), "", "", "1")
        for name in ("profile", "check"):
            mem = size[f"{name}_mem"]
            add_mem(
                f"{lab}: {name} peak extra memory, tracemalloc", mem["tracemalloc_samples"], frame
            )
            if mem["rss"] is not None:
                add_mem(f"{lab}: {name} peak extra RSS, fresh process", mem["rss_samples"], frame)
        agree = size["agreement"]
        for stat, what in (("ks", "KS vs scipy ks_2samp"), ("js", "JS vs scipy jensenshannon")):
            a = agree[stat]
            if a["max"] is None:
                rows.append((f"{lab}: max |{what}|", "n/a"))
                continue
            add(
                f"{lab}: max |{what}| ({a['n']} cols)",
                f"{a['max']:.1e}",
                "",
                "",
                "",
                f"<= {TARGET_STAT_DIFF}",
                ok(a["max"] <= TARGET_STAT_DIFF),
            )
            notes.append(f"{lab}: largest {stat.upper()} gap in {a['column']}")
        for problem in agree["problems"]:
            notes.append(f"{lab}: not compared: {problem}")
        v = size["verdicts"]
        notes.append(
            f"{lab}: {v['shifted_flagged']}/{v['shifted']} shifted columns flagged"
            + (f" (missed: {', '.join(v['missed'])})" if v["missed"] else "")
            + f", false alarms: {', '.join(v['false_alarms']) or 'none'}"
            + f"; dataset drift {v['dataset_drift']} (share {v['drift_share']:.2f});"
            + f" stored profile {size['profile_json_bytes'] / 1024:,.0f} KB of JSON"
        )

    ev = results["evidently"]
    main = results["sizes"].get("20")
    rows_label = f"{results['meta']['rows'] / 1e6:g}M x 20"
    if "skipped" in ev:
        rows.append((f"Evidently DataDriftPreset, {rows_label}", ev["skipped"]))
        rows.append(("ratio Evidently / mlops-nb check", "n/a"))
    else:
        add_time(f"Evidently {ev['version']} DataDriftPreset, {rows_label}", ev)
        add(
            "  Evidently peak extra RSS (same process)",
            fmt_mb(ev["rss_extra_median"]),
            "",
            "",
            str(len(ev["rss_extra"])),
        )
        if main:
            add("ratio Evidently / mlops-nb check", f"{results['ratio_check']:,.0f}x")
            add("ratio Evidently / mlops-nb profile + check", f"{results['ratio_total']:,.0f}x")
        same = main and ev["checksum"] == main.get("checksum")
        notes.append(
            f"Evidently: pandas {ev['pandas']}, dtypes {', '.join(ev['dtypes'])}; "
            f"drifted columns by its own count: {ev['drifted_count']:g}; data checksum "
            f"{ev['checksum']} ({'same data as mlops-nb' if same else 'NOT the same data'})"
        )

    table = [r for r in rows if len(r) == len(header)]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    widths[0] = max(len(row[0]) for row in [header, *rows])
    lines = []
    for n, row in enumerate([header, *rows]):
        if len(row) == 2:
            lines.append(f"{row[0].ljust(widths[0])}  {row[1]}")
            continue
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i + 1]) for i, cell in enumerate(row[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    meta = results["meta"]
    lines.append("")
    lines.extend(notes)
    for size in results["sizes"].values():
        lines.append(
            f"data {size['label']}: {size['numeric']} numeric + {size['categorical']} text columns"
            f" ({', '.join(size['dtypes'])}), built in {size['build_s']} s"
            + (f", checksum {size['checksum']}" if "checksum" in size else "")
        )
    lines.append(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + (f", evidently {ev['version']}" if "version" in ev else "")
    )
    lines.append(f"machine: {meta['cpus']} CPUs, {meta['platform']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_option(parser)
    parser.add_argument("--rows", type=int, default=ROWS, help="rows per frame (default 1M)")
    parser.add_argument("--reps", type=int, default=7, help="timed calls of each (default 7)")
    parser.add_argument(
        "--mem-reps", type=int, default=3, help="calls per memory measurement (default 3)"
    )
    parser.add_argument("--skip-100", action="store_true", help="skip the 100-column frames")
    parser.add_argument(
        "--evidently-python",
        metavar="PATH",
        help="python of a venv with evidently; runs the Evidently half there",
    )
    parser.add_argument(
        "--evidently-reps",
        type=int,
        default=2,
        help="Evidently reports to time (default 2; each takes minutes; 0 skips)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of profile() and check"
    )
    parser.add_argument("--child", choices=("evidently", "rss"), help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=tuple(SIZES), default="20", help=argparse.SUPPRESS)
    parser.add_argument("--op", choices=("profile", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)

    if opts.child == "evidently":
        child_evidently(opts.rows, opts.evidently_reps)
        return 0
    if opts.child == "rss":
        child_rss(opts.rows, opts.size, opts.op, opts.profile_file)
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-drift-") as tmp:
        os.environ["MLOPS_NB_HOME"] = str(Path(tmp) / "home")  # nothing is stored, but be safe
        sizes = {}
        for key in SIZES:
            if key == "100" and opts.skip_100:
                continue
            sizes[key] = measure_size(opts, key, tmp)
        evidently = measure_evidently(opts)

    main_check = sizes["20"]["check"]["median"] if "20" in sizes else None
    main_profile = sizes["20"]["profile"]["median"] if "20" in sizes else None
    has_ev = "median" in evidently and main_check
    results: dict[str, Any] = {
        "meta": {
            "rows": opts.rows,
            "reps": opts.reps,
            "versions": versions(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "targets": {
                "check_ms_1Mx20": TARGET_CHECK_MS,
                "profile_ms_1Mx20": TARGET_PROFILE_MS,
                "max_stat_diff": TARGET_STAT_DIFF,
                "extra_memory": "below the frame's own memory_usage(deep=True)",
            },
        },
        "sizes": {
            k: {kk: vv for kk, vv in v.items() if kk != "cprofile"} for k, v in sizes.items()
        },
        "evidently": evidently,
        "ratio_check": evidently["median"] / main_check if has_ev else None,
        "ratio_total": evidently["median"] / (main_check + main_profile) if has_ev else None,
    }
    results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
    table = render(results)
    out = sys.stderr if opts.json == "-" else sys.stdout
    print(table, file=out, flush=True)
    for size in sizes.values():
        for text in size.get("cprofile", {}).values():
            print(f"\n{size['label']} {text}", file=out, flush=True)
    write_json(results, opts.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
