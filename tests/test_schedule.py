"""Schedules with an injected clock and real kernels: catch-up, exactly once, DST, retries."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlops_nb
from mlops_nb.errors import ConflictError, InvalidInputError, NotFoundError
from mlops_nb.schedules import schedule as sch
from mlops_nb.schedules import scheduler as firing
from mlops_nb.store import audit

NB = Path(__file__).parent / "notebooks"
TINY = NB / "tiny_tracked.ipynb"
UTC = dt.timezone.utc

pytestmark = pytest.mark.backends


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


def slots(store, name):
    return [(s["slot"][11:16], s["status"]) for s in reversed(store.slots(name))]


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("none", [("01:00", "skipped"), ("02:00", "skipped"), ("03:00", "skipped")]),
        ("latest", [("01:00", "skipped"), ("02:00", "skipped"), ("03:00", "queued")]),
        ("all", [("01:00", "queued"), ("02:00", "queued"), ("03:00", "queued")]),
    ],
)
def test_catch_up_after_downtime(store, policy, expected):
    sch.add(
        store,
        "hourly",
        str(TINY),
        "0 * * * *",
        catchup=policy,
        max_concurrent=5,
        now=at(2026, 11, 1, 0, 30),
    )
    # The scheduler was down from 00:30 to 03:20: three slots were missed.
    firing.tick(store, at(2026, 11, 1, 3, 20), run=False)
    assert slots(store, "hourly") == expected
    skipped = [s for s in store.slots("hourly") if s["status"] == "skipped"]
    assert all(s["error"] for s in skipped)  # never silent: each says why
    # On time again: the 04:00 slot runs under every policy.
    firing.tick(store, at(2026, 11, 1, 4, 0, 30), run=False)
    assert slots(store, "hourly")[-1] == ("04:00", "queued")


def test_ticks_are_idempotent_and_list_is_accurate(store):
    sch.add(store, "daily", str(TINY), "15 6 * * *", tz="America/New_York", now=at(2026, 11, 1))
    assert firing.tick(store, at(2026, 11, 1, 10, 0), run=False) == []
    first = firing.tick(store, at(2026, 11, 1, 11, 15, 5), run=False)
    assert [s["slot"] for s in first] == ["2026-11-01T11:15:00.000000+00:00"]
    assert firing.tick(store, at(2026, 11, 1, 11, 15, 30), run=False) == []
    (row,) = sch.listing(store, at(2026, 11, 1, 12))
    assert row["next_run"] == "2026-11-02T11:15:00.000000+00:00"
    assert row["runs"] == 1 and row["last_status"] == "queued" and row["enabled"] == 1


def test_dst_transitions_fire_once(store):
    berlin = "Europe/Berlin"
    spring = sch.fire_times("30 2 * * *", berlin, at(2026, 3, 28, 12), at(2026, 3, 30, 12))
    assert [t.isoformat() for t in spring] == [
        "2026-03-29T01:00:00+00:00",
        "2026-03-30T00:30:00+00:00",
    ]
    autumn = sch.fire_times("30 2 * * *", berlin, at(2026, 10, 24, 12), at(2026, 10, 26, 12))
    assert [t.isoformat() for t in autumn] == [
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
    ]
    sch.add(
        store,
        "nightly",
        str(TINY),
        "30 2 * * *",
        tz=berlin,
        catchup="all",
        now=at(2026, 10, 24, 12),
    )
    for minute in range(0, 40 * 60, 10):  # tick every 10 minutes across the change
        firing.tick(store, at(2026, 10, 24, 12) + dt.timedelta(minutes=minute), run=False)
    assert [s for s, _ in slots(store, "nightly")] == ["00:30", "01:30"]


def test_two_concurrent_ticks_fire_each_slot_once(home, store):
    sch.add(
        store,
        "every-minute",
        str(TINY),
        "* * * * *",
        catchup="all",
        max_concurrent=10,
        now=at(2026, 11, 1, 9, 0),
    )
    store.close()
    exe = Path(sys.executable).parent / "mlops-nb"
    procs = [
        subprocess.Popen(
            [str(exe), "--home", str(home), "tick", "--now", "2026-11-01T09:04:10Z", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    store = mlops_nb.Store(home)
    recorded = store.slots("every-minute")
    assert sorted(s["slot"][11:16] for s in recorded) == ["09:01", "09:02", "09:03", "09:04"]
    assert all(s["status"] == "finished" for s in recorded)
    notebook_runs = store.list_runs(kind="notebook")
    assert len(notebook_runs) == 4  # each slot ran exactly once
    assert len({r.params["x"] for r in notebook_runs}) == 1
    assert audit.verify(store).ok


def test_schedulers_racing_on_one_store_claim_each_slot_once(home, store):
    import threading

    sch.add(
        store,
        "racy",
        str(TINY),
        "* * * * *",
        catchup="all",
        max_concurrent=1000,
        now=at(2026, 11, 1, 9, 0),
    )
    barrier = threading.Barrier(6)
    errors = []

    def scheduler(n):
        own = mlops_nb.Store(home)  # each its own connections, like its own process
        try:
            barrier.wait()
            for minute in range(1, 31, 1 + n % 3):  # overlapping, differently spaced ticks
                firing.tick(own, at(2026, 11, 1, 9, minute, 5), run=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    recorded = [s["slot"][11:16] for s in store.slots("racy")]
    assert sorted(recorded) == [f"09:{m:02d}" for m in range(1, 31)]  # each exactly once
    assert store.get_schedule("racy")["cursor"].startswith("2026-11-01T09:30")
    result = audit.verify(store)
    assert result.ok, result.problem


def test_snapshot_is_what_runs(store, tmp_path):
    copy = tmp_path / "job.ipynb"
    copy.write_bytes(TINY.read_bytes())
    added = sch.add(store, "job", str(copy), "0 0 * * *", parameters={"x": 6})
    copy.write_text("{ this is no longer a notebook")
    slot = firing.run_now(store, "job")
    assert slot["status"] == "finished"
    run = store.get_run(slot["run_id"])
    assert run.input_sha256 == added["snapshot_sha256"] and run.values == {"doubled": 12}
    with pytest.raises(InvalidInputError, match="not a readable notebook"):
        sch.update(store, "job")
    copy.write_bytes(TINY.read_bytes().replace(b"done", b"v2 done"))
    updated = sch.update(store, "job", cron="0 1 * * *")
    assert updated["snapshot_sha256"] != added["snapshot_sha256"]
    assert updated["cron"] == "0 1 * * *" and updated["parameters"] == {"x": 6}


def test_run_now_overrides_and_flaky_notebook_succeeds_on_retry(store, tmp_path):
    marker = tmp_path / "attempts"
    sch.add(
        store,
        "flaky",
        str(NB / "flaky.ipynb"),
        "0 0 * * *",
        retries=2,
        backoff=0.1,
        parameters={"marker": str(marker), "fail_times": 5},
    )
    slot = firing.run_now(store, "flaky", {"fail_times": 1})
    assert slot["status"] == "finished" and slot["attempts"] == 2
    attempts = store.list_runs(kind="notebook")
    assert sorted(r.tags["attempt"] for r in attempts) == ["1", "2"]
    assert [r.status for r in attempts] == ["finished", "failed"]


def test_hanging_notebook_hits_its_timeout_and_alerts(store, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("*", "log", path=str(log), store=store)
    sch.add(store, "hang", str(TINY), "0 0 * * *", timeout=6, parameters={"sleep": 300})
    start = time.monotonic()
    slot = firing.run_now(store, "hang")
    assert time.monotonic() - start < 60
    assert slot["status"] == "failed" and "timed out after 6 s" in slot["error"]
    (alert,) = mlops_nb.alerts(store=store)
    assert "schedule hang" in alert.message and "FAILED" in alert.message
    assert log.exists() and "timed out" in log.read_text()


def test_overlap_skip_and_queue(store):
    sch.add(store, "skipper", str(TINY), "* * * * *", overlap="skip", now=at(2026, 11, 1))
    sch.add(store, "queuer", str(TINY), "* * * * *", overlap="queue", now=at(2026, 11, 1))
    firing.tick(store, at(2026, 11, 1, 0, 1, 5), run=False)
    firing.tick(store, at(2026, 11, 1, 0, 2, 5), run=False)
    assert slots(store, "skipper") == [("00:01", "queued"), ("00:02", "skipped")]
    assert slots(store, "queuer") == [("00:01", "queued"), ("00:02", "queued")]
    assert "still running" in store.slots("skipper")[0]["error"]


def test_pause_resume_remove(store):
    sch.add(store, "p", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    sch.set_enabled(store, "p", False)
    assert firing.tick(store, at(2026, 11, 1, 5, 0, 10), run=False) == []
    assert sch.listing(store)[0]["next_run"] is None
    sch.set_enabled(store, "p", True, now=at(2026, 11, 1, 5, 30))
    firing.tick(store, at(2026, 11, 1, 6, 0, 10), run=False)
    assert slots(store, "p") == [("06:00", "queued")]  # paused hours are not owed
    sch.remove(store, "p")
    assert store.get_schedule("p")["enabled"] == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cron": "61 * * * *"}, "bad cron expression"),
        ({"cron": "* * *"}, "bad cron expression"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"catchup": "some"}, "catch-up must be one of"),
        ({"name": "bad name!"}, "schedule name"),
        ({"retries": -1}, "retries must be a whole number"),
        # each lands in an integer column or a timer: refused before anything is stored
        ({"retries": 10**20}, "retries must be a whole number"),
        ({"max_concurrent": 0}, "max_concurrent must be a whole number"),
        ({"backoff": float("nan")}, "backoff must be a number of seconds"),
        ({"timeout": float("inf")}, "timeout must be a number of seconds"),
        ({"timeout": 1e300}, "timeout must be a number of seconds"),
        ({"target": "missing.ipynb"}, "does not exist"),
    ],
)
def test_bad_schedules_are_refused(store, kwargs, message):
    args = {"name": "s", "target": str(TINY), "cron": "0 * * * *", **kwargs}
    with pytest.raises((InvalidInputError, NotFoundError), match=message):
        sch.add(store, args.pop("name"), args.pop("target"), args.pop("cron"), **args)
    assert store.list_schedules() == []


def test_duplicate_and_unknown_names(store):
    sch.add(store, "s", str(TINY), "0 * * * *")
    with pytest.raises(ConflictError, match="exists"):
        sch.add(store, "s", str(TINY), "0 * * * *")
    with pytest.raises(NotFoundError, match="no schedule named 'nope'"):
        firing.run_now(store, "nope")


SCHEDULER_KILLED = """
import sys
from mlops_nb.schedules import scheduler as firing
from mlops_nb.store import Store
store = Store(sys.argv[1])
firing.Scheduler(store, interval=0.5, workers=1).run_forever()
"""


def test_scheduler_killed_mid_run_is_recovered_without_double_fire(home, store, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("*", "log", path=str(log), store=store)
    now = dt.datetime.now(UTC)
    sch.add(
        store,
        "slow",
        str(TINY),
        "* * * * *",
        catchup="latest",
        parameters={"sleep": 120.0},
        now=now - dt.timedelta(minutes=2),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", SCHEDULER_KILLED, str(home)], start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = store.slots("slow", status="running")
        if running and store.list_runs(kind="track"):  # mid-run: the notebook is sleeping
            break
        time.sleep(0.5)
    else:
        pytest.fail("the scheduler never started the slot")
    os.killpg(proc.pid, signal.SIGKILL)  # the scheduler and its kernels die at once
    proc.wait()
    (slot,) = running
    assert store.get_slot(slot["id"])["status"] == "running"  # nobody finished it
    # A restart (here: a tick at the slot's own time, so nothing new is due) recovers first.
    slot_time = dt.datetime.fromisoformat(slot["slot"])
    firing.tick(store, slot_time + dt.timedelta(seconds=1), run=False)
    slot = store.get_slot(slot["id"])
    assert slot["status"] == "failed" and slot["error"].startswith("orphaned")
    assert store.get_run(slot["run_id"]).status == "failed"
    same_time = [s for s in store.slots("slow") if s["slot"] == slot["slot"]]
    assert len(same_time) == 1  # the slot was not fired again
    assert len(store.list_runs(kind="notebook")) == 1
    assert "orphaned" in log.read_text()
    result = audit.verify(store)
    assert result.ok, result.problem
