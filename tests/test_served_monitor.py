"""Drift checks of the prediction log (``drift check --from-log``) and monitors on a cron.

The log is written by a serving runtime in this process; the checks run
through the real ``mlops-nb`` entry point, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from models import numeric_data
from models import numeric_rows as rows

from mlops_nb.jsonutil import format_time
from mlops_nb.serving.runtime import Runtime
from mlops_nb.store import audit

pytestmark = pytest.mark.backends


def serve(store, first=0, count=300, shift=0.0, labels=0, rows_per_request=1):
    """Answer ``count`` requests of ``bench@production`` (inputs moved by ``shift``), give
    feedback labels for the first ``labels`` of them, and write the log."""
    _, target = numeric_data()
    ids = []
    with Runtime(store, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        for i in range(first, first + count):
            sent = [{k: v + shift for k, v in r.items()} for r in rows(i, rows_per_request)]
            ids.append(json.loads(runtime.predict({"rows": sent})[0])["request_id"])
        for i, request_id in enumerate(ids[:labels]):
            runtime.feedback({"request_id": request_id, "label": int(target.iloc[first + i])})
    return ids


def now_iso(offset_s: float = 0.0) -> str:
    return format_time(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_s))


# -- drift check --from-log --------------------------------------------------------------


def test_from_log_checks_what_the_version_served_with_its_feedback(bench, cli):
    serve(bench, count=300, labels=120)
    done = cli("drift", "check", "bench@production", "--from-log", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert report["model"] == "bench" and report["version"] == 1
    assert report["rows"] == 300
    assert report["drift"] is False
    assert report["prediction"]["column"] == "prediction"
    assert report["prediction"]["drift"] is False
    assert report["performance"]["rows"] == 120
    assert report["performance"]["current"]["accuracy"] > 0.9
    assert "from the prediction log: 300 rows of 300 requests" in report["notes"]
    assert report["check_id"] is not None
    history = cli("drift", "history", "bench", "--json").json()
    assert [c["id"] for c in history] == [report["check_id"]]
    assert history[0]["batch"].startswith("log ")
    assert audit.verify(bench).ok


def test_shifted_traffic_alarms_alerts_and_since_until_pick_the_window(bench, cli, tmp_path):
    sink = tmp_path / "alerts.jsonl"
    assert cli("alerts", "add", "bench", "--log", str(sink)).code == 0
    serve(bench, first=0, count=200)
    time.sleep(0.05)
    between = now_iso()
    time.sleep(0.05)
    serve(bench, first=200, count=200, shift=3.0)

    before = cli("drift", "check", "bench@production", "--from-log", "--until", between, "--json")
    assert before.code == 0, before.err
    assert before.json()["rows"] == 200 and before.json()["drift"] is False
    assert not sink.exists()

    after = cli("drift", "check", "bench@production", "--from-log", "--since", between, "--json")
    assert after.code == 0, after.err
    report = after.json()
    assert report["rows"] == 200 and report["drift"] is True
    assert report["prediction"]["drift"] is True
    assert report["alert_ids"]
    sent = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [a["kind"] for a in sent] == ["drift"]
    assert "drift in bench:1" in sent[0]["text"]

    everything = cli("drift", "check", "bench@production", "--from-log", "--since", "1d", "--json")
    assert everything.json()["rows"] == 400
    assert audit.verify(bench).ok


def test_a_label_for_a_request_of_several_rows_is_not_used_for_performance(bench, cli):
    serve(bench, count=50, labels=50, rows_per_request=2)
    done = cli("drift", "check", "bench@production", "--from-log", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert report["rows"] == 100
    assert report["performance"] is None
    assert any("50 labels of requests with several rows" in n for n in report["notes"])


def test_no_logged_prediction_is_not_found_and_records_nothing(bench, cli):
    nothing = cli("drift", "check", "bench@production", "--from-log")
    assert nothing.code == 3
    assert nothing.err.strip() == (
        "mlops-nb: error: no prediction of bench:1 is logged: nothing to check"
    )
    serve(bench, count=20)
    other = cli("drift", "check", "bench:2", "--from-log")  # version 2 served nothing
    assert other.code == 3 and "bench:2" in other.err
    later = cli("drift", "check", "bench@production", "--from-log", "--since", now_iso(60))
    assert later.code == 3 and "since" in later.err
    assert cli("drift", "history", "bench", "--json").json() == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "data.csv", "--from-log"], "DATA_FILE or --from-log"),
        (["bench"], "DATA_FILE or --from-log"),
        (["bench", "data.csv", "--since", "7d"], "--since and --until go with --from-log"),
        (["bench", "--from-log", "--target", "y"], "--target names a column"),
        (["bench", "--from-log", "--since", "last week"], "last week"),
        (["bench", "--from-log", "--since", "200000d"], "century"),
    ],
)
def test_bad_from_log_arguments_are_one_line_exit_2(bench, cli, args, message):
    serve(bench, count=5)
    done = cli("drift", "check", *args)
    assert done.code == 2, done.err
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert "Traceback" not in done.err
    assert cli("drift", "history", "bench", "--json").json() == []


# -- monitor add: the check on a cron ------------------------------------------------------


def test_a_monitor_checks_the_log_through_the_scheduler_and_alerts(bench, cli, tmp_path):
    sink = tmp_path / "alerts.jsonl"
    assert cli("alerts", "add", "bench", "--log", str(sink)).code == 0
    serve(bench, count=200, shift=3.0)
    start = now_iso()
    added = cli("monitor", "add", "bench", "--cron", "* * * * *", "--window", "1d",
                "--now", start, "--json")  # fmt: skip
    assert added.code == 0, added.err
    doc = added.json()
    assert doc["name"] == "monitor-bench" and doc["kind"] == "monitor"
    assert doc["target"] == "bench@production" and doc["window_s"] == 86400
    listed = cli("monitor", "list", "--json").json()
    assert [m["name"] for m in listed] == ["monitor-bench"]
    assert cli("schedule", "list", "--json").json()[0]["kind"] == "monitor"

    ticked = cli("tick", "--now", now_iso(90), "--json")
    assert ticked.code == 0, ticked.err
    slots = cli("schedule", "slots", "monitor-bench", "--json").json()
    ran = [s for s in slots if s["status"] != "skipped"]  # earlier minutes: catch-up latest
    assert [s["status"] for s in ran] == ["finished"], slots
    history = cli("drift", "history", "bench", "--json").json()
    assert len(history) == 1 and history[0]["drift"] == 1
    assert history[0]["batch"].startswith("monitor monitor-bench ")
    assert history[0]["rows"] == 200
    kinds = [json.loads(line)["kind"] for line in sink.read_text().splitlines()]
    assert kinds == ["drift"]  # the check's alarm; the slot itself went fine
    assert audit.verify(bench).ok


def test_a_monitor_window_ends_at_its_slot_and_an_empty_one_fails_and_alerts(bench, cli, tmp_path):
    sink = tmp_path / "alerts.jsonl"
    assert cli("alerts", "add", "bench", "--log", str(sink)).code == 0
    serve(bench, count=50)
    added = cli("monitor", "add", "bench", "--cron", "0 * * * *", "--window", "1h",
                "--now", now_iso())  # fmt: skip
    assert added.code == 0, added.err
    # The slot three hours on checks the hour before it: no traffic there.
    assert cli("tick", "--now", now_iso(3 * 3600 + 120)).code == 0
    slots = cli("schedule", "slots", "monitor-bench", "--json").json()
    ran = [s for s in slots if s["status"] != "skipped"]  # earlier hours: catch-up latest
    assert [s["status"] for s in ran] == ["failed"], slots
    assert "no prediction of bench:1 is logged since" in ran[0]["error"]
    assert cli("drift", "history", "bench", "--json").json() == []
    sent = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [a["kind"] for a in sent] == ["schedule"]
    assert "monitor-bench" in sent[0]["text"] and "FAILED" in sent[0]["text"]
    assert audit.verify(bench).ok


def test_run_now_checks_the_window_before_now(bench, cli):
    serve(bench, count=30)
    assert cli("monitor", "add", "bench", "--cron", "@weekly", "--window", "2h").code == 0
    done = cli("schedule", "run-now", "monitor-bench", "--json")
    assert done.code == 0, done.err
    assert done.json()["status"] == "finished"
    assert cli("drift", "history", "bench", "--json").json()[0]["rows"] == 30


def test_monitor_options_are_checked_before_anything_is_recorded(bench, cli):
    cases = [
        (["nobody", "--cron", "@daily"], 3, "nobody"),
        (["bench", "--cron", "@daily", "--window", "0"], 2, "window"),
        (["bench", "--cron", "@daily", "--window", "soon"], 2, "not a duration"),
        (["bench", "--cron", "61 * * * *"], 2, "bad cron expression"),
        (["bench", "--cron", "@daily", "--alias", "a@b"], 2, "alias"),
        (["bench", "--cron", "@daily", "--schedule", "bad name!"], 2, "schedule name"),
    ]
    for args, code, message in cases:
        done = cli("monitor", "add", *args)
        assert done.code == code, (args, done.err)
        assert message in done.err and "Traceback" not in done.err
    assert cli("schedule", "list", "--json").json() == []
    assert cli("monitor", "add", "bench", "--cron", "@daily").code == 0
    again = cli("monitor", "add", "bench", "--cron", "@daily")
    assert again.code == 4, again.err


def test_a_monitor_is_updated_and_removed_as_a_schedule(bench, cli, tmp_path):
    assert cli("monitor", "add", "bench", "--cron", "@daily", "--window", "3d").code == 0
    changed = cli("schedule", "update", "monitor-bench", "--cron", "@hourly", "--json")
    assert changed.code == 0, changed.err
    assert changed.json()["cron"] == "0 * * * *" and changed.json()["kind"] == "monitor"
    assert cli("monitor", "list", "--json").json()[0]["window_s"] == 3 * 86400
    notebook = tmp_path / "x.ipynb"
    moved = cli("schedule", "update", "monitor-bench", str(notebook))
    assert moved.code == 2 and "is a monitor of bench@production" in moved.err
    assert cli("monitor", "remove", "monitor-bench").code == 0
    assert cli("monitor", "list", "--json").json() == []
    assert audit.verify(bench).ok
