"""Benchmark: what a drift check costs, end to end and per part, how exact it is, and Evidently.

    .venv/bin/python bench/drift.py                   # Evidently row skipped unless importable
    .venv/bin/python bench/drift.py --evidently-python bench/.venv-evidently/bin/python
    .venv/bin/python bench/drift.py --sizes 10k,100k --skip-100 --mem-reps 0   # a quick look
    .venv/bin/python bench/drift.py --json bench-drift.json

Synthetic, seeded data (one generator per column): a reference and a "current" frame of 20
columns (15 float64 of varied shapes, some with NaN; 5 text columns of 3-50 categories) in
which a few columns are shifted; at 1M rows also 100 columns (85 + 15). For each size, the
median of ``--reps`` calls of:

* ``profile(reference)`` and ``check_frame(profile, current)``;
* ``%mlops_drift NAME@production current`` in an IPython shell, against a registered model
  (imputer + scaler + logistic regression on the numeric columns) whose version holds the
  profile: resolve, check, the model's own scoring of the batch, record (one transaction
  with the alert) and the report object; and the same with ``--predictions`` (scores
  given, as from a serving log), which leaves the model's own cost out;
* at 1M rows: peak extra memory (tracemalloc; RSS in fresh processes), and the largest gap
  of the reported KS / Jensen-Shannon statistics from scipy's exact ones on the raw rows.

Evidently's ``DataDriftPreset`` runs on the 1M x 20 frames, in its own venv when
``--evidently-python`` is given (this file imports only the standard library at the top so
that interpreter can run its child mode), else here if importable, else it says skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import (
    RssSampler,
    add_json_option,
    emit,
    extra_tracemalloc,
    layout,
    log,
    rss_bytes,
    run_child,
    summary,
    timed,
    write_json,
)

# -- what is measured, and the targets ----------------------------------------------------

SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
COLUMNS = {20: (15, 5), 100: (85, 15)}  # columns -> (numeric, text)
TARGETS_MS = {  # (measurement, rows, columns) -> median below
    ("check", 1_000_000, 20): 300.0,
    ("profile", 1_000_000, 20): 1000.0,
    ("magic with scores", 100_000, 20): 30.0,
}
TARGET_STAT_DIFF = 0.01  # reported KS / JS statistic vs scipy's exact one on the raw rows
SEED = 20_260_101
MB = 1024.0 * 1024.0

# -- data (any interpreter with numpy and pandas) -----------------------------------------

# name: (rng, rows, shift 0 or 1) -> float64 values, NaN for missing
NUMERIC_KINDS: dict[str, Any] = {
    "normal": lambda r, n, s: r.normal(0.4 * s, 1.0, n),
    "normal_nan5": lambda r, n, s: _nan(r, r.normal(50 + 4 * s, 10, n), 0.05 + 0.05 * s),
    "lognormal": lambda r, n, s: r.lognormal(0.4 * s, 1.0, n),
    "exponential": lambda r, n, s: r.exponential(2.0 * (1 + 0.5 * s), n),
    "int1000": lambda r, n, s: r.integers(0, 1000 + int(300 * s), n).astype(float),
    "poisson": lambda r, n, s: r.poisson(3.0 + s, n).astype(float),
    "uniform": lambda r, n, s: r.uniform(-1.0 + 0.4 * s, 1.0, n),
    "student_t3": lambda r, n, s: r.standard_t(3, n) * (1 + 0.6 * s),
    "lognormal_nan1": lambda r, n, s: _nan(r, r.lognormal(3 + 0.2 * s, 0.5, n), 0.01),
    "gamma": lambda r, n, s: r.gamma(2.0 + s, 2.0, n),
    "int10": lambda r, n, s: r.choice(10, n, p=_ramp(10, s)).astype(float),
    "normal_nan20": lambda r, n, s: _nan(r, r.normal(-5, 2 + 0.8 * s, n), 0.2),
    "beta": lambda r, n, s: r.beta(2 + 1.5 * s, 5.0, n),
    "bimodal": lambda r, n, s: _bimodal(r, n, 0.3 + 0.2 * s),
    "pareto": lambda r, n, s: r.pareto(3.0 - s, n),
}
CATEGORY_SIZES = (3, 7, 12, 25, 50)


def _nan(rng: Any, values: Any, share: float) -> Any:
    values[rng.random(values.size) < share] = float("nan")
    return values


def _ramp(k: int, s: float) -> Any:
    import numpy as np

    weights = np.linspace(1.0, 1.0 + 2.0 * s, k)
    return weights / weights.sum()


def _bimodal(rng: Any, n: int, upper_share: float) -> Any:
    import numpy as np

    upper = rng.random(n) < upper_share
    return np.where(upper, rng.normal(4.0, 1.0, n), rng.normal(0.0, 1.0, n))


def categories(size: int, rng: Any, rows: int, shifted: bool) -> Any:
    """Text with Zipf-like shares; shifted moves a third of the mass to rare values."""
    import numpy as np

    labels = np.array([f"k{size}_{v:02d}" for v in range(size)] + [None], dtype=object)
    shares = 1.0 / np.arange(1, size + 1)
    shares /= shares.sum()
    if shifted:
        shares = 0.65 * shares + 0.35 * shares[::-1]
    codes = rng.choice(size, rows, p=shares)
    if size == 12:  # one kind of column has 2 % missing values
        codes[rng.random(rows) < 0.02] = size
    return labels[codes]


def column_plan(n_num: int, n_cat: int) -> list[dict[str, Any]]:
    kinds = list(NUMERIC_KINDS)
    plan = [
        {
            "name": f"n{i:02d}_{kinds[i % 15]}",
            "kind": "numeric",
            "spec": kinds[i % 15],
            "index": i,
            "shifted": i == 0 or i % 7 == 3,
        }
        for i in range(n_num)
    ]
    plan += [
        {
            "name": f"c{j:02d}_k{CATEGORY_SIZES[j % 5]}",
            "kind": "categorical",
            "spec": CATEGORY_SIZES[j % 5],
            "index": 1000 + j,
            "shifted": j % 4 == 1,
        }
        for j in range(n_cat)
    ]
    return plan


def make_frames(
    rows: int, n_num: int, n_cat: int, seed: int = SEED, sides: tuple[int, ...] = (0, 1)
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Reference and current frames (``None`` for a side not asked for)."""
    import numpy as np
    import pandas as pd

    plan = column_plan(n_num, n_cat)
    frames: list[Any] = [None, None]
    for side in sides:
        data = {}
        for col in plan:
            rng = np.random.default_rng([seed, col["index"], side])
            shifted = side == 1 and col["shifted"]
            if col["kind"] == "numeric":
                data[col["name"]] = NUMERIC_KINDS[col["spec"]](rng, rows, 1.0 if shifted else 0.0)
            else:  # pandas 3 infers its "str" dtype, pandas 2 keeps object
                data[col["name"]] = pd.Series(categories(col["spec"], rng, rows, shifted))
        frames[side] = pd.DataFrame(data)
    return frames[0], frames[1], plan


