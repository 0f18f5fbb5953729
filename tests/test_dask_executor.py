"""The Dask executor on a LocalCluster of two worker processes (one thread each)."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import skip_or_fail, wait_for

try:
    import distributed
except ImportError as exc:
    skip_or_fail(f"Dask's distributed is not installed: {exc}")

from mlops_nb.errors import InvalidInputError, UnavailableError
from mlops_nb.execution import pipeline as pipelines
from mlops_nb.execution.dask_executor import DaskExecutor, connect, locator
from mlops_nb.execution.executor import StepTask
from mlops_nb.store import audit

NB = Path(__file__).parent / "notebooks"


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes behind nannies (daemonic, like any LocalCluster)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


@pytest.fixture
def dask(cluster):
    """(scheduler address, a client of it) with both workers up."""
    cluster, client = cluster
    client.wait_for_workers(2, timeout=60)
    return cluster.scheduler_address, client


def write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text).replace("NB", str(NB)))
    return path


def workers(client):
    return set(client.scheduler_info()["workers"])


def gone(pid, within=15.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def no_run_left_running(store):
    return [r.run_id for r in store.list_runs() if r.status == "running"] == []


SPREAD = """
name: spread
settings: {max_parallel: 2}
steps:
  - name: left
    notebook: NB/record_step.ipynb
    parameters: {value: 3, label: left}
  - name: right
    notebook: NB/record_step.ipynb
    parameters: {value: 10, label: right}
  - name: join
    notebook: NB/record_step.ipynb
    depends_on: [left, right]
    parameters:
      value: "{{ steps.left.values.score }}"
      label: "from {{ steps.right.values.label }}"
