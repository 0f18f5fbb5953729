"""Shared fixtures: a store in tmp_path, an IPython shell with the magics, a CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_nb.store import Store

# Fixture notebooks are inputs for tests, not notebooks for nbval to execute.
collect_ignore_glob = ["notebooks/*.ipynb"]

NOTEBOOKS = Path(__file__).parent / "notebooks"
REPO = Path(__file__).parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh store folder, also made the default for the process."""
    folder = tmp_path / "store"
    monkeypatch.setenv("MLOPS_NB_HOME", str(folder))
    import mlops_nb.api

    mlops_nb.api.set_store(None)
    yield folder
    mlops_nb.api.set_store(None)


@pytest.fixture
def store(home) -> Store:
    s = Store(home)
    yield s
    s.close()


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
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, X_test, y_train, y_test = churn_data
    numeric = [c for c in X_train.columns if X_train[c].dtype.kind in "if"]
    other = [c for c in X_train.columns if c not in numeric]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), other), (StandardScaler(), numeric)
        ),
        LogisticRegression(max_iter=500),
    ).fit(X_train, y_train)
    return model, float(model.score(X_test, y_test))


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
