"""Tamper tests: every kind of change to events, rows or artifacts is caught."""

import hashlib
import json
import os

import pytest

from mlops_nb import registry, tracking
from mlops_nb.errors import GateFailedError
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


def test_event_hash_is_sha256_of_the_fields_each_followed_by_a_unit_separator():
    # the format every existing chain was written in: an outside tool can
    # recompute it, and a store written by an earlier release still verifies
    fields = ("7", "2026-07-15T12:00:00Z", "alice", "alias.changed", "churn@production", "{}")
    prev = "ab" * 32
    record = "".join(f"{field}\x1f" for field in (*fields, prev)).encode("utf-8")
    assert audit.event_hash(7, *fields[1:], prev) == hashlib.sha256(record).hexdigest()
    # the separator keeps a character from moving between neighbouring fields unseen
    assert audit.event_hash(7, "t", "ab", "c", "s", "{}", prev) != audit.event_hash(
        7, "t", "a", "bc", "s", "{}", prev
    )


def _churn_version(store, run_id, sha, accuracy):
    store.create_version(
        {
            "model": "churn",
            "run_id": run_id,
            "artifact_sha256": sha,
            "format": "skops",
            "estimator": "sklearn.pipeline.Pipeline",
            "metrics": {"accuracy": accuracy},
        },
        "alice",
    )


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
    _churn_version(store, run_id, sha, accuracy=0.8125)
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


# -- every table is covered ---------------------------------------------------------


def _every_table(store):
    """A history that puts rows in every table, with more than one row where it matters."""
    _same_history(store)
    run_id = "c" * 32
    sha = store.put_artifact(b"model bytes", "model", "alice")  # stored already: same hash
    _churn_version(store, run_id, sha, accuracy=0.9)
    store.create_version(
        {"model": "pricing", "artifact_sha256": sha, "format": "skops", "estimator": "X"},
        "alice",
    )
    store.change_alias("churn", "production", 2, action="promote", actor="bob", reason="better")
    store.change_alias("churn", "staging", 1, action="promote", actor="bob")
    # v1 (0.8125) cannot beat production v2 (0.9): an audited refusal, nothing moves
    with pytest.raises(GateFailedError):
        registry.promote(store, "churn", 1, require="accuracy>=production", actor="erin")
    channel = store.add_alert_channel(
        {"model": "*", "kind": "log", "config": {"path": "/tmp/a.log"}, "created_at": "t1"},
        "carol",
    )
    alert = store.record_alert(
        {
            "kind": "drift",
            "model": "churn",
            "subject": "churn drifted",
            "at": "t2",
            "message": "drift",
            "payload": {"check_id": 1},
        },
        "carol",
    )
    store.update_alert(alert, {"deliveries": [{"channel_id": channel["id"], "ok": True}]}, "carol")
    store.add_schedule(
        {
            "name": "monthly",
            "kind": "notebook",
            "target": "/nb/train.ipynb",
            "snapshot_sha256": sha,
            "parameters": {"month": "2026-07"},
            "cron": "0 6 1 * *",
            "tz": "UTC",
            "catchup": "latest",
            "timeout_s": 600.0,
            "created_at": "t3",
            "updated_at": "t3",
            "cursor": "t3",
        },
        "dave",
    )
    store.add_slot(
        {
            "schedule": "monthly",
            "slot": "now:1",
            "status": "queued",
            "claimed_at": "t4",
            "claimed_by": "dave",
            "parameters": {},
        },
        "dave",
    )
    log_file = store.put_artifact(b"a batch of the prediction log", "predictions", "server")
    store.record_log_batch(
        {
            "model": "churn",
            "kind": "predictions",
            "version": 2,
            "instance": "a" * 12,
            "first_seq": 1,
            "last_seq": 3_000_000_000,  # past PostgreSQL's integer
            "first_at": "t5",
            "last_at": "t6",
            "requests": 3,
            "rows": 4,
            "sample": 0.5,
            "dropped": 0,
            "file_sha256": log_file,
            "recorded_at": "t6",
        },
        "server",
    )
    store.record_deploy(
        {
            "instance": "a" * 12,
            "server": "b" * 12,
            "model": "churn",
            "alias": "production",
            "action": "swapped",
            "from_version": 1,
            "to_version": 2,
            "at": "t7",
            "host": "web-1",
            "address": "127.0.0.1:8000",
            "pid": 4242,
        },
        "server",
    )
    store.set_log_policy(
        {
            "model": "churn",
            "retention_s": 86400.0 * 180,
            "mask_columns": ["email"],
            "hash_columns": ["phone"],
            "salt": "0" * 32,
            "updated_at": "t8",
        },
        "privacy officer",
    )
    suite = store.put_artifact(b"checks: [{size_mb: 5}]", "test-suite", "erin")
    store.record_model_test(
        {
            "model": "churn",
            "version": 1,
            "suite": "churn.yaml",
            "suite_kind": "yaml",
            "suite_sha256": suite,
            "against": "production",
            "against_version": 2,
            "passed": 0,
            "checks": [{"name": "model size <= 5 MB", "passed": False, "detail": "6 MB"}],
            "run_id": "d" * 32,
            "at": "t9",
        },
        "erin",
        run={
            "run_id": "d" * 32,
            "kind": "test",
            "name": "churn.yaml",
            "status": "finished",
            "started_at": "t9",
            "ended_at": "t9",
            "input_sha256": suite,
        },
    )


