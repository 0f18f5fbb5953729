"""``mlops-nb export --format mlflow``: the directory MLflow (and so KServe, SageMaker) loads.

MLflow runs in its own virtual environment (``bench/.venv-mlflow``, made by
``make test``, or ``MLOPS_NB_MLFLOW_PYTHON``): the exported directory is
loaded there with ``mlflow.pyfunc.load_model`` and ``mlflow.sklearn.load_model``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import yaml
from models import numeric_data, numeric_model

from conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import json, sys
import pandas as pd
import mlflow.pyfunc, mlflow.sklearn
folder, rows = sys.argv[1], json.loads(sys.argv[2])
served = mlflow.pyfunc.load_model(folder)
frame = pd.DataFrame(rows)
print(json.dumps({
    "pyfunc": served.predict(frame).tolist(),
    "proba": mlflow.sklearn.load_model(folder).predict_proba(frame).tolist(),
    "lineage": served.metadata.metadata["mlops_nb"],
    "flavors": sorted(served.metadata.flavors),
}))
"""


def mlflow_python() -> str:
    found = os.environ.get("MLOPS_NB_MLFLOW_PYTHON") or str(ROOT / "bench/.venv-mlflow/bin/python")
    if not Path(found).exists():
        skip_or_fail(f"MLflow is not installed at {found} (make test creates bench/.venv-mlflow)")
    return found


def load_in_mlflow(folder, rows):
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [mlflow_python(), "-c", LOAD, str(folder), json.dumps(rows)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mlflow_loads_the_export_and_predicts_what_mlops_nb_predicts(bench, cli, tmp_path):
    folder = tmp_path / "churn-model"
    done = cli("export", "bench@production", str(folder), "--format", "mlflow", "--json")
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["model"] == "bench" and doc["version"] == 1 and doc["alias"] == "production"
    assert doc["files"] == ["MLmodel", "conda.yaml", "model.skops", "python_env.yaml",
                            "requirements.txt"]  # fmt: skip
    version = bench.get_version("bench", 1)
    import hashlib

    assert hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest() == (
        version.artifact_sha256
    )
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    assert set(mlmodel["flavors"]) == {"python_function", "sklearn"}
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])] == [
        f"x{i}" for i in range(5)
    ]

    X, _ = numeric_data()
    rows = X.head(5).to_dict("records")
    loaded = load_in_mlflow(folder, rows)
    model = numeric_model(1.0)
    assert loaded["pyfunc"] == model.predict(X.head(5)).tolist()
    np.testing.assert_allclose(loaded["proba"], model.predict_proba(X.head(5)), rtol=0, atol=1e-12)
    assert loaded["flavors"] == ["python_function", "sklearn"]
    lineage = loaded["lineage"]
    assert lineage["model"] == "bench" and lineage["version"] == 1
    assert lineage["artifact_sha256"] == version.artifact_sha256
    assert lineage["run_id"] == version.run_id and lineage["aliases"] == ["production"]
    assert lineage["store_id"] == bench.store_id


def test_export_by_version_into_an_empty_folder(bench, cli, tmp_path):
    folder = tmp_path / "v2"
    folder.mkdir()
    done = cli("export", "bench:2", str(folder), "--json")
    assert done.code == 0, done.err
    assert done.json()["version"] == 2 and done.json()["alias"] is None
    meta = yaml.safe_load((folder / "MLmodel").read_text())["metadata"]["mlops_nb"]
    assert meta["version"] == 2 and meta["aliases"] == []


def test_export_refuses_what_it_cannot_write_faithfully(bench, cli, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    busy = cli("export", "bench", str(taken))
    assert busy.code == 4 and "is not an empty folder" in busy.err
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]
    assert cli("export", "nobody", str(tmp_path / "x")).code == 3
    assert cli("export", "bench", str(tmp_path / "no" / "x")).code == 2
    assert cli("export", "bench", str(tmp_path / "y"), "--format", "onnx").code == 2
    # an altered model file is refused before anything is written
    version = bench.get_version("bench", 1)
    path = bench.artifacts.path(version.artifact_sha256)
    path.write_bytes(path.read_bytes() + b"x")
    altered = cli("export", "bench:1", str(tmp_path / "z"))
    assert altered.code == 5, altered.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store", "taken"]
