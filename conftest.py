"""Session-wide safety: no test, notebook or kernel ever writes to a real store."""

import os
import sys
import tempfile

import pytest


def pytest_configure(config):
    os.environ["MLOPS_NB_HOME"] = tempfile.mkdtemp(prefix="mlops-nb-test-home-")
    # A team's database or bucket named in the shell must not receive test data;
    # tests that want PostgreSQL get a throw-away database (tests/postgres.py).
    os.environ.pop("MLOPS_NB_DB_URL", None)
    os.environ.pop("MLOPS_NB_ARTIFACTS", None)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs on pytest-xdist's workers with ``--dist loadfile``: each test
    module runs whole on one worker (its module-scoped servers start once), and so do
    all the notebooks together, in order, since a later notebook finds in the session's
    store what an earlier one recorded, as in a run without workers."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebooksTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "notebooks" if path.endswith(".ipynb") else path

    return NotebooksTogether(config, log)


_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _real_main_module():
    """Put the process's ``__main__`` back after each test. An IPython shell made by a
    test installs its namespace as ``__main__`` for good, and a later Dask cluster's
    spawned workers then cannot start (``spawn`` reads ``__main__.__spec__``); which
    later test that is depends on how the run orders or shares out the modules."""
    yield
    if sys.modules.get("__main__") is not _MAIN:
        sys.modules["__main__"] = _MAIN