def test_every_table_is_audited_derived_or_the_chain_itself():
    """A new table cannot be left out of audit verify by forgetting it."""
    covered = {*t.AUDITED, *t.DERIVED, *t.IDENTITY, "events", "schema_version"}
    assert set(t.metadata.tables) == covered
    assert not set(t.AUDITED) & set(t.DERIVED)
    assert not set(t.IDENTITY) & (set(t.AUDITED) | set(t.DERIVED))
    assert set(t.HEARTBEATS) <= set(t.DERIVED)


def test_serving_heartbeats_come_change_and_go_without_touching_the_chain(store, tamper):
    """A serving process overwrites its numbers and deletes them at its stop: no tampering."""
    _every_table(store)
    before = store.raw_events()
    store.put_serving_stats(
        {"instance": "a1b2c3d4e5f6", "model": "churn", "at": "2026-11-30T12:00:00+00:00",
         "every_s": 10.0, "requests_per_min": 60.0, "errors_per_min": 0.0, "p50_ms": 0.5,
         "p99_ms": 1.5, "requests_total": 60, "errors_total": 0}
    )  # fmt: skip
    assert audit.verify(store).ok
    tamper("update serving_stats set requests_total = 61, p99_ms = 9.5")
    assert audit.verify(store).ok
    store.delete_serving_stats("a1b2c3d4e5f6")
    assert audit.verify(store).ok and store.serving_stats() == {}
    assert store.raw_events() == before  # nothing was chained


@pytest.fixture
def tamper(home, backend):
    """Change the store's database behind mlops-nb's back, foreign keys off.

    An intruder with a SQLite shell has foreign keys off by default; a
    PostgreSQL superuser can switch them off too. Verify must not rely on them.
    """
    import sqlalchemy as sa

    from conftest import _side_engine

    engine = _side_engine(home, backend)

    def run(statement: str, **params):
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else []

    yield run
    engine.dispose()


def _other(column, value):
    """A different value of the same kind as ``value``, for ``column``."""
    import sqlalchemy as sa

    from mlops_nb.store.base import JSON_COLUMNS

    if column.name in JSON_COLUMNS:
        return json.dumps({"tampered": value})
    if isinstance(column.type, sa.Float):
        return (value or 0.0) + 0.5
    if isinstance(column.type, sa.Integer):
        return (value or 0) + 1000
    return (value or "") + "x"


def _q(name):
    return f'"{name}"'  # some column names (key, rows, cursor) are SQL keywords


