"""Deterministic crash points: a writer killed at every step leaves a consistent store.

For each step of each write path (``mlops_nb.store.faults.POINTS``), a child
process performs that write with ``MLOPS_NB_CRASH_AT=PATH:STEP`` and kills
itself with SIGKILL exactly there. The test then requires that the child did
die there (so the step is really on the path), that ``audit verify`` passes,
that the write succeeds when made again, and that ``audit verify`` still
passes — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_nb.store import Store, audit, faults

pytestmark = [pytest.mark.backends, pytest.mark.slow]

NOTEBOOKS = Path(__file__).parent / "notebooks"

# What each child does, by write path. ``store`` is the test's store, opened
# from the environment the fixtures set (MLOPS_NB_HOME, MLOPS_NB_DB_URL).
SETUP = """
import sys
sys.path.insert(0, {tests!r})
from mlops_nb.store import Store
store = Store()
"""

WRITES = {
    "artifact": """
store.put_artifact(b"crash-test artifact {nonce}", "test", "tester")
""",
    "track": """
from mlops_nb import tracking
from mlops_nb.datasets import make_churn, split
from models import churn_pipeline
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
model = churn_pipeline(X_train, y_train)
with tracking.track(store, "crashy", data=X_train, target=y_train, source=["{nonce}"]) as run:
    run.set_model(model)
    run.log_metric("accuracy", float(model.score(X_test, y_test)))
""",
    "alias": """
from mlops_nb import registry
target = 2 if registry.resolve(store, "crashy@production").version == 1 else 1
registry.promote(store, "crashy", target, reason="{nonce}")
""",
    "drift": """
import mlops_nb
from mlops_nb.datasets import make_churn, split
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
shifted = X_test.assign(tenure_months=X_test["tenure_months"] * 3 + 40)
mlops_nb.check_drift("crashy@production", shifted, batch="{nonce}", store=store)
""",
    "slot": """
from mlops_nb.schedules import scheduler
scheduler.run_now(store, "crash-schedule", {{"x": 1}})
""",
}


def _child(point: str | None, path: str, nonce: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(SETUP.format(tests=str(Path(__file__).parent)))
    script += textwrap.dedent(WRITES[path].format(nonce=nonce))
    env = dict(os.environ)
    env.pop(faults.ENV_CRASH_AT, None)
    if point is not None:
        env[faults.ENV_CRASH_AT] = point
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def crash_store(store, fitted):
    """A store with model ``crashy`` (versions 1 and 2, production at 1), an alert
    channel, a retrain trigger and a schedule, so every write path has what it needs."""
    import mlops_nb
    from mlops_nb import registry, tracking
    from mlops_nb.schedules import schedule

    model, accuracy = fitted
    from mlops_nb.datasets import make_churn, split

    X_train, *_ = split(make_churn(300, seed=5), seed=5)
    for _ in range(2):
        with tracking.track(store, "crashy", model=model, data=X_train) as run:
            run.log_metric("accuracy", accuracy)
    registry.promote(store, "crashy", 1)
    mlops_nb.add_alert_channel("crashy", "log", path=str(store.home / "alerts.log"), store=store)
    schedule.add(store, "crash-schedule", NOTEBOOKS / "tiny_tracked.ipynb", cron="0 6 1 * *")
    assert audit.verify(store).ok
    return store


@pytest.mark.parametrize("point", faults.all_points())
def test_a_writer_killed_at_each_step_leaves_a_consistent_store(crash_store, point):
    path = point.split(":")[0]
    crashed = _child(point, path, nonce=f"crash at {point}")
    assert crashed.returncode == -signal.SIGKILL, (
        f"the writer was not killed at {point}: the step is not on the {path} path "
        f"(exit {crashed.returncode}; stderr: {crashed.stderr[-2000:]})"
    )
    fresh = Store(crash_store.location)
    try:
        result = audit.verify(fresh)
        assert result.ok, f"after a crash at {point}: {result.problem}"
        # The store keeps working: the same write again, then verify again.
        again = _child(None, path, nonce=f"again after {point}")
        assert again.returncode == 0, again.stderr[-2000:]
        result = audit.verify(fresh)
        assert result.ok, f"after writing again past {point}: {result.problem}"
    finally:
        fresh.close()


def test_every_declared_step_is_numbered_from_one_without_gaps():
    names = faults.all_points()
    assert len(names) == len(set(names))
    for path, steps in faults.POINTS.items():
        assert path in WRITES, f"write path {path} has no crash test"
        assert [n for n in names if n.startswith(path + ":")] == [
            f"{path}:{n}" for n in range(1, len(steps) + 1)
        ]
