"""What ``mlops-nb serve`` imports before it answers: the model's libraries, nothing more.

Each check runs in a fresh interpreter (this one has pytest and much else
loaded already).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from models import add_bench

from mlops_nb.store import Store

ROOT = Path(__file__).parent.parent

#: Top-level packages the serve start path must not import before it is ready:
#: notebooks and kernels, the Jupyter server, drift and tracking's plotting,
#: other engines, and what scikit-learn's estimator listing pulls in on its
#: way through its packages (Dask, pytest and theirs).
NOT_ON_THE_START_PATH = (
    "dask", "distributed", "jinja2", "pytest", "_pytest", "pygments", "plotly", "papermill",
    "nbformat", "nbclient", "ipykernel", "jupyter_client", "jupyter_server", "jupyterlab",
    "notebook", "ray", "mlflow", "matplotlib",
)  # fmt: skip
#: Parts of this package a server has no use for.
OWN_NOT_ON_THE_START_PATH = (
    "mlops_nb.execution", "mlops_nb.schedules", "mlops_nb.tracking", "mlops_nb.monitoring",
    "mlops_nb.server", "mlops_nb.widgets", "mlops_nb.magics", "mlops_nb.testing",
    "mlops_nb.serving.export", "mlops_nb.serving.scoring", "mlops_nb.serving.privacy",
    "mlops_nb.serving.reader", "mlops_nb.serving.ray_engine",
)  # fmt: skip

# The CLI's own path: `mlops-nb --home H serve bench --port 0`, with `serve`
# wrapped to write the loaded modules once the server answers, then stop it.
AT_READY = """
import json, os, signal, sys
from mlops_nb.serving import server
real = server.serve
def serve(location, options, ready=None):
    def seen(info):
        if ready is not None:
            ready(info)
        with open(sys.argv[1], "w") as fh:
            json.dump(sorted(sys.modules), fh)
        os.kill(os.getpid(), signal.SIGTERM)
    return real(location, options, seen)
server.serve = serve
from mlops_nb.cli import main
sys.exit(main(["--home", sys.argv[2], "serve", "bench", "--port", "0"]))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _loaded(names: list[str], roots: tuple[str, ...]) -> list[str]:
    return sorted({n for n in names for r in roots if n == r or n.startswith(r + ".")})


@pytest.fixture
def served_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_NB_HOME", str(home))
    with Store(home) as store:
        add_bench(store)
    return home


def test_serve_is_ready_without_what_only_other_commands_need(served_home, tmp_path):
    modules = tmp_path / "modules.json"
    done = _python(AT_READY, str(modules), str(served_home))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mlops-nb serve: bench@production (version 1)" in done.stderr
    loaded = json.loads(modules.read_text())
    # It did load the model (and the libraries it needs) before it was ready.
    assert {"sklearn.linear_model", "skops.io", "pandas", "uvicorn"} <= set(loaded)
    assert _loaded(loaded, NOT_ON_THE_START_PATH) == []
    assert _loaded(loaded, OWN_NOT_ON_THE_START_PATH) == []


LISTING = """
import json, sys
if sys.argv[1] == "kept-out":
    from mlops_nb.serving.warm import import_for_loading
    import_for_loading()
else:
    from mlops_nb.registry.allowlist import default_trust
    default_trust()
    import skops.io
from mlops_nb.registry.allowlist import default_trust
from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES
print(json.dumps({
    "ours": {name: sorted(kinds) for name, kinds in default_trust().items()},
    "skops": sorted(SKLEARN_ESTIMATOR_TYPE_NAMES),
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "pytest")),
}))
"""


def test_keeping_dask_and_pytest_out_lists_the_same_estimators():
    plain, kept = (_python(LISTING, how) for how in ("plain", "kept-out"))
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert kept.returncode == 0, kept.stderr[-3000:]
    before, after = json.loads(plain.stdout), json.loads(kept.stdout)
    assert after["modules"] == []
    if importlib.util.find_spec("dask") is not None:
        assert "dask" in before["modules"]  # what the walk imports when nothing stops it
    assert len(before["skops"]) > 100 and len(before["ours"]) > 300
    assert after["skops"] == before["skops"]
    assert after["ours"] == before["ours"]
