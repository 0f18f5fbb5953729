"""Schedules with an injected clock and real kernels: catch-up, exactly once, DST, retries."""

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlops_nb
from conftest import wait_for
from mlops_nb.errors import ConflictError, InvalidInputError, NotFoundError
from mlops_nb.jsonutil import format_time
from mlops_nb.schedules import schedule as sch
from mlops_nb.schedules import scheduler as firing
from mlops_nb.store import audit

NB = Path(__file__).parent / "notebooks"
TINY = NB / "tiny_tracked.ipynb"
SLEEPY = NB / "sleepy.ipynb"
UTC = dt.timezone.utc

pytestmark = pytest.mark.backends


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


def slots(store, name):
    return [(s["slot"][11:16], s["status"]) for s in reversed(store.slots(name))]


@pytest.mark.parametrize("max_concurrent", [1, 5])  # 1 is the default
@pytest.mark.parametrize(
    "policy, expected",
    [
        ("none", [("01:00", "skipped"), ("02:00", "skipped"), ("03:00", "skipped")]),
        ("latest", [("01:00", "skipped"), ("02:00", "skipped"), ("03:00", "queued")]),
        ("all", [("01:00", "queued"), ("02:00", "queued"), ("03:00", "queued")]),
    ],
)
def test_catch_up_after_downtime(store, policy, expected, max_concurrent):
    sch.add(
        store,
        "hourly",
        str(TINY),
        "0 * * * *",
        catchup=policy,
        max_concurrent=max_concurrent,
        overlap="skip",
        now=at(2026, 11, 1, 0, 30),
    )
    # The scheduler was down from 00:30 to 03:20: three slots were missed.
    firing.tick(store, at(2026, 11, 1, 3, 20), run=False)
    assert slots(store, "hourly") == expected
    skipped = [s for s in store.slots("hourly") if s["status"] == "skipped"]
    assert all(s["error"] for s in skipped)  # never silent: each says why
    # On time again: the 04:00 slot runs under every policy once the backlog is done.
    for slot in store.slots("hourly", status="queued"):
        store.update_slot(slot["id"], {"status": "finished"}, "test")
    firing.tick(store, at(2026, 11, 1, 4, 0, 30), run=False)
    assert slots(store, "hourly")[-1] == ("04:00", "queued")


def _run_spans(store, recorded):
    """(slot, status, started_at, ended_at) of each slot's run, in slot order."""
    out = []
    for slot in sorted(recorded, key=lambda s: s["slot"]):
        run = store.get_run(slot["run_id"])
        out.append((slot["slot"][11:16], slot["status"], run.started_at, run.ended_at))
    return out


def test_catch_up_all_runs_the_backlog_one_after_another(store):
    # The defaults: at most one run at a time, overlapping slots skipped.
    sch.add(store, "hourly", str(TINY), "0 * * * *", catchup="all", now=at(2026, 11, 1, 0, 30))
    done = firing.tick(store, at(2026, 11, 1, 3, 20))
    spans = _run_spans(store, done)
    assert [(s, status) for s, status, _, _ in spans] == [
        ("01:00", "finished"),
        ("02:00", "finished"),
        ("03:00", "finished"),
    ]
    # In slot order, never two at once: each starts after the one before ended.
    for (_, _, _, ended), (_, _, started, _) in itertools.pairwise(spans):
        assert ended <= started
    assert len(store.list_runs(kind="notebook")) == 3
    assert firing.tick(store, at(2026, 11, 1, 3, 25)) == []  # nothing fires twice


