import os
import socket
import threading

import pytest
import sqlalchemy as sa

from conftest import skip_or_fail
from mlops_nb.errors import InvalidInputError, NotFoundError, UnavailableError
from mlops_nb.store import Store, find_home
from mlops_nb.store import schema as t
from mlops_nb.store.artifacts import sha256_bytes
from mlops_nb.store.location import mask_url, normalize_db_url, resolve

pytestmark = pytest.mark.backends


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


def test_new_store_has_the_latest_schema(store, raw_sql, backend):
    assert store.schema_version == t.LATEST
    with store.read() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert set(t.metadata.tables) | {"schema_version"} <= tables
    if backend == "sqlite":
        assert raw_sql("PRAGMA journal_mode")[0][0] == "wal"
        assert store.locator == {"home": str(store.home), "db_url": None, "artifacts": None}
    else:
        assert store.db_path is None and store.locator["db_url"].startswith("postgresql+psycopg")


def test_reopening_does_not_rerun_migrations(home, raw_sql):
    Store(home).close()
    Store(home).close()
    versions = raw_sql("select version from schema_version order by version")
    assert [r[0] for r in versions] == list(range(1, t.LATEST + 1))


def test_stores_opened_at_once_migrate_once(home, raw_sql):
    # Several processes opening a new store at the same moment (a team's
    # first `mlops-nb init`, a scheduler and a kernel): one migrates.
    barrier = threading.Barrier(6)
    errors = []

    def open_store():
        try:
            barrier.wait()
            Store(home).close()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    versions = raw_sql("select version from schema_version order by version")
    assert [r[0] for r in versions] == list(range(1, t.LATEST + 1))


def test_migration_10_indexes_versions_by_run_in_new_and_old_stores(home, raw_sql):
    def indexes(store):
        with store.read() as conn:
            return {i["name"] for i in sa.inspect(conn).get_indexes("model_versions")}

    with Store(home) as store:
        assert "ix_model_versions_run" in indexes(store)  # made with the table
    # A store of schema 9, as every store was before: no index, migrations 10 on not run.
    raw_sql("drop index ix_model_versions_run")
    raw_sql("delete from schema_version where version >= 10")
    with Store(home) as store:
        assert "ix_model_versions_run" in indexes(store) and store.schema_version == t.LATEST
    versions = raw_sql("select version from schema_version order by version")
    assert [r[0] for r in versions] == list(range(1, t.LATEST + 1))


def test_newer_schema_is_refused(home, raw_sql):
    Store(home).close()
    raw_sql("insert into schema_version values (999, 'future')")
    with pytest.raises(InvalidInputError, match="newer"):
        Store(home)


def test_missing_store_without_create(home):
    with pytest.raises(NotFoundError, match="mlops-nb init"):
        Store(home, create=False)


def test_locator_reopens_the_same_store(store):
    sha = store.put_artifact(b"shared", "test", "tester")
    again = Store(**store.locator)
    assert again.locator == store.locator and again.backend == store.backend
    assert again.get_artifact(sha) == b"shared"
    assert [e.hash for e in again.iter_events()] == [e.hash for e in store.iter_events()]
    again.close()


def test_text_sorts_bytewise_on_every_backend(store):
    # PostgreSQL's collation (the test databases use ICU en-US) would put
    # "a" before "B"; the schema makes text compare as SQLite does.
    names = ["b", "B", "_z", "a", "Z9", "a-b", "ä"]
    for name in names:
        store.create_version(
            {"model": name, "artifact_sha256": "0" * 64, "format": "skops", "estimator": "E"},
            "tester",
        )
    assert [m["name"] for m in store.list_models()] == sorted(names)


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


def test_a_run_outcome_is_decided_once(store):
    from mlops_nb.errors import ConflictError
    from mlops_nb.store import audit

    run_id = "c" * 32
    store.insert_run(
        {"run_id": run_id, "kind": "notebook", "name": "n", "status": "running", "started_at": "t"},
        "me",
    )
    lost = {"status": "failed", "ended_at": "t2", "error": "worker lost"}
    store.update_run(run_id, lost, "watcher", expect_status="running")
    with pytest.raises(ConflictError, match="is failed, not running"):
        store.update_run(run_id, {"status": "finished"}, "late worker", expect_status="running")
    run = store.get_run(run_id)
    assert run.status == "failed" and run.error == "worker lost"
    assert audit.verify(store).ok  # the refused change left no event behind


# -- choosing the database ------------------------------------------------------


