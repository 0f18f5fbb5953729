"""Executing notebooks with papermill, kept as immutable audit artifacts.

:func:`run_notebook` records a ``notebook`` run, executes the notebook in a
real kernel with the store location, run id and parameters in the kernel's
environment (so runs it tracks find the same store and link back to it),
and stores the executed notebook, outputs included, by SHA-256 with
provenance under ``metadata.mlops_nb``. A failing cell marks the run failed
with the cell and the error and keeps the partial notebook. ``timeout``
bounds the whole execution: when it runs out the kernel process is killed.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment, limits
from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..jsonutil import canonical, jsonable, utcnow
from ..records import Run
from ..store.artifacts import sha256_bytes
from ..text import check_tags, storable
from ..tracking import context
from . import cancel
from .kernel import TIMED_OUT, execute

if TYPE_CHECKING:
    from ..store import Store
    from ..store.location import StoreLocation


def read_notebook(path: str | os.PathLike[str]) -> tuple[Path, bytes, Any]:
    """Path, raw bytes and parsed form of a notebook, with clear errors."""
    import nbformat

    nb_path = Path(path).expanduser()
    if not nb_path.exists():
        raise NotFoundError(f"notebook {nb_path} does not exist")
    if nb_path.is_dir() or nb_path.suffix != ".ipynb":
        raise InvalidInputError(f"{nb_path} is not a .ipynb notebook file")
    raw = nb_path.read_bytes()
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:
        raise InvalidInputError(f"{nb_path} is not a readable notebook: {exc}") from None
    return nb_path.resolve(), raw, nb


def declared_parameters(nb: Any) -> dict[str, Any] | None:
    """The defaults in the cell tagged ``parameters``, or ``None`` if there is none."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return context._literal_assignments(cell.source)
    return None


def run_notebook(
    notebook: str | os.PathLike[str],
    parameters: dict[str, Any] | None = None,
    *,
    store: Store | Callable[[], Store],
    location: StoreLocation | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    progress: bool = False,
    actor: str | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> Run:
    """Execute a notebook with papermill and store it as an audit artifact.

    Returns the finished :class:`~mlops_nb.records.Run` (``status`` is
    ``finished`` or ``failed``; a failure does not raise, the caller decides).

    ``store`` may also be a function that opens the store at ``location``
    (required then): the store is opened while papermill prepares the kernel
    and the run is recorded while the kernel boots, which hides most of the
    cost of opening the database from a short command-line run.

    The kernel is given the store's location and id in its environment, so
    whatever it tracks lands in this same store (a team database named only
    on the command line included), and a kernel that would record into
    another store refuses to (see :func:`mlops_nb.tracking.context.check_parent_store`).

    Raises
    ------
    NotFoundError, InvalidInputError
        For a missing or unreadable notebook, bad parameters, a timeout that
        is not a finite positive number, a working directory that is not a
        folder or an ``output`` that cannot be written: all before anything
        is recorded or run.
    """
    nb_path, raw, nb = read_notebook(notebook)
    params = check_parameters(parameters)
    tags = check_tags(tags)
    if timeout is not None:
        timeout = limits.seconds(timeout, "timeout")
    kernel_cwd = limits.folder(cwd, "working directory") if cwd else nb_path.parent
    if output is not None:
        output = limits.output_file(output, "output file")
    if run_id is None:
        run_id = uuid.uuid4().hex
    elif not (len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)):
        raise InvalidInputError(f"run id must be 32 lowercase hex characters, not {run_id!r}")
    declared = declared_parameters(nb)
    notes = []
    if params and declared is None:
        notes.append(
            "the notebook has no cell tagged 'parameters'; parameters were injected at the top"
        )
    elif declared is not None:
        unknown = sorted(set(params) - set(declared))
        if unknown:
            notes.append("parameters not in the notebook's parameters cell: " + ", ".join(unknown))
    # Record what the notebook really ran with: its declared defaults plus overrides.
    effective = {**(declared or {}), **params}
    who = actor or environment.actor()
    input_sha = sha256_bytes(raw)
    started = utcnow()
    git: dict[str, Any] = {}
    opener = None if hasattr(store, "home") else store
    if opener is not None:
        if location is None:
            raise InvalidInputError("run_notebook needs location= when store is a function")
        store_home = location.home
    else:
        store_home = store.home  # type: ignore[union-attr]

    from concurrent.futures import ThreadPoolExecutor

    # Open the store now, in the background; the kernel waits for it only to
    # learn the store's id, just before it is spawned.
    starter = ThreadPoolExecutor(1, thread_name_prefix="mlops-nb-record")
    opening = starter.submit(opener) if opener is not None else None

    def opened_store() -> Store:
        return opening.result() if opening is not None else store  # type: ignore[return-value]

    def record_start() -> Store:
        opened = opened_store()
        opened.put_artifact(raw, "notebook-input", who)
        git.update(environment.git_info(nb_path))
        opened.insert_run(
            {
                "run_id": run_id,
                "kind": "notebook",
                "name": nb_path.name,
                "status": "running",
                "started_at": started,
                "parent_run_id": parent_run_id,
                "params": effective,
                "tags": tags,
                "environment": environment.capture(),
                "git_commit": git.get("commit"),
                "git_dirty": git.get("dirty"),
                "notebook_path": str(nb_path),
                "input_sha256": input_sha,
                "pid": os.getpid(),
                "host": socket.gethostname(),
            },
            who,
        )
        return opened

    # The start is recorded while the kernel boots (the parent only waits then),
    # or at once when the kernel never starts.
    pending: list[Any] = []
    lock = threading.Lock()

    def begin(_pid: int | None = None) -> Any:
        with lock:
            if not pending:
                pending.append(starter.submit(record_start))
            return pending[0]

    def kernel_env() -> dict[str, str]:
        # The kernel opens the same store (home, and a team database / object
        # storage if any) and checks it is this store by its id.
        return {
            **opened_store().locator_env(),
            context.ENV_RUN_ID: run_id,
            context.ENV_NOTEBOOK: str(nb_path),
            context.ENV_NOTEBOOK_SHA: input_sha,
            context.ENV_PARAMS: json.dumps(effective),
            environment.ENV_ACTOR: who,
        }

    # Someone may stop this run (or the pipeline or scheduled job it belongs to).
    cancellation = cancel.lookup(run_id, parent_run_id)
    kernels: list[int] = []

    def kernel_started(pid: int) -> Any:
        if cancellation is not None:
            kernels.append(pid)
            cancellation.watch(pid)
        return begin(pid)

    tmp_dir = Path(store_home) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out_path = tmp_dir / f"{run_id}.ipynb"
    kernel_log = tmp_dir / f"{run_id}.kernel.log"
    try:
        status, error = execute(
            nb_path,
            out_path,
            params,
            kernel_env,
            timeout,
            kernel_cwd,
            kernel_name,
            progress,
            on_kernel_start=kernel_started,
            kernel_log=kernel_log,
        )
    finally:
        started_record = begin()  # recorded now if the kernel never started
        starter.shutdown(wait=False)
        for pid in kernels:
            cancellation.forget(pid)  # type: ignore[union-attr]
    if cancellation is not None and cancellation.cancelled and status != "finished":
        status, error = "failed", cancellation.reason
    opened: Store = started_record.result()  # re-raises if the store could not record it
    executed = _load_output(out_path, nb)
    ended = utcnow()
    children = [r.run_id for r in opened.list_runs(parent_run_id=run_id)]
    executed.metadata["mlops_nb"] = {
        "run_id": run_id,
        "status": status,
        "error": error,
        "parameters": effective,
        "overrides": params,
        "notebook_path": str(nb_path),
        "input_sha256": input_sha,
        "git": git,
        "environment": {k: v for k, v in environment.capture().items() if k != "packages"},
        "triggered_by": who,
        "started_at": started,
        "ended_at": ended,
        "store": str(opened.home),
        "tracked_runs": children,
        "notes": notes,
    }
    import nbformat

    output_bytes = nbformat.writes(executed).encode("utf-8")
    output_sha = opened.put_artifact(output_bytes, "notebook", who)
    out_path.unlink(missing_ok=True)
    try:
        opened.update_run(
            run_id,
            {
                "status": status,
                "ended_at": ended,
                "error": error,
                "output_sha256": output_sha,
                "data": {"notes": notes} if notes else {},
            },
            who,
            expect_status="running",
        )
    except ConflictError:
        # Already decided elsewhere (an executor declared this kernel's worker
        # lost, or recovery marked it interrupted): that verdict stands; the
        # executed notebook is still kept as an artifact.
        pass
    if output is not None:
        # After the run is decided, so a file system that changed meanwhile
        # cannot leave it "running"; the notebook is in the store either way.
        try:
            Path(output).write_bytes(output_bytes)
        except OSError as exc:
            raise InvalidInputError(
                f"run {run_id[:12]} is stored, but {output} could not be written: "
                f"{exc.strerror or exc}"
            ) from None
    return opened.get_run(run_id)


