"""Artifacts on object storage, tested on fsspec's memory and local file systems."""

from __future__ import annotations

import os
import threading
import uuid

import fsspec
import pytest

from mlops_nb import registry, tracking
from mlops_nb.errors import IntegrityError, InvalidInputError
from mlops_nb.store import Store, audit
from mlops_nb.store.artifacts import (
    ArtifactAlteredError,
    ArtifactBackend,
    ArtifactFolder,
    redact_url,
    sha256_bytes,
)
from mlops_nb.store.core import open_artifacts
from mlops_nb.store.objects import ObjectArtifacts

# Every way a write can become visible, on each file system that offers it.
MODES = [("memory", None), ("memory", "move"), ("file", None), ("file", "move")]


@pytest.fixture
def memory_url():
    url = f"memory://mlops-test-{uuid.uuid4().hex}/artifacts"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)


@pytest.fixture
def file_url(tmp_path):
    return (tmp_path / "bucket" / "artifacts").as_uri()


@pytest.fixture(params=MODES, ids=lambda m: f"{m[0]}-{m[1] or 'default'}")
def objects(request, memory_url, file_url):
    kind, commit = request.param
    return ObjectArtifacts(memory_url if kind == "memory" else file_url, commit=commit)


def test_commit_mode_follows_the_file_system(memory_url, file_url):
    assert ObjectArtifacts(memory_url).commit == "put"
    assert ObjectArtifacts(file_url).commit == "link"
    with pytest.raises(ValueError, match="not available"):
        ObjectArtifacts(memory_url, commit="link")


def test_write_read_exists_and_layout(objects):
    assert isinstance(objects, ArtifactBackend)
    data = b"model bytes" * 100
    sha, created = objects.write(data)
    assert created and sha == sha256_bytes(data)
    assert objects.exists(sha)
    assert objects.key(sha).endswith(f"/artifacts/{sha[:2]}/{sha}")
    assert objects.fs.cat_file(objects.key(sha)) == data
    assert objects.read(sha) == data
    assert objects.check(sha) is None
    # The same content again: same name, nothing new written.
    before = objects.fs.find(objects.base)
    assert objects.write(data) == (sha, False)
    assert objects.fs.find(objects.base) == before
    assert before == [objects.key(sha)]  # no temporary object left behind
    # Names are digests, never paths.
    with pytest.raises(ValueError, match="SHA-256"):
        objects.key("../../etc/passwd")
    assert not objects.exists("0" * 64)


def test_tampered_object_is_an_integrity_error_and_never_overwritten(objects):
    sha, _ = objects.write(b"original")
    key = objects.key(sha)
    if objects.commit == "link":
        os.chmod(key, 0o644)
    objects.fs.pipe_file(key, b"tampered")
    with pytest.raises(IntegrityError, match=sha) as caught:
        objects.read(sha)
    assert isinstance(caught.value, ArtifactAlteredError)
    assert isinstance(caught.value, ValueError)  # what Store.get_artifact maps
    assert "altered" in objects.check(sha)
    # Writing the true content again leaves the evidence for audit verify.
    assert objects.write(b"original") == (sha, False)
    assert objects.fs.cat_file(key) == b"tampered"
    assert objects.read(sha, verify=False) == b"tampered"


def test_missing_object(objects):
    sha = sha256_bytes(b"never written")
    with pytest.raises(FileNotFoundError):
        objects.read(sha)
    assert "missing" in objects.check(sha)
    assert "invalid" in objects.check("not-a-digest")


def _break_the_write(objects, monkeypatch):
    """Make the step that publishes an object fail, as a crash would."""

    def boom(*args, **kwargs):
        raise OSError("connection reset")

    if objects.commit == "put":
        monkeypatch.setattr(objects.fs, "pipe_file", boom)
    elif objects.commit == "move":
        monkeypatch.setattr(objects.fs, "mv", boom)
    else:
        monkeypatch.setattr(os, "link", boom)


def test_failed_write_leaves_no_object(objects, monkeypatch):
    data = b"x" * 4096
    sha = sha256_bytes(data)
    with monkeypatch.context() as patched:
        _break_the_write(objects, patched)
        with pytest.raises(OSError, match="connection reset"):
            objects.write(data)
    assert not objects.exists(sha)
    assert objects.fs.find(objects.base) == []
    # The next attempt stores it.
    assert objects.write(data) == (sha, True)
    assert objects.read(sha) == data


def test_readers_never_see_a_partial_object(objects):
    data = os.urandom(4 << 20)
    sha = sha256_bytes(data)
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                seen.append(len(objects.read(sha)))
            except FileNotFoundError:
                continue
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        objects.write(data)
        # Let the readers see the finished object a few times.
        for _ in range(200):
            if len(seen) >= 3:
                break
            threading.Event().wait(0.01)
    finally:
        done.set()
        for th in threads:
            th.join()
    assert errors == []
    assert seen and set(seen) == {len(data)}


