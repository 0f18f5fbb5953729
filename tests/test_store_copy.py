"""store copy: every row, every artifact and the same audit chain in the new store."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import uuid
from pathlib import Path

import fsspec
import pytest
import sqlalchemy as sa

from mlops_nb import registry, tracking
from mlops_nb.datasets import make_churn
from mlops_nb.errors import ConflictError, IntegrityError, InvalidInputError
from mlops_nb.monitoring import alerting, monitor, retrain
from mlops_nb.schedules import schedule as sch
from mlops_nb.schedules import scheduler as firing
from mlops_nb.store import Store, audit
from mlops_nb.store import copy as store_copy
from mlops_nb.store.copy import copied_tables, copy_store, open_target
from mlops_nb.store.objects import ObjectArtifacts

TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"


def at(*args):
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


@pytest.fixture
def backend():
    """The source is always an embedded store; each test picks its target."""
    return "sqlite"


@pytest.fixture
def seeded(store, churn_data, fitted, tmp_path):
    """A store with runs, versions, alias history, a drift check, an alert, a schedule."""
    X_train, _, y_train, _ = churn_data
    model, acc = fitted
    for c in (1.0, 0.5):
        with tracking.track(store, "churn", data=X_train, target=y_train, params={"C": c}) as run:
            run.set_model(model)
            run.log_metric("accuracy", acc)
            run.record("note", f"C={c}")
    registry.promote(store, "churn", 1, reason="first")
    registry.promote(store, "churn", 2)
    registry.rollback(store, "churn", reason="regression")
    registry.promote(store, "churn", 2, alias="staging")
    alerting.add_channel(store, "churn", "log", path=str(tmp_path / "alerts.log"))
    retrain.set_trigger(store, "churn", str(TINY), {"x": 1}, cooldown="1d")
    drifted = make_churn(800, seed=9, drift=0.8).drop(columns=["churned"])
    monitor.check_drift(store, "churn@production", drifted, batch="week-1", trigger=False)
    sch.add(store, "monthly", str(TINY), "0 6 1 * *", parameters={"x": 2}, now=at(2026, 1, 1))
    firing.tick(store, at(2026, 2, 1, 6, 0, 5), run=False)
    assert audit.verify(store).ok
    return store


@pytest.fixture(params=["file", "memory"])
def target(request, tmp_path):
    """An empty store whose artifacts are on fsspec's local or memory file system."""
    if request.param == "file":
        url = (tmp_path / "bucket" / "team").as_uri()
    else:
        url = f"memory://mlops-copy-{uuid.uuid4().hex}/team"
    store = Store(tmp_path / "team-home", artifacts=url)
    assert isinstance(store.artifacts, ObjectArtifacts)
    yield store
    store.close()
    memory = fsspec.filesystem("memory")
    if request.param == "memory" and memory.exists(url):
        memory.rm(url, recursive=True)


def dump(store: Store) -> dict[str, list[dict]]:
    """Every row of every copied table, in key order."""
    out = {}
    with store.read() as conn:
        for table in copied_tables():
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(sa.select(table).order_by(*order)).all()
            out[table.name] = [dict(r._mapping) for r in rows]
    return out


