"""Tamper tests: every kind of change to events, rows or artifacts is caught."""

import json
import os

import pytest

from mlops_nb import registry, tracking
from mlops_nb.store import audit
from mlops_nb.store import schema as t

pytestmark = pytest.mark.backends


@pytest.fixture
def populated(store, churn_data, fitted):
    X_train, _, y_train, _ = churn_data
    model, acc = fitted
    for c in (1.0, 0.5):
        with tracking.track(store, "churn", data=X_train, target=y_train, params={"C": c}) as run:
            run.set_model(model)
            run.log_metric("accuracy", acc)
            run.record("note", "hello")
    registry.promote(store, "churn", 1)
    registry.promote(store, "churn", 2)
    assert audit.verify(store).ok
    return store


def test_intact_store_verifies(populated, raw_sql):
    result = audit.verify(populated)
    assert result.ok and result.problem is None
    assert result.events == len(populated.raw_events())
    stored = raw_sql("select count(*) from artifacts")[0][0]
    assert result.artifacts == stored >= 1
    assert result.head == audit.head(populated)


def test_edited_event_payload_is_named(populated, raw_sql):
    seq, text = raw_sql(
        "select seq, payload from events where kind='alias.changed' order by seq limit 1"
    )[0]
    payload = json.loads(text)
    payload["to_version"] = 2
    raw_sql("update events set payload=:p where seq=:s", p=json.dumps(payload), s=seq)
    result = audit.verify(populated)
    assert not result.ok
    assert result.seq == seq
    assert f"event {seq}" in result.problem and "altered" in result.problem


def test_edited_actor_is_caught(populated, raw_sql):
    raw_sql("update events set actor='mallory' where seq=3")
    result = audit.verify(populated)
    assert not result.ok and result.seq == 3


def test_deleted_event_is_named(populated, raw_sql):
    raw_sql("delete from events where seq=4")
    result = audit.verify(populated)
    assert not result.ok
    assert result.seq == 4 and "missing" in result.problem


def test_reordered_events_are_caught(populated, raw_sql):
    # Swap the contents of events 5 and 6 but keep their sequence numbers.
    cols = list(t.events.c.keys())
    rows = {r.seq: r._asdict() for r in raw_sql("select * from events where seq in (5, 6)")}
    raw_sql("delete from events where seq in (5, 6)")
    for seq, other in ((5, 6), (6, 5)):
        values = {**rows[other], "seq": seq}
        raw_sql(
            f"insert into events ({','.join(cols)}) values ({','.join(':' + c for c in cols)})",
            **values,
        )
    result = audit.verify(populated)
    assert not result.ok and result.seq == 5


def test_truncated_tail_is_caught_through_rows(populated, raw_sql):
    last = raw_sql("select max(seq) from events")[0][0]
    raw_sql("delete from events where seq=:s", s=last)
    result = audit.verify(populated)
    assert not result.ok
    assert "no audit event" in result.problem or "differs" in result.problem


def test_metrics_rewritten_in_table_are_caught(populated, raw_sql):
    raw_sql("""update model_versions set metrics='{"accuracy": 0.99}' where version=1""")
    result = audit.verify(populated)
    assert not result.ok
    assert "model_versions row churn/1" in result.problem


def test_alias_moved_by_sql_is_caught(populated, raw_sql):
    raw_sql("update aliases set version=1 where alias='production'")
    result = audit.verify(populated)
    assert not result.ok and "churn@production" in result.problem


def test_altered_model_file_is_caught(populated):
    version = populated.get_version("churn", 1)
    path = populated.artifacts.path(version.artifact_sha256)
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    result = audit.verify(populated)
    assert not result.ok
    assert version.artifact_sha256 in result.problem and "altered" in result.problem


def test_missing_artifact_is_caught(populated):
    version = populated.get_version("churn", 2)
    populated.artifacts.path(version.artifact_sha256).unlink()
    result = audit.verify(populated)
    assert not result.ok and "missing" in result.problem


def test_event_hash_covers_every_field():
    base = ("1", "t", "a", "k", "s", "{}", "0" * 64)
    digest = audit.event_hash(1, *base[1:])
    for i in range(1, len(base)):
        changed = list(base)
        changed[i] = changed[i] + "x"
        assert audit.event_hash(1, *changed[1:]) != digest
    assert audit.event_hash(2, *base[1:]) != digest


def _same_history(store):
    """One deterministic history touching every audited table type."""
    run_id = "c" * 32
    sha = store.put_artifact(b"model bytes", "model", "alice")
    store.insert_run(
        {
            "run_id": run_id,
            "kind": "track",
            "name": "churn",
            "status": "running",
            "started_at": "2026-07-01T08:00:00.000000+00:00",
            "params": {"C": 0.5, "label": "größe ✓", "nested": [1, None, 2.25]},
            "git_dirty": True,
            "pid": 4242,
        },
        "alice",
    )
    store.set_run_value(run_id, "note", {"x": [1, 2.5, None], "y": "z"}, "alice")
    store.update_run(run_id, {"status": "finished", "metrics": {"accuracy": 0.8125}}, "alice")
    store.create_version(
        {
            "model": "churn",
            "run_id": run_id,
            "artifact_sha256": sha,
            "format": "skops",
            "estimator": "sklearn.pipeline.Pipeline",
            "metrics": {"accuracy": 0.8125},
        },
        "alice",
    )
    store.change_alias("churn", "production", 1, action="promote", actor="bob", reason="ok")
    store.record_drift_check(
        {
            "model": "churn",
            "version": 1,
            "at": "2026-07-02T00:00:00.000000+00:00",
            "actor": "carol",
            "rows": 3_000_000_000,  # past PostgreSQL's integer
            "drift": 1,
            "drift_share": 1 / 3,
            "summary": {"age": {"statistic": 0.1234567890123, "drift": True}},
            "report_sha256": sha,
        },
        "carol",
    )
    store.set_trigger(
        {"model": "churn", "notebook": "/nb/train.ipynb", "parameters": {}, "cooldown_s": 3600},
        "carol",
    )


def test_same_history_hashes_the_same_on_sqlite_and_postgresql(tmp_path, pg_url, monkeypatch):
    import itertools

    from mlops_nb.store import Store

    heads = []
    for where in ({}, {"db_url": pg_url}):
        ticks = itertools.count()

        def clock(ticks=ticks):
            return f"2026-07-01T09:00:{next(ticks):02d}.000000+00:00"

        for module in ("base", "core", "registry_sql", "runs_sql"):
            monkeypatch.setattr(f"mlops_nb.store.{module}.utcnow", clock)
        store = Store(tmp_path / f"store-{len(heads)}", **where)
        _same_history(store)
        result = audit.verify(store)
        assert result.ok, result.problem
        heads.append([(e.seq, e.kind, e.hash) for e in store.raw_events()])
        store.close()
    sqlite_chain, postgresql_chain = heads
    assert len(sqlite_chain) >= 8
    assert sqlite_chain == postgresql_chain