def checksum(frames: list[Any]) -> str:
    """A digest of the values, equal across pandas versions when the data is."""
    import numpy as np
    import pandas as pd

    digest = hashlib.sha256()
    for frame in frames:
        for name in frame.columns:
            col = frame[name]
            if col.dtype.kind == "f":
                v = col.to_numpy()
                digest.update(f"{name}:{np.nansum(v)!r}:{int(np.isnan(v).sum())}".encode())
            else:
                counts = col.value_counts(dropna=False)
                items = sorted(
                    ("<NA>" if pd.isna(k) else str(k), int(c)) for k, c in counts.items()
                )
                digest.update(f"{name}:{items!r}".encode())
    return digest.hexdigest()[:16]


# -- Evidently (whichever interpreter has it) ----------------------------------------------


def evidently_measure(rows: int, reps: int) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    import evidently

    ref, cur, _ = make_frames(rows, *COLUMNS[20])
    try:  # evidently >= 0.7
        from evidently import Report
        from evidently.presets import DataDriftPreset

        def run() -> Any:
            return Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)

    except ImportError:  # the API of evidently < 0.7
        from evidently.metric_preset import DataDriftPreset  # type: ignore[no-redef]
        from evidently.report import Report  # type: ignore[no-redef]

        def run() -> Any:
            report = Report(metrics=[DataDriftPreset()])
            report.run(reference_data=ref, current_data=cur)
            return report

    samples, rss = [], []
    for i in range(reps):
        log(f"  Evidently {evidently.__version__}: DataDriftPreset run {i + 1}/{reps}")
        with RssSampler(0.01) as sampler:
            samples += timed(run, 1)
        rss.append(sampler.extra)
    return {
        "version": evidently.__version__,
        "pandas": __import__("pandas").__version__,
        "samples_ms": samples,
        "rss_extra": rss,
        "checksum": checksum([ref, cur]),
    }


