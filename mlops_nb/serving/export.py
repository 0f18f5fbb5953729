"""A registry version as an MLflow model directory, for servers that read that format.

``mlops-nb export NAME[@ALIAS|:VERSION] --format mlflow DIR`` writes what
``mlflow.pyfunc.load_model`` and ``mlflow.sklearn.load_model`` read (and so
``mlflow models serve``, KServe, SageMaker and Azure ML): an ``MLmodel`` file
with the ``sklearn`` and ``python_function`` flavours, the model file, the
input signature from training, and the Python requirements. The model file
is the stored one, byte for byte, after its hash and trust check: a skops
file stays a skops file (MLflow's ``skops`` serialization format, with the
types this registry trusted listed), a pickle stays a pickle. The lineage —
model, version, run, the file's SHA-256, the training data's fingerprint,
the aliases it holds and the store it came from — is in the ``MLmodel``
file's ``metadata.mlops_nb``.

MLflow itself refuses to deserialise any model unless
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true`` is set where it loads one;
that is MLflow's choice and applies to every model it loads.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError, InvalidInputError

if TYPE_CHECKING:
    from ..store import Store

FORMATS = ("mlflow",)
#: MLflow's column types for the training dtypes (``string`` for the rest).
_MLFLOW_TYPES = {
    "float64": "double",
    "Float64": "double",
    "float32": "float",
    "Float32": "float",
    "float16": "float",
    "int64": "long",
    "Int64": "long",
    "uint32": "long",
    "int32": "integer",
    "Int32": "integer",
    "int16": "integer",
    "int8": "integer",
    "uint16": "integer",
    "uint8": "integer",
    "bool": "boolean",
    "boolean": "boolean",
}


def export(
    store: Store,
    ref: str,
    directory: str | os.PathLike[str],
    *,
    format: str = "mlflow",
    trusted: tuple[str, ...] | list[str] = (),
    allow_pickle: bool = False,
) -> dict[str, Any]:
    """Write version ``ref`` as an MLflow model directory ``directory`` (which must not
    exist, or be empty); return what was written.

    Raises
    ------
    ConflictError
        ``directory`` holds files.
    IntegrityError
        The model file fails its hash or trust check (nothing is written).
    """
    from .. import registry
    from ..registry.names import parse_ref

    if format not in FORMATS:
        known = ", ".join(FORMATS)
        raise InvalidInputError(f"export format must be one of {known}, not {format!r}")
    target = Path(directory).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConflictError(f"{target} exists and is not an empty folder")
    if not target.parent.is_dir():
        raise InvalidInputError(f"the folder {target.parent} does not exist")
    alias = parse_ref(ref)[1]
    version = registry.resolve(store, ref)
    # Loaded to check the file's hash and trust, as serving would; the bytes are written.
    registry.load_model(
        f"{version.model}:{version.version}", store, trusted=trusted, allow_pickle=allow_pickle
    )
    data = store.get_artifact(version.artifact_sha256)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    staging.mkdir()
    try:
        written = _write(store, version, data, staging, list(trusted))
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return {
        "model": version.model,
        "version": version.version,
        "alias": alias,
        "format": format,
        "directory": str(target),
        "files": written,
    }


def _write(store: Store, version: Any, data: bytes, folder: Path, trusted: list[str]) -> list[str]:
    import sklearn
    import yaml

    from ..jsonutil import utcnow

    skops = version.format == "skops"
    model_file = "model.skops" if skops else "model.pkl"
    (folder / model_file).write_bytes(data)
    python = platform.python_version()
    requirements = [f"scikit-learn=={sklearn.__version__}"]
    if skops:
        import skops as skops_package

        requirements.append(f"skops=={skops_package.__version__}")
    sklearn_flavor: dict[str, Any] = {
        "pickled_model": model_file,
        "sklearn_version": sklearn.__version__,
        "serialization_format": "skops" if skops else "pickle",
        "code": None,
    }
    if skops:
        sklearn_flavor["skops_trusted_types"] = _skops_types(data, trusted)
    inputs = [
        {"type": _MLFLOW_TYPES.get(c["dtype"], "string"), "name": c["name"], "required": True}
        for c in version.signature
    ]
    created = utcnow()
    mlmodel = {
        "flavors": {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": model_file,
                "predict_fn": "predict",
                "python_version": python,
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            },
            "sklearn": sklearn_flavor,
        },
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": created.replace("T", " ").split("+")[0],
        "signature": {"inputs": json.dumps(inputs), "outputs": None, "params": None},
        "metadata": {"mlops_nb": _lineage(store, version)},
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    env = {"python": python, "build_dependencies": ["pip"], "dependencies": ["-r requirements.txt"]}
    (folder / "python_env.yaml").write_text(yaml.safe_dump(env, sort_keys=False))
    (folder / "conda.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mlflow-env",
                "channels": ["conda-forge"],
                "dependencies": [f"python={python}", "pip", {"pip": requirements}],
            },
            sort_keys=False,
        )
    )
    return sorted(p.name for p in folder.iterdir())


def _skops_types(data: bytes, trusted: list[str]) -> list[str]:
    """The types in a skops file that skops does not trust by default: this registry
    checked each against its own trust list before the export."""
    import skops.io as sio

    return sorted(set(sio.get_untrusted_types(data=data)) | set(trusted))


def _lineage(store: Store, version: Any) -> dict[str, Any]:
    """Where the version came from, for whoever runs it elsewhere."""
    return {
        "model": version.model,
        "version": version.version,
        "run_id": version.run_id,
        "created_at": version.created_at,
        "created_by": version.created_by,
        "artifact_sha256": version.artifact_sha256,
        "format": version.format,
        "estimator": version.estimator,
        "data_sha256": version.data_sha256,
        "metrics": version.metrics,
        "aliases": list(version.aliases),
        "store_id": store.store_id,
    }
