"""What the benchmark scripts share: logging, child results, medians, the table layout.

Standard library only, so a benchmark's child half can import it in another
virtual environment (MLflow's, Evidently's).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the table (or the JSON)."""
    print(message, file=sys.stderr, flush=True)


def emit(payload: dict[str, Any]) -> None:
    """Child result: one JSON document on the last line of stdout."""
    sys.stdout.write("\n" + json.dumps(payload) + "\n")
    sys.stdout.flush()


def timed(func: Callable[[], Any], reps: int, warmup: int = 0) -> list[float]:
    """Wall-clock milliseconds of ``reps`` calls after ``warmup`` calls, each call
    after a garbage collection (so one call's garbage is not another's cost)."""
    for _ in range(warmup):
        func()
    out = []
    for _ in range(reps):
        gc.collect()
        start = time.perf_counter()
        func()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, min, max and the samples themselves."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "samples": samples,
    }


def run_child(
    python: str, script: str, args: list[str], timeout: float, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``script`` in ``python`` with ``args``; return the JSON of its last stdout line
    (see :func:`emit`). Its progress lines (stderr) go straight to ours."""
    proc = subprocess.run(
        [python, script, *args],
        env=dict(os.environ) if env is None else env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{python} {' '.join(args)} failed (exit {proc.returncode})")
    return dict(json.loads(lines[-1]))


def rss_bytes() -> int | None:
    """This process's resident set size, from ``/proc`` (``None`` elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class RssSampler:
    """Peak resident-set growth while the block runs, sampled every ``interval`` s."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.base = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes() or 0)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        gc.collect()
        self.base = self.peak = rss_bytes() or 0
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes() or 0)

    @property
    def extra(self) -> int:
        return max(0, self.peak - self.base)


def extra_tracemalloc(func: Callable[[], Any]) -> int:
    """Peak of Python-traced allocations during ``func()`` above what was traced before."""
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


def layout(
    header: tuple[str, ...], rows: list[tuple[str, ...]], notes: list[tuple[str, str]]
) -> list[str]:
    """Aligned text table: first column left-aligned, the rest right-aligned, then notes."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    if notes:
        widths[0] = max(widths[0], *(len(label) for label, _ in notes))
    lines = []
    for n, row in enumerate([header, *rows]):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i + 1]) for i, cell in enumerate(row[1:])]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.extend(f"{label.ljust(widths[0])}  {text}" for label, text in notes)
    return lines


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the numbers as JSON to FILE ('-' or no value: stdout, the "
        "table then goes to stderr)",
    )


def write_json(results: dict[str, Any], target: str | None) -> None:
    """``--json``: '-' prints the numbers on stdout, a path writes them there."""
    if target == "-":
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif target:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(results, indent=2) + "\n")
        log(f"numbers written to {target}")
    log(f"done in {results['meta']['elapsed_s']} s")