#: Every table whose rows are evidence (heartbeats are not: see schema.HEARTBEATS).
EVIDENCE = sorted(set(t.metadata.tables) - set(t.HEARTBEATS))


@pytest.mark.parametrize("table", EVIDENCE)
def test_any_change_to_any_column_of_any_table_is_caught(store, tamper, table):
    _every_table(store)
    assert audit.verify(store).ok
    columns = t.metadata.tables[table].columns
    rows = tamper(f"select * from {table}")
    assert rows, f"the history leaves {table} empty"
    # For events the head, whose change no later event would show.
    row = (rows[-1] if table == "events" else rows[0])._mapping
    keys = [c.name for c in columns if c.primary_key]
    where = " and ".join(f"{_q(k)} = :k_{k}" for k in keys)
    missed = []
    for column in columns:
        if table == "schema_version" and column.name == "applied_at":
            continue  # when a migration ran: informational, derived from nothing
        update = f"update {table} set {_q(column.name)} = :v where {where}"
        old = {f"k_{k}": row[k] for k in keys}
        new = {f"k_{k}": _other(columns[k], row[k]) if k == column.name else row[k] for k in keys}
        tamper(update, v=_other(column, row[column.name]), **old)
        if audit.verify(store).ok:
            missed.append(column.name)
        tamper(update, v=row[column.name], **new)  # put it back
    assert not missed, f"changes to {table}.{missed} were not caught"
    assert audit.verify(store).ok


@pytest.mark.parametrize("table", EVIDENCE)
def test_a_row_added_to_or_removed_from_any_table_is_caught(store, tamper, table):
    import sqlalchemy as sa

    _every_table(store)
    columns = t.metadata.tables[table].columns
    rows = tamper(f"select * from {table}")
    row = dict((rows[-1] if table == "events" else rows[0])._mapping)
    keys = [c.name for c in columns if c.primary_key]
    constraints = t.metadata.tables[table].constraints
    unique = {c.name for u in constraints if isinstance(u, sa.UniqueConstraint) for c in u.columns}
    names = ", ".join(map(_q, row))
    values = ", ".join(f":{k}" for k in row)
    # A new key, and new values wherever a unique constraint would refuse a copy.
    forged = {**row, **{k: _other(columns[k], row[k]) for k in {*keys, *unique}}}
    if table == "events":
        forged["hash"] = "f" * 64
    tamper(f"insert into {table} ({names}) values ({values})", **forged)
    assert not audit.verify(store).ok, f"a row added to {table} was not caught"
    where = " and ".join(f"{_q(k)} = :{k}" for k in keys)
    tamper(f"delete from {table} where {where}", **{k: forged[k] for k in keys})
    assert audit.verify(store).ok
    tamper(f"delete from {table} where {where}", **{k: row[k] for k in keys})
    assert not audit.verify(store).ok, f"a row removed from {table} was not caught"


def test_a_models_row_inserted_by_sql_is_named(populated, raw_sql):
    raw_sql("insert into models (name, created_at) values ('ghost', '2026-01-01')")
    result = audit.verify(populated)
    assert not result.ok
    assert "models row ghost" in result.problem and "no version" in result.problem


def test_unreadable_json_in_a_row_is_reported_not_raised(populated, raw_sql):
    raw_sql("update runs set metrics = '{not json' where status = 'finished'")
    result = audit.verify(populated)
    assert not result.ok and "runs row" in result.problem


def test_a_store_made_before_models_were_checked_verifies_after_upgrade(home, backend, tamper):
    """Older mlops-nb wrote a model's created_at a moment before its first version's."""
    from mlops_nb.store import Store

    store = Store(home)
    _every_table(store)
    store.close()
    tamper("update models set created_at = '2026-07-01T08:59:59.999999+00:00'")
    tamper("delete from schema_version where version > 3")
    store = Store(home)
    assert store.schema_version == t.LATEST
    result = audit.verify(store)
    assert result.ok, result.problem
    first = store.list_versions("churn")[0].created_at
    assert {m["name"]: m["created_at"] for m in store.list_models()}["churn"] == first
    store.close()


