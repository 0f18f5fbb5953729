"""Shared fixtures: a store in tmp_path, an IPython shell with the magics, a CLI runner.

The store's metadata lives in SQLite or in PostgreSQL, chosen by the
``backend`` fixture. Modules marked ``pytestmark = pytest.mark.backends``
run each test that uses a store on both (ids ``[sqlite]`` and
``[postgresql]``); other tests use ``MLOPS_NB_TEST_BACKEND`` (default
``sqlite``). For PostgreSQL, :mod:`postgres` provides the server and each
test gets a new database, which ``MLOPS_NB_DB_URL`` hands to everything the
test starts: ``Store(home)``, the CLI, notebook kernels, worker processes.

Under CI (``CI`` set to true, 1, yes or on, in any case) nothing may be
skipped: a missing optional part (PostgreSQL, Dask's ``distributed``,
Chromium) fails where it is needed (:func:`skip_or_fail`), and any skip
left, a notebook cell's included, fails the session and is listed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import postgres
import pytest

from mlops_nb.store import Store
from mlops_nb.store.location import ENV_ARTIFACTS, ENV_DB_URL

# Fixture notebooks are inputs for tests, not notebooks for nbval to execute.
collect_ignore_glob = ["notebooks/*.ipynb"]

NOTEBOOKS = Path(__file__).parent / "notebooks"
REPO = Path(__file__).parent.parent
BACKENDS = ("sqlite", "postgresql")
ENV_BACKEND = "MLOPS_NB_TEST_BACKEND"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends: run the module's store tests on SQLite and on PostgreSQL"
    )


def in_ci() -> bool:
    """Whether this is a CI run (``CI`` is true, 1, yes or on, in any case)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes", "on"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip for want of an optional part; under CI fail instead, since CI installs every part.

    Works in a test, a fixture, or at module level.
    """
    if in_ci():
        pytest.fail(f"{reason}; CI must run every test, so this is a failure", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def wait_for(predicate, within: float = 60.0, what: str = "the condition"):
    """Poll ``predicate`` until it returns something true; return that, or fail after ``within`` s.

    For waiting on other processes: the deadline is generous, and how fast
    the machine is never decides the outcome.
    """
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


def _skipped(config) -> list:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter else []


def pytest_sessionfinish(session, exitstatus):
    # The terminal reporter saw every item of the session (nbval's notebook
    # cells too), so a skip anywhere fails a CI run.
    if in_ci() and _skipped(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not in_ci():
        return
    skipped = _skipped(config)
    terminalreporter.section(f"skipped under CI: {len(skipped)} (a green run has none)")
    for report in skipped:
        where = report.longrepr
        reason = where[2] if isinstance(where, tuple) else str(where)
        terminalreporter.line(f"{report.nodeid or report.fspath}: {reason}")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """Where this test's store keeps its metadata: ``sqlite`` or ``postgresql``."""
    chosen = getattr(request, "param", None) or os.environ.get(ENV_BACKEND) or "sqlite"
    assert chosen in BACKENDS, f"{ENV_BACKEND} must be one of {BACKENDS}"
    return chosen


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session: skipped if unavailable, failed under CI."""
    try:
        server = postgres.provide()
    except postgres.Unavailable as exc:
        skip_or_fail(f"PostgreSQL is not available: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def home(tmp_path, monkeypatch, request, backend) -> Path:
    """A fresh store folder, also made the default for the process (and its children)."""
    folder = tmp_path / "store"
    monkeypatch.setenv("MLOPS_NB_HOME", str(folder))
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    if backend == "postgresql":
        monkeypatch.setenv(ENV_DB_URL, request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv(ENV_DB_URL, raising=False)
    import mlops_nb.api

    mlops_nb.api.set_store(None)
    yield folder
    mlops_nb.api.set_store(None)


@pytest.fixture
def store(home, backend) -> Store:
    s = Store(home)
    assert s.backend == backend
    yield s
    s.close()


def _side_engine(home: Path, backend: str):
    """An engine on the test store's database that bypasses mlops-nb entirely."""
    import sqlalchemy as sa

    url = os.environ[ENV_DB_URL] if backend == "postgresql" else f"sqlite:///{home / 'mlops.db'}"
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