@pytest.mark.parametrize("overlap, status", [("skip", "skipped"), ("queue", "queued")])
def test_backlog_overlap_applies_to_runs_started_earlier(store, overlap, status):
    sch.add(
        store,
        "hourly",
        str(TINY),
        "0 * * * *",
        catchup="all",
        overlap=overlap,
        now=at(2026, 11, 1, 0, 30),
    )
    firing.tick(store, at(2026, 11, 1, 0, 59), run=False)
    firing.tick(store, at(2026, 11, 1, 1, 0, 5), run=False)
    (earlier,) = firing.start_queued(store)  # a run started by an earlier tick, still going
    assert earlier["slot"][11:16] == "01:00"
    # Downtime, then one tick sees two missed slots while that run is still going.
    firing.tick(store, at(2026, 11, 1, 3, 20), run=False)
    assert slots(store, "hourly") == [("01:00", "running"), ("02:00", status), ("03:00", status)]
    if overlap == "skip":
        assert all("still running" in s["error"] for s in store.slots("hourly", "skipped"))
    # Backlog slots queued behind it start one at a time, in slot order.
    assert firing.start_queued(store) == []
    store.update_slot(earlier["id"], {"status": "finished"}, "test")
    started = firing.start_queued(store)
    assert [s["slot"][11:16] for s in started] == (["02:00"] if overlap == "queue" else [])


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


