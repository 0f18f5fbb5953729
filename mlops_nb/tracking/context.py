"""What a kernel can learn about the notebook it is running.

``mlops-nb run`` tells the kernel through environment variables (the store,
its own run id, the notebook path and hash, the parameters). A plain
papermill run is recognised from the cell it injects, which starts with
``# Parameters``. JupyterLab tells the kernel the notebook's path in
``JPY_SESSION_NAME``.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConflictError
from ..store.location import ENV_STORE_ID

if TYPE_CHECKING:
    from ..store import Store

ENV_RUN_ID = "MLOPS_NB_RUN_ID"
ENV_NOTEBOOK = "MLOPS_NB_NOTEBOOK"
ENV_NOTEBOOK_SHA = "MLOPS_NB_NOTEBOOK_SHA256"
ENV_PARAMS = "MLOPS_NB_PARAMS"
_INJECTED_HEADERS = ("# Parameters", "# Injected parameters")


def parent_run_id() -> str | None:
    """The notebook run executing this kernel, when ``mlops-nb run`` started it."""
    return os.environ.get(ENV_RUN_ID) or None


def check_parent_store(store: Store) -> None:
    """Refuse to record into a store other than the one of the run executing this kernel.

    ``mlops-nb run`` gives its kernel the store's location and id. Were the
    kernel to open another store (a notebook that calls ``set_store`` on
    another folder, a location lost on the way), the run's tracked versions
    would land apart from the run that produced them; this stops that before
    anything is written.
    """
    expected = os.environ.get(ENV_STORE_ID)
    parent = parent_run_id()
    if not expected or not parent or store.store_id == expected:
        return
    raise ConflictError(
        f"this notebook is run {parent[:12]} of store {expected[:12]}, but would record into "
        f"{store.location.describe()}, which is store {store.store_id[:12]}: nothing was "
        "recorded there; record into the run's own store (the default in this kernel)"
    )


def injected_parameters(history: Sequence[str] = ()) -> dict[str, Any]:
    """Parameters papermill injected into this session.

    ``mlops-nb run`` passes them exactly in ``MLOPS_NB_PARAMS``; otherwise the
    injected cell is found in the session's input history and its literal
    assignments are read (without executing anything).
    """
    raw = os.environ.get(ENV_PARAMS)
    if raw:
        try:
            value = json.loads(raw)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
    found: dict[str, Any] = {}
    for source in history:
        if isinstance(source, str) and source.lstrip().startswith(_INJECTED_HEADERS):
            found = _literal_assignments(source)
    return found


def _literal_assignments(source: str) -> dict[str, Any]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out: dict[str, Any] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, SyntaxError, TypeError):
                out[node.targets[0].id] = ast.unparse(node.value)
    return out


def notebook_file() -> tuple[str | None, str | None]:
    """Path and SHA-256 of the notebook this kernel runs, when knowable."""
    from ..store.artifacts import sha256_file

    path = os.environ.get(ENV_NOTEBOOK)
    if path:
        return path, os.environ.get(ENV_NOTEBOOK_SHA) or _hash_if_file(path, sha256_file)
    session = os.environ.get("JPY_SESSION_NAME")
    if session and session.endswith(".ipynb"):
        candidate = Path(session)
        if not candidate.is_absolute():
            candidate = Path.cwd() / candidate.name
        return str(candidate), _hash_if_file(str(candidate), sha256_file)
    return None, None


def _hash_if_file(path: str, hasher: Any) -> str | None:
    try:
        return str(hasher(path)) if os.path.isfile(path) else None
    except OSError:
        return None
