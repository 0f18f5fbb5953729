"""The alert inbox: grouping repeats, the lifecycle, and decisions that do what they say.

Real drift checks on a real store raise the alerts; the concurrency test runs
real processes at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlops_nb
from mlops_nb import environment, tracking
from mlops_nb.datasets import make_churn
from mlops_nb.errors import ConflictError, InvalidInputError, NotFoundError
from mlops_nb.monitoring import inbox
from mlops_nb.store import Store, audit

# Grouping and decisions are SQL: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.backends

TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"


@pytest.fixture
def churn(store, churn_data, fitted):
    """``churn`` v1 and v2 (v2 in production after v1), each with its profile."""
    X_train, _, y_train, _ = churn_data
    model, acc = fitted
    for version in (1, 2):
        with tracking.track(
            store, "churn", model=model, data=X_train, target=y_train, metrics={"accuracy": acc}
        ):
            pass
        mlops_nb.promote("churn", version, store=store)
    return store


def drifted(seed=21, n=1_500, drift=0.9):
    return make_churn(n, seed=seed, drift=drift).drop(columns=["churned"])


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_repeats_group_into_the_open_alert_and_are_not_delivered_again(churn, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("churn", "log", path=str(log), store=churn)
    batch = drifted()
    first = mlops_nb.check_drift("churn", batch, store=churn, batch="w1")
    second = mlops_nb.check_drift("churn", batch, store=churn, batch="w2")
    third = mlops_nb.check_drift("churn", batch, store=churn, batch="w3")
    assert first.alert_ids == second.alert_ids == third.alert_ids == [1]
    (item,) = mlops_nb.alert_inbox("churn", store=churn)
    assert item["alert_id"] == 1 and item["state"] == "open" and item["count"] == 3
    assert item["last_check_id"] == third.check_id and item["opened_at"] < item["last_at"]
    assert item["columns"] == sorted(first.drifted) and item["kind"] == "drift"
    assert [line["alert_id"] for line in log_lines(log)] == [1]  # one message, not three
    kinds = [e.kind for e in churn.iter_events() if e.subject == "alerts:1"]
    assert kinds == ["alert.raised", "alert.delivered", "alert.grouped", "alert.grouped"]
    assert audit.verify(churn).ok


def test_another_set_of_columns_is_another_alert(churn):
    mlops_nb.check_drift("churn", drifted(), store=churn)
    only_one = drifted()
    broken = only_one.assign(tenure_months="not a number")  # a quality break: other columns
    report = mlops_nb.check_drift("churn", broken, store=churn)
    assert report.alert_ids == [2]
    items = mlops_nb.alert_inbox("churn", store=churn)
    assert [i["alert_id"] for i in items] == [2, 1] and all(i["count"] == 1 for i in items)
    assert items[0]["columns"] != items[1]["columns"]


def test_ack_then_resolve_records_who_when_and_why_and_a_new_alarm_opens_anew(churn, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("churn", "log", path=str(log), store=churn)
    batch = drifted()
    mlops_nb.check_drift("churn", batch, store=churn)
    assert mlops_nb.alert_inbox(store=churn)[0]["actions"] == ["ack", "resolve"]
    acked = mlops_nb.ack_alert(1, "looking at the supplier feed", store=churn)
    assert acked["state"] == "acknowledged" and acked["ack_note"] == "looking at the supplier feed"
    assert acked["actions"] == ["resolve"]  # what the panel may offer now
    assert mlops_nb.alert_inbox(state="acknowledged", store=churn)[0]["actions"] == ["resolve"]
    assert acked["acknowledged"]["by"] == environment.actor()  # as a promotion records it
    mlops_nb.check_drift("churn", batch, store=churn)  # still groups while acknowledged
    assert mlops_nb.alert_inbox(state="acknowledged", store=churn)[0]["count"] == 2
    assert mlops_nb.alert_inbox(store=churn) == []  # the default is open ones
    with pytest.raises(ConflictError, match="acknowledged already"):
        mlops_nb.ack_alert(1, store=churn)
    done = mlops_nb.resolve_alert(1, "rollback", "known", store=churn)
    assert (done["state"], done["decision"], done["note"]) == ("resolved", "rollback", "known")
    assert done["actions"] == []
    assert done["resolved"]["by"] == environment.actor() and done["resolved"]["at"]
    events = [e for e in churn.iter_events() if e.subject == "alerts:1"]
    kinds = [e.kind for e in events][-3:]
    assert kinds == ["alert.acknowledged", "alert.grouped", "alert.resolved"]
    assert events[-1].payload["decision"] == "rollback" and events[-1].actor == environment.actor()
    assert [line["alert_id"] for line in log_lines(log)] == [1]
    # Resolved: the next alarm is a new alert, delivered.
    assert mlops_nb.check_drift("churn", batch, store=churn).alert_ids == [2]
    assert [line["alert_id"] for line in log_lines(log)] == [1, 2]
    assert audit.verify(churn).ok


def test_ignore_silences_the_kind_for_the_model_until_the_date(churn, tmp_path):
    log = tmp_path / "alerts.log"
    mlops_nb.add_alert_channel("churn", "log", path=str(log), store=churn)
    mlops_nb.check_drift("churn", drifted(), store=churn)
    mlops_nb.resolve_alert(1, "ignore", until="2099-06-30", store=churn)
    later = mlops_nb.check_drift("churn", drifted(seed=5), store=churn)
    again = mlops_nb.check_drift("churn", drifted(seed=6), store=churn)
    assert later.drift and later.check_id and churn.get_drift_check(later.check_id)["drift"] == 1
    assert mlops_nb.alert_inbox(store=churn) == []  # nothing opened
    (silenced,) = mlops_nb.alert_inbox(state="silenced", store=churn)
    assert silenced["alert_id"] == later.alert_ids[0] == again.alert_ids[0]
    assert silenced["count"] == 2 and silenced["decision_detail"] == {"silenced_by": 1}
    assert silenced["silenced_until"].startswith("2099-06-30")
    assert len(log_lines(log)) == 1  # only the first alarm was delivered
    with pytest.raises(ConflictError, match="silenced"):
        mlops_nb.resolve_alert(silenced["alert_id"], "rebaseline", store=churn)
    # Another model's alerts are not silenced by churn's decision.
    assert audit.verify(churn).ok


def test_an_expired_silence_lets_alerts_open_again(churn):
    mlops_nb.check_drift("churn", drifted(), store=churn)
    mlops_nb.resolve_alert(1, "ignore", until="2099-01-01", store=churn)
    # The silence ends (as time passing would end it), recorded as any change is.
    churn.change_alert(1, {"silenced_until": "2000-01-01T00:00:00.000000+00:00"}, "alert.x", "t")
    report = mlops_nb.check_drift("churn", drifted(), store=churn)
    (opened,) = mlops_nb.alert_inbox(store=churn)
    assert opened["alert_id"] == report.alert_ids[0] == 2 and opened["state"] == "open"


def test_rebaseline_makes_the_batch_the_reference_beside_the_training_profile(churn):
    batch = drifted()
    training = churn.get_version("churn", 2).profile_sha256
    first = mlops_nb.check_drift("churn", batch, store=churn)
    assert first.drift and first.reference == {"kind": "training", "profile_sha256": training}
    done = mlops_nb.resolve_alert(1, "rebaseline", "the new pricing is here to stay", store=churn)
    detail = done["decision_detail"]
    assert detail["version"] == 2 and detail["check_id"] == first.check_id
    assert detail["profile_sha256"] != training
    assert churn.get_version("churn", 2).profile_sha256 == training  # never overwritten
    later = mlops_nb.check_drift("churn", drifted(seed=33), store=churn)
    assert not later.drift and later.alert_ids == []  # the new normal
    assert later.reference["kind"] == "accepted"
    assert later.reference["check_id"] == first.check_id and later.reference["alert_id"] == 1
    assert later.reference["training_profile_sha256"] == training
    assert any("accepted as the new normal" in n for n in later.notes)
    from mlops_nb.monitoring.monitor import load_report

    assert load_report(churn, later.check_id)["reference"]["kind"] == "accepted"
    # Version 1 is still checked against its own training profile.
    v1 = mlops_nb.check_drift("churn:1", batch, store=churn)
    assert v1.drift and v1.reference["kind"] == "training"
    assert [e.kind for e in churn.iter_events() if e.kind.startswith("reference.")] == [
        "reference.set"
    ]
    assert audit.verify(churn).ok


def test_rollback_moves_the_alias_back_through_the_registry(churn):
    mlops_nb.check_drift("churn", drifted(), store=churn)
    done = mlops_nb.resolve_alert(1, "rollback", "v2 hurts", store=churn)
    assert done["decision_detail"]["from_version"] == 2
    assert done["decision_detail"]["to_version"] == 1
    assert churn.alias_holder("churn", "production").version == 1
    change = churn.alias_changes("churn", "production")[-1]
    assert change.action == "rollback" and change.actor == environment.actor()
    assert change.reason == "alert 1: v2 hurts"
    assert change.id == done["decision_detail"]["change_id"]
    # Nothing earlier than v1 to return to: refused, and the alert stays open.
    assert mlops_nb.check_drift("churn", drifted(), store=churn).alert_ids == [2]
    with pytest.raises(ConflictError, match="nothing to roll back to"):
        mlops_nb.resolve_alert(2, "rollback", store=churn)
    assert [(i["alert_id"], i["state"]) for i in mlops_nb.alert_inbox(store=churn)] == [(2, "open")]
    assert audit.verify(churn).ok


@pytest.mark.slow
def test_retrain_starts_the_trigger_and_links_the_run(churn):
    mlops_nb.set_retrain_trigger("churn", str(TINY), parameters={"x": 4}, store=churn)
    report = mlops_nb.check_drift("churn", drifted(), store=churn, trigger=False)
    done = mlops_nb.resolve_alert(report.alert_ids[0], "retrain", store=churn)
    run_id = done["decision_detail"]["run_id"]
    assert done["retrain_run_id"] == run_id
    run = mlops_nb.wait_for_run(run_id, timeout=240, store=churn)
    assert run.status == "finished", run.error
    assert run.tags["trigger"] == "alert" and run.tags["alert"] == str(report.alert_ids[0])
    assert run.params["x"] == 4 and run.params["drift_check_id"] == str(report.check_id)
    assert audit.verify(churn).ok


def test_retrain_without_a_trigger_is_refused_and_changes_nothing(churn):
    mlops_nb.check_drift("churn", drifted(), store=churn)
    with pytest.raises(ConflictError, match="no retrain trigger"):
        mlops_nb.resolve_alert(1, "retrain", store=churn)
    assert mlops_nb.alert_inbox(store=churn)[0]["state"] == "open"


def test_bad_decisions_are_clear_errors(churn):
    mlops_nb.check_drift("churn", drifted(), store=churn)
    with pytest.raises(InvalidInputError, match="decision must be one of"):
        mlops_nb.resolve_alert(1, "panic", store=churn)
    with pytest.raises(InvalidInputError, match="needs --until"):
        mlops_nb.resolve_alert(1, "ignore", store=churn)
    with pytest.raises(InvalidInputError, match="in the past"):
        mlops_nb.resolve_alert(1, "ignore", until="2020-01-01", store=churn)
    with pytest.raises(InvalidInputError, match="ignore decision only"):
        mlops_nb.resolve_alert(1, "rebaseline", until="2099-01-01", store=churn)
    with pytest.raises(InvalidInputError):
        mlops_nb.resolve_alert(1, "ignore", until="next tuesday", store=churn)
    with pytest.raises(NotFoundError, match="no alert 99"):
        mlops_nb.resolve_alert(99, "rebaseline", store=churn)
    with pytest.raises(NotFoundError, match="no alert 99"):
        mlops_nb.ack_alert(99, store=churn)
    with pytest.raises(InvalidInputError, match="state must be one of"):
        mlops_nb.alert_inbox(state="closed", store=churn)
    mlops_nb.resolve_alert(1, "rebaseline", store=churn)
    with pytest.raises(ConflictError, match="resolved by"):
        mlops_nb.resolve_alert(1, "ignore", until="2099-01-01", store=churn)
    with pytest.raises(ConflictError, match="resolved by"):
        mlops_nb.ack_alert(1, store=churn)
    assert audit.verify(churn).ok


def test_other_alerts_are_not_grouped_but_are_in_the_inbox(store):
    from mlops_nb.monitoring.alerting import raise_alert

    for _ in range(2):
        raise_alert(store, "schedule", None, "schedule:nightly", "failed", {})
    items = mlops_nb.alert_inbox(store=store)
    assert [i["alert_id"] for i in items] == [2, 1] and {i["count"] for i in items} == {1}


CHECKER = textwrap.dedent("""
    import sys, pandas as pd
    from mlops_nb.store import Store
    import mlops_nb
    store = Store(sys.argv[1])
    report = mlops_nb.check_drift("churn", pd.read_parquet(sys.argv[2]), store=store)
    print(report.alert_ids[0])