def measure_evidently(opts: argparse.Namespace, rows: int) -> dict[str, Any]:
    if opts.evidently_reps <= 0:
        return {"skipped": "skipped (--evidently-reps 0)"}
    if opts.evidently_python:
        args = ["--child", "evidently", "--evidently-reps", str(opts.evidently_reps)]
        env = {**os.environ, "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"}
        try:
            raw = run_child(
                opts.evidently_python, __file__, [*args, "--rows", str(rows)], 3600, env
            )
        except (RuntimeError, OSError) as exc:  # keep the rest; say why this row is empty
            return {"skipped": f"Evidently failed: {exc}"}
    else:
        try:
            import evidently  # noqa: F401
        except ImportError:
            return {"skipped": "Evidently not installed: skipped"}
        raw = evidently_measure(rows, opts.evidently_reps)
    return {**summary(raw.pop("samples_ms")), **raw}


# -- mlops-nb -----------------------------------------------------------------------------


def exact_gaps(report: Any, ref: Any, cur: Any, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Largest gap of the reported statistics from exact ones on the raw rows."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    by_name = {c.column: c for c in report.columns}
    gaps: dict[str, dict[str, float]] = {"ks": {}, "jensenshannon": {}}
    for col in plan:
        name, got = col["name"], by_name[col["name"]]
        if col["kind"] == "numeric":
            exact = ks_2samp(ref[name].dropna(), cur[name].dropna(), method="asymp").statistic
        else:
            p, q = ref[name].value_counts(), cur[name].value_counts()
            union = sorted(set(p.index) | set(q.index))
            exact = jensenshannon(
                p.reindex(union, fill_value=0).to_numpy(float),
                q.reindex(union, fill_value=0).to_numpy(float),
                base=2,
            )
        gaps[got.method or "none"][name] = abs(float(got.statistic) - float(exact))
    return {k: max(v.items(), key=lambda kv: kv[1]) if v else None for k, v in gaps.items()}


def verdicts(report: Any, plan: list[dict[str, Any]]) -> str:
    shifted = {c["name"] for c in plan if c["shifted"]}
    flagged = set(report.drifted)
    return (
        f"{len(shifted & flagged)}/{len(shifted)} shifted columns flagged, missed "
        f"{sorted(shifted - flagged) or 'none'}, false alarms {sorted(flagged - shifted) or 'none'}"
    )


def registered_model(store: Any, name: str, ref: Any, plan: list[dict[str, Any]]) -> Any:
    """Track a model on ``ref`` (so its version holds the profile) and promote it."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlops_nb

    numeric = [c["name"] for c in plan if c["kind"] == "numeric"]
    label = (ref[numeric[0]] > 0).astype(int).rename("label")
    model = make_pipeline(
        make_column_transformer((make_pipeline(SimpleImputer(), StandardScaler()), numeric)),
        LogisticRegression(),
    ).fit(ref.iloc[:20_000], label.iloc[:20_000])
    with mlops_nb.track(name, model=model, data=ref, target=label, store=store):
        pass
    mlops_nb.promote(name, 1, store=store)
    return model


def measure(opts: argparse.Namespace, label: str, rows: int, ncols: int, shell: Any) -> dict:
    import mlops_nb
    from mlops_nb.monitoring.drift import Profile, check_frame

    key = f"{label} x {ncols}"
    log(f"{key}: building the frames")
    ref, cur, plan = make_frames(rows, *COLUMNS[ncols])
    out: dict[str, Any] = {
        "rows": rows,
        "columns": ncols,
        "frame_bytes": int(ref.memory_usage(deep=True).sum()),
    }
    start = time.perf_counter()
    prof = mlops_nb.profile(ref)
    report = check_frame(prof, cur)
    out["first_ms"] = (time.perf_counter() - start) * 1000.0
    log(f"{key}: {opts.reps} x profile, {opts.reps} x check_frame")
    out["profile"] = summary(timed(lambda: mlops_nb.profile(ref), opts.reps))
    out["check"] = summary(timed(lambda: check_frame(prof, cur), opts.reps))
    out["verdicts"] = verdicts(report, plan)
    out["profile_json_kb"] = len(json.dumps(prof.to_json())) / 1024
    if ncols == 20:
        name = f"bench{label.lower()}"
        log(f"{key}: registering {name}, then {opts.reps} x %mlops_drift (with and without scores)")
        model = registered_model(shell.user_ns["store"], name, ref, plan)
        shell.user_ns.update(current=cur, scores=model.predict_proba(cur)[:, 1])
        for row, extra in (("magic", ""), ("magic with scores", " --predictions scores")):
            line = f"{name}@production current --no-trigger{extra}"
            result = shell.run_line_magic("mlops_drift", line)  # first: model and profile loads
            assert result.check_id is not None, "the magic did not record the check"
            out[row] = summary(
                timed(lambda line=line: shell.run_line_magic("mlops_drift", line), opts.reps)
            )
    if rows >= 1_000_000 and opts.mem_reps:
        log(f"{key}: peak memory, {opts.mem_reps} x tracemalloc and fresh processes")
        stored = Path(opts.tmp) / f"profile-{ncols}.json"
        stored.write_text(json.dumps(prof.to_json()))
        calls = {
            "profile": lambda: mlops_nb.profile(ref),
            "check": lambda: check_frame(Profile.from_json(json.loads(stored.read_text())), cur),
        }
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
        for op, func in calls.items():
            args = ["--child", "rss", "--rows", str(rows), "--columns", str(ncols), "--op", op]
            args += ["--profile-file", str(stored)]
            reps = range(opts.mem_reps)
            out[f"{op}_mem"] = {
                "tracemalloc": [extra_tracemalloc(func) for _ in reps],
                "rss": [run_child(sys.executable, __file__, args, 1200, env)["rss"] for _ in reps],
            }
    if rows >= 1_000_000:
        log(f"{key}: exact statistics with scipy on the raw rows")
        out["gaps"] = exact_gaps(report, ref, cur, plan)
    if ncols == 20 and rows == 1_000_000:
        out["checksum"] = checksum([ref, cur])
    if opts.profile:
        out["cprofile"] = cprofile_text(lambda: check_frame(prof, cur, workers=1), opts.reps)
    return out


def child_rss(rows: int, ncols: int, op: str, profile_file: str) -> None:
    """Fresh process: peak RSS growth of one profile() or check_frame() (the check reads the
    profile from JSON, as a real check reads the stored one); glibc is told to hand big
    blocks back, so memory left from building the data does not hide the peak."""
    import mlops_nb
    from mlops_nb.monitoring.drift import Profile, check_frame

    small_ref, small_cur, _ = make_frames(20_000, *COLUMNS[ncols])  # lazy imports, untimed
    check_frame(mlops_nb.profile(small_ref), small_cur)
    ref, cur, _ = make_frames(rows, *COLUMNS[ncols], sides=(0,) if op == "profile" else (1,))
    prof = Profile.from_json(json.loads(Path(profile_file).read_text()))
    with RssSampler() as sampler:
        mlops_nb.profile(ref) if op == "profile" else check_frame(prof, cur)
    emit({"rss": sampler.extra if rss_bytes() is not None else None})


def cprofile_text(func: Any, reps: int) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(lambda: [func() for _ in range(reps)])
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats("tottime").print_stats(20)
    return buffer.getvalue()


# -- the table ----------------------------------------------------------------------------


def fmt_ms(v: float) -> str:
    return f"{v:,.1f} ms" if v < 10_000 else f"{v / 1000:,.1f} s"


LABELS = {
    "profile": "profile(reference)",
    "check": "check_frame(profile, current)",
    "magic": "%mlops_drift end to end, model scores the batch",
    "magic with scores": "%mlops_drift end to end, --predictions given",
}


def verdict(value: float, limit: float | None) -> tuple[str, str]:
    """(target, ok) cells: the limit, and whether the value is below it."""
    if limit is None:
        return "", ""
    return f"< {fmt_ms(limit)}", "yes" if value < limit else "NO"


def render(results: dict[str, Any]) -> list[str]:
    header = ("measurement", "median", "min", "max", "n", "target", "ok")
    rows: list[tuple[str, ...]] = []
    notes: list[tuple[str, str]] = []

    def add(label: str, *cells: str) -> None:
        rows.append((label, *cells, *[""] * (len(header) - 1 - len(cells))))

    for key, r in results["sizes"].items():
        for what, label in LABELS.items():
            if what in r:
                t = r[what]
                cells = (fmt_ms(t["median"]), fmt_ms(t["min"]), fmt_ms(t["max"]), str(t["n"]))
                limit = TARGETS_MS.get((what, r["rows"], r["columns"]))
                add(f"{key}: {label}", *cells, *verdict(t["median"], limit))
        for op in ("profile", "check"):
            for how, samples in (r.get(f"{op}_mem") or {}).items():
                v = [x for x in samples if x is not None]
                if v:
                    med, frame = statistics.median(v), r["frame_bytes"]
                    mbs = [f"{x / MB:,.1f} MB" for x in (med, min(v), max(v))]
                    ok = "yes" if med < frame else "NO"
                    add(
                        f"{key}: {op} peak extra memory, {how}",
                        *mbs,
                        str(len(v)),
                        f"< {frame / MB:,.0f} MB (the frame)",
                        ok,
                    )
        for stat, gap in (r.get("gaps") or {}).items():
            if gap:
                ok = "yes" if gap[1] <= TARGET_STAT_DIFF else "NO"
                add(
                    f"{key}: max |{stat} - scipy exact|",
                    f"{gap[1]:.1e}",
                    "",
                    "",
                    "",
                    f"<= {TARGET_STAT_DIFF}",
                    ok,
                )
        first = fmt_ms(r["first_ms"])
        kb = r["profile_json_kb"]
        notes.append(
            (f"{key}:", f"{r['verdicts']}; first profile + check {first}; profile {kb:,.0f} KB")
        )
    ev, base = results["evidently"], results["sizes"].get("1M x 20")
    if "skipped" in ev:
        add(f"Evidently DataDriftPreset, 1M x 20: {ev['skipped']}")
    else:
        cells = (fmt_ms(ev["median"]), fmt_ms(ev["min"]), fmt_ms(ev["max"]), str(ev["n"]))
        add(f"Evidently {ev['version']} DataDriftPreset, 1M x 20", *cells)
        if base:
            for what in ("check", "magic"):
                ratio = ev["median"] / base[what]["median"]
                add(f"ratio Evidently / mlops-nb {LABELS[what]}, 1M x 20", f"{ratio:,.0f}x")
            same = "same data" if ev["checksum"] == base.get("checksum") else "NOT the same data"
            notes.append(
                ("Evidently:", f"pandas {ev['pandas']}, checksum {ev['checksum']} ({same})")
            )
    meta = results["meta"]
    notes.append(("versions:", ", ".join(f"{k} {v}" for k, v in meta["versions"].items())))
    notes.append(("machine:", f"{meta['cpus']} CPUs, {meta['platform']}, {meta['reps']} reps"))
    return layout(header, rows, notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_json_option(parser)
    parser.add_argument("--sizes", default=",".join(SIZES), help="rows: any of 10k,100k,1M")
    parser.add_argument("--reps", type=int, default=9, help="timed calls of each (default 9)")
    parser.add_argument(
        "--mem-reps", type=int, default=3, help="memory measurements at 1M (0 skips)"
    )
    parser.add_argument("--skip-100", action="store_true", help="skip the 1M x 100 frames")
    parser.add_argument(
        "--evidently-python", metavar="PATH", help="python of a venv with evidently"
    )
    parser.add_argument(
        "--evidently-reps", type=int, default=2, help="Evidently runs (minutes each; 0 skips)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of each check"
    )
    parser.add_argument("--child", choices=("evidently", "rss"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=1_000_000, help=argparse.SUPPRESS)
    parser.add_argument("--columns", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--op", choices=("profile", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child == "evidently":
        emit(evidently_measure(opts.rows, opts.evidently_reps))
        return 0
    if opts.child == "rss":
        child_rss(opts.rows, opts.columns, opts.op, opts.profile_file)
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlops-nb-bench-drift-") as tmp:
        opts.tmp = tmp
        os.environ["MLOPS_NB_HOME"] = str(Path(tmp) / "home")  # the magic's default store
        from IPython.core.interactiveshell import InteractiveShell

        import mlops_nb

        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "mlops_nb")
        shell.user_ns["store"] = mlops_nb.get_store()
        runs = [(k, SIZES[k], 20) for k in opts.sizes.split(",")]
        if "1M" in opts.sizes.split(",") and not opts.skip_100:
            runs.append(("1M", SIZES["1M"], 100))
        sizes = {f"{k} x {c}": measure(opts, k, rows, c, shell) for k, rows, c in runs}
        evidently = measure_evidently(opts, SIZES["1M"])
    import numpy
    import pandas
    import scipy

    results: dict[str, Any] = {
        "meta": {
            "reps": opts.reps,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "versions": {
                "python": platform.python_version(),
                "mlops_nb": mlops_nb.__version__,
                "pandas": pandas.__version__,
                "numpy": numpy.__version__,
                "scipy": scipy.__version__,
            },
            "targets_ms": {" ".join(map(str, k)): v for k, v in TARGETS_MS.items()},
            "elapsed_s": round(time.perf_counter() - started, 1),
        },
        "sizes": {
            k: {kk: vv for kk, vv in v.items() if kk != "cprofile"} for k, v in sizes.items()
        },
        "evidently": evidently,
    }
    out = sys.stderr if opts.json == "-" else sys.stdout
    print("\n".join(render(results)), file=out, flush=True)
    for key, size in sizes.items():
        if "cprofile" in size:
            print(
                f"\n-- {key}: check_frame on one thread, {opts.reps} calls\n{size['cprofile']}",
                file=out,
            )
    write_json(results, opts.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
