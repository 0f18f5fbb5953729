"""``mlops-nb alerts inbox|ack|resolve`` through the installed entry point."""

from __future__ import annotations

import pytest

import mlops_nb
from mlops_nb import environment, tracking
from mlops_nb.datasets import make_churn


@pytest.fixture
def alarmed(store, churn_data, fitted, tmp_path):
    """``churn`` v1 then v2 in production, one drift check of v2 that alarmed (alert 1)."""
    X_train, _, y_train, _ = churn_data
    for version in (1, 2):
        with tracking.track(store, "churn", model=fitted[0], data=X_train, target=y_train):
            pass
        mlops_nb.promote("churn", version, store=store)
    batch = tmp_path / "week.csv"
    make_churn(1_000, seed=21, drift=0.9).drop(columns=["churned"]).to_csv(batch, index=False)
    report = mlops_nb.check_drift("churn", make_churn(1_000, seed=21, drift=0.9), store=store)
    assert report.alert_ids == [1]
    return batch


def test_inbox_lists_grouped_alerts_and_the_old_commands_still_work(cli, alarmed):
    assert cli("drift", "check", "churn", str(alarmed)).code == 0  # a repeat, grouped
    result = cli("alerts", "inbox", "--json")
    assert result.code == 0, result.err
    (item,) = result.json()
    assert {"alert_id", "model", "kind", "state", "opened_at", "count"} <= set(item)
    assert (item["alert_id"], item["state"], item["count"]) == (1, "open", 2)
    assert item["last_check_id"] == 2 and item["columns"]
    text = cli("alerts", "inbox", "churn")
    assert text.code == 0 and "churn" in text.out and "open" in text.out
    assert cli("alerts", "inbox", "--state", "resolved", "--json").json() == []
    listed = cli("alerts", "list", "churn", "--json")
    assert listed.code == 0 and [a["id"] for a in listed.json()] == [1]
    assert cli("alerts", "channels").code == 0


def test_ack_and_resolve_from_the_command_line(cli, alarmed):
    acked = cli("alerts", "ack", "1", "--note", "on it", "--json")
    assert acked.code == 0, acked.err
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged"]["by"] == environment.actor()
    done = cli("alerts", "resolve", "1", "--decision", "ignore", "--until", "2099-12-31")
    assert done.code == 0, done.err
    assert "alert 1 resolved by" in done.out and "silenced until 2099-12-31" in done.out
    resolved = cli("alerts", "inbox", "--state", "resolved", "--json").json()
    assert resolved[0]["decision"] == "ignore" and resolved[0]["ack_note"] == "on it"
    assert cli("drift", "check", "churn", str(alarmed)).code == 0
    (silenced,) = cli("alerts", "inbox", "--state", "silenced", "--json").json()
    assert silenced["decision_detail"] == {"silenced_by": 1}
    assert cli("audit", "verify").code == 0


def test_rollback_and_rebaseline_from_the_command_line(cli, alarmed, store):
    done = cli("alerts", "resolve", "1", "--decision", "rollback", "--note", "bad v2", "--json")
    assert done.code == 0, done.err
    assert done.json()["decision_detail"]["to_version"] == 1
    assert store.alias_holder("churn", "production").version == 1
    assert cli("drift", "check", "churn", str(alarmed)).code == 0  # v1 now: a new alert
    done = cli("alerts", "resolve", "2", "--decision", "rebaseline")
    assert done.code == 0, done.err and "is now the reference of churn:1" in done.out
    check = cli("drift", "check", "churn", str(alarmed), "--json")
    assert check.json()["reference"]["kind"] == "accepted"


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["resolve", "1", "--decision", "panic"], 2, "decision must be one of"),
        (["resolve", "1", "--decision", "ignore"], 2, "needs --until"),
        (["resolve", "1", "--decision", "ignore", "--until", "2001-01-01"], 2, "in the past"),
        (["resolve", "1", "--decision", "rollback", "--until", "2099-01-01"], 2, "ignore"),
        (["resolve", "77", "--decision", "rebaseline"], 3, "no alert 77"),
        (["ack", "77"], 3, "no alert 77"),
        (["ack", "x1"], 2, "alert id"),
        (["inbox", "--state", "closed"], 2, "state must be one of"),
        (["resolve", "1"], 2, "--decision"),
    ],
)
def test_bad_input_is_a_clear_error_with_its_exit_code(cli, alarmed, args, code, message):
    result = cli("alerts", *args)
    assert result.code == code, (result.out, result.err)
    assert message in result.err
    assert cli("alerts", "inbox", "--json").json()[0]["state"] == "open"  # nothing changed


def test_deciding_twice_is_a_conflict(cli, alarmed):
    assert cli("alerts", "resolve", "1", "--decision", "rebaseline").code == 0
    again = cli("alerts", "resolve", "1", "--decision", "rebaseline")
    assert again.code == 4 and "resolved by" in again.err
    assert cli("alerts", "ack", "1").code == 4
