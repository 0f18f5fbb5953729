"""Session-wide safety: no test, notebook or kernel ever writes to a real store."""

import os
import tempfile


def pytest_configure(config):
    os.environ["MLOPS_NB_HOME"] = tempfile.mkdtemp(prefix="mlops-nb-test-home-")
