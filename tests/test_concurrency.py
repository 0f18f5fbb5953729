"""Several processes on one store: nothing lost, nothing locked; SIGKILL leaves it consistent."""

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mlops_nb import tracking
from mlops_nb.store import Store, audit

pytestmark = [pytest.mark.slow, pytest.mark.backends]

WRITER = textwrap.dedent("""
    import sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    from mlops_nb.store import Store
    from mlops_nb import tracking, registry
    store = Store(sys.argv[1])
    worker, count = int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(worker)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc"))
    y = (X.a > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    for i in range(count):
        with tracking.track(store, "shared", model=model, data=X, target=y,
                            params={"worker": worker, "i": i},
                            metrics={"accuracy": float(i)}) as run:
            run.record("worker", worker)
        if i % 3 == 0:
            registry.promote(store, "shared", run.version.version, "staging")
    print("ok")
""")


def test_four_processes_writing_at_once_lose_nothing(home):
    Store(home).close()
    workers, count = 5, 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), str(w), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    store = Store(home)
    runs = store.list_runs(name="shared")
    assert len(runs) == workers * count
    assert all(r.status == "finished" for r in runs)
    assert sorted((r.params["worker"], r.params["i"]) for r in runs) == sorted(
        (w, i) for w in range(workers) for i in range(count)
    )
    versions = [v.version for v in store.list_versions("shared")]
    assert versions == list(range(1, workers * count + 1))
    assert len(store.alias_changes("shared", "staging")) >= 1
    result = audit.verify(store)
    assert result.ok, result.problem


CRASHER = textwrap.dedent("""
    import sys
    from mlops_nb.store import Store
    from mlops_nb import tracking
    store = Store(sys.argv[1])
    with tracking.track(store, "crashy") as run:
        print(run.run_id, flush=True)
        i = 0
        while True:
            run.record(f"k{i % 50}", i)
            store.put_artifact(f"blob {i}".encode() * 500, "test", "crasher")
            i += 1
""")


def test_sigkill_mid_run_leaves_a_consistent_usable_store(home, fitted):
    Store(home).close()
    with subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        run_id = proc.stdout.readline().strip()
        assert len(run_id) == 32, proc.stderr.read()
        time.sleep(1.5)  # let it write a few hundred transactions
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = Store(home)
    result = audit.verify(store)
    assert result.ok, result.problem
    assert result.events > 20
    # The dead run is found and closed, and the store keeps working.
    assert store.get_run(run_id).status == "running"
    assert run_id in tracking.recover_orphans(store)
    assert store.get_run(run_id).status == "failed"
    with tracking.track(store, "after", model=fitted[0]) as run:
        pass
    assert run.version.version == 1
    assert audit.verify(store).ok


PROMOTER = textwrap.dedent("""
    import random, sys
    from mlops_nb.store import Store
    from mlops_nb import registry
    from mlops_nb.errors import ConflictError, NotFoundError
    store = Store(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    for i in range(int(sys.argv[3])):
        try:
            if rng.random() < 0.25:
                registry.rollback(store, "shared")
            else:
                registry.promote(store, "shared", rng.randint(1, 4))
        except (ConflictError, NotFoundError):
            pass  # nothing to roll back to, or nobody holds the alias yet
    print("ok")
""")


def test_processes_moving_one_alias_keep_its_history_linear(home):
    store = Store(home)
    for _ in range(4):
        store.create_version(
            {"model": "shared", "artifact_sha256": "0" * 64, "format": "skops", "estimator": "E"},
            "tester",
        )
    store.close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROMOTER, str(home), str(seed), "15"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(4)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results):
        assert proc.returncode == 0, err
    store = Store(home)
    history = store.alias_changes("shared", "production")
    assert len(history) >= 4
    # Every change starts from the holder the previous change left: none was
    # decided on a stale holder, and none was lost.
    assert history[0].from_version is None
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version != after.to_version
        assert after.id == before.id + 1 and after.at >= before.at
    assert store.alias_holder("shared", "production").version == history[-1].to_version
    result = audit.verify(store)
    assert result.ok, result.problem
