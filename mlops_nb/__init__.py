"""mlops-nb: notebook-first MLOps on SQLite plus a folder.

In a notebook::

    %load_ext mlops_nb
    %%mlops_track churn --data X_train --target y_train

or in Python::

    import mlops_nb
    with mlops_nb.track("churn", data=X, target=y) as run:
        run.set_model(LogisticRegression().fit(X, y))
    model = mlops_nb.load_model("churn@production")

Importing this package is cheap: pandas, scikit-learn, SQLAlchemy and
papermill load only when a function that needs them is first called.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "ApprovalRequiredError",
    "AuthenticationError",
    "ChecksFailedError",
    "ConflictError",
    "DeadlineError",
    "ExecutionError",
    "ForbiddenError",
    "GateExpressionError",
    "GateFailedError",
    "IntegrityError",
    "InvalidInputError",
    "MlopsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "SchemaMismatchError",
    "Store",
    "UnavailableError",
    "UntrustedModelError",
    "__version__",
    "ack_alert",
    "add_alert_channel",
    "alert_digest",
    "alert_inbox",
    "alerts",
    "annotate",
    "approve_request",
    "audit_report",
    "card",
    "check_drift",
    "check_model",
    "checkpoint",
    "data_fingerprint",
    "deploy_abort",
    "deploy_canary",
    "deploy_promote",
    "deploy_shadow",
    "deploy_status",
    "drift_history",
    "edit_card",
    "get_store",
    "list_requests",
    "load_model",
    "models",
    "predictions",
    "profile",
    "promote",
    "protect_alias",
    "record",
    "reject_request",
    "remove_retrain_trigger",
    "resolve_alert",
    "rollback",
    "run_notebook",
    "runs",
    "score",
    "set_retrain_trigger",
    "set_store",
    "track",
    "trust",
    "unprotect_alias",
    "verify",
    "versions",
    "wait_for_run",
    "which",
]

_LAZY: dict[str, str | tuple[str, str]] = {
    "wait_for_run": "api",
    "set_retrain_trigger": "api",
    "remove_retrain_trigger": "api",
    "profile": "api",
    "drift_history": "api",
    "check_drift": "api",
    "check_model": "api",
    "checkpoint": "api",
    "alerts": "api",
    "annotate": "api",
    "audit_report": "api",
    "card": ("cards.api", "card"),
    "edit_card": ("cards.api", "edit_card"),
    "alert_inbox": "api",
    "alert_digest": "api",
    "ack_alert": "api",
    "resolve_alert": "api",
    "add_alert_channel": "api",
    "protect_alias": "api_requests",
    "unprotect_alias": "api_requests",
    "list_requests": "api_requests",
    "approve_request": "api_requests",
    "reject_request": "api_requests",
    "ApprovalRequiredError": "errors",
    "ForbiddenError": "errors",
    "AuthenticationError": "errors",
    "ChecksFailedError": "errors",
    "ConflictError": "errors",
    "DeadlineError": "errors",
    "ExecutionError": "errors",
    "GateExpressionError": "errors",
    "GateFailedError": "errors",
    "IntegrityError": "errors",
    "InvalidInputError": "errors",
    "MlopsError": "errors",
    "NotFoundError": "errors",
    "PayloadTooLargeError": "errors",
    "SchemaMismatchError": "errors",
    "UnavailableError": "errors",
    "UntrustedModelError": "errors",
    "Store": "store",
    "data_fingerprint": ("tracking.fingerprint", "fingerprint"),
    "get_store": "api",
    "deploy_abort": "api",
    "deploy_canary": "api",
    "deploy_promote": "api",
    "deploy_shadow": "api",
    "deploy_status": "api",
    "load_model": "api",
    "models": "api",
    "predictions": "api",
    "promote": "api",
    "record": "api",
    "rollback": "api",
    "run_notebook": "execution.runner",
    "runs": "api",
    "score": "api",
    "set_store": "api",
    "track": "api",
    "trust": "registry.trust",
    "verify": "api",
    "versions": "api",
    "which": "api",
}


_SUBMODULES = {"widgets"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # ``mlops_nb.widgets.RegistryBrowser()`` after ``import mlops_nb``
        return importlib.import_module(f".{name}", __name__)
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'mlops_nb' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlops_nb``: register the magics."""
    from .magics import MlopsMagics

    ipython.register_magics(MlopsMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext mlops_nb``: nothing to undo beyond IPython's own bookkeeping."""


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (the REST API) lives in :mod:`mlops_nb.server`."""
    return [{"module": "mlops_nb.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the MLOps side panel) shipped in the wheel."""
    return [{"src": "labextension", "dest": "mlops-nb"}]