@pytest.fixture
def raw_sql(home, backend):
    """Run SQL on the test store's database behind mlops-nb's back, as an intruder would.

    ``raw_sql("update events set actor = :who where seq = 3", who="mallory")``
    commits at once and returns the rows a query gives.
    """
    import sqlalchemy as sa

    engine = _side_engine(home, backend)

    def run(statement: str, **params):
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else []

    yield run
    engine.dispose()


@pytest.fixture
def tamper(home, backend):
    """Change the store's database behind mlops-nb's back, foreign keys off.

    An intruder with a SQLite shell has foreign keys off by default; a
    PostgreSQL superuser can switch them off too. Verify must not rely on them.
    """
    import sqlalchemy as sa

    engine = _side_engine(home, backend)

    def run(statement: str, **params):
        with engine.begin() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else []

    yield run
    engine.dispose()


@pytest.fixture
def populated(store, churn_data, fitted):
    """Two tracked churn versions, both promoted in turn: a store with a history to tamper with."""
    from mlops_nb import registry, tracking
    from mlops_nb.store import audit

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


@pytest.fixture
def db_rows(home, backend):
    """Every row of every table of the test store, read behind mlops-nb's back.

    Two calls compare equal exactly when nothing was written in between, so a
    test can prove that a refused request changed nothing at all, whatever
    table the handler would have touched.
    """
    import sqlalchemy as sa

    engine = _side_engine(home, backend)

    def read() -> dict[str, list[tuple]]:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
                for name, table in sorted(meta.tables.items())
            }

    yield read
    engine.dispose()


def _frame_digest(df):
    """SHA-256 over pandas' row hashes (values, dtypes' semantics and index)."""
    import hashlib

    import pandas as pd

    row_hashes = pd.util.hash_pandas_object(df, index=True).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()


@pytest.fixture(scope="session")
def frame_digest():
    """The digest the data-set tests compare frames by."""
    return _frame_digest


@pytest.fixture(scope="session")
def churn_data():
    from mlops_nb.datasets import make_churn, split

    df = make_churn(600, seed=3)
    return split(df, seed=3)


@pytest.fixture(scope="session")
def fitted(churn_data):
    """A small fitted pipeline and its holdout accuracy."""
    from models import churn_pipeline

    X_train, X_test, y_train, y_test = churn_data
    model = churn_pipeline(X_train, y_train)
    return model, float(model.score(X_test, y_test))


@pytest.fixture
def churn_versions(store, fitted, churn_data):
    """``store`` with ``churn`` v1 and v2 (accuracy 0.80, 0.86), each with its data profile."""
    from mlops_nb import tracking

    X, _, y, _ = churn_data
    for acc in (0.80, 0.86):
        with tracking.track(
            store, "churn", model=fitted[0], data=X, target=y, metrics={"accuracy": acc}
        ):
            pass
    return store


@pytest.fixture
def bench(store):
    """Model ``bench``: version 1 (C=1) and 2 (C=0.01) on five float columns, production at 1."""
    from models import add_bench

    return add_bench(store)


@pytest.fixture
def shell(home):
    """An IPython shell with ``%load_ext mlops_nb`` done and a clean namespace."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "mlops_nb")
    ip.user_ns.clear()
    ip.user_ns.update({"In": [""], "Out": {}, "get_ipython": lambda: ip})
    yield ip
    ip.user_ns.clear()


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def _entry_point() -> str:
    exe = Path(sys.executable).parent / "mlops-nb"
    found = str(exe) if exe.exists() else shutil.which("mlops-nb")
    assert found, "the mlops-nb console script is not installed"
    return found


@pytest.fixture
def cli(home):
    """Run the installed ``mlops-nb`` entry point against the test store."""
    exe = _entry_point()

    def run(
        *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300
    ) -> CliResult:
        full_env = {**os.environ, "MLOPS_NB_HOME": str(home), **(env or {})}
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
