"""Session-wide safety: no test, notebook or kernel ever writes to a real store."""

import os
import tempfile


def pytest_configure(config):
    os.environ["MLOPS_NB_HOME"] = tempfile.mkdtemp(prefix="mlops-nb-test-home-")
    # A team's database or bucket named in the shell must not receive test data;
    # tests that want PostgreSQL get a throw-away database (tests/postgres.py).
    os.environ.pop("MLOPS_NB_DB_URL", None)
    os.environ.pop("MLOPS_NB_ARTIFACTS", None)
