"""Alert digests: one message a day or a week per channel.

Real stores on SQLite and PostgreSQL, a real HTTP receiver on 127.0.0.1 for
webhooks, real log files, an injected clock for the period boundaries, and
ticks in threads each with its own store (its own connections) racing for
the same period.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import mlops_nb
from mlops_nb import tracking
from mlops_nb.errors import ConflictError, InvalidInputError, NotFoundError
from mlops_nb.jsonutil import utcnow
from mlops_nb.monitoring import alerting, digest, inbox
from mlops_nb.schedules import scheduler
from mlops_nb.store import Store, audit

pytestmark = pytest.mark.backends

MONDAY = "2030-01-07T10:00:00Z"  # 2030-01-07 is a Monday


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def scheduled(store: Store) -> list[dict]:
    return [d for d in store.digests() if d["trigger"] == "scheduled"][::-1]


class Receiver:
    """A webhook receiver on 127.0.0.1: records each JSON body, answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def digest_channel(store: Store, path: Path, mode: str = "daily", since: str = MONDAY) -> int:
    channel = alerting.add_channel(store, "*", "log", path=str(path))
    digest.set_digest(store, channel["id"], mode, now=since)
    return channel["id"]


def test_a_digest_channel_gets_no_message_per_alert_and_an_old_config_still_does(store, tmp_path):
    each, daily = tmp_path / "each.log", tmp_path / "daily.log"
    alerting.add_channel(store, "*", "log", path=str(each))  # configured as before digests
    mlops_nb.add_alert_channel("*", "log", path=str(daily), digest="daily", store=store)
    alerting.raise_alert(store, "pipeline", None, "nightly", "nightly failed", {})
    assert [line["text"] for line in log_lines(each)] == ["nightly failed"]
    assert not daily.exists()
    shown = alerting.channels(store)
    assert "digest" not in shown[0]["config"] and shown[1]["config"]["digest"] == "daily"
    with pytest.raises(InvalidInputError, match="digest must be one of"):
        alerting.add_channel(store, "*", "log", path=str(daily), digest="hourly")
    digest.set_digest(store, 2, "off")
    alerting.raise_alert(store, "pipeline", None, "nightly", "nightly failed again", {})
    assert [line["text"] for line in log_lines(daily)] == ["nightly failed again"]
    kinds = [e.kind for e in store.iter_events() if e.subject == "alert_channels:2"]
    assert kinds == ["channel.added", "channel.changed"]


def test_due_only_once_each_day_has_ended_and_a_missed_stretch_is_one_digest(store, tmp_path):
    log = tmp_path / "digest.log"
    digest_channel(store, log, "daily", since=MONDAY)
    assert digest.send_due(store, "2030-01-07T23:59:59.999999Z") == []  # Monday not over
    scheduler.tick(store, "2030-01-08T00:00:00Z", run=False)  # the scheduler's tick sends it
    (first,) = scheduled(store)
    assert (first["period_start"][:19], first["period_end"][:19]) == (
        "2030-01-07T00:00:00",
        "2030-01-08T00:00:00",
    )
    assert first["status"] == "sent" and first["attempts"] == 1
    assert digest.send_due(store, "2030-01-08T12:00:00Z") == []  # Tuesday not over
    assert digest.send_due(store, "2030-01-08T23:59:00Z") == []
    # The scheduler was down from Wednesday to Friday: one digest covers the three days.
    (late,) = digest.send_due(store, "2030-01-11T00:00:05Z")
    assert (late["period_start"][:10], late["period_end"][:10]) == ("2030-01-08", "2030-01-11")
    assert digest.send_due(store, "2030-01-11T08:00:00Z") == []
    sent = log_lines(log)
    assert [line["digest_id"] for line in sent] == [first["id"], late["id"]]
    assert sent[1]["digest"]["from"][:10] == "2030-01-08" and sent[1]["digest"]["period"] == "day"
    assert audit.verify(store).ok