def test_concurrent_writers_of_the_same_content(objects):
    data = os.urandom(1 << 20)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer():
        try:
            start.wait()
            results.append(objects.write(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    sha = sha256_bytes(data)
    assert {r[0] for r in results} == {sha} and len(results) == 8
    assert any(created for _, created in results)
    if objects.commit == "link":
        # link() lets exactly one writer create the file.
        assert sum(created for _, created in results) == 1
    assert objects.read(sha) == data
    assert objects.fs.find(objects.base) == [objects.key(sha)]


def test_sweep_removes_stale_temporary_objects(objects):
    if objects.commit == "put":
        assert objects.sweep() == 0  # single PUTs never leave temporary objects
        return
    stale = f"{objects.base}/tmp/abc.partial"
    objects.fs.makedirs(f"{objects.base}/tmp", exist_ok=True)
    objects.fs.pipe_file(stale, b"half")
    if objects.commit == "link":
        os.utime(stale, (0, 0))
        assert objects.sweep() == 1
    else:
        assert objects.sweep(older_than_s=3600) == 0
        assert objects.sweep(older_than_s=-1) == 1
    assert not objects.fs.exists(stale)


def test_urls_are_redacted_everywhere():
    assert redact_url("s3://AKIA:secret@bucket/prefix") == "s3://bucket/prefix"
    assert "sig=REDACTED" in redact_url("az://container/p?sv=2024&sig=abc%2Fdef")
    assert "abc" not in redact_url("az://container/p?sv=2024&sig=abc%2Fdef")
    chained = redact_url("simplecache::s3://key:secret@bucket/p")
    assert chained == "simplecache::s3://bucket/p"
    assert redact_url("/plain/path") == "/plain/path"
    secret = ObjectArtifacts("memory://user:hunter2@mlops-redact/a")
    assert "hunter2" not in secret.root and "hunter2" not in repr(secret)


def test_open_artifacts_picks_the_backend(tmp_path, memory_url, file_url):
    folder = open_artifacts(None, tmp_path)
    assert isinstance(folder, ArtifactFolder) and folder.root == tmp_path / "artifacts"
    assert isinstance(open_artifacts("", tmp_path), ArtifactFolder)
    assert open_artifacts(memory_url, tmp_path).commit == "put"
    local = open_artifacts(file_url, tmp_path)
    assert isinstance(local, ObjectArtifacts) and local.commit == "link"
    with pytest.raises(InvalidInputError, match="nosuchprotocol://"):
        open_artifacts("nosuchprotocol://bucket/x", tmp_path)


def test_folder_backend_checks_like_the_object_backend(tmp_path):
    folder = ArtifactFolder(tmp_path / "artifacts")
    sha, _ = folder.write(b"abc")
    assert folder.check(sha) is None
    path = folder.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"abd")
    assert "altered" in folder.check(sha)
    with pytest.raises(ArtifactAlteredError):
        folder.read(sha)
    path.unlink()
    assert "missing" in folder.check(sha)


# -- the whole store on object storage -----------------------------------------


@pytest.fixture(params=["memory", "file"])
def remote_store(request, home, memory_url, file_url):
    """The test store (SQLite or PostgreSQL metadata) with its artifacts at a URL."""
    store = Store(home, artifacts=memory_url if request.param == "memory" else file_url)
    assert isinstance(store.artifacts, ObjectArtifacts)
    yield store
    store.close()


def test_store_tracks_and_loads_models_from_object_storage(remote_store, churn_data, fitted):
    X_train, X_test, y_train, _ = churn_data
    model, acc = fitted
    with tracking.track(remote_store, "churn", data=X_train, target=y_train) as run:
        run.set_model(model)
        run.log_metric("accuracy", acc)
    version = remote_store.get_version("churn", 1)
    assert remote_store.artifacts.exists(version.artifact_sha256)
    assert not (remote_store.home / "artifacts").exists()  # nothing went to the folder
    loaded = registry.load_model("churn:1", remote_store)
    assert (loaded.predict(X_test) == model.predict(X_test)).all()
    # The database records hashes and sizes, never where or how to log in.
    assert all("://" not in str(e.payload) for e in remote_store.iter_events())


def test_audit_verify_rehashes_objects(remote_store, churn_data, fitted):
    X_train, _, y_train, _ = churn_data
    with tracking.track(remote_store, "churn", data=X_train, target=y_train) as run:
        run.set_model(fitted[0])
    result = audit.verify(remote_store)
    assert result.ok and result.artifacts >= 1
    sha = remote_store.get_version("churn", 1).artifact_sha256
    stored = remote_store.artifacts
    key = stored.key(sha)
    if stored.commit == "link":
        os.chmod(key, 0o644)
    stored.fs.pipe_file(key, stored.fs.cat_file(key) + b"x")
    result = audit.verify(remote_store)
    assert not result.ok and sha in result.problem and "altered" in result.problem
    with pytest.raises(IntegrityError, match="altered"):
        registry.load_model("churn:1", remote_store)
    stored.fs.rm_file(key)
    result = audit.verify(remote_store)
    assert not result.ok and "missing" in result.problem
