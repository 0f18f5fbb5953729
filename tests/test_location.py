"""One store for every process: a team database named only on the command line.

Each test gives ``--db-url`` on the command line and nowhere else (no
``MLOPS_NB_DB_URL``, no ``config.yaml``), runs one entry point that starts
other processes (notebook kernels, pipeline steps, retrain runs, Dask
workers, the scheduler), and then requires every record — the notebook run
*and* what its kernel tracked — to be in that PostgreSQL database, with no
SQLite file appearing in the store folder. The kernel side is checked too:
a kernel that would record into another store refuses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlops_nb.errors import NotFoundError
from mlops_nb.store import Store, StoreLocation, audit
from mlops_nb.store.location import ENV_ARTIFACTS, ENV_DB_URL, ENV_HOME, ENV_STORE_ID

pytestmark = pytest.mark.slow

NB = Path(__file__).parent / "notebooks"
TINY = NB / "tiny_tracked.ipynb"


@pytest.fixture
def team(tmp_path, pg_url, monkeypatch):
    """A store folder and a PostgreSQL URL known only to the command line."""
    home = tmp_path / "home"
    for key in (ENV_DB_URL, ENV_ARTIFACTS, ENV_STORE_ID):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "not-this-one"))  # --home must win
    return home, pg_url


def cli(home: Path, url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (ENV_DB_URL, ENV_STORE_ID)}
    return subprocess.run(
        [sys.executable, "-m", "mlops_nb", "--home", str(home), "--db-url", url, "--json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def team_store(home: Path, url: str) -> Store:
    store = Store(StoreLocation(home.resolve(), url))
    assert store.backend == "postgresql"
    return store


def assert_nothing_local(home: Path) -> None:
    assert not (home / "mlops.db").exists(), "a SQLite store appeared beside the team store"


def test_run_records_the_kernels_version_in_the_database(team):
    home, url = team
    run = ok(cli(home, url, "run", str(TINY), "-p", "x", "4"))
    with team_store(home, url) as store:
        tracked = store.list_runs(parent_run_id=run["run_id"])
        assert [r.status for r in tracked] == ["finished"]
        assert store.latest_version("tiny").run_id == tracked[0].run_id
        assert store.get_run(run["run_id"]).values["doubled"] == 8
        assert audit.verify(store).ok
    assert_nothing_local(home)


PIPELINE = """
name: located
model: tiny
steps:
  - name: train
    notebook: {tiny}
    parameters: {{x: 5}}
  - name: record
    notebook: {record}
    depends_on: [train]
    parameters: {{value: 2.5}}