""")


@pytest.mark.slow
def test_concurrent_checks_of_one_model_open_one_alert(churn, home, tmp_path, backend):
    data = tmp_path / "batch.parquet"
    drifted().to_parquet(data)
    workers = 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHECKER, str(home), str(data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results):
        assert proc.returncode == 0, err
    assert {out.strip() for out, _ in results} == {"1"}
    fresh = Store(home)
    (item,) = inbox.inbox(fresh, state="all")
    assert item["count"] == workers and len(fresh.drift_checks("churn")) == workers
    raised = [e for e in fresh.iter_events() if e.kind == "alert.raised"]
    assert len(raised) == 1
    assert audit.verify(fresh).ok
    fresh.close()


def test_migration_14_keeps_alerts_raised_before_the_inbox_verifiable_and_open(home):
    """A store of schema 13 with an alert: after the upgrade the alert reads as open,
    count 1, and the audit chain still verifies (its event knew no inbox columns)."""
    import sqlalchemy as sa

    from mlops_nb.store import schema as t

    store = Store(home)
    with store.write() as conn:
        conn.execute(sa.text("DROP INDEX ix_alerts_group"))
        for name, _ in t.ALERT_INBOX_COLUMNS:
            conn.execute(sa.text(f'ALTER TABLE alerts DROP COLUMN "{name}"'))
        conn.execute(sa.text("DROP TABLE drift_references"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 14"))
        row = {
            "id": 1,
            "kind": "drift",
            "model": "churn",
            "subject": "drift_check:1",
            "at": "2026-01-05T00:00:00.000000+00:00",
            "message": "drift in churn:1",
            "payload": {},
            "deliveries": [],
            "retrain_run_id": None,
        }
        seq = store.append_event(conn, "alert.raised", "alerts:1", row, "old")
        conn.execute(
            sa.text(
                "INSERT INTO alerts (id, kind, model, subject, at, message, payload, deliveries, "
                "event_seq) VALUES (1, 'drift', 'churn', 'drift_check:1', :at, :message, '{}', "
                "'[]', :seq)"
            ),
            {"at": row["at"], "message": row["message"], "seq": seq},
        )
    store.close()
    upgraded = Store(home)
    assert upgraded.schema_version == t.LATEST
    (item,) = inbox.inbox(upgraded)
    assert (item["alert_id"], item["state"], item["count"], item["columns"]) == (
        1,
        "open",
        1,
        [],
    )
    assert audit.verify(upgraded).ok
    # It is decided on like any other, and a later repeat does not group into it
    # (nothing says which columns it was about).
    done = inbox.ack(upgraded, 1, "from before the inbox")
    assert done["state"] == "acknowledged"
    assert audit.verify(upgraded).ok
    upgraded.close()


def test_without_a_checks_sketches_a_large_batch_is_profiled_from_a_sample():
    """Without the sketches a check makes, a large batch's profile comes from a
    fixed uniform sample of it: it counts the rows it was made from, is the same
    every time, and reads the batch's distribution, not the first rows'."""
    import numpy as np
    import pandas as pd

    from mlops_nb.monitoring.reference import batch_profile

    rng = np.random.default_rng(5)
    reference = mlops_nb.profile(pd.DataFrame({"x": rng.normal(size=2_000)}))
    batch = pd.DataFrame({"x": np.sort(rng.normal(3.0, 1.0, size=50_000))})  # ordered
    kept = batch_profile(reference, batch, None, None, max_rows=5_000)
    again = batch_profile(reference, batch, None, None, max_rows=5_000)
    column = kept.columns["x"]
    assert kept.rows == column.rows == 5_000
    assert column.edges == again.columns["x"].edges
    assert abs(column.mean - 3.0) < 0.05 and abs(column.std - 1.0) < 0.05
    assert column.min < 0.5 and column.max > 5.5  # from across the batch
    whole = batch_profile(reference, batch.iloc[:4_000], None, None, max_rows=5_000)
    assert whole.rows == 4_000  # a batch under the bound is profiled whole


def test_an_alarming_check_keeps_the_whole_batch_profiled_as_the_reference_is(churn):
    """The profile kept for ``rebaseline`` describes every row of the checked
    batch, features and the model's own predictions, as profiling them with the
    reference's roles and kinds would; it is stored before the alert commits."""
    import pandas as pd

    from mlops_nb.jsonutil import loads
    from mlops_nb.monitoring.drift.profile import Profile, model_outputs, profile_column
    from mlops_nb.monitoring.monitor import _load_model, load_profile

    batch = drifted(n=25_000)  # more rows than a sample would keep
    report = mlops_nb.check_drift("churn", batch, store=churn)
    (item,) = mlops_nb.alert_inbox("churn", store=churn)
    assert item["last_check_id"] == report.check_id
    sha = churn.get_alert(item["alert_id"])["batch_profile_sha256"]
    kept = Profile.from_json(loads(churn.get_artifact(sha).decode()))
    version = churn.get_version("churn", 2)
    reference = load_profile(churn, version)
    features = [c.name for c in reference.features() if c.name in batch.columns]
    predictions, _ = model_outputs(_load_model(churn, version), batch[features])
    assert kept.rows == len(batch) == 25_000
    assert list(kept.columns) == list(reference.columns)
    for name, ref in reference.columns.items():
        values = batch[name] if ref.role == "feature" else None
        if ref.role == "prediction":
            values = pd.Series(predictions)
        if values is None:  # no labels were given: the reference's sketch stays
            assert kept.columns[name] == ref
            continue
        whole = profile_column(values, name, ref.role, ref.kind)
        got = {k: v for k, v in kept.columns[name].__dict__.items() if k not in ("mean", "std")}
        want = {k: v for k, v in whole.__dict__.items() if k not in ("mean", "std")}
        assert got == want, name
        if whole.mean is not None:
            assert kept.columns[name].mean == pytest.approx(whole.mean, rel=1e-9)
            assert kept.columns[name].std == pytest.approx(whole.std, rel=1e-6)