@pytest.mark.parametrize("max_concurrent", [10, 1])  # 1: the backlog runs one at a time
def test_two_concurrent_ticks_fire_each_slot_once(home, store, max_concurrent):
    sch.add(
        store,
        "every-minute",
        str(TINY),
        "* * * * *",
        catchup="all",
        max_concurrent=max_concurrent,
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
    if max_concurrent == 1:  # whichever process ran them, never two at once
        spans = _run_spans(store, recorded)
        for (_, _, _, ended), (_, _, started, _) in itertools.pairwise(spans):
            assert ended <= started
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
    with pytest.raises(NotFoundError):
        store.get_schedule("p")
    assert [s["name"] for s in sch.listing(store)] == []
    # its slot, queued when it was removed, is skipped with the reason; nothing runs it
    assert [(s["status"], s["error"]) for s in store.slots("p")] == [
        ("skipped", "schedule removed")
    ]
    assert firing.tick(store, at(2026, 11, 1, 9, 0, 10), run=False) == []
    # the removal is in the audit log and verify holds; the name can be used again
    (removed,) = store.iter_events(kind="schedule.removed")
    assert removed.subject == "schedules:p"
    assert audit.verify(store).ok
    sch.add(store, "p", str(TINY), "30 * * * *", now=at(2026, 11, 1, 10))
    assert store.get_schedule("p")["cron"] == "30 * * * *"
    assert audit.verify(store).ok


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cron": "61 * * * *"}, "'61' is not a valid minute"),
        ({"cron": "* * *"}, "exactly five fields"),
        ({"cron": "* * * * * *"}, "exactly five fields .* not 6 .no seconds"),  # not every second
        ({"cron": "0 0 6 * * * 2026"}, "exactly five fields .* not 7"),
        ({"cron": "@reboot"}, "@reboot runs at no time"),
        ({"cron": "@fortnightly"}, "is not a nickname"),
        ({"cron": "0 0 15W * *"}, "'15W' is not a valid day-of-month"),
        ({"cron": "0 0 L/2 * *"}, "no step on L"),
        ({"cron": "0 0 30 2 *"}, "'30' is not a valid day-of-month"),
        ({"cron": "0 0 * * 1#6"}, "'1#6' is not a valid day-of-week"),
        ({"cron": "0 0 ? * *"}, "not a valid day-of-month"),
        ({"cron": "０ 0 * * *"}, "not a valid minute"),
        ({"cron": "0 24 * * *"}, "not a valid hour"),
        ({"cron": "0 0 * 13 *"}, "not a valid month"),
        ({"cron": "0 0 * * 8"}, "not a valid day-of-week"),
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


@pytest.mark.parametrize(
    "cron, stored, first_slots",
    [
        ("@hourly", "0 * * * *", ["2026-11-30T00:00", "2026-11-30T01:00"]),
        ("@DAILY", "0 0 * * *", ["2026-11-30T00:00", "2026-12-01T00:00"]),
        ("@midnight", "0 0 * * *", ["2026-11-30T00:00", "2026-12-01T00:00"]),
        ("@weekly", "0 0 * * 0", ["2026-12-06T00:00", "2026-12-13T00:00"]),
        ("@monthly", "0 0 1 * *", ["2026-12-01T00:00", "2027-01-01T00:00"]),
        ("@annually", "0 0 1 1 *", ["2027-01-01T00:00", "2028-01-01T00:00"]),
        ("0  6\t1 * *", "0 6 1 * *", ["2026-12-01T06:00", "2027-01-01T06:00"]),
        ("0 0 L * *", "0 0 L * *", ["2026-11-30T00:00", "2026-12-31T00:00"]),  # month's last day
        ("0 0 LW 1 *", "0 0 LW 1 *", ["2027-01-29T00:00", "2028-01-31T00:00"]),  # last weekday
        ("0 0 * * 5L", "0 0 * * 5L", ["2026-12-25T00:00", "2027-01-29T00:00"]),  # last Friday
        ("0 0 * * 1#2", "0 0 * * 1#2", ["2026-12-14T00:00", "2027-01-11T00:00"]),  # 2nd Monday
        ("0 0 13 * fri", "0 0 13 * fri", ["2026-12-04T00:00", "2026-12-11T00:00"]),  # 13th or Fri
    ],
)
def test_accepted_cron_forms_are_stored_as_five_fields(store, cron, stored, first_slots):
    added = sch.add(store, "s", str(TINY), cron, now=at(2026, 11, 30))
    assert added["cron"] == stored
    slots_ = sch.fire_times(added["cron"], "UTC", at(2026, 11, 29, 23, 59), at(2028, 2, 1), 10**5)
    assert [t.isoformat()[:16] for t in slots_[:2]] == first_slots


def test_fire_times_end_where_dates_end(store):
    late = at(9999, 12, 31, 20)
    # West of UTC every slot up to the last UTC second is a date; east of it
    # local time runs out first (Tokyo's midnight is 15:00 UTC).
    west = sch.fire_times("0 * * * *", "America/New_York", late, at(9999, 12, 31, 23, 59))
    assert [t.hour for t in west] == [21, 22, 23]
    east = sch.fire_times("0 * * * *", "Asia/Tokyo", at(9999, 12, 31, 10), late)
    assert [t.hour for t in east] == [11, 12, 13, 14]
    assert sch.fire_times("0 0 1 1 *", "UTC", at(9999, 6, 1), at(9999, 12, 31, 23, 59)) == []
    # At the other end, west of UTC local time starts after UTC does.
    first = sch.fire_times("0 * * * *", "Etc/GMT+5", at(1, 1, 1), at(1, 1, 1, 7, 30))
    assert [t.hour for t in first] == [5, 6, 7]  # local 00:00 is the first second there is
    assert sch.fire_times("30 * * * *", "Etc/GMT+5", at(1, 1, 1), at(1, 1, 1, 6)) == [
        at(1, 1, 1, 5, 30)
    ]
    for tz in ("Asia/Tokyo", "America/New_York", "UTC"):
        sch.add(store, tz.replace("/", "-"), str(TINY), "0 * * * *", tz=tz, now=late)
    firing.tick(store, "9999-12-31T23:59Z", run=False)
    assert {row["next_run"] for row in sch.listing(store, "9999-12-31T23:59Z")} == {None}
    assert {s["status"] for s in store.slots()} == {"queued", "skipped"}


@pytest.mark.parametrize(
    "tz, cron, after, until, expected",
    [
        # 02:30 does not exist on 8 March in New York: it runs once, at 03:00 EDT.
        (
            "America/New_York",
            "30 2 * * *",
            (2026, 3, 7, 12),
            (2026, 3, 9, 12),
            ["2026-03-08T07:00", "2026-03-09T06:30"],
        ),
        # Chile skips midnight itself (00:00 -> 01:00 on 6 September).
        (
            "America/Santiago",
            "0 0 * * *",
            (2026, 9, 5),
            (2026, 9, 7, 12),
            ["2026-09-05T04:00", "2026-09-06T04:00", "2026-09-07T03:00"],
        ),
        # Lord Howe moves its clocks by half an hour (02:00 -> 02:30 on 4 October).
        (
            "Australia/Lord_Howe",
            "15 2 * * *",
            (2026, 10, 2, 12),
            (2026, 10, 4, 12),
            ["2026-10-02T15:45", "2026-10-03T15:30"],
        ),
        # Samoa skipped 30 December 2011 altogether: that day's slot runs at
        # the first minute of the 31st, then the 31st's own.
        (
            "Pacific/Apia",
            "0 12 * * *",
            (2011, 12, 29),
            (2011, 12, 31),
            ["2011-12-29T22:00", "2011-12-30T10:00", "2011-12-30T22:00"],
        ),
    ],
)
def test_slots_in_a_dst_gap_run_once_right_after_it(tz, cron, after, until, expected):
    got = sch.fire_times(cron, tz, at(*after), at(*until))
    assert [t.isoformat()[:16] for t in got] == expected


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


def test_scheduler_killed_mid_backlog_resumes_the_rest_once(home, store, tmp_path):
    # A yearly cron and a cursor three years back: three missed slots, none due during the test.
    today = dt.datetime.now(UTC)
    cron = "0 0 1 1 *"
    cursor = at(today.year - 3, 1, 1, 0, 1)
    backlog = [format_time(t) for t in sch.fire_times(cron, "UTC", cursor, today)]
    assert len(backlog) == 3
    pidfile, marker = tmp_path / "kernel.pid", tmp_path / "first-run"
    sch.add(
        store,
        "yearly",
        str(SLEEPY),
        cron,
        catchup="all",  # with the defaults: one run at a time, overlap skip
        parameters={"seconds": 600.0, "pidfile": str(pidfile), "marker": str(marker)},
        now=cursor,
    )

    def scheduler():
        return subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_KILLED, str(home)], start_new_session=True
        )

    proc = scheduler()
    try:
        wait_for(pidfile.exists, 180, "the first backlog slot's kernel")  # it sleeps now
        state = [(s["slot"], s["status"]) for s in reversed(store.slots("yearly"))]
        assert [s for s, _ in state] == backlog
        assert [status for _, status in state] == ["running", "queued", "queued"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the scheduler and its kernels die at once
        proc.wait()
    proc = scheduler()  # restarted: recovers the lost run, then works off the rest
    try:
        wait_for(
            lambda: not store.slots("yearly", "queued") and not store.slots("yearly", "running"),
            180,
            "the rest of the backlog",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 0
    rows = sorted(store.slots("yearly"), key=lambda s: s["slot"])
    assert [s["status"] for s in rows] == ["failed", "finished", "finished"]
    assert rows[0]["error"].startswith("orphaned")
    runs = store.list_runs(kind="notebook")
    assert len(runs) == 3 and {r.run_id for r in runs} == {s["run_id"] for s in rows}
    assert sorted(r.status for r in runs) == ["failed", "finished", "finished"]
    result = audit.verify(store)
    assert result.ok, result.problem


@pytest.mark.parametrize(
    "expr, tz, words",
    [
        ("0 6 1 * *", "Europe/Berlin", "At 06:00 on the first day of every month (Europe/Berlin)"),
        ("@daily", "UTC", "At 00:00 every day (UTC)"),
        ("*/15 * * * *", "UTC", "Every 15th minute of every hour (UTC)"),
        (
            "0 3 * * mon-fri",
            "America/New_York",
            "At 03:00 on Monday through Friday (America/New_York)",
        ),
        ("0 4 * * 5L", "UTC", "At 04:00 on the last Friday of the month (UTC)"),
    ],
)
def test_describe_cron_reads_the_expression_back_in_words(expr, tz, words):
    from mlops_nb.schedules.schedule import describe_cron

    assert describe_cron(expr, tz) == words


def test_describe_cron_refuses_what_check_cron_refuses():
    from mlops_nb.schedules.schedule import describe_cron

    with pytest.raises(InvalidInputError, match="exactly five fields"):
        describe_cron("0 6 1 *")


# -- slot claiming, decision by decision ----------------------------------------
# The tests above run whole ticks; these pin each decision of plan, tick,
# start_queued and the two claiming transactions on their own, so that a
# changed comparison or a dropped field fails here and not only by luck.


def _schedule(catchup="none", overlap="skip", max_concurrent=1, **extra):
    """A schedule row as ``plan`` sees it, with its cursor at midnight."""
    return {
        "cron": "0 * * * *",
        "tz": "UTC",
        "cursor": format_time(at(2026, 11, 1)),
        "catchup": catchup,
        "overlap": overlap,
        "max_concurrent": max_concurrent,
        **extra,
    }


MISSED = "missed while the scheduler was not running (catch-up none)"
SUPERSEDED = "superseded by a newer slot (catch-up latest)"
STILL_RUNNING = "previous run still running (overlap skip)"


def test_plan_with_nothing_due_keeps_the_cursor():
    row = _schedule()
    assert firing.plan(row, at(2026, 11, 1, 0, 59, 59)) == ([], row["cursor"])


@pytest.mark.parametrize(
    "catchup, decided",
    [
        ("none", [("skipped", MISSED), ("skipped", MISSED), ("skipped", MISSED)]),
        ("latest", [("skipped", SUPERSEDED), ("skipped", SUPERSEDED), ("queued", None)]),
        ("all", [("queued", None), ("queued", None), ("queued", None)]),
    ],
)
def test_plan_applies_the_catch_up_policy_to_late_slots(catchup, decided):
    planned, cursor = firing.plan(_schedule(catchup, active=0), at(2026, 11, 1, 3, 20))
    assert [slot[11:16] for slot, _, _ in planned] == ["01:00", "02:00", "03:00"]
    assert [(status, why) for _, status, why in planned] == decided
    assert cursor == format_time(at(2026, 11, 1, 3))  # the newest slot decided


@pytest.mark.parametrize(
    "seconds_late, status", [(sch.GRACE_S, "queued"), (sch.GRACE_S + 1, "skipped")]
)
def test_a_slot_is_on_time_up_to_the_grace_period_and_no_later(seconds_late, status):
    # catch-up none still runs the newest slot while it is on time; older ones are missed
    now = at(2026, 11, 1, 2) + dt.timedelta(seconds=seconds_late)
    planned, _ = firing.plan(_schedule("none", active=0), now)
    assert [(slot[11:16], s) for slot, s, _ in planned] == [("01:00", "skipped"), ("02:00", status)]


@pytest.mark.parametrize(
    "active, max_concurrent, overlap, status, why",
    [
        (0, 1, "skip", "queued", None),
        (1, 2, "skip", "queued", None),
        (2, 2, "skip", "skipped", STILL_RUNNING),  # the limit itself is busy
        (3, 2, "skip", "skipped", STILL_RUNNING),
        (2, 2, "queue", "queued", None),
    ],
)
def test_plan_skips_a_slot_only_when_earlier_runs_fill_the_limit_and_overlap_is_skip(
    active, max_concurrent, overlap, status, why
):
    row = _schedule("none", overlap, max_concurrent, active=active)
    planned, _ = firing.plan(row, at(2026, 11, 1, 1, 0, 5))
    assert planned == [(format_time(at(2026, 11, 1, 1)), status, why)]


def test_plan_counts_no_earlier_run_when_it_is_not_told_of_any():
    # "active" is what claim_slots counted; a planner without it assumes an idle schedule
    planned, _ = firing.plan(_schedule("none"), at(2026, 11, 1, 1, 0, 5))
    assert [status for _, status, _ in planned] == ["queued"]


def test_fire_times_keeps_the_newest_slots_up_to_its_limit():
    after, until = at(2026, 11, 1), at(2026, 11, 1, 5)
    every = sch.fire_times("0 * * * *", "UTC", after, until)
    assert [t.hour for t in every] == [1, 2, 3, 4, 5]  # after itself is excluded, until is not
    assert sch.fire_times("0 * * * *", "UTC", after, until, limit=2) == every[-2:]
    assert sch.fire_times("0 * * * *", "UTC", after, until, limit=5) == every
    assert sch.fire_times("0 * * * *", "UTC", after, at(2026, 11, 1, 0, 59)) == []


def test_slots_are_utc_times_whatever_zone_the_machine_is_in(monkeypatch):
    # a machine set to New York must not turn slots into its local times
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        first = sch.fire_times("0 * * * *", "Etc/GMT+5", at(1, 1, 1), at(1, 1, 1, 6))
        later = sch.fire_times("0 * * * *", "Europe/Berlin", at(2026, 11, 1), at(2026, 11, 1, 2))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert first == [at(1, 1, 1, 5), at(1, 1, 1, 6)]
    assert later == [at(2026, 11, 1, 1), at(2026, 11, 1, 2)]
    assert {t.tzinfo for t in first + later} == {UTC}


def _events(store, kind_prefix):
    return [
        (ev.kind, ev.subject, ev.actor)
        for ev in store.raw_events()
        if ev.kind.startswith(kind_prefix)
    ]


def test_pause_and_resume_are_audited_and_resume_moves_the_cursor(store, monkeypatch):
    monkeypatch.setenv("MLOPS_NB_ACTOR", "ops")
    sch.add(store, "p", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    paused = sch.set_enabled(store, "p", False, now=at(2026, 11, 1, 3))
    assert paused["enabled"] == 0
    assert paused["cursor"] == format_time(at(2026, 11, 1))  # pausing leaves the cursor
    resumed = sch.set_enabled(store, "p", True, now=at(2026, 11, 1, 5, 30))
    assert resumed["enabled"] == 1 and resumed["cursor"] == format_time(at(2026, 11, 1, 5, 30))
    kinds = [kind for kind, _, actor in _events(store, "schedule.") if actor == "ops"]
    assert kinds == ["schedule.added", "schedule.paused", "schedule.resumed"]


def _add_slot(store, name, slot, status):
    """Record a slot by hand, as run-now does."""
    fields = {"claimed_at": slot, "claimed_by": "test"}
    return store.add_slot({"schedule": name, "slot": slot, "status": status, **fields}, "test")


def _claim(store, name, planned, cursor, seen=None):
    """Claim with a fixed plan, keeping the schedule row the planner was shown."""

    def planner(row):
        if seen is not None:
            seen.append(dict(row))
        return planned, cursor

    return store.claim_slots(name, planner, "host:1", "2026-11-01T03:20:00Z", "claimer")


def test_claim_records_each_planned_slot_with_who_when_and_why(store):
    sch.add(store, "c", str(TINY), "0 * * * *", parameters={"k": 1}, now=at(2026, 11, 1))
    one, two = format_time(at(2026, 11, 1, 1)), format_time(at(2026, 11, 1, 2))
    recorded = _claim(store, "c", [(one, "skipped", "why not"), (two, "queued", None)], two)
    assert [(s["slot"], s["status"], s["error"]) for s in recorded] == [
        (one, "skipped", "why not"),
        (two, "queued", None),
    ]
    for slot in recorded:
        assert slot["schedule"] == "c" and slot["parameters"] == {"k": 1}
        assert slot["claimed_at"] == "2026-11-01T03:20:00Z" and slot["claimed_by"] == "host:1"
    # a skipped slot is over the moment it is claimed; a queued one has not begun
    assert [s["ended_at"] for s in recorded] == ["2026-11-01T03:20:00Z", None]
    assert [s["id"] for s in store.slots("c")] == [s["id"] for s in reversed(recorded)]
    assert store.get_schedule("c")["cursor"] == two
    assert _events(store, "schedule.")[1:] == [
        ("schedule.slot.skipped", f"schedule_slots:{recorded[0]['id']}", "claimer"),
        ("schedule.slot.queued", f"schedule_slots:{recorded[1]['id']}", "claimer"),
        ("schedule.advanced", "schedules:c", "claimer"),
    ]
    assert audit.verify(store).ok


def test_claim_leaves_slots_already_recorded_and_an_unmoved_cursor_alone(store):
    sch.add(store, "c", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    cursor = store.get_schedule("c")["cursor"]
    one, two = format_time(at(2026, 11, 1, 1)), format_time(at(2026, 11, 1, 2))
    (first,) = _claim(store, "c", [(one, "queued", None)], cursor)
    events = len(store.raw_events())
    assert _claim(store, "c", [(one, "skipped", "again")], cursor) == []
    assert len(store.raw_events()) == events  # nothing recorded, the cursor not "advanced"
    (second,) = _claim(store, "c", [(one, "skipped", "again"), (two, "queued", None)], cursor)
    assert second["slot"] == two
    assert store.get_slot(first["id"]) == first  # the first claim stands as it was


def test_claim_counts_running_and_queued_slots_of_that_schedule_only(store):
    for name in ("c", "other"):
        sch.add(store, name, str(TINY), "0 * * * *", now=at(2026, 11, 1))
    seen: list[dict] = []
    _claim(store, "c", [], store.get_schedule("c")["cursor"], seen)
    hours = [format_time(at(2026, 11, 1, h)) for h in range(1, 6)]
    _claim(store, "other", [(hours[0], "queued", None)], hours[0])
    for slot, status in zip(hours, ["queued", "queued", "skipped", "finished"], strict=False):
        _add_slot(store, "c", slot, status)
    store.update_slot(store.slots("c", "queued")[-1]["id"], {"status": "running"}, "test")
    _claim(store, "c", [], store.get_schedule("c")["cursor"], seen)
    assert [row["active"] for row in seen] == [0, 2]
    assert seen[0]["name"] == "c" and seen[0]["cursor"] == format_time(at(2026, 11, 1))


def test_a_paused_or_unknown_schedule_claims_nothing(store):
    sch.add(store, "c", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    sch.set_enabled(store, "c", False)
    slot = format_time(at(2026, 11, 1, 1))
    assert _claim(store, "c", [(slot, "queued", None)], slot) == []
    assert store.slots("c") == [] and store.get_schedule("c")["cursor"] != slot
    assert _claim(store, "nope", [(slot, "queued", None)], slot) == []


def test_the_claim_crash_point_comes_after_the_slots_before_the_commit(home, store, monkeypatch):
    from mlops_nb.store import Store, faults

    sch.add(store, "c", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    reached = []

    def point(path, step):
        # another connection must not see the slot yet: this step is before the commit
        other = Store(home)
        try:
            reached.append((path, step, len(other.slots("c"))))
        finally:
            other.close()

    monkeypatch.setattr(faults, "point", point)
    cursor = store.get_schedule("c")["cursor"]
    assert _claim(store, "c", [], cursor) == []
    assert reached == []  # no slot recorded: no step reached
    slot = format_time(at(2026, 11, 1, 1))
    _claim(store, "c", [(slot, "queued", None)], slot)
    assert reached == [("slot", 1, 0)]


def test_start_queued_slot_starts_the_earliest_slot_within_the_limit(store):
    sch.add(store, "c", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    # recorded out of slot order (a run-now, then a backlog): the slot time decides
    for hour in (3, 1, 2):
        _add_slot(store, "c", format_time(at(2026, 11, 1, hour)), "queued")
    started = {"run_id": "r1", "pid": 7, "host": "h"}
    first = store.start_queued_slot("c", 2, "starter", started)
    assert first["slot"][11:13] == "01"
    assert (first["status"], first["run_id"], first["pid"], first["host"]) == (
        "running",
        "r1",
        7,
        "h",
    )
    second = store.start_queued_slot("c", 2, "starter", {**started, "run_id": "r2"})
    assert second["slot"][11:13] == "02"
    assert store.start_queued_slot("c", 2, "starter", started) is None  # two running: full
    assert _events(store, "schedule.slot.running") == [
        ("schedule.slot.running", f"schedule_slots:{first['id']}", "starter"),
        ("schedule.slot.running", f"schedule_slots:{second['id']}", "starter"),
    ]
    store.update_slot(first["id"], {"status": "finished"}, "test")
    third = store.start_queued_slot("c", 2, "starter", {**started, "run_id": "r3"})
    assert third["slot"][11:13] == "03"
    assert store.start_queued_slot("other", 1, "starter", started) is None


def test_start_queued_slot_with_room_and_nothing_queued_starts_nothing(store):
    sch.add(store, "c", str(TINY), "0 * * * *", now=at(2026, 11, 1))
    _add_slot(store, "c", format_time(at(2026, 11, 1, 1)), "finished")
    assert store.start_queued_slot("c", 1, "starter", {"run_id": "r"}) is None
    _add_slot(store, "c", format_time(at(2026, 11, 1, 2)), "queued")
    assert store.start_queued_slot("c", 1, "starter", {"run_id": "r"})["status"] == "running"


def test_start_queued_starts_every_enabled_schedule_as_its_limit_allows(store, monkeypatch):
    import socket

    monkeypatch.setenv("MLOPS_NB_ACTOR", "ops")
    # "a" has nothing queued and is listed first; "b" may run two; "p" is paused
    for name, limit in (("a", 1), ("b", 2), ("p", 1)):
        sch.add(store, name, str(TINY), "0 * * * *", max_concurrent=limit, now=at(2026, 11, 1))
    for name in ("b", "b", "b", "p"):
        _add_slot(store, name, format_time(at(2026, 11, 1, len(store.slots()))), "queued")
    sch.set_enabled(store, "p", False)
    started = firing.start_queued(store)
    assert [(s["schedule"], s["slot"][11:13]) for s in started] == [("b", "00"), ("b", "01")]
    assert len({s["run_id"] for s in started}) == 2
    for slot in started:
        assert slot["status"] == "running" and len(slot["run_id"]) == 32
        assert slot["pid"] == os.getpid() and slot["host"] == socket.gethostname()
    assert {actor for _, _, actor in _events(store, "schedule.slot.running")} == {"ops"}
    assert firing.start_queued(store) == []  # "b" is full, "p" paused


def test_tick_claims_as_this_process_at_the_tick_time(store, monkeypatch):
    import socket

    monkeypatch.setenv("MLOPS_NB_ACTOR", "ops")
    sch.add(store, "t", str(TINY), "0 * * * *", catchup="all", now=at(2026, 11, 1))
    sch.add(store, "later", str(TINY), "0 6 * * *", now=at(2026, 11, 1))
    recorded = firing.tick(store, at(2026, 11, 1, 2, 0, 30), run=False)
    assert [(s["schedule"], s["slot"][11:16], s["status"]) for s in recorded] == [
        ("t", "01:00", "queued"),
        ("t", "02:00", "queued"),
    ]
    for slot in recorded:
        assert slot["claimed_by"] == f"{socket.gethostname()}:{os.getpid()}"
        assert slot["claimed_at"] == format_time(at(2026, 11, 1, 2, 0, 30))
    assert {a for _, _, a in _events(store, "schedule.slot.")} == {"ops"}
    assert store.get_schedule("t")["cursor"] == format_time(at(2026, 11, 1, 2))
    assert store.get_schedule("later")["cursor"] == format_time(at(2026, 11, 1))
    assert store.slots(status="running") == []  # run=False claims, and starts nothing