def test_a_weekly_digest_is_due_on_monday_at_midnight_utc(store, tmp_path):
    log = tmp_path / "digest.log"
    digest_channel(store, log, "weekly", since="2030-01-09T15:00:00Z")  # a Wednesday
    assert digest.send_due(store, "2030-01-13T23:59:59Z") == []  # Sunday
    assert digest.send_due(store, "2030-01-13T23:30:00-02:00") != []  # Monday 01:30 UTC
    (week,) = scheduled(store)
    assert (week["period_start"][:10], week["period_end"][:10]) == ("2030-01-07", "2030-01-14")
    assert digest.send_due(store, "2030-01-20T23:59:59Z") == []
    (second,) = digest.send_due(store, "2030-01-21T00:00:00Z")
    assert (second["period_start"][:10], second["period_end"][:10]) == ("2030-01-14", "2030-01-21")
    # A period that ended before the mode was set is not sent.
    other = tmp_path / "other.log"
    digest_channel(store, other, "weekly", since="2030-01-21T00:00:01Z")
    assert digest.send_due(store, "2030-01-21T00:00:02Z") == [] and not other.exists()


@pytest.fixture
def churn(store, churn_data, fitted):
    """``churn`` and ``pricing`` v1 with profiles; only churn is drift-checked."""
    X_train, _, y_train, _ = churn_data
    model, _ = fitted
    for name in ("churn", "pricing"):
        with tracking.track(store, name, model=model, data=X_train, target=y_train):
            pass
        mlops_nb.promote(name, 1, store=store)
    return store


def test_the_digest_reports_alerts_decisions_unchecked_models_failures_and_deploys(churn, tmp_path):
    from mlops_nb.datasets import make_churn

    store = churn
    batch = make_churn(1_500, seed=21, drift=0.9).drop(columns=["churned"])
    for week in ("w1", "w2", "w3"):
        mlops_nb.check_drift("churn", batch, store=store, batch=week)  # one alert, count 3
    (alert,) = mlops_nb.alert_inbox("churn", store=store)
    note = "supplier feed *changed*\n- [click](http://evil.example) <img src=x>"
    inbox.ack(store, alert["alert_id"], note)
    other, _ = alerting.file_alert(store, "pipeline", None, "nightly", "nightly failed", {})
    inbox.resolve(store, other, "ignore", "known outage", until="2099-01-01")
    slot = store.add_slot(
        {
            "schedule": "nightly",
            "slot": "now:test",
            "status": "running",
            "claimed_at": "2020-01-01T00:00:00.000000+00:00",
            "claimed_by": "test",
        },
        "test",
    )
    ended = utcnow()
    store.update_slot(
        slot["id"], {"status": "failed", "error": "boom | <b>", "ended_at": ended}, "t"
    )
    store.start_deployment(
        {
            "model": "pricing",
            "kind": "canary",
            "version": 1,
            "production_version": 1,
            "share": 0.1,
            "alpha": 0.05,
            "auto_rollback": 1,
            "auto_promote": 0,
        },
        "test",
    )
    channel = alerting.add_channel(store, "*", "log", path=str(tmp_path / "d.log"), digest="daily")
    (entry,) = mlops_nb.alert_digest(channel["id"], "week", dry_run=True, store=store)
    d = entry["digest"]
    assert "digest_id" not in entry and not (tmp_path / "d.log").exists()  # a dry run sends nothing
    (group,) = d["open_alerts"]["groups"]
    assert (group["model"], group["kind"], group["alerts"], group["checks"]) == (
        "churn",
        "drift",
        1,
        3,
    )
    assert group["acknowledged"] == 1 and d["raised"] == 2
    steps = [(x["alert_id"], x["action"], x["decision"], x["note"]) for x in d["decisions"]]
    assert steps == [
        (alert["alert_id"], "acknowledged", None, note),
        (other, "resolved", "ignore", "known outage"),
    ]
    assert [m["model"] for m in d["unchecked_models"]] == ["pricing"]
    assert d["unchecked_models"][0]["last_checked_at"] is None
    (failed,) = d["failed_schedules"]
    assert failed["schedule"] == "nightly" and failed["failures"] == 1
    (deploy,) = d["running_deploys"]
    assert (deploy["model"], deploy["kind"], deploy["version"]) == ("pricing", "canary", 1)
    assert not d["empty"]
    # User text never forges a line or markup.
    text, md = entry["text"], entry["markdown"]
    assert "\n- [click]" not in text and "supplier feed *changed*\\n- [click]" in text
    assert "[click](http" not in md and "\\[click\\]\\(http" in md and "<img" not in md
    assert "&lt;img src=x&gt;" in md and "boom \\| &lt;b&gt;" in md
    assert (
        "pricing: never checked" in text
        and "pricing: canary of version 1 (10% of requests)" in text
    )
    # A channel for one model hears only of that model, and of no schedule.
    mine = alerting.add_channel(store, "pricing", "log", path=str(tmp_path / "p.log"))
    (only,) = mlops_nb.alert_digest(mine["id"], store=store)
    assert only["digest"]["open_alerts"]["groups"] == [] and only["digest"]["decisions"] == []
    assert only["digest"]["failed_schedules"] == [] and len(only["digest"]["running_deploys"]) == 1
    assert "Failed schedules" not in only["text"]
    (line,) = log_lines(tmp_path / "p.log")
    assert line["digest_id"] == only["digest_id"] and line["digest"]["model"] == "pricing"
    assert store.digests()[0]["trigger"] == "manual" and store.digests()[0]["status"] == "sent"
    assert scheduled(store) == []  # a digest on request leaves the scheduled ones alone
    assert audit.verify(store).ok


