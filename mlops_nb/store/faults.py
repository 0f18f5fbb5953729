"""Crash points: where a test may kill a writing process, step by step.

Every write path names its steps here, in order. :func:`point` is called at
each step; it does nothing unless ``MLOPS_NB_CRASH_AT`` names that step
(``PATH:STEP``, e.g. ``track:3``), in which case the process kills itself
with SIGKILL on the spot — no ``finally`` block, no ``atexit``, no flush, as
when the machine loses power or the OOM killer strikes. The tests walk every
step of every path, on SQLite and PostgreSQL, and then require ``audit
verify`` to pass and the store to keep working (``tests/test_crash.py``).

The variable is read once, when this module is imported, so a process that
is not being tested pays one dictionary lookup per step.
"""

from __future__ import annotations

import os
import signal

ENV_CRASH_AT = "MLOPS_NB_CRASH_AT"

#: Each write path and its steps, in the order they happen.
POINTS: dict[str, tuple[str, ...]] = {
    "artifact": (
        "temporary file written, not yet flushed to disk",
        "temporary file on disk, not yet in place",
        "file in place, its folder entry not yet on disk",
        "file stored, its row not yet written",
        "row written, transaction not yet committed",
    ),
    "track": (
        "run row written (running), nothing trained yet recorded",
        "model, profile and source files stored, no row about them yet",
        "version row written, transaction not yet committed",
        "run finished and version committed",
    ),
    "alias": (
        "change row written, alias not yet moved",
        "alias moved, transaction not yet committed",
    ),
    "drift": (
        "report file stored, no row about it yet",
        "check row written, alert not yet written",
        "check and alert written, transaction not yet committed",
        "check committed, alert not yet delivered",
    ),
    "slot": (
        "slot recorded, transaction not yet committed",
        "slot committed, its run not yet started",
        "slot's run ended, slot not yet marked ended",
    ),
    "monitor": (
        "monitor's slot started, its log not yet read",
        "check of the log recorded, slot not yet marked ended",
    ),
    "log": (
        "batch of predictions taken from memory, its file not yet stored",
        "batch file stored, no row about it yet",
        "batch rows written, transaction not yet committed",
        "batch committed, not yet released from memory",
    ),
    "feedback": (
        "batch of feedback taken from memory, its file not yet stored",
        "batch file stored, no row about it yet",
        "batch rows written, transaction not yet committed",
        "batch committed, not yet released from memory",
    ),
    "score": (
        "table scored, its log file not yet stored",
        "log file stored, no row about it yet",
        "batch rows written, transaction not yet committed",
        "batch committed, output file not yet in place",
    ),
    "erase": (
        "files without the erased rows stored, nothing recorded yet",
        "batches changed and old files recorded as erased, not yet committed",
        "erasure committed, old files not yet deleted",
    ),
    "expire": (
        "nothing stored, batches past retention not yet deleted",
        "batches deleted and their files recorded as erased, not yet committed",
        "expiry committed, old files not yet deleted",
    ),
    "deploy": (
        "new version loaded and checked, its swap not yet recorded",
        "swap recorded, transaction not yet committed",
        "swap committed, requests not yet switched to the new version",
    ),
}

_TARGET = os.environ.get(ENV_CRASH_AT) or None


def point(path: str, step: int) -> None:
    """Step ``step`` (1-based) of write path ``path`` is reached: die here if told to."""
    if _TARGET is not None and f"{path}:{step}" == _TARGET:
        os.kill(os.getpid(), signal.SIGKILL)


def all_points() -> list[str]:
    """Every ``PATH:STEP`` name, in order."""
    return [f"{path}:{n}" for path, steps in POINTS.items() for n in range(1, len(steps) + 1)]