def test_db_url_comes_from_argument_then_env_then_config(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_DB_URL", raising=False)
    monkeypatch.delenv("MLOPS_NB_ARTIFACTS", raising=False)
    home = tmp_path / "h"
    assert resolve(home) == (None, None)  # no config file: SQLite and the folder
    home.mkdir()
    (home / "config.yaml").write_text("db_url: postgresql://cfg@db/m\nartifacts: s3://b/p\n")
    assert resolve(home) == ("postgresql+psycopg://cfg@db/m", "s3://b/p")
    monkeypatch.setenv("MLOPS_NB_DB_URL", "postgres://env@db/m")
    monkeypatch.setenv("MLOPS_NB_ARTIFACTS", "file:///env")
    assert resolve(home) == ("postgresql+psycopg://env@db/m", "file:///env")
    assert resolve(home, "postgresql+psycopg://arg@db/m", "memory://arg") == (
        "postgresql+psycopg://arg@db/m",
        "memory://arg",
    )


@pytest.mark.parametrize(
    "text", ["db-url: postgresql://x@y/z\n", "db_url: [1, 2]\n", "- a list\n", "db_url: {\n"]
)
def test_bad_config_files_are_refused(tmp_path, monkeypatch, text):
    monkeypatch.delenv("MLOPS_NB_DB_URL", raising=False)
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(InvalidInputError, match="config.yaml"):
        resolve(tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "mysql://u:hunter2@h/d",
        "postgresql+psycopg2://u:hunter2@h/d",
        "just some text",
    ],
)
def test_only_postgresql_urls_are_accepted(url):
    with pytest.raises(InvalidInputError, match="postgresql://") as info:
        normalize_db_url(url)
    assert "hunter2" not in str(info.value)


def test_passwords_are_masked():
    assert mask_url("postgresql+psycopg://me:pa%40ss@h:5/d?sslmode=require") == (
        "postgresql+psycopg://me:***@h:5/d?sslmode=require"
    )
    assert "s3cret" not in mask_url("postgresql://h/d?password=s3cret&application_name=x")
    assert mask_url("postgresql://me@h/d") == "postgresql://me@h/d"


