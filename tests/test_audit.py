"""Tamper tests: every kind of change to events, rows or artifacts is caught."""

import json
import os
import sqlite3

import pytest

from mlops_nb import audit, registry, tracking


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


def db(store):
    return sqlite3.connect(store.db_path)


def test_intact_store_verifies(populated):
    result = audit.verify(populated)
    assert result.ok and result.problem is None
    assert result.events == len(populated.raw_events())
    stored = db(populated).execute("select count(*) from artifacts").fetchone()[0]
    assert result.artifacts == stored >= 1
    assert result.head == audit.head(populated)


def test_edited_event_payload_is_named(populated):
    conn = db(populated)
    row = conn.execute(
        "select seq, payload from events where kind='alias.changed' order by seq limit 1"
    ).fetchone()
    payload = json.loads(row[1])
    payload["to_version"] = 2
    conn.execute("update events set payload=? where seq=?", (json.dumps(payload), row[0]))
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok
    assert result.seq == row[0]
    assert f"event {row[0]}" in result.problem and "altered" in result.problem


def test_edited_actor_is_caught(populated):
    conn = db(populated)
    conn.execute("update events set actor='mallory' where seq=3")
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok and result.seq == 3


def test_deleted_event_is_named(populated):
    conn = db(populated)
    conn.execute("delete from events where seq=4")
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok
    assert result.seq == 4 and "missing" in result.problem


def test_reordered_events_are_caught(populated):
    conn = db(populated)
    # Swap the contents of events 5 and 6 but keep their sequence numbers.
    rows = {r[0]: r for r in conn.execute("select * from events where seq in (5, 6)")}
    cols = [d[1] for d in conn.execute("pragma table_info(events)")]
    for seq, other in ((5, 6), (6, 5)):
        values = dict(zip(cols, rows[other]))
        values["seq"] = seq
        conn.execute("delete from events where seq=?", (seq,))
    for seq, other in ((5, 6), (6, 5)):
        values = dict(zip(cols, rows[other]))
        values["seq"] = seq
        conn.execute(
            f"insert into events ({','.join(cols)}) values ({','.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok and result.seq == 5


def test_truncated_tail_is_caught_through_rows(populated):
    conn = db(populated)
    last = conn.execute("select max(seq) from events").fetchone()[0]
    conn.execute("delete from events where seq=?", (last,))
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok
    assert "no audit event" in result.problem or "differs" in result.problem


def test_metrics_rewritten_in_table_are_caught(populated):
    conn = db(populated)
    conn.execute("""update model_versions set metrics='{"accuracy": 0.99}' where version=1""")
    conn.commit()
    result = audit.verify(populated)
    assert not result.ok
    assert "model_versions row churn/1" in result.problem


def test_alias_moved_by_sql_is_caught(populated):
    conn = db(populated)
    conn.execute("update aliases set version=1 where alias='production'")
    conn.commit()
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