# -- checkpoints: the chain's head kept outside the store ------------------------------


def _rewrite_history(tamper):
    """What anyone with write access can do: change a metric in its row and in
    its event, then recompute every hash from there on."""
    from mlops_nb.jsonutil import canonical
    from mlops_nb.store.chain import event_hash

    better = {"accuracy": 0.99}
    tamper(
        "update model_versions set metrics = :m where model = 'churn' and version = 1",
        m=canonical(better),
    )
    prev = None
    for ev in tamper("select * from events order by seq"):
        payload = ev.payload
        if ev.kind == "version.created" and ev.subject == "churn:1":
            payload = canonical({**json.loads(payload), "metrics": better})
        prev_hash = ev.prev_hash if prev is None else prev
        digest = event_hash(ev.seq, ev.at, ev.actor, ev.kind, ev.subject, payload, prev_hash)
        tamper(
            "update events set payload = :p, prev_hash = :ph, hash = :h where seq = :s",
            p=payload,
            ph=prev_hash,
            h=digest,
            s=ev.seq,
        )
        prev = digest


def _cut_newest(store, tamper):
    """Append one event and its row, then remove both: the chain is just shorter."""
    run_id = store.list_runs()[0].run_id
    store.set_run_value(run_id, "late", 1, "me")
    checkpoint = audit.checkpoint(store)
    tamper("delete from run_values where \"key\" = 'late'")
    tamper("delete from events where seq = :s", s=checkpoint.seq)
    return checkpoint


def test_checkpoint_is_the_head_of_an_intact_chain(populated, monkeypatch):
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY, raising=False)
    checkpoint = audit.checkpoint(populated)
    last = populated.raw_events()[-1]
    assert (checkpoint.seq, checkpoint.hash, checkpoint.at) == (last.seq, last.hash, last.at)
    assert checkpoint.signature is None and checkpoint.taken_at >= last.at
    result = audit.verify(populated, checkpoint=checkpoint)
    assert result.ok and result.checkpoint == last.seq


def test_a_chain_that_grew_since_its_checkpoint_extends_it(populated):
    checkpoint = audit.checkpoint(populated)
    registry.rollback(populated, "churn")
    result = audit.verify(populated, checkpoint=checkpoint)
    assert result.ok and result.events > checkpoint.seq


def test_a_rewritten_history_is_caught_only_with_a_checkpoint(populated, tamper):
    checkpoint = audit.checkpoint(populated)
    _rewrite_history(tamper)
    # What the chain alone cannot prove: a consistent rewrite looks intact.
    assert audit.verify(populated).ok
    assert populated.get_version("churn", 1).metrics == {"accuracy": 0.99}
    result = audit.verify(populated, checkpoint=checkpoint)
    assert not result.ok and result.seq == checkpoint.seq
    assert f"event {checkpoint.seq}" in result.problem and "rewritten" in result.problem
    assert checkpoint.hash[:12] in result.problem


def test_a_chain_cut_short_is_caught_only_with_a_checkpoint(populated, tamper):
    checkpoint = _cut_newest(populated, tamper)
    assert audit.verify(populated).ok
    result = audit.verify(populated, checkpoint=checkpoint)
    assert not result.ok and result.seq == checkpoint.seq
    assert f"{checkpoint.seq - 1} events" in result.problem and "removed" in result.problem


def test_checkpoint_of_an_empty_store(store):
    checkpoint = audit.checkpoint(store)
    assert checkpoint.seq == 0 and checkpoint.at is None
    assert audit.verify(store, checkpoint=checkpoint).ok
    store.put_artifact(b"x", "test", "me")
    assert audit.verify(store, checkpoint=checkpoint).ok


