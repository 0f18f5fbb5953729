"""Drift checks against registered versions: recording, alerts over real channels, retrain."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import mlops_nb
from mlops_nb import tracking
from mlops_nb.datasets import make_churn
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.store import audit

TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"


@pytest.fixture
def churn(store, churn_data, fitted):
    X_train, _, y_train, _ = churn_data
    model, acc = fitted
    with tracking.track(
        store, "churn", model=model, data=X_train, target=y_train, metrics={"accuracy": acc}
    ) as run:
        pass
    mlops_nb.promote("churn", run.version.version, store=store)
    return store


def batch(drift=0.0, seed=21, n=2_000):
    df = make_churn(n, seed=seed, drift=drift)
    return df.drop(columns=["churned"]), df["churned"]


class Hook(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    Hook.status = 200
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", Hook
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    import socket

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller.hostname, controller.port, inbox
    controller.stop()


def test_tracked_version_carries_a_profile_with_roles(churn):
    version = churn.get_version("churn", 1)
    from mlops_nb.monitoring.monitor import load_profile

    prof = load_profile(churn, version)
    roles = {c.role for c in prof.columns.values()}
    assert roles == {"feature", "target", "prediction"}
    assert prof.task == "classification" and prof.importance


def test_checks_are_recorded_and_audited(churn):
    X, y = batch()
    report = mlops_nb.check_drift("churn@production", X, target=y, batch="week 1", store=churn)
    assert not report.drift and report.check_id == 1 and report.alert_ids == []
    assert report.prediction is not None and not report.prediction.drift
    assert set(report.performance["metrics"]) == {"accuracy"}
    row = churn.get_drift_check(1)
    assert row["batch"] == "week 1" and row["version"] == 1 and row["drift"] == 0
    from mlops_nb.monitoring.monitor import load_report

    assert load_report(churn, 1)["columns"] == json.loads(json.dumps(report.to_json()))["columns"]
    assert any(e.kind == "drift.checked" for e in churn.iter_events())
    assert audit.verify(churn).ok


def test_drift_alerts_every_channel_and_survives_failures(churn, webhook, smtp_server, tmp_path):
    url, hook = webhook
    host, port, inbox = smtp_server
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("churn", "webhook", url=url, store=churn)
    mlops_nb.add_alert_channel(
        "churn", "email", to="owner@example.com", smtp_host=host, smtp_port=port, store=churn
    )
    mlops_nb.add_alert_channel("churn", "log", path=str(log), store=churn)
    mlops_nb.add_alert_channel("*", "webhook", url="http://127.0.0.1:9/unreachable", store=churn)
    X, y = batch(drift=0.9)
    report = mlops_nb.check_drift("churn", X, target=y, batch="bad week", store=churn)
    assert report.drift and report.alert_ids == [1]
    (alert,) = mlops_nb.alerts("churn", store=churn)
    outcomes = {
        d["kind"] + ("-bad" if "unreachable" in d["target"] else ""): d for d in alert.deliveries
    }
    assert outcomes["webhook"]["ok"] and outcomes["email"]["ok"] and outcomes["log"]["ok"]
    assert not outcomes["webhook-bad"]["ok"] and "Error" in outcomes["webhook-bad"]["error"]
    (posted,) = hook.received
    assert posted["text"].startswith("mlops-nb: drift in churn:1 batch 'bad week'")
    assert posted["check_id"] == report.check_id and posted["drifted_columns"]
    (mail,) = inbox.messages
    assert mail["To"] == "owner@example.com" and "drift in churn" in mail["Subject"]
    line = json.loads(log.read_text().splitlines()[0])
    assert line["alert_id"] == 1 and line["kind"] == "drift"
    assert audit.verify(churn).ok


def test_webhook_error_status_is_recorded(churn, webhook):
    url, hook = webhook
    hook.status = 500
    mlops_nb.add_alert_channel("churn", "webhook", url=url, store=churn)
    X, _y = batch(drift=0.9)
    mlops_nb.check_drift("churn", X, store=churn)
    (alert,) = mlops_nb.alerts(store=churn)
    assert alert.deliveries[0]["ok"] is False and "500" in alert.deliveries[0]["error"]


@pytest.mark.parametrize(
    "kind, config, message",
    [
        ("pager", {}, "kind must be one of"),
        ("webhook", {"url": "ftp://x"}, r"http\(s\) URL"),
        ("email", {"smtp_host": "h"}, "needs 'to'"),
        ("email", {"to": "a@b", "smtp_host": "h", "password": "x"}, "password_env"),
    ],
)
def test_bad_channels_are_refused(churn, kind, config, message):
    with pytest.raises(InvalidInputError, match=message):
        mlops_nb.add_alert_channel("churn", kind, store=churn, **config)


@pytest.mark.slow
def test_retrain_trigger_fires_once_per_cooldown(churn):
    mlops_nb.set_retrain_trigger(
        "churn", str(TINY), parameters={"x": 3}, cooldown="1h", store=churn
    )
    X, _y = batch(drift=0.9)
    first = mlops_nb.check_drift("churn", X, store=churn, batch="w1")
    second = mlops_nb.check_drift("churn", X, store=churn, batch="w2")
    assert first.retrain_run_id and second.retrain_run_id is None
    run = mlops_nb.wait_for_run(first.retrain_run_id, timeout=240, store=churn)
    assert run.status == "finished", run.error
    assert run.params["x"] == 3 and run.params["drift_check_id"] == str(first.check_id)
    assert run.tags == {"trigger": "drift", "drift_check": str(first.check_id)}
    assert churn.get_drift_check(first.check_id)["retrain_run_id"] == run.run_id
    assert mlops_nb.alerts("churn", store=churn)[-1].retrain_run_id == run.run_id
    assert audit.verify(churn).ok


def test_trigger_bad_input(churn, tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        mlops_nb.set_retrain_trigger("churn", str(tmp_path / "nope.ipynb"), store=churn)
    with pytest.raises(InvalidInputError, match="not a duration"):
        mlops_nb.set_retrain_trigger("churn", str(TINY), cooldown="soon", store=churn)
    with pytest.raises(NotFoundError, match="no retrain trigger"):
        mlops_nb.remove_retrain_trigger("churn", store=churn)


def test_waiting_past_the_timeout_is_a_deadline_error_not_bad_input(store):
    from mlops_nb.errors import DeadlineError
    from mlops_nb.monitoring.retrain import wait_for_run

    run_id = "e" * 32
    store.insert_run(
        {"run_id": run_id, "kind": "notebook", "status": "running", "started_at": "t"}, "me"
    )
    with pytest.raises(DeadlineError, match="did not finish within 0.2 s") as info:
        wait_for_run(store, run_id, timeout=0.2, poll=0.05)
    assert not isinstance(info.value, ValueError) and info.value.exit_code == 8
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(InvalidInputError, match="timeout"):
            wait_for_run(store, run_id, timeout=bad)


def test_version_without_profile_and_bad_batches(store, fitted):
    with tracking.track(store, "bare", model=fitted[0]):
        pass
    X, _ = batch()
    with pytest.raises(NotFoundError, match="has no reference profile"):
        mlops_nb.check_drift("bare", X, store=store)
    with pytest.raises(NotFoundError, match="no model named"):
        mlops_nb.check_drift("nope", X, store=store)
    with pytest.raises(InvalidInputError, match="DataFrame"):
        mlops_nb.check_drift("bare", [1, 2], store=store)


def test_target_column_by_name_and_history(churn):
    df = make_churn(1_500, seed=30)
    report = mlops_nb.check_drift("churn", df, target="churned", batch="named", store=churn)
    assert report.performance["rows"] == 1_500
    with pytest.raises(InvalidInputError, match="target column 'nope'"):
        mlops_nb.check_drift("churn", df, target="nope", store=churn)
    time.sleep(0.01)
    mlops_nb.check_drift("churn", make_churn(1_500, seed=31, drift=1.0), store=churn)
    history = mlops_nb.drift_history("churn", store=churn)
    assert [r["batch"] for r in history] == ["named", None]
    assert history[1]["drift"] == 1 and "monthly_charges" in history.columns()
    assert "drift history of churn: 2 checks" in str(history)
    assert history.figure().data


def test_magic_returns_the_report(shell, churn_data, fitted):
    X_train, _, y_train, _ = churn_data
    with mlops_nb.track("churn", model=fitted[0], data=X_train, target=y_train):
        pass
    X, y = batch(drift=0.9)
    shell.user_ns.update({"this_week": X, "labels": y})
    report = shell.run_line_magic(
        "mlops_drift", "churn this_week --target labels --batch 'week 9' --no-trigger"
    )
    assert report.drift and report.batch == "week 9" and report.check_id == 1
    assert report.to_json()["columns"][0]["drift"] is True
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="no variable named 'missing'"):
        shell.run_line_magic("mlops_drift", "churn missing")


# -- data quality through the recorded path ---------------------------------------


def broken_batches():
    X, y = batch(seed=50)
    one_nan = X.copy()
    one_nan.loc[one_nan.index[0], "support_calls"] = float("nan")
    text = X.copy()
    text["monthly_charges"] = text["monthly_charges"].astype(object)
    text.loc[text.index[0], "monthly_charges"] = "abc"
    inf = X.copy()
    inf.loc[inf.index[:3], "monthly_charges"] = float("inf")
    blank = X.mask(X.notna() | X.isna())
    return {
        "one NaN in an int feature": (one_nan, y, set()),
        "text in a numeric feature": (text, y, {("monthly_charges", "type_change")}),
        "infinity in a numeric feature": (inf, y, {("monthly_charges", "infinite")}),
        "a string target": (X, y.map({0: "no", 1: "yes"}), {("churned", "type_change")}),
        # customer_id and signup_date are extra columns: the model was trained without them
        "an all-NaN batch": (blank, y, {(c, "all_missing") for c in X.columns[2:]}),
        "a missing column": (
            X.drop(columns=["tenure_months"]),
            y,
            {("tenure_months", "missing_column")},
        ),
    }


@pytest.mark.parametrize("case", list(broken_batches()))
def test_broken_batches_give_a_defined_report_never_an_exception(churn, case):
    X, y, expected = broken_batches()[case]
    report = mlops_nb.check_drift("churn", X, target=y, batch=case, store=churn, trigger=False)
    issues = {(i.column, i.kind) for i in report.quality.issues if i.kind != "model_error"}
    assert issues == expected, report.quality
    assert report.check_id is not None and report.performance is not None
    if not report.quality.ok:
        assert report.alarm and report.alert_ids, str(report)
    if case == "a string target":
        assert report.performance["metrics"] == {} and "labels" in report.performance["note"]
    assert audit.verify(churn).ok


def test_a_model_that_cannot_score_the_batch_is_a_quality_issue(churn):
    X, y = batch(seed=51)
    X = X.copy()
    X.loc[X.index[0], "support_calls"] = float("nan")  # the logistic regression refuses NaN
    report = mlops_nb.check_drift("churn", X, target=y, store=churn, record=False)
    (issue,) = [i for i in report.quality.issues if i.kind == "model_error"]
    assert issue.column is None and "NaN" in issue.detail and "\n" not in issue.detail
    assert report.prediction is None or not report.prediction.testable


def test_quality_breaks_are_recorded_and_alerted_in_one_check(churn, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("churn", "log", path=str(log), store=churn)
    X, _ = batch(seed=52)
    X = X.assign(monthly_charges=float("nan"))
    report = mlops_nb.check_drift("churn", X, batch="blank", store=churn, trigger=False)
    assert not report.drift and report.alarm and report.alert_ids == [1]
    from mlops_nb.monitoring.monitor import load_report

    stored = load_report(churn, report.check_id)
    assert stored["quality"]["ok"] is False and stored["alarm"] is True
    assert ("monthly_charges", "all_missing") in {
        (i["column"], i["kind"]) for i in stored["quality"]["issues"]
    }
    row = churn.get_drift_check(report.check_id)
    assert row["summary"]["monthly_charges"]["quality"] == "all_missing"
    line = json.loads(log.read_text().splitlines()[0])
    assert "data quality" in line["text"] and line["quality"]["ok"] is False
    history = mlops_nb.drift_history("churn", store=churn)
    assert "QUALITY" in str(history)


def test_a_broken_batch_alerts_but_does_not_retrain(churn):
    mlops_nb.set_retrain_trigger("churn", str(TINY), cooldown="1h", store=churn)
    X, _ = batch(seed=54)
    report = mlops_nb.check_drift("churn", X.drop(columns=["contract"]), store=churn)
    assert not report.quality.ok and not report.drift and report.alert_ids
    assert report.retrain_run_id is None
    assert churn.get_drift_check(report.check_id)["retrain_run_id"] is None


def test_the_version_is_resolved_once_and_the_model_loaded_once(churn, monkeypatch):
    from mlops_nb import registry
    from mlops_nb.registry import versions

    resolved = []
    real = versions.resolve

    def spy(store, ref):
        resolved.append(ref)
        return real(store, ref)

    monkeypatch.setattr(registry, "resolve", spy)
    monkeypatch.setattr(versions, "resolve", spy)  # what load_model calls
    X, y = batch(seed=53)
    for _ in range(3):
        mlops_nb.check_drift("churn@production", X, target=y, store=churn, record=False)
    loads = [r for r in resolved if r != "churn@production"]
    assert resolved.count("churn@production") == 3 and len(loads) <= 1, resolved