def test_copy_keeps_rows_ids_and_the_chain(seeded, target, churn_data):
    result = copy_store(seeded, target)
    assert result.verified
    assert result.head == audit.head(seeded) == audit.head(target)
    assert result.events == len(seeded.raw_events()) > 20
    source_rows = dump(seeded)
    assert dump(target) == source_rows
    for table in ("runs", "model_versions", "alias_changes", "drift_checks", "alerts"):
        assert source_rows[table], f"the seed has no {table}"
    for table in ("schedules", "schedule_slots", "retrain_triggers", "alert_channels"):
        assert source_rows[table], f"the seed has no {table}"
    assert result.rows == {name: len(rows) for name, rows in source_rows.items()}
    assert result.artifacts == len(source_rows["artifacts"]) == result.artifacts_written
    assert result.target["artifacts"] == target.artifacts.root
    # Same answers from the copy: lineage, alias history, drift history, schedules.
    assert registry.which(target, "churn@production").to_json() == (
        registry.which(seeded, "churn@production").to_json()
    )
    assert target.alias_changes("churn") == seeded.alias_changes("churn")
    assert len(seeded.alias_changes("churn", "production")) == 3
    assert monitor.history(target, "churn") == monitor.history(seeded, "churn")
    now = at(2026, 2, 2)
    assert sch.listing(target, now) == sch.listing(seeded, now)
    X_test = churn_data[1]
    loaded = registry.load_model("churn@staging", target)
    assert (loaded.predict(X_test) == registry.load_model("churn:2", seeded).predict(X_test)).all()
    # The copy carries on the chain: the next event follows the copied head.
    registry.promote(target, "churn", 1, alias="staging")
    events = target.raw_events()
    assert events[-1].seq == result.events + 1 and events[-1].prev_hash == result.head
    assert audit.verify(target).ok


def test_live_serving_numbers_of_the_source_are_not_copied(seeded, target):
    """``serving_stats`` are heartbeats of the source's processes: meaningless in a copy."""
    seeded.put_serving_stats(
        {"instance": "live00000001", "model": "churn", "at": "2026-02-01T06:00:00Z",
         "every_s": 10.0, "requests_per_min": 12.0, "errors_per_min": 0.0, "p50_ms": 0.4,
         "p99_ms": 1.5, "requests_total": 120, "errors_total": 0}
    )  # fmt: skip
    assert set(seeded.serving_stats()) == {"live00000001"}
    result = copy_store(seeded, target)
    assert result.verified
    assert target.serving_stats() == {}
    assert "serving_stats" not in result.rows
    assert set(seeded.serving_stats()) == {"live00000001"}  # the source keeps its own
    assert "serving_stats" not in {table.name for table in copied_tables()}


def test_tampered_artifact_in_the_copy_is_caught(seeded, target):
    copy_store(seeded, target)
    sha = target.get_version("churn", 1).artifact_sha256
    objects = target.artifacts
    key = objects.key(sha)
    if objects.commit == "link":
        os.chmod(key, 0o644)
    objects.fs.pipe_file(key, objects.fs.cat_file(key)[:-1] + b"!")
    result = audit.verify(target)
    assert not result.ok and sha in result.problem and "altered" in result.problem
    assert audit.verify(seeded).ok  # the source's own copy is untouched


def test_non_empty_target_is_refused_and_left_alone(seeded, target):
    target.put_artifact(b"already here", "test", "tester")
    before = dump(target)
    with pytest.raises(ConflictError, match="not empty"):
        copy_store(seeded, target)
    assert dump(target) == before


def test_copying_a_store_onto_itself_is_refused(seeded):
    again = Store(**seeded.locator)
    with pytest.raises(InvalidInputError, match="being copied"):
        copy_store(seeded, again)
    again.close()


def test_copy_into_postgresql_with_object_storage(seeded, pg_url, tmp_path):
    target = open_target(pg_url, (tmp_path / "bucket" / "pg").as_uri())
    try:
        assert target.backend == "postgresql"
        result = copy_store(seeded, target)
        assert result.verified and result.head == audit.head(seeded) == audit.head(target)
        assert dump(target) == dump(seeded)
        assert "postgresql" in result.target["db"]
        # New records carry on from the copied ids and the copied chain.
        registry.promote(target, "churn", 1, alias="staging")
        latest = target.alias_changes("churn", "staging")[-1]
        assert latest.id == max(c.id for c in seeded.alias_changes("churn")) + 1
        assert target.raw_events()[-1].prev_hash == result.head
        assert audit.verify(target).ok
        with pytest.raises(ConflictError, match="not empty"):
            copy_store(seeded, target)
    finally:
        target.close()


def test_a_source_that_fails_verify_is_not_copied(seeded, target):
    conn = sqlite3.connect(seeded.db_path)
    conn.execute("""update model_versions set metrics='{"accuracy": 0.99}' where version=1""")
    conn.commit()
    conn.close()
    with pytest.raises(IntegrityError, match="fails audit verify"):
        copy_store(seeded, target)
    assert all(rows == [] for rows in dump(target).values())


