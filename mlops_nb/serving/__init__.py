"""Serving: a prediction server that follows the registry, logs every prediction.

- :mod:`~mlops_nb.serving.inputs`: request rows checked against a version's training schema;
- :mod:`~mlops_nb.serving.predictor`: a version loaded for serving, its smoke test;
- :mod:`~mlops_nb.serving.holder`: the version answering now, swapped when its alias moves;
- :mod:`~mlops_nb.serving.log`: the prediction log, Parquet batches written off the request path;
- :mod:`~mlops_nb.serving.runtime`: one serving process (holder, log, request ids, feedback);
- :mod:`~mlops_nb.serving.stats`: its live numbers (requests, errors, latency) for the panel;
- :mod:`~mlops_nb.serving.app`: the HTTP routes (Starlette), bearer token, error mapping;
- :mod:`~mlops_nb.serving.openapi`: the OpenAPI document of the served version;
- :mod:`~mlops_nb.serving.server`: ``mlops-nb serve`` on uvicorn, one process or several;
- :mod:`~mlops_nb.serving.worker`: one serving process on uvicorn;
- :mod:`~mlops_nb.serving.ray_engine`: ``mlops-nb serve --engine ray``, replicas on Ray Serve;
- :mod:`~mlops_nb.serving.scoring`: a table scored and logged as one batch;
- :mod:`~mlops_nb.serving.privacy`: retention, masked and hashed columns, audited erasure;
- :mod:`~mlops_nb.serving.export`: a version as an MLflow model directory;
- :mod:`~mlops_nb.serving.reader`: the log read back as a DataFrame.

Nothing here is imported by ``import mlops_nb``: Starlette, uvicorn and
pyarrow load when a server starts or the log is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .reader import predictions
    from .runtime import Runtime
    from .server import ServeOptions, serve

__all__ = ["Runtime", "ServeOptions", "create_app", "predictions", "serve"]

_WHERE = {
    "Runtime": "runtime",
    "ServeOptions": "server",
    "create_app": "app",
    "predictions": "reader",
    "serve": "server",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'mlops_nb.serving' has no attribute {name!r}")
