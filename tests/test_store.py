import os
import sqlite3
import threading

import pytest

from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.store import Store, find_home
from mlops_nb.store import schema as t
from mlops_nb.store.artifacts import sha256_bytes


def test_location_explicit_beats_env_beats_nearest_dot_mlops(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / ".mlops").mkdir(parents=True)
    deep = project / "notebooks" / "sub"
    deep.mkdir(parents=True)
    monkeypatch.delenv("MLOPS_NB_HOME", raising=False)
    assert find_home(cwd=str(deep)) == (project / ".mlops").resolve()
    monkeypatch.setenv("MLOPS_NB_HOME", str(tmp_path / "env-home"))
    assert find_home(cwd=str(deep)) == (tmp_path / "env-home").resolve()
    assert find_home(tmp_path / "explicit", cwd=str(deep)) == (tmp_path / "explicit").resolve()


def test_location_falls_back_to_user_home(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    nowhere = tmp_path / "no-store-here"
    nowhere.mkdir()
    assert find_home(cwd=str(nowhere)) == (tmp_path / "user" / ".mlops").resolve()


def test_new_store_is_wal_with_latest_schema(store):
    assert store.schema_version == t.LATEST
    conn = sqlite3.connect(store.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"events", "runs", "model_versions", "aliases", "alias_changes"} <= tables


def test_reopening_does_not_rerun_migrations(home):
    Store(home).close()
    again = Store(home)
    conn = sqlite3.connect(again.db_path)
    assert [r[0] for r in conn.execute("select version from schema_version")] == list(
        range(1, t.LATEST + 1)
    )


def test_newer_schema_is_refused(home):
    Store(home).close()
    conn = sqlite3.connect(home / "mlops.db")
    conn.execute("insert into schema_version values (999, 'future')")
    conn.commit()
    with pytest.raises(InvalidInputError, match="newer"):
        Store(home)


def test_missing_store_without_create(tmp_path):
    with pytest.raises(NotFoundError, match="mlops-nb init"):
        Store(tmp_path / "absent", create=False)


def test_artifacts_are_content_addressed_and_read_only(store):
    sha = store.put_artifact(b"model bytes", "model", "tester")
    assert sha == sha256_bytes(b"model bytes")
    path = store.artifacts.path(sha)
    assert path.read_bytes() == b"model bytes"
    assert oct(path.stat().st_mode & 0o777) == oct(0o444)
    # Same content again: same name, no second event, file untouched.
    before = len(store.raw_events())
    assert store.put_artifact(b"model bytes", "model", "tester") == sha
    assert len(store.raw_events()) == before
    assert store.get_artifact(sha) == b"model bytes"


def test_artifact_write_never_overwrites(store):
    sha, created = store.artifacts.write(b"one")
    assert created
    target = store.artifacts.path(sha)
    os.chmod(target, 0o644)
    target.write_bytes(b"tampered")
    _, created_again = store.artifacts.write(b"one")
    assert not created_again
    assert target.read_bytes() == b"tampered"  # left for audit verify to report


def test_get_artifact_detects_alteration(store):
    from mlops_nb.errors import IntegrityError

    sha = store.put_artifact(b"abc", "model", "tester")
    path = store.artifacts.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"abd")
    with pytest.raises(IntegrityError, match="altered"):
        store.get_artifact(sha)
    path.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        store.get_artifact(sha)


def test_stale_temp_files_are_swept(home):
    store = Store(home)
    store.artifacts.tmp.mkdir(parents=True, exist_ok=True)
    stale = store.artifacts.tmp / "abc.partial"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    assert store.artifacts.sweep() == 1
    assert not stale.exists()


def test_threads_writing_at_once_lose_nothing(store):
    errors = []

    def write(n):
        try:
            for i in range(20):
                store.put_artifact(f"{n}-{i}".encode(), "test", f"thread-{n}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    seqs = [e.seq for e in store.raw_events()]
    assert seqs == list(range(1, 81))


def test_run_prefix_resolution(store):
    store.insert_run(
        {
            "run_id": "abcdef" + "0" * 26,
            "kind": "track",
            "name": "m",
            "status": "running",
            "started_at": "t",
        },
        "me",
    )
    store.insert_run(
        {
            "run_id": "abcdef" + "1" * 26,
            "kind": "track",
            "name": "m",
            "status": "running",
            "started_at": "t",
        },
        "me",
    )
    assert store.get_run("abcdef1").run_id.endswith("1" * 26)
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.get_run("abcdef")
    with pytest.raises(InvalidInputError, match="too short"):
        store.get_run("abc")
    with pytest.raises(InvalidInputError, match="not a run id"):
        store.get_run("../etc")
    with pytest.raises(NotFoundError):
        store.get_run("ffffff")