"""


@pytest.mark.slow
def test_parallel_steps_run_on_both_workers_and_the_dependent_step_after(store, tmp_path, dask):
    address, client = dask
    # kernels start even though nanny-managed worker processes are daemonic
    assert all(client.run(lambda: __import__("multiprocessing").current_process().daemon).values())
    run = pipelines.run(
        store, pipelines.load(write(tmp_path, SPREAD)), executor=DaskExecutor(address)
    )
    assert run.status == "finished", run.error
    steps = {name: store.get_run(s["run_id"]) for name, s in run.data["steps"].items()}
    left, right, join = steps["left"], steps["right"], steps["join"]
    assert {left.tags["worker"], right.tags["worker"]} == workers(client)
    assert join.tags["worker"] in workers(client)
    assert join.started_at >= max(left.ended_at, right.ended_at)
    # values recorded on the workers flow on; the executed notebooks are in the shared store
    assert join.params == {"value": 6.0, "label": "from right"}
    assert all(r.parent_run_id == run.run_id and r.output_sha256 for r in steps.values())
    assert all(r.tags["attempt"] == "1" for r in steps.values())
    assert audit.verify(store).ok


@pytest.mark.slow
@pytest.mark.parametrize(
    "poll, retries",
    [
        (0.3, 1),  # the client sees the worker gone; the retry runs on a live worker
        (300, 0),  # Dask re-runs the task elsewhere first; that re-run reports the loss
    ],
    ids=["client-notices-then-retry", "dask-rerun-notices-no-retry"],
)
def test_a_worker_killed_mid_step(store, tmp_path, dask, poll, retries):
    address, client = dask
    pidfile, marker = tmp_path / "kernel.pid", tmp_path / "started"
    path = write(
        tmp_path,
        f"""
    name: survive
    settings: {{retries: {retries}, backoff: 0.1}}
    steps:
      - name: slow
        notebook: NB/sleepy.ipynb
        parameters: {{seconds: 120, pidfile: "{pidfile}", marker: "{marker}"}}
      - name: after
        notebook: NB/record_step.ipynb
        depends_on: [slow]
    """,
    )
    result = {}
    executor = DaskExecutor(address, poll_interval=poll)
    runner = threading.Thread(
        target=lambda: result.update(
            run=pipelines.run(store, pipelines.load(path), executor=executor)
        )
    )
    runner.start()
    try:
        wait_for(pidfile.exists)  # the kernel on the worker is asleep in the step's cell
        (first,) = [r for r in store.list_runs(kind="notebook") if r.status == "running"]
        victim = first.tags["worker"]
        kernel = int(pidfile.read_text())
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    finally:
        runner.join(120)
    assert not runner.is_alive()
    run = result["run"]
    reason = f"dask worker {victim} was lost while running step slow (attempt 1)"
    lost = store.get_run(first.run_id)
    assert lost.status == "failed" and lost.error == reason
    assert lost.ended_at is not None and lost.output_sha256  # the partial notebook is kept
    step = run.data["steps"]["slow"]
    slow_runs = [r for r in store.list_runs(parent_run_id=run.run_id) if r.tags["step"] == "slow"]
    if retries:
        assert run.status == "finished", run.error
        assert step["attempts"] == 2 and step["run_id"] != lost.run_id
        retried = store.get_run(step["run_id"])
        assert retried.status == "finished" and retried.tags["worker"] != victim
        assert retried.tags["attempt"] == "2"
    else:
        assert run.status == "failed" and run.error == f"step slow: {reason}"
        assert step["attempts"] == 1 and run.data["steps"]["after"]["status"] == "skipped"
    # Dask's own re-run of the lost task never ran the notebook a second time
    assert len(slow_runs) == 1 + retries
    assert no_run_left_running(store)
    assert gone(kernel)  # the kernel noticed its worker died and exited
    assert audit.verify(store).ok


@pytest.mark.slow
def test_losing_the_scheduler_mid_step_fails_the_run_and_does_not_retry(store, tmp_path):
    """A cluster of its own, in a process that is then killed with its workers."""
    script = (
        "import time\n"
        "from distributed import LocalCluster\n"
        "c = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)\n"
        "print(c.scheduler_address, flush=True)\n"
        "time.sleep(300)\n"
    )
    cluster = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        address = cluster.stdout.readline().strip()
        pidfile = tmp_path / "kernel.pid"
        task = StepTask(
            name="nap",
            notebook=NB / "sleepy.ipynb",
            parameters={"seconds": 120, "pidfile": str(pidfile)},
            retries=2,
            backoff=0.1,
        )
        result = {}

        def run():
            try:
                DaskExecutor(address, poll_interval=0.3).run(store, task)
            except UnavailableError as exc:
                result["error"] = str(exc)

        runner = threading.Thread(target=run)
        runner.start()
        wait_for(pidfile.exists)
        os.killpg(cluster.pid, signal.SIGKILL)
        runner.join(60)
    finally:
        cluster.kill()
        cluster.wait()
        cluster.stdout.close()
    assert not runner.is_alive()
    assert result["error"] == f"lost the connection to the dask scheduler at {address}"
    (run,) = store.list_runs()  # no retry was recorded against a scheduler that is gone
    assert run.status == "failed"
    assert run.error == f"dask cancelled step nap (attempt 1): {result['error']}"
    assert gone(int(pidfile.read_text()))


@pytest.mark.slow
def test_a_timeout_kills_the_kernel_on_the_worker(store, tmp_path, dask):
    address, client = dask
    pidfile = tmp_path / "kernel.pid"
    task = StepTask(
        name="nap",
        notebook=NB / "sleepy.ipynb",
        parameters={"seconds": 120, "pidfile": str(pidfile)},
        timeout=3,
    )
    started = time.monotonic()
    outcome = DaskExecutor(address).run(store, task)
    assert time.monotonic() - started < 60
    assert outcome.status == "failed" and outcome.attempts == 1
    assert outcome.error == "timed out after 3 s; the kernel was killed"
    run = store.get_run(outcome.run_id)
    assert run.status == "failed" and run.tags["worker"] in workers(client)
    assert gone(int(pidfile.read_text()), within=5)
    assert no_run_left_running(store)


@pytest.mark.slow
def test_cli_pipeline_and_run_on_the_cluster(cli, store, tmp_path, dask):
    address, client = dask
    path = write(
        tmp_path,
        """
    name: remote
    steps:
      - name: only
        notebook: NB/record_step.ipynb
        parameters: {value: 2}
    """,
    )
    done = cli(
        "pipeline", "run", str(path), "--executor", "dask", "--scheduler-address", address, "--json"
    )
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["status"] == "finished"
    for step in doc["data"]["steps"].values():
        assert store.get_run(step["run_id"]).tags["worker"] in workers(client)
    # `run`, with the address from the environment and the notebook given relative to cwd
    out = tmp_path / "executed.ipynb"
    ran = cli(
        "run",
        "record_step.ipynb",
        "-p",
        "value",
        "5",
        "--executor",
        "dask",
        "-o",
        str(out),
        "--json",
        cwd=NB,
        env={"MLOPS_NB_DASK_ADDRESS": address},
    )
    assert ran.code == 0, ran.err
    run = store.get_run(ran.json()["run_id"])
    assert run.status == "finished" and run.tags["worker"] in workers(client)
    assert run.values["score"] == 10 and out.exists()


@pytest.mark.slow
def test_cli_run_now_and_tick_on_the_cluster(cli, store, dask):
    from mlops_nb.schedules import schedule

    address, client = dask
    schedule.add(
        store,
        "remote-now",
        str(NB / "record_step.ipynb"),
        "0 3 * * *",
        parameters={"value": 3},
        now="2026-11-20T00:00:00Z",
    )
    now = cli(
        "schedule", "run-now", "remote-now", "--executor", "dask",
        "--scheduler-address", address, "--json",
    )  # fmt: skip
    assert now.code == 0, now.err
    run = store.get_run(now.json()["run_id"])
    assert run.status == "finished" and run.tags["worker"] in workers(client)
    ticked = cli(
        "tick", "--now", "2026-11-20T03:00:30Z", "--executor", "dask",
        "--scheduler-address", address, "--json",
    )  # fmt: skip
    assert ticked.code == 0, ticked.err
    (slot,) = ticked.json()
    assert slot["status"] == "finished"
    assert store.get_run(slot["run_id"]).tags["worker"] in workers(client)


@pytest.mark.slow
def test_cli_scheduler_runs_a_due_schedule_on_the_cluster(store, home, dask):
    import datetime as dt

    from mlops_nb.schedules import schedule

    address, client = dask
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)
    schedule.add(
        store,
        "minutely",
        str(NB / "record_step.ipynb"),
        "* * * * *",
        parameters={"value": 1.5},
        now=past,
    )
    exe = Path(sys.executable).parent / "mlops-nb"
    command = [str(exe), "--home", str(home), "scheduler", "--interval", "0.5"]
    daemon = subprocess.Popen(
        [*command, "--executor", "dask", "--scheduler-address", address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        slot = wait_for(
            lambda: next((s for s in store.slots("minutely") if s["status"] == "finished"), None)
        )
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    run = store.get_run(slot["run_id"])
    assert run.tags["worker"] in workers(client) and run.tags["schedule"] == "minutely"
    assert run.values["score"] == 3.0


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UNREACHABLE = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}


@pytest.mark.parametrize(
    "command, args, env, code, fragment",
    [
        ("pipeline", ["--executor", "dask"], {"MLOPS_NB_DASK_ADDRESS": ""}, 2, "needs --sch"),
        ("pipeline", ["--scheduler-address", "tcp://127.0.0.1:1"], {}, 2, "only with --exec"),
        ("pipeline", ["--executor", "dask", "--scheduler-address", "x"], {}, 2, "bad dask sch"),
    ]
    + [
        (
            command,
            ["--executor", "dask", "--scheduler-address", f"tcp://127.0.0.1:{_closed_port()}"],
            UNREACHABLE,
            9,  # UnavailableError: try again when the scheduler is back
            "cannot reach the dask scheduler at tcp://127.0.0.1:",
        )
        for command in ("run", "pipeline", "scheduler")
    ],
)
def test_cli_refuses_a_missing_or_unreachable_scheduler(
    cli, store, tmp_path, command, args, env, code, fragment
):
    target = {
        "run": ["run", str(NB / "record_step.ipynb")],
        "pipeline": ["pipeline", "run", str(write(tmp_path, SPREAD))],
        "scheduler": ["scheduler"],  # refused before its loop starts
    }[command]
    result = cli(*target, *args, env=env, timeout=60)
    assert result.code == code, result.err
    assert fragment in result.err and len(result.err.strip().splitlines()) == 1
    assert store.list_runs() == []  # refused before anything was recorded


def test_connect_names_the_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(InvalidInputError, match=r"pip install 'mlops-nb\[team\]'"):
        connect("tcp://127.0.0.1:8786")


def test_an_unreachable_scheduler_fails_the_steps_not_the_caller(store, tmp_path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    run = pipelines.run(
        store,
        pipelines.load(write(tmp_path, SPREAD)),
        executor=DaskExecutor(address, connect_timeout=0.5),
    )
    assert run.status == "failed" and "cannot reach the dask scheduler" in run.error
    assert run.data["steps"]["join"]["status"] == "skipped"
    assert no_run_left_running(store)
    with pytest.raises(UnavailableError, match="cannot reach"):
        DaskExecutor(address, connect_timeout=0.5).check()


def test_locator_prefers_the_stores_own(store):
    assert locator(store)["home"] == str(store.home)
    assert locator(type("S", (), {"home": Path("/x")})()) == {"home": "/x"}


def test_the_locator_a_task_carries_never_shows_the_password(tmp_path):
    import pickle

    secret = "Zx9/aQ+r7#k@"
    url = f"postgresql://app:{urllib.parse.quote(secret, safe='')}@127.0.0.1:5/db"
    where = locator(type("S", (), {"locator": {"home": str(tmp_path), "db_url": url}})())
    shown = repr(where) + str(where) + repr([where]) + f"{where}"
    assert "Zx9" not in shown and "aQ" not in shown and "127.0.0.1:5/db" in shown
    back = pickle.loads(pickle.dumps(where))  # what the worker gets: all of it
    assert dict(back) == {"home": str(tmp_path), "db_url": url}
