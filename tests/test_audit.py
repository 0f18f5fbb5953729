"""Tamper tests: every kind of change to events, rows or artifacts is caught."""

import hashlib
import json
import os

import pytest
import sqlalchemy as sa

from mlops_nb import cards, registry
from mlops_nb.errors import GateFailedError
from mlops_nb.store import audit
from mlops_nb.store import schema as t

pytestmark = pytest.mark.backends


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
    # an edited description and tags: the version's row as the latest event recorded it
    registry.annotate(
        store, "churn", 1, description="first cut", tags={"team": "growth"}, actor="dan"
    )
    # the written fields of its model card, each one set
    cards.edit_card(
        store,
        "churn",
        1,
        intended_use="rank customers",
        limitations="not B2B",
        ethical_considerations="no protected attributes",
        training_procedure="5-fold CV",
        actor="dan",
    )
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
    inbox_steps = {
        "state": "resolved",
        "group_columns": ["tenure"],
        "count": 2,
        "last_check_id": 1,
        "last_at": "t2",
        "batch_profile_sha256": sha,
        "acked_by": "carol",
        "acked_at": "t2",
        "ack_note": "seen",
        "resolved_by": "erin",
        "resolved_at": "t3",
        "resolve_note": "the new normal",
        "decision": "rebaseline",
        "decision_detail": {"version": 1, "check_id": 1},
        "silenced_until": "t9",
    }
    store.change_alert(alert, inbox_steps, "alert.resolved", "erin")
    store.set_drift_reference(
        {
            "model": "churn",
            "version": 1,
            "profile_sha256": sha,
            "check_id": 1,
            "alert_id": alert,
            "at": "t3",
            "actor": "erin",
        },
        "erin",
    )
    # a channel moved to daily digests, one digest claimed then sent
    store.set_channel_config(
        channel["id"], {"path": "/tmp/a.log", "digest": "daily", "digest_since": "t1"}, "carol"
    )
    claimed = store.claim_digest(channel["id"], "day", "t4", "t3", "t4", "t0", "host:1", "carol")
    store.finish_digest(
        claimed["id"],
        {"status": "sent", "sent_at": "t4", "summary": {"open_alerts": 1}, "deliveries": [{}]},
        "carol",
    )
    protection = {"model": "churn", "alias": "production", "approvers": 2, "at": "t3"}
    store.set_protection({**protection, "allow_self_approval": 0, "actor": "erin"}, "erin")
    store.open_request(
        {
            "model": "churn",
            "alias": "production",
            "version": 2,
            "from_version": 1,
            "require": "accuracy>=production",
            "gate": "accuracy>=production [ok]",
            "reason": "better",
            "run_id": "r1",
            "requested_by": "alice",
            "requested_at": "t3",
            "approvers": 2,
            "allow_self_approval": 0,
            "state": "approved",
            "approvals": [{"by": "bob", "at": "t3", "note": "ok"}],
            "refusals": [{"by": "carol", "at": "t3", "note": None, "failures": ["x"]}],
            "decided_by": "bob",
            "decided_at": "t3",
            "note": "ok",
            "change_id": 1,
        },
        "alice",
    )
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
    deployment = store.start_deployment(
        {
            "model": "churn",
            "kind": "canary",
            "version": 1,
            "production_version": 2,
            "share": 0.1,
            "guards": ["p99_ms<=50"],
            "metric": "value",
            "alpha": 0.05,
            "auto_rollback": 1,
            "auto_promote": 0,
            "require": "tests",
        },
        "erin",
    )
    store.end_deployment(
        deployment["id"], "aborted", "guard failed: p99_ms<=50", {"guards": []}, "server"
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


# -- what verify reports, word for word -------------------------------------------
# The tests above prove each tampering is caught; these pin what the report says
# (the first broken record, its sequence number, the words a person acts on) and
# each rule of the checkpoint format, so a changed message or rule fails here.


def _rehash_from(tamper, seq):
    """Recompute the hash chain from event ``seq`` on, as a forger with the code would."""
    from mlops_nb.store.chain import event_hash

    prev = None
    for ev in tamper("select * from events where seq >= :s order by seq", s=seq):
        prev_hash = ev.prev_hash if prev is None else prev
        prev = event_hash(ev.seq, ev.at, ev.actor, ev.kind, ev.subject, ev.payload, prev_hash)
        tamper(
            "update events set prev_hash = :ph, hash = :h where seq = :s",
            ph=prev_hash,
            h=prev,
            s=ev.seq,
        )


def _problem(store):
    result = audit.verify(store)
    assert not result.ok
    return result.seq, result.problem


@pytest.mark.parametrize(
    "kind, table",
    [
        ("run.value", "run_values"),  # an exact kind before the "run." prefix
        ("run.started", "runs"),
        ("alias.refused", "alias_refusals"),
        ("alias.changed", "alias_changes"),
        ("version.annotated", "model_versions"),
        ("schedule.slot.queued", "schedule_slots"),
        ("schedule.advanced", "schedules"),
        ("artifact.erased", "artifacts"),
        ("feedback.deleted", "log_batches"),
        ("run", None),
        ("runs.started", None),
        ("erasure.done", None),
    ],
)
def test_each_event_kind_names_the_table_it_describes(kind, table):
    assert audit.table_for(kind) == table


def test_the_head_of_an_empty_chain_is_the_genesis_value(store):
    assert audit.head(store) == "0" * 64
    result = audit.verify(store)
    assert (result.ok, result.events, result.artifacts, result.head) == (True, 0, 0, "0" * 64)
    assert result.checkpoint is None
    store.put_artifact(b"x", "test", "me")
    assert audit.head(store) == store.raw_events()[-1].hash == audit.verify(store).head


def test_a_cut_log_names_the_first_missing_event(populated, raw_sql):
    raw_sql("delete from events where seq in (4, 5)")
    assert _problem(populated) == (4, "event 4 is missing (next is 6): the log was cut")


def test_a_moved_event_names_where_the_chain_breaks(populated, raw_sql):
    ev = populated.raw_events()[5]
    raw_sql("update events set prev_hash = :h where seq = 6", h="1" * 64)
    assert _problem(populated) == (
        6,
        f"event 6 ({ev.kind} {ev.subject}) does not follow event 5: events were removed, "
        "inserted or reordered",
    )


def test_an_altered_event_is_named_with_its_kind_and_subject(populated, raw_sql):
    ev = populated.raw_events()[2]
    raw_sql("update events set actor = 'mallory' where seq = 3")
    assert _problem(populated) == (
        3,
        f"event 3 ({ev.kind} {ev.subject}) was altered: its hash no longer matches",
    )


def test_an_event_whose_payload_is_not_json_is_named(populated, tamper):
    head = populated.raw_events()[-1]
    tamper("update events set payload = '{not json' where seq = :s", s=head.seq)
    _rehash_from(tamper, head.seq)
    assert _problem(populated) == (
        head.seq,
        f"event {head.seq} ({head.kind} {head.subject}) has an unreadable payload",
    )


def test_a_damaged_artifact_is_named_by_the_event_that_stored_it(populated):
    stored = [ev for ev in populated.raw_events() if ev.kind == "artifact.stored"]
    assert audit.verify(populated).artifacts == len(stored) == 4
    ev = stored[1]
    populated.artifacts.path(ev.subject).unlink()
    seq, problem = _problem(populated)
    assert seq == ev.seq
    label = f"event {ev.seq} (artifact.stored {ev.subject}): "
    assert problem == label + populated.artifacts.check(ev.subject)


def test_the_earliest_problem_is_reported_whatever_found_it_first(populated):
    # the artifact check runs first and finds event 7; the checkpoint check finds event 3
    stored = [ev for ev in populated.raw_events() if ev.kind == "artifact.stored"]
    populated.artifacts.path(stored[-1].subject).unlink()
    events = populated.raw_events()
    wrong = audit.Checkpoint(seq=3, hash="1" * 64, at=events[2].at, taken_at=events[2].at)
    result = audit.verify(populated, checkpoint=wrong)
    assert stored[-1].seq > 3 and result.seq == 3 and "rewritten" in result.problem
    assert result.checkpoint == 3


def test_an_erased_artifact_may_be_gone_but_not_come_back(store, tamper):
    sha = store.put_artifact(b"kept for a while", "test", "me")
    row = tamper("select * from artifacts where sha256 = :s", s=sha)[0]._mapping
    store.forget_artifact(sha, "retention", "me")
    store.artifacts.path(sha).unlink()
    result = audit.verify(store)
    assert result.ok, result.problem
    assert result.artifacts == 1  # stored once; its erasure does not uncount it
    names = ", ".join(f'"{k}"' for k in row)
    tamper(f"insert into artifacts ({names}) values ({', '.join(':' + k for k in row)})", **row)
    erased = store.raw_events()[-1]
    assert _problem(store) == (
        erased.seq,
        f"artifacts row {sha} was deleted by event {erased.seq} but is there: it was put back "
        "outside mlops-nb",
    )


def test_a_row_without_an_event_is_named_by_the_event_it_claims(populated, tamper):
    run_id = populated.list_runs()[0].run_id
    tamper(
        'insert into run_values (run_id, "key", value, recorded_at, event_seq) '
        "values (:r, 'forged', '1', 'then', 4)",
        r=run_id,
    )
    assert _problem(populated) == (
        4,
        f"run_values row {run_id}/forged has no audit event: it was added outside mlops-nb",
    )


def test_a_changed_row_is_named_by_its_event(populated, raw_sql):
    raw_sql("update model_versions set estimator = 'Forged' where version = 2")
    seq = next(ev.seq for ev in populated.raw_events() if ev.subject == "churn:2")
    assert _problem(populated) == (
        seq,
        f"model_versions row churn/2 differs from what event {seq} recorded: it was changed "
        "outside mlops-nb",
    )
    # a failed verify still says how much it read
    result, events = audit.verify(populated), populated.raw_events()
    assert (result.events, result.head) == (len(events), events[-1].hash)
    assert result.artifacts == sum(ev.kind == "artifact.stored" for ev in events) == 4


def test_a_removed_row_is_named_by_the_event_that_recorded_it(populated, raw_sql):
    run_id = populated.list_runs()[-1].run_id
    raw_sql("delete from run_values where run_id = :r", r=run_id)
    seq = next(ev.seq for ev in populated.raw_events() if ev.kind == "run.value")
    assert _problem(populated) == (
        seq,
        f"run_values row {run_id}/note recorded by event {seq} is missing",
    )


def test_a_column_its_event_does_not_name_must_be_empty(populated, tamper):
    # a column added by a later migration is absent from older events: fine while unset
    head = populated.raw_events()[-1]
    payload = json.loads(head.payload)
    assert head.kind == "alias.changed" and payload["gate"] is None
    assert payload["from_version"] == 1
    without_gate = {k: v for k, v in payload.items() if k != "gate"}
    tamper("update events set payload = :p where seq = :s", p=json.dumps(without_gate), s=head.seq)
    _rehash_from(tamper, head.seq)
    assert audit.verify(populated).ok
    without_from = {k: v for k, v in payload.items() if k != "from_version"}
    tamper("update events set payload = :p where seq = :s", p=json.dumps(without_from), s=head.seq)
    _rehash_from(tamper, head.seq)
    seq, problem = _problem(populated)
    assert seq == head.seq and "differs from what event" in problem


@pytest.mark.parametrize(
    "statement",
    [
        "update store_info set \"key\" = 'store'",
        "update store_info set text_value = substr(text_value, 2)",  # 31 digits
        "update store_info set text_value = text_value || '0'",  # 33 digits
        "update store_info set text_value = upper(text_value) || 'A'",
        "update store_info set text_value = 'g' || substr(text_value, 2)",
        "insert into store_info (\"key\", text_value) values ('other', '0')",
        "delete from store_info",
    ],
)
def test_the_store_id_row_must_keep_its_shape(store, tamper, statement):
    sha = store.put_artifact(b"x", "test", "me")
    tamper("update store_info set text_value = :v", v=sha[:31] + "a")
    assert audit.verify(store).ok  # any 32 lowercase hex digits are an id
    tamper(statement)
    result = audit.verify(store)
    assert (result.ok, result.seq) == (False, None)  # about no event
    assert result.problem == (
        "store_info no longer holds just the store's id: changed outside mlops-nb"
    )


def test_an_alias_set_by_sql_is_named_with_what_its_history_says(populated, raw_sql):
    first, second = raw_sql("select id, at from alias_changes order by id")
    raw_sql("update aliases set change_id = :c, set_at = :a", c=first.id, a=first.at)
    assert _problem(populated) == (
        None,
        f"alias churn@production says it was set by change {first.id} at {first.at} "
        f"but its history says change {second.id} at {second.at}: changed outside mlops-nb",
    )
    raw_sql("update aliases set version = 1")
    assert _problem(populated)[1] == (
        "alias churn@production points to 1 but its history says 2: changed outside mlops-nb"
    )
    raw_sql("delete from aliases")
    assert _problem(populated)[1] == (
        "alias churn@production points to None but its history says 2: changed outside mlops-nb"
    )


def test_an_alias_without_history_is_named_first_in_alias_order(populated, raw_sql):
    raw_sql(
        "insert into aliases (model, alias, version, set_at, change_id) "
        "values ('churn', 'zz', 2, 'then', 1), ('churn', 'aa', 1, 'then', 1)"
    )
    assert _problem(populated)[1] == (
        "alias churn@aa points to 1 but its history says None: changed outside mlops-nb"
    )


def test_a_models_row_must_be_the_first_version_of_its_model(populated, raw_sql):
    first, second = (v.created_at for v in populated.list_versions("churn"))
    raw_sql("update models set created_at = :c", c=second)
    assert _problem(populated) == (
        None,
        f"models row churn says created at {second} but its first version was created at "
        f"{first}: changed outside mlops-nb",
    )
    if populated.backend == "postgresql":
        # there the versions' foreign key refuses this tampering outright
        with pytest.raises(sa.exc.IntegrityError):
            raw_sql("delete from models")
        return
    raw_sql("delete from models")
    assert _problem(populated)[1] == (
        "model churn has versions but no models row: it was removed outside mlops-nb"
    )
    raw_sql("insert into models (name, created_at) values ('ghost', 'then')")
    assert _problem(populated)[1] == (
        "model churn has versions but no models row: it was removed outside mlops-nb"
    )


def test_the_migrations_listed_must_be_every_one(store, raw_sql):
    raw_sql("delete from schema_version where version = 2")
    rest = [1, *range(3, t.LATEST + 1)]
    assert _problem(store) == (
        None,
        f"schema_version lists migrations {rest}, not 1 to {t.LATEST}: changed outside mlops-nb",
    )