def timed_out(run: Run) -> bool:
    """Whether ``run`` failed because its ``timeout`` ran out (its kernel was killed)."""
    return run.status == "failed" and (run.error or "").startswith(TIMED_OUT)


def progress(store: Store, run_id: str) -> tuple[int, int] | None:
    """(cells done, cells in all) of a notebook run still executing, if it can be told.

    papermill saves the notebook after every cell, with each cell's status.
    """
    import nbformat

    path = store.home / "tmp" / f"{run_id}.ipynb"
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # not started yet, finished, or caught mid-write
        return None
    code = [c for c in nb.cells if c.cell_type == "code"]
    done = sum(
        1 for c in code if c.get("metadata", {}).get("papermill", {}).get("status") == "completed"
    )
    return done, len(code)


def check_parameters(params: Any, where: str = "") -> dict[str, Any]:
    """Notebook parameters as plain JSON values, checked before anything is recorded.

    ``where`` (a file, a pipeline step) starts each message when given.

    Raises
    ------
    InvalidInputError
        For anything but a mapping, a name that is not a Python identifier,
        or a value with no JSON form the store can keep.
    """
    prefix = f"{where}: " if where else ""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInputError(
            f"{prefix}parameters must be a JSON object (names mapped to values), not "
            f"{type(params).__name__}"
        )
    clean = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInputError(f"{prefix}parameter name {key!r} is not a Python identifier")
        try:
            clean[key] = jsonable(value)
            text = canonical(clean[key])
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{prefix}parameter {key!r}: {exc}") from None
        storable(text, f"parameter {key!r}")
    return clean


def _load_output(out_path: Path, original: Any) -> Any:
    import nbformat

    if out_path.exists():
        try:
            return nbformat.read(str(out_path), as_version=4)
        except Exception:
            pass
    return original


__all__ = [
    "check_parameters",
    "declared_parameters",
    "read_notebook",
    "run_notebook",
    "sha256_bytes",
    "timed_out",
]