def test_webhook_digest_reaches_a_real_receiver_and_a_failure_is_retried(store, receiver):
    channel = alerting.add_channel(store, "*", "webhook", url=receiver.url)
    digest.set_digest(store, channel["id"], "daily", now=MONDAY)
    alerting.file_alert(store, "drift", "churn", "s", "drift on churn", {}, columns=["a"])
    receiver.status = 500
    (failed,) = digest.send_due(store, "2030-01-08T00:01:00Z")
    assert failed["status"] == "failed" and "500" in failed["deliveries"][0]["error"]
    receiver.status = 200
    assert digest.send_due(store, "2030-01-08T00:10:00Z") == []  # not before RETRY_S
    (sent,) = digest.send_due(store, "2030-01-08T00:16:01Z")
    assert sent["id"] == failed["id"] and sent["status"] == "sent" and sent["attempts"] == 2
    assert [d["ok"] for d in sent["deliveries"]] == [False, True]
    assert len(receiver.bodies) == 2
    body = receiver.bodies[-1]
    assert body["kind"] == "digest" and body["digest_id"] == sent["id"]
    assert body["digest"]["open_alerts"]["alerts"] == 1
    assert body["text"].startswith("mlops-nb daily digest (all models)")
    assert body["markdown"].startswith("## mlops-nb daily digest")
    assert digest.send_due(store, "2030-01-08T23:00:00Z") == []
    assert audit.verify(store).ok


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on 127.0.0.1 keeping what it receives."""
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox_ = Inbox()
    controller = Controller(inbox_, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller.hostname, controller.port, inbox_
    controller.stop()


def test_an_email_digest_is_the_text_with_the_data_attached(store, smtp_inbox):
    host, port, received = smtp_inbox
    channel = alerting.add_channel(
        store, "*", "email", to="me@example.com", smtp_host=host, smtp_port=port
    )
    digest.set_digest(store, channel["id"], "weekly", now=MONDAY)
    alerting.raise_alert(store, "pipeline", None, "nightly", "nightly failed", {})
    assert received.messages == []  # no message per alert in digest mode
    (row,) = digest.send_due(store, "2030-01-14T00:00:00Z")
    assert row["status"] == "sent", row["deliveries"]
    (mail,) = received.messages
    assert mail["Subject"].startswith("[mlops-nb] weekly digest (all models) 2030-01-07")
    parts = {part.get_content_type(): part for part in mail.walk() if not part.is_multipart()}
    assert "Open alerts (1)" in parts["text/plain"].get_payload(decode=True).decode()
    attached = json.loads(parts["application/json"].get_payload(decode=True))
    assert attached["open_alerts"]["groups"][0]["kind"] == "pipeline"


def test_a_crashed_claim_is_taken_over_later_and_never_sent_twice(store, tmp_path):
    log = tmp_path / "digest.log"
    channel_id = digest_channel(store, log)
    # A tick claims Monday's digest, then dies before sending it.
    claim = store.claim_digest(
        channel_id, "day", "2030-01-08T00:00:00.000000+00:00", "2030-01-07T00:00:00.000000+00:00",
        "2030-01-08T00:00:30.000000+00:00", "2030-01-07T23:45:30.000000+00:00", "dead:1", "test",
    )  # fmt: skip
    assert claim is not None and claim["status"] == "claimed"
    assert digest.send_due(store, "2030-01-08T00:05:00Z") == [] and not log.exists()
    (sent,) = digest.send_due(store, "2030-01-08T00:16:00Z")
    assert sent["id"] == claim["id"] and sent["attempts"] == 2 and len(log_lines(log)) == 1


def test_concurrent_ticks_send_each_period_once(store, home, tmp_path):
    log = tmp_path / "digest.log"
    digest_channel(store, log)
    stores = [Store(home) for _ in range(4)]  # each with its own connections
    barrier = threading.Barrier(len(stores))
    results: list[list] = []
    errors: list[BaseException] = []

    def tick(s: Store, moment: str) -> None:
        try:
            barrier.wait(30)
            results.append(digest.send_due(s, moment))
        except BaseException as exc:  # reported below
            errors.append(exc)

    for moment in ("2030-01-08T00:00:01Z", "2030-01-09T00:00:01Z"):
        threads = [threading.Thread(target=tick, args=(s, moment)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    for s in stores:
        s.close()
    assert not errors
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 0, 1, 1]
    assert [line["digest"]["to"][:10] for line in log_lines(log)] == ["2030-01-08", "2030-01-09"]
    rows = scheduled(store)
    assert [(r["period_end"][:10], r["status"]) for r in rows] == [
        ("2030-01-08", "sent"),
        ("2030-01-09", "sent"),
    ]
    assert audit.verify(store).ok


def test_an_empty_period_sends_nothing_to_report(store, tmp_path):
    log = tmp_path / "digest.log"
    digest_channel(store, log)
    (row,) = digest.send_due(store, "2030-01-08T00:00:00Z")
    assert row["summary"]["empty"] is True
    (line,) = log_lines(log)
    assert line["digest"]["empty"] and "nothing to report" in line["text"]
    assert line["text"].count("\n") == 1 and "nothing to report" in line["markdown"]


def test_bad_input_is_refused(store, tmp_path):
    with pytest.raises(InvalidInputError, match="period must be one of"):
        mlops_nb.alert_digest(period="month", store=store)
    with pytest.raises(NotFoundError, match="no alert channel 9"):
        mlops_nb.alert_digest(9, store=store)
    with pytest.raises(NotFoundError, match="no alert channel 9"):
        digest.set_digest(store, 9, "daily")
    assert mlops_nb.alert_digest(store=store) == []  # no channel in digest mode
    channel = alerting.add_channel(store, "*", "log", path=str(tmp_path / "d.log"))
    with pytest.raises(InvalidInputError, match="digest must be one of"):
        digest.set_digest(store, channel["id"], "hourly")
    store.disable_alert_channel(channel["id"], "test")
    with pytest.raises(ConflictError, match="was removed"):
        mlops_nb.alert_digest(channel["id"], store=store)


def test_cli(cli, store, home, tmp_path):
    log = tmp_path / "d.log"
    added = cli("alerts", "add", "*", "--log", str(log), "--digest", "weekly", "--json")
    assert added.code == 0, added.err
    assert added.json()["config"]["digest"] == "weekly"
    shown = cli("alerts", "digest", "--dry-run", "--json")
    assert shown.code == 0, shown.err
    (entry,) = shown.json()
    assert entry["digest"]["period"] == "week" and entry["digest"]["empty"] and not log.exists()
    sent = cli("alerts", "digest", "--channel", "1", "--period", "day")
    assert sent.code == 0, sent.err
    assert "sent" in sent.out and "nothing to report" in sent.out and len(log_lines(log)) == 1
    assert cli("alerts", "digest", "--period", "month").code == 2
    assert cli("alerts", "digest", "--channel", "7").code == 3
    off = cli("alerts", "set-digest", "1", "off", "--json")
    assert off.code == 0 and "digest" not in off.json()["config"]
    hook = cli("alerts", "add", "*", "--webhook", "http://127.0.0.1:9/none", "--digest", "daily")
    assert hook.code == 0, hook.err
    failed = cli("alerts", "digest", "--channel", "2")
    assert failed.code == 9 and "recorded as failed" in failed.err
    # Two `mlops-nb tick` processes at once: the period is sent once.
    assert cli("alerts", "set-digest", "1", "daily").code == 0
    assert cli("alerts", "remove", "2").code == 0
    exe = Path(sys.executable).parent / "mlops-nb"
    env = {**os.environ, "MLOPS_NB_HOME": str(home)}
    ticks = [
        subprocess.Popen(
            [str(exe), "tick", "--now", "2099-01-01T00:00:01Z", "--no-run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for tick in ticks:
        _, err = tick.communicate(timeout=120)
        assert tick.returncode == 0, err
    lines = log_lines(log)
    assert len(lines) == 2 and lines[1]["digest"]["to"].startswith("2099-01-01T00:00:00")
    (row,) = scheduled(store)
    assert row["status"] == "sent" and row["attempts"] == 1