def test_unreachable_database_is_one_clear_error(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://me:hunter2@127.0.0.1:{port}/nowhere?connect_timeout=5"
    with pytest.raises(UnavailableError, match="cannot use the metadata database") as info:
        Store(tmp_path, db_url=url)
    assert "hunter2" not in str(info.value) and "me:***@127.0.0.1" in str(info.value)
    assert info.value.exit_code == 9  # try again later, unlike the root error's 1


# -- PostgreSQL only ------------------------------------------------------------


def test_config_file_selects_postgresql(tmp_path, pg_url, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_DB_URL", raising=False)
    from mlops_nb.store.location import write_config

    home = tmp_path / "team"
    path = write_config(home, db_url=pg_url)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    store = Store(home)
    assert store.backend == "postgresql" and store.db_path is None
    assert not (home / "mlops.db").exists()
    assert store.locator == {"home": str(home), "db_url": pg_url, "artifacts": None}
    store.close()


def test_password_stays_out_of_repr_events_and_rows(tmp_path, pg_url):
    # The test server trusts 127.0.0.1 and ignores passwords, so any will do;
    # a server given by MLOPS_NB_TEST_PG_URL keeps its own.
    parsed = sa.engine.make_url(pg_url)
    secret = parsed.password or "hunter2-s3cret"
    url = parsed.set(password=secret).render_as_string(hide_password=False)
    store = Store(tmp_path / "h", db_url=url)
    store.put_artifact(b"x", "test", "tester")
    store.insert_run(
        {"run_id": "a" * 32, "kind": "track", "status": "running", "started_at": "t"}, "me"
    )
    assert secret not in repr(store) and ":***@" in repr(store)
    assert store.locator["db_url"] == url  # in-process hand-over keeps it
    assert all(secret not in str(row) for row in store.raw_events())
    assert secret not in str(store.snapshot_tables())
    store.close()


def test_reads_cannot_write_on_postgresql(tmp_path, pg_url):
    store = Store(tmp_path / "h", db_url=pg_url)
    with pytest.raises(sa.exc.DBAPIError, match="read-only"), store.read() as conn:
        conn.execute(t.models.insert().values(name="sneaky", created_at="t"))
    store.close()


def test_a_forked_child_opens_its_own_connections(store):
    import warnings

    store.put_artifact(b"before the fork", "test", "parent")  # the pool holds a connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded fork"
        pid = os.fork()
    if pid == 0:  # the child: write through the inherited store object, then leave
        code = 1
        try:
            store.put_artifact(b"from the child", "test", "child")
            code = 0
        finally:
            os._exit(code)
    store.put_artifact(b"from the parent", "test", "parent")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.put_artifact(b"after the child", "test", "parent")
    assert [e.seq for e in store.raw_events()] == [1, 2, 3, 4]
    from mlops_nb.store import audit

    assert audit.verify(store).ok


def test_a_user_who_cannot_create_tables_is_told_what_to_grant(tmp_path, pg_server, pg_url):
    import uuid

    import psycopg

    role = f"mlops_nb_user_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        if conn.info.server_version < 150000:
            skip_or_fail("before PostgreSQL 15 everyone may create tables in public")
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        url = sa.engine.make_url(pg_url).set(username=role, password=None)
        with pytest.raises(InvalidInputError, match="GRANT CREATE ON SCHEMA public"):
            Store(tmp_path / "h", db_url=url.render_as_string(hide_password=False))
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


# -- what the database says, as the error class a user can act on -----------------


@pytest.fixture
def write_lock_held(home, monkeypatch):
    """``with write_lock_held(): ...`` holds the store's write lock from another
    store, as a long writer elsewhere would; stores opened after this fixture
    give up waiting for it after a fraction of a second."""
    import mlops_nb.store.base as base

    holder = Store(home)
    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.3)
    yield holder.write
    holder.close()


def test_a_write_lock_not_granted_in_time_is_unavailable(home, write_lock_held):
    from mlops_nb.errors import UnavailableError

    store = Store(home)
    with (
        write_lock_held(),
        pytest.raises(UnavailableError, match="is busy: another writer") as info,
    ):
        store.put_artifact(b"waits for the lock", "test", "tester")
    assert info.value.exit_code == 9 and info.value.http_status == 503
    assert len(store.raw_events()) == 0  # the refused write left nothing
    store.put_artifact(b"waits for the lock", "test", "tester")  # free again: it works
    store.close()


def test_a_taken_unique_key_is_a_conflict(store):
    from mlops_nb.errors import ConflictError

    run = {"run_id": "c" * 32, "kind": "track", "status": "running", "started_at": "t"}
    store.insert_run(run, "first")
    events = len(store.raw_events())
    with pytest.raises(ConflictError, match="already exists") as info:
        store.insert_run(run, "second")
    assert info.value.exit_code == 4
    assert len(store.raw_events()) == events  # its event was rolled back with it


def test_other_constraint_failures_and_missing_tables_are_integrity_errors(store, raw_sql):
    from mlops_nb.errors import IntegrityError

    with (
        pytest.raises(IntegrityError, match="refused an inconsistent write"),
        store.write() as conn,
    ):
        conn.execute(t.runs.insert().values(run_id="d" * 32))  # kind, status ... missing
    raw_sql("drop table run_values")
    with pytest.raises(IntegrityError, match="lacks part of its schema"):
        store.list_runs()


def test_a_database_damaged_after_opening_is_an_integrity_error(tmp_path):
    from mlops_nb.errors import IntegrityError

    home = tmp_path / "h"
    store = Store(home)
    for i in range(200):  # enough rows for the runs table to own pages of its own
        store.insert_run(
            {"run_id": f"{i:032x}", "kind": "track", "status": "running", "started_at": "t"}, "me"
        )
    store.close()
    db = home / "mlops.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    start = (root - 1) * size  # only the runs table's first page: the schema stays readable
    data[start : start + size] = os.urandom(size)
    db.write_bytes(bytes(data))
    reopened = Store(home)
    with pytest.raises(IntegrityError, match=f"{db}.*damaged"):
        reopened.list_runs()
    reopened.close()


def test_an_artifact_path_taken_by_a_folder_is_refused(store):
    from mlops_nb.errors import IntegrityError

    sha = sha256_bytes(b"blocked")
    store.artifacts.path(sha).mkdir(parents=True)
    with pytest.raises(IntegrityError, match="is not a file"):
        store.put_artifact(b"blocked", "test", "tester")
    assert store.raw_events() == []


def test_a_second_store_on_the_same_file_keeps_the_first_ones_locks(tmp_path):
    # The second open checks the file before using it; a plain open() and
    # close() of the file would drop every SQLite lock this process holds on
    # it, so the child below would take itself for the last user, remove
    # the WAL files and leave the first store with "disk I/O error".
    import subprocess
    import sys

    home = tmp_path / "h"
    first = Store(home)
    first.put_artifact(b"before", "test", "first")
    Store(home).close()
    child = (
        "import sys; from mlops_nb.store import Store; "
        "s = Store(sys.argv[1]); s.put_artifact(b'child', 'test', 'child'); s.close()"
    )
    subprocess.run([sys.executable, "-c", child, str(home)], check=True, env=os.environ.copy())
    # The child saw this process still using the database, so left its WAL alone.
    assert (home / "mlops.db-wal").exists() and (home / "mlops.db-shm").exists()
    first.put_artifact(b"after", "test", "first")
    assert len(first.raw_events()) == 3
    first.close()