def test_a_broken_chain_gets_no_checkpoint(populated, raw_sql):
    from mlops_nb.errors import IntegrityError

    raw_sql("update events set actor = 'mallory' where seq = 3")
    with pytest.raises(IntegrityError, match="event 3"):
        audit.checkpoint(populated)


def test_checkpoint_file_round_trip_and_bad_files(populated, tmp_path):
    from mlops_nb.errors import InvalidInputError, NotFoundError

    path = tmp_path / "head.json"
    written = audit.checkpoint(populated, path=path)
    assert audit.read_checkpoint(path) == written
    assert json.loads(path.read_text())["hash"] == written.hash
    with pytest.raises(NotFoundError, match="nope.json"):
        audit.read_checkpoint(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    for text in ("{", "[]", '{"seq": 1}', json.dumps({**written.to_json(), "seq": -1})):
        bad.write_text(text)
        with pytest.raises(InvalidInputError, match="bad.json"):
            audit.read_checkpoint(bad)


def test_signed_checkpoints(populated, tamper, monkeypatch):
    from dataclasses import replace

    from mlops_nb.errors import InvalidInputError

    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "team secret")
    checkpoint = audit.checkpoint(populated)
    assert checkpoint.signature and audit.verify(populated, checkpoint=checkpoint).ok
    _rewrite_history(tamper)
    # Forging the file to the rewritten head needs the key.
    forged = replace(checkpoint, hash=populated.raw_events()[checkpoint.seq - 1].hash)
    result = audit.verify(populated, checkpoint=forged)
    assert not result.ok and "signature" in result.problem
    unsigned = replace(forged, signature=None)
    result = audit.verify(populated, checkpoint=unsigned)
    assert not result.ok and "not signed" in result.problem
    monkeypatch.setenv(audit.ENV_CHECKPOINT_KEY, "another key")
    assert "signature" in audit.verify(populated, checkpoint=checkpoint).problem
    monkeypatch.delenv(audit.ENV_CHECKPOINT_KEY)
    with pytest.raises(InvalidInputError, match=audit.ENV_CHECKPOINT_KEY):
        audit.verify(populated, checkpoint=checkpoint)


def test_checkpoint_on_the_command_line(populated, tamper, cli, tmp_path):
    path = tmp_path / "head.json"
    made = cli("audit", "checkpoint", "-o", str(path))
    assert made.code == 0, made.err
    doc = json.loads(path.read_text())
    assert f"event {doc['seq']}" in made.out and str(path) in made.out
    shown = cli("audit", "checkpoint", "--json")
    assert shown.code == 0 and shown.json()["hash"] == doc["hash"]
    ok = cli("audit", "verify", "--checkpoint", str(path), "--json")
    assert ok.code == 0, ok.err
    assert ok.json()["ok"] is True and ok.json()["checkpoint"] == doc["seq"]
    _rewrite_history(tamper)
    assert cli("audit", "verify").code == 0
    failed = cli("audit", "verify", "--checkpoint", str(path))
    assert failed.code == 5
    assert failed.err.startswith("mlops-nb: error: audit verify failed: ")
    assert failed.err.count("\n") == 1 and f"event {doc['seq']}" in failed.err
    missing = cli("audit", "verify", "--checkpoint", str(tmp_path / "nope.json"))
    assert missing.code == 3 and "nope.json" in missing.err
    (tmp_path / "bad.json").write_text("not json")
    assert cli("audit", "verify", "--checkpoint", str(tmp_path / "bad.json")).code == 2
    wrong = cli("audit", "log", "--checkpoint", str(path))
    assert wrong.code == 2 and "--checkpoint" in wrong.err


def test_checkpoint_in_python(populated, tmp_path):
    import mlops_nb

    path = tmp_path / "head.json"
    made = mlops_nb.checkpoint(path, store=populated)
    assert mlops_nb.verify(checkpoint=path, store=populated).checkpoint == made.seq
    assert mlops_nb.verify(checkpoint=made, store=populated).ok
