"""One notebook executed by papermill in a kernel that finds our store, with a time limit.

The kernel is started with the store location and run id in its
environment, talks over Unix sockets private to this machine, and writes its
stderr to a log file whose last lines explain a kernel that died. A watchdog
kills the kernel's process group when the time limit runs out.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import cancel

#: How the error of a run whose ``timeout`` ran out begins.
TIMED_OUT = "timed out after"


def execute(
    nb_path: Path,
    out_path: Path,
    params: dict[str, Any],
    kernel_env: Callable[[], dict[str, str]],
    timeout: float | None,
    cwd: Path,
    kernel_name: str | None,
    progress: bool,
    on_kernel_start: Callable[[int], Any] | None = None,
    kernel_log: Path | None = None,
) -> tuple[str, str | None]:
    """Run the notebook; (status, error).

    The kernel's own stderr (start-up failures, messages from native libraries
    while it shuts down) goes to ``kernel_log``, not to the caller's terminal;
    its last lines are quoted in the error when the kernel itself failed.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # What papermill (and nbclient through it) logs as an error, such as "Kernel
    # died" after a timeout, is in the run's own error already; printed too, it
    # would be a second line after the command's one-line error.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    watchdog = _Watchdog(timeout)
    log_file = open(kernel_log, "wb") if kernel_log is not None else None  # noqa: SIM115
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(out_path),
            parameters=params,
            kernel_name=kernel_name,
            progress_bar=progress,
            cwd=str(cwd),
            request_save_on_cell_execute=True,
            kernel_manager_class=_kernel_manager_class(
                kernel_env, _both(watchdog.started, on_kernel_start), log_file
            ),
        )
    except PapermillExecutionError as exc:
        ename, evalue = exc.ename, exc.evalue
        if not str(evalue).strip():
            ename, evalue = _shown_error(out_path) or (ename, evalue)
        return "failed", (
            f"cell {exc.cell_index + 1} (execution count {exc.exec_count}) raised {ename}: {evalue}"
        )
    except Exception as exc:
        if watchdog.fired:
            return "failed", f"{TIMED_OUT} {timeout:g} s; the kernel was killed"
        message = f"{type(exc).__name__}: {exc}".strip()
        tail = _log_tail(log_file, kernel_log)
        return "failed", f"{message}\nkernel stderr:\n{tail}" if tail else message
    finally:
        watchdog.cancel()
        if log_file is not None:
            log_file.close()
            kernel_log.unlink(missing_ok=True)  # type: ignore[union-attr]
        if threading.current_thread() is not threading.main_thread():
            _close_thread_loop()
    if watchdog.fired:
        return "failed", f"{TIMED_OUT} {timeout:g} s; the kernel was killed"
    return "finished", None


def _shown_error(out_path: Path) -> tuple[str, str] | None:
    """The error the failed cell showed, when the kernel's reply carried none.

    A magic's ``UsageError`` is printed on the cell's stderr rather than sent
    as an error, so papermill reports it with an empty message; the executed
    notebook still has the text.
    """
    import nbformat

    try:
        nb = nbformat.read(str(out_path), as_version=4)
    except Exception:
        return None
    for cell in nb.cells:
        if cell.get("metadata", {}).get("papermill", {}).get("status") != "failed":
            continue
        for output in reversed(cell.get("outputs", [])):
            if output.get("output_type") == "error" and output.get("evalue"):
                return str(output.get("ename")), str(output.get("evalue"))
            if output.get("name") == "stderr" and str(output.get("text", "")).strip():
                last = str(output["text"]).strip().splitlines()[-1]
                ename, sep, evalue = last.partition(": ")
                return (ename, evalue) if sep and ename.isidentifier() else ("error", last)
    return None


def _log_tail(log_file: Any, path: Path | None, lines: int = 20) -> str:
    if log_file is None or path is None:
        return ""
    log_file.flush()
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _both(
    first: Callable[[int], Any], second: Callable[[int], Any] | None
) -> Callable[[int], None]:
    def call(pid: int) -> None:
        first(pid)
        if second is not None:
            second(pid)

    return call


def _close_thread_loop() -> None:
    """Close the event loop papermill left in this worker thread (it would leak)."""
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


class _Watchdog:
    """Kills the kernel's process group once ``timeout`` seconds have passed."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.fired = False
        self._timer: threading.Timer | None = None
        self._deadline = time.monotonic() + timeout if timeout else None

    def started(self, pid: int) -> None:
        if self._deadline is None:
            return
        remaining = max(0.0, self._deadline - time.monotonic())
        self._timer = threading.Timer(remaining, self._kill, args=(pid,))
        self._timer.daemon = True
        self._timer.start()

    def _kill(self, pid: int) -> None:
        self.fired = True
        cancel.kill_process_group(pid)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _kernel_manager_class(
    extra_env: Callable[[], dict[str, str]], on_start: Any, stderr: Any = None
) -> type:
    """A kernel manager that gives the kernel our environment and reports its pid."""
    from jupyter_client.manager import AsyncKernelManager

    class _RunKernelManager(AsyncKernelManager):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            # Unix sockets: private to this machine, no plain-TCP ports opened.
            # Each kernel gets its own socket path prefix, so kernels started at
            # the same moment (parallel pipeline steps) never share sockets.
            self.transport = "ipc"
            self.ip = os.path.join(tempfile.gettempdir(), f"mlops-nb-{uuid.uuid4().hex[:16]}")

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            env = dict(kw.pop("env", None) or os.environ)
            env.update(extra_env())
            if stderr is not None:
                kw.setdefault("stderr", stderr)
            await super().start_kernel(env=env, **kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid:
                on_start(pid)

    return _RunKernelManager
