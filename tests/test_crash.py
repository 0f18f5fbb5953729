"""Deterministic crash points: a writer killed at every step leaves a consistent store.

For each step of each write path (``mlops_nb.store.faults.POINTS``), a child
process performs that write told to stop at ``PATH:STEP`` (what
``MLOPS_NB_CRASH_AT`` says in a real process) and kills itself with SIGKILL
exactly there. The test then requires that the child did
die there (so the step is really on the path), that ``audit verify`` passes,
that the write succeeds when made again, and that ``audit verify`` still
passes — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_nb.store import Store, audit, faults
from mlops_nb.store.location import ENV_ARTIFACTS, ENV_DB_URL, ENV_HOME

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
    # A monitor's slot: requests are answered and logged, then the monitor
    # checks the log (the check is recorded as every drift check is).
    "monitor": """
import json
from mlops_nb.datasets import make_churn, split
from mlops_nb.schedules import scheduler
from mlops_nb.serving.runtime import Runtime
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
runtime = Runtime(store, "crashy@production", address="crash test {nonce}", poll=3600)
runtime.holder.start()
runtime.predict({{"rows": json.loads(X_test.head(20).to_json(orient="records"))}})
runtime.log.flush()
slot = scheduler.run_now(store, "crash-monitor")
assert slot["status"] == "finished", slot
""",
    # Serving: a process answers requests (and takes feedback on them), then
    # its log is written; or it follows the alias to the other version.
    "log": """
import json
from mlops_nb.datasets import make_churn, split
from mlops_nb.serving.runtime import Runtime
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
runtime = Runtime(store, "crashy@production", address="crash test {nonce}", poll=3600)
runtime.holder.start()
runtime.predict({{"rows": json.loads(X_test.head(3).to_json(orient="records"))}})
runtime.log.flush()
""",
    "feedback": """
import json
from mlops_nb.datasets import make_churn, split
from mlops_nb.serving.runtime import Runtime
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
runtime = Runtime(store, "crashy@production", address="crash test {nonce}", poll=3600)
runtime.holder.start()
sent = json.loads(X_test.head(1).to_json(orient="records"))
reply = json.loads(runtime.predict({{"rows": sent}})[0])
runtime.feedback({{"request_id": reply["request_id"], "label": 1, "value": 2.5}})
runtime.log.flush()
""",
    # Batch scoring: a table scored and logged as one batch, its output file last.
    "score": """
import os
from mlops_nb.datasets import make_churn, split
from mlops_nb.serving.scoring import score
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
out = os.path.join(os.environ["MLOPS_NB_HOME"], "scored.parquet")
score(store, "crashy@production", X_test.head(30), output=out)
assert os.path.exists(out)
""",
    # Privacy: a subject's scored rows erased; batches past retention deleted.
    "erase": """
from mlops_nb.datasets import make_churn, split
from mlops_nb.serving.privacy import erase
from mlops_nb.serving.scoring import score
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
score(store, "crashy@production", X_test.head(10).assign(subject="{nonce}"))
score(store, "crashy@production", X_test.head(5).assign(subject="someone else"))
done = erase(store, "crashy", "subject == '{nonce}'")
assert done.rows == 10, done
""",
    "expire": """
import datetime as dt
from mlops_nb.datasets import make_churn, split
from mlops_nb.serving import privacy
from mlops_nb.serving.scoring import score
X_train, X_test, y_train, y_test = split(make_churn(300, seed=5), seed=5)
privacy.set_policy(store, "crashy", retention="1d")
score(store, "crashy@production", X_test.head(5))
later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
assert privacy.expire(store, later)
assert store.log_batches("crashy") == [] and store.erased_artifacts()
""",
    "deploy": """
from mlops_nb import registry
from mlops_nb.serving.runtime import Runtime
runtime = Runtime(store, "crashy@production", address="crash test {nonce}", poll=3600)
runtime.holder.start()
target = 2 if runtime.predictor.number == 1 else 1
registry.promote(store, "crashy", target, reason="{nonce}")
assert runtime.holder.check_now()
""",
}


# A fork server: one process imports everything once, then forks a child per
# write, so each of the ~70 kills costs a fork, not a fresh interpreter with
# pandas and scikit-learn. It opens no store itself (no connection crosses a
# fork) and runs single-threaded BLAS (no thread pool crosses a fork either).
ZYGOTE = """
import json, os, sys, traceback
sys.path.insert(0, {tests!r})
import numpy, pandas, sklearn, sqlalchemy, skops.io, nbformat, papermill
import mlops_nb, mlops_nb.api
from mlops_nb import registry, tracking
from mlops_nb.schedules import scheduler
from mlops_nb.store import Store, faults
import pyarrow.parquet, mlops_nb.serving.runtime, mlops_nb.serving.scoring
import mlops_nb.serving.privacy
import mlops_nb.monitoring.served
import models
writes = json.loads(sys.argv[1])
setup = sys.argv[2]
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            for key, value in request["env"].items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            faults._TARGET = request["point"]
            exec(setup + writes[request["path"]].format(nonce=request["nonce"]), {{}})
            code = 0
        except BaseException:
            traceback.print_exc()
            code = 3
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    print(json.dumps({{"signal": killed, "code": code}}), flush=True)
"""


class Writers:
    """Ask the fork server for one write, optionally killed at a crash point."""

    def __init__(self, tmp: Path) -> None:
        self.log = tmp / "writers.log"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        env.pop(faults.ENV_CRASH_AT, None)
        setup = textwrap.dedent(SETUP.format(tests=str(Path(__file__).parent)))
        writes = {k: textwrap.dedent(v) for k, v in WRITES.items()}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", ZYGOTE.format(tests=str(Path(__file__).parent)),
                 json.dumps(writes), setup],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env, text=True,
            )  # fmt: skip

    def write(self, path: str, nonce: str, point: str | None = None) -> dict:
        env = {k: os.environ.get(k) for k in (ENV_HOME, ENV_DB_URL, ENV_ARTIFACTS)}
        request = {"path": path, "nonce": nonce, "point": point, "env": env}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the fork server died: {self.log.read_text()[-3000:]}"
        return json.loads(line)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def writers(tmp_path_factory):
    server = Writers(tmp_path_factory.mktemp("writers"))
    yield server
    server.close()


@pytest.fixture
def crash_store(store, fitted):
    """A store with model ``crashy`` (versions 1 and 2, production at 1), an alert
    channel, a retrain trigger and a schedule, so every write path has what it needs."""
    import mlops_nb
    from mlops_nb import registry, tracking
    from mlops_nb.monitoring import served
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
    served.add_monitor(store, "crashy", "0 6 * * *", name="crash-monitor", window="1d")
    assert audit.verify(store).ok
    return store


@pytest.mark.parametrize("point", faults.all_points())
def test_a_writer_killed_at_each_step_leaves_a_consistent_store(crash_store, writers, point):
    path = point.split(":")[0]
    crashed = writers.write(path, f"crash at {point}", point)
    assert crashed["signal"] == signal.SIGKILL, (
        f"the writer was not killed at {point}: the step is not on the {path} path "
        f"({crashed}; log: {writers.tail()})"
    )
    fresh = Store(crash_store.location)
    try:
        result = audit.verify(fresh)
        assert result.ok, f"after a crash at {point}: {result.problem}"
        # The store keeps working: the same write again, then verify again.
        again = writers.write(path, f"again after {point}")
        assert again == {"signal": None, "code": 0}, writers.tail()
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