"""


def test_pipeline_run_keeps_every_step_in_the_database(team, tmp_path):
    home, url = team
    path = tmp_path / "located.yaml"
    path.write_text(PIPELINE.format(tiny=TINY, record=NB / "record_step.ipynb"))
    run = ok(cli(home, url, "pipeline", "run", str(path)))
    with team_store(home, url) as store:
        steps = store.list_runs(parent_run_id=run["run_id"])
        assert sorted(s.status for s in steps) == ["finished", "finished"]
        assert store.latest_version("tiny").version == 1
        assert audit.verify(store).ok
    assert_nothing_local(home)


def test_schedule_tick_and_run_now_fire_into_the_database(team):
    home, url = team
    ok(cli(home, url, "schedule", "add", "nightly", str(TINY), "--cron", "0 3 * * *"))
    ok(cli(home, url, "tick", "--now", "2026-12-01T03:00:30Z"))
    ok(cli(home, url, "schedule", "run-now", "nightly", "-p", "x", "7"))
    with team_store(home, url) as store:
        versions = store.list_versions("tiny")
        assert len(versions) == 2
        assert all(store.get_run(v.run_id).status == "finished" for v in versions)
        assert audit.verify(store).ok
    assert_nothing_local(home)


def test_a_drift_alarm_starts_its_retrain_on_the_database(team, tmp_path):
    home, url = team
    ok(cli(home, url, "run", str(TINY), "-p", "x", "1"))
    ok(cli(home, url, "drift", "trigger", "tiny", str(TINY), "-p", "x", "9", "--cooldown", "1d"))
    import numpy as np
    import pandas as pd

    shifted = pd.DataFrame(
        np.random.default_rng(0).normal(5, 1, size=(300, 3)), columns=list("abc")
    )
    data = tmp_path / "shifted.csv"
    shifted.to_csv(data, index=False)
    report = ok(cli(home, url, "drift", "check", "tiny", str(data)))
    assert report["drift"] is True and report["retrain_run_id"]
    with team_store(home, url) as store:
        deadline = time.monotonic() + 300
        while _status(store, report["retrain_run_id"]) in (None, "running"):
            assert time.monotonic() < deadline, "the retrain never finished"
            time.sleep(0.5)
        retrain = store.get_run(report["retrain_run_id"])
        assert retrain.status == "finished", retrain.error
        assert store.latest_version("tiny").version == 2  # tracked by the retrain's kernel
        assert audit.verify(store).ok
    assert_nothing_local(home)


def _status(store: Store, run_id: str) -> str | None:
    try:
        return store.get_run(run_id).status
    except NotFoundError:
        return None


def test_the_scheduler_daemon_fires_into_the_database(team):
    home, url = team
    ok(cli(home, url, "schedule", "add", "minutely", str(TINY), "--cron", "* * * * *"))
    env = {k: v for k, v in os.environ.items() if k != ENV_DB_URL}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb", "--home", str(home), "--db-url", url,
         "scheduler", "--interval", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    try:
        with team_store(home, url) as store:
            deadline = time.monotonic() + 180
            while not _finished_version(store):
                assert daemon.poll() is None, daemon.stderr.read().decode()
                assert time.monotonic() < deadline, "the scheduler never ran the schedule"
                time.sleep(0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
        daemon.stderr.close()
    with team_store(home, url) as store:
        assert audit.verify(store).ok
    assert_nothing_local(home)


def _finished_version(store: Store) -> bool:
    try:
        version = store.latest_version("tiny")
    except NotFoundError:
        return False
    return store.get_run(version.run_id).status == "finished"


def test_a_dask_worker_runs_the_notebook_against_the_database(team):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    home, url = team
    with LocalCluster(
        n_workers=1, threads_per_worker=1, dashboard_address=None, processes=True
    ) as cluster:
        run = ok(
            cli(home, url, "run", str(TINY), "-p", "x", "6", "--executor", "dask",
                "--scheduler-address", cluster.scheduler_address)
        )  # fmt: skip
    with team_store(home, url) as store:
        tracked = store.list_runs(parent_run_id=run["run_id"])
        assert [r.status for r in tracked] == ["finished"]
        assert audit.verify(store).ok
    assert_nothing_local(home)


# A StoreLocation, so the other store is the SQLite file in that folder even
# though the kernel's environment names the team database.
ELSEWHERE = """
from pathlib import Path
import mlops_nb
from mlops_nb.store import Store, StoreLocation
mlops_nb.set_store(Store(StoreLocation(Path({other!r}))))
"""


def test_a_kernel_refuses_to_record_into_another_store(team, tmp_path):
    """A notebook run by ``mlops-nb run`` that points its kernel at another store."""
    import nbformat

    home, url = team
    other = tmp_path / "other"
    Store(other).close()
    nb = nbformat.read(TINY, as_version=4)
    nb.cells.insert(
        2, nbformat.v4.new_code_cell(textwrap.dedent(ELSEWHERE.format(other=str(other))))
    )
    path = tmp_path / "elsewhere.ipynb"
    nbformat.write(nb, path)
    result = cli(home, url, "run", str(path))
    assert result.returncode == 6
    assert "would record into" in result.stderr and "nothing was recorded there" in result.stderr
    with Store(other) as elsewhere:
        assert elsewhere.list_runs() == []
        assert [e.kind for e in elsewhere.iter_events()] == []
    assert_nothing_local(home)


def test_the_location_reaches_children_whole_and_masked_in_text(tmp_path):
    location = StoreLocation(tmp_path, "postgresql+psycopg://app:s3cret@db/mlops", "s3://b/p")
    env = location.env()
    assert env == {
        ENV_HOME: str(tmp_path),
        ENV_DB_URL: "postgresql+psycopg://app:s3cret@db/mlops",
        ENV_ARTIFACTS: "s3://b/p",
    }
    assert "s3cret" not in repr(location) and "s3cret" not in str(location)
    # Every variable is set, so a child cannot fall back to the parent's own.
    assert StoreLocation(tmp_path).env()[ENV_DB_URL] == ""


def test_each_store_has_its_own_id_and_a_copy_gets_a_new_one(tmp_path):
    from mlops_nb.store.copy import copy_store

    first, second = Store(tmp_path / "a"), Store(tmp_path / "b")
    try:
        assert len(first.store_id) == 32 and first.store_id != second.store_id
        assert Store(tmp_path / "a").store_id == first.store_id  # stable on reopening
        copy_store(first, second)
        assert second.store_id != first.store_id
    finally:
        first.close()
        second.close()


def test_a_relative_home_is_resolved_from_where_the_command_ran(tmp_path, monkeypatch):
    """papermill moves the working directory to the notebook's folder while the
    store opens in the background; the location was resolved before that."""
    monkeypatch.delenv(ENV_DB_URL, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = notebooks / "tiny.ipynb"
    notebook.write_bytes(TINY.read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in (ENV_HOME, ENV_DB_URL)}
    result = subprocess.run(
        [sys.executable, "-m", "mlops_nb", "--home", "rel", "--json", "run", str(notebook)],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "rel" / "mlops.db").is_file()
    assert not (notebooks / "rel").exists()
    with Store(work / "rel") as store:
        run_id = json.loads(result.stdout)["run_id"]
        assert [r.status for r in store.list_runs(parent_run_id=run_id)] == ["finished"]