def test_a_missing_source_artifact_stops_the_copy_before_any_row(seeded, target):
    sha = seeded.get_version("churn", 2).artifact_sha256
    seeded.artifacts.path(sha).unlink()
    with pytest.raises(IntegrityError, match=f"{sha}.*missing"):
        copy_store(seeded, target, verify=False)
    assert all(rows == [] for rows in dump(target).values())


def test_metadata_is_all_or_nothing_and_a_second_run_resumes(seeded, target, monkeypatch):
    real = store_copy._copy_rows
    calls = []

    def crash_midway(sconn, tconn, table):
        calls.append(table.name)
        if len(calls) == 6:
            raise RuntimeError("killed")
        return real(sconn, tconn, table)

    monkeypatch.setattr(store_copy, "_copy_rows", crash_midway)
    with pytest.raises(RuntimeError, match="killed"):
        copy_store(seeded, target)
    assert all(rows == [] for rows in dump(target).values())
    monkeypatch.setattr(store_copy, "_copy_rows", real)
    result = copy_store(seeded, target)
    # The artifacts made it the first time; the second run only checks them.
    assert result.artifacts_written == 0 and result.artifacts > 0
    assert result.verified and result.head == audit.head(seeded)


def test_cli_store_copy_to_a_new_home(cli, seeded, tmp_path):
    team = tmp_path / "team-home"
    out = cli("store", "copy", "--to", str(team), "--json")
    assert out.code == 0, out.err
    doc = out.json()
    assert doc["verified"] and doc["head"] == audit.head(seeded)
    assert doc["rows"]["events"] == len(seeded.raw_events())
    check = cli("--home", str(team), "audit", "verify", "--json")
    assert check.code == 0, check.err
    assert check.json()["head"] == doc["head"]
    again = cli("store", "copy", "--to", str(team))
    assert again.code == ConflictError.exit_code
    assert again.err.count("\n") == 1 and "not empty" in again.err


def test_cli_database_target_needs_an_artifact_location(cli, seeded, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_ARTIFACTS", raising=False)
    out = cli("store", "copy", "--to", "postgresql://nobody@127.0.0.1:1/none")
    assert out.code == InvalidInputError.exit_code
    assert "--artifacts" in out.err


def test_cli_store_copy_to_object_storage(cli, seeded, tmp_path):
    team = tmp_path / "team-home"
    url = (tmp_path / "bucket" / "p").as_uri()
    out = cli("store", "copy", "--to", str(team), "--artifacts", url, "--json")
    assert out.code == 0, out.err
    assert out.json()["target"]["artifacts"] == url
    assert (team / "config.yaml").read_text().strip() == f"artifacts: {url}"
    assert not (team / "artifacts").exists()
    # A later command finds the artifacts through the home's config alone.
    check = cli("--home", str(team), "audit", "verify", "--json")
    assert check.code == 0, check.err
    assert check.json()["head"] == out.json()["head"]


def test_cli_text_output_and_no_verify(cli, seeded, tmp_path):
    out = cli("store", "copy", "--to", str(tmp_path / "plain"), "--no-verify")
    assert out.code == 0, out.err
    assert "copied" in out.out and "(not verified)" in out.out
    assert audit.head(seeded) in out.out


def test_a_different_recorded_artifact_location_is_refused(tmp_path):
    home = tmp_path / "h"
    first = (tmp_path / "one").as_uri()
    assert store_copy.remember_artifacts(home, first)
    assert not store_copy.remember_artifacts(home, first)
    with pytest.raises(InvalidInputError, match="keeps artifacts at"):
        store_copy.remember_artifacts(home, (tmp_path / "two").as_uri())
    assert store_copy.remember_artifacts(tmp_path / "k", "s3://KEY:SECRET@bucket/p")
    assert "SECRET" not in (tmp_path / "k" / "config.yaml").read_text()
