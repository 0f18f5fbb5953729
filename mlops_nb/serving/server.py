"""``mlops-nb serve``: the app on uvicorn, in one process or several workers.

The listening socket is bound once, before anything is loaded (``port=0``
picks a free port). With one worker the server runs in this process; with
several, this process forks them after binding (they share the socket and
the kernel spreads connections), forwards SIGTERM and SIGINT to them, and
starts a new one if one dies. Each worker is a serving process of its own
(:mod:`mlops_nb.serving.worker`): its runtime (model holder, prediction log,
request ids), its deploy events.

With ``engine="ray"`` the same app runs as a Ray Serve deployment instead
(:mod:`mlops_nb.serving.ray_engine`).

Stopping (SIGTERM or Ctrl-C): each worker stops taking connections, finishes
the requests in flight, writes its whole prediction log, records its stop,
and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, MlopsError, NotFoundError
from .holder import POLL_S
from .log import BATCH_ROWS, FLUSH_EVERY_S
from .worker import run_worker

if TYPE_CHECKING:
    from ..store.location import StoreLocation

#: The most worker processes one server starts.
MAX_WORKERS = 64
#: A worker that dies this soon after its start, this many times in a row,
#: is not started again: something is wrong with what it serves.
CRASH_WINDOW_S = 10.0
MAX_QUICK_CRASHES = 3
#: How long stopping workers may take (finish requests, write the log) before they are killed.
STOP_GRACE_S = 120.0
#: What may run the app: uvicorn here, or a Ray Serve deployment.
ENGINES = ("uvicorn", "ray")


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``mlops-nb serve`` was asked for (the token stays out of ``repr``)."""

    ref: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = field(default=None, repr=False)
    sample: float = 1.0
    poll: float = POLL_S
    flush_every: float = FLUSH_EVERY_S
    batch_rows: int = BATCH_ROWS
    max_body: int = 1 << 20
    trusted: tuple[str, ...] = ()
    allow_pickle: bool = False
    #: ``uvicorn`` (this process and its forks) or ``ray`` (a Ray Serve deployment).
    engine: str = "uvicorn"
    #: The Ray cluster to join; ``None``: start a local one (``engine="ray"`` only).
    ray_address: str | None = None

    def check(self) -> ServeOptions:
        from .. import limits

        limits.whole_number(self.port, "--port", maximum=65535)
        limits.whole_number(self.workers, "--workers", minimum=1, maximum=MAX_WORKERS)
        limits.whole_number(self.batch_rows, "--log-batch", minimum=1, maximum=10_000_000)
        limits.whole_number(self.max_body, "--max-body", minimum=64, maximum=1 << 30)
        limits.seconds(self.poll, "--poll")
        limits.seconds(self.flush_every, "--log-flush")
        # 0 (no log) only for measuring what the log costs; the CLI refuses it.
        if not (isinstance(self.sample, (int, float)) and 0 <= self.sample <= 1):
            raise InvalidInputError(f"--log-sample must be from 0 to 1, not {self.sample}")
        if self.engine not in ENGINES:
            raise InvalidInputError(f"--engine must be one of {', '.join(ENGINES)}")
        if self.ray_address is not None and self.engine != "ray":
            raise InvalidInputError("--ray-address goes with --engine ray")
        token = self.token
        if token is not None and (
            not token or any(c.isspace() or not c.isprintable() for c in token)
        ):
            raise InvalidInputError("the token must be non-empty printable text without spaces")
        return self


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: a free one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InvalidInputError(f"cannot listen on {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    location: StoreLocation,
    options: ServeOptions,
    ready: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Serve ``options.ref`` from the store at ``location`` until SIGTERM or Ctrl-C.

    ``ready`` is called once every worker answers, with the URL, the port
    and what is served. Returns the exit status (0 after a clean stop).
    """
    from ..store import Store
    from .runtime import serving_ref

    options.check()
    name, alias, fixed = serving_ref(options.ref)
    # Fail fast, before binding: the model and what it points to must exist.
    with Store(location, create=False) as store:
        if alias is None:
            version = store.get_version(name, fixed or 0).version
        else:
            store.list_versions(name)  # NotFoundError when there is no such model
            held = store.alias_version(name, alias)
            if held is None:
                raise NotFoundError(f"nobody holds {name}@{alias}: promote a version first")
            version = held
    if options.engine == "ray":
        from .ray_engine import free_port, serve_on_ray

        port = options.port or free_port(options.host)
        info = _describe(options, name, alias, version, port)
        return serve_on_ray(location, options, info, ready)
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    info = _describe(options, name, alias, version, port)
    address = f"{_shown(options.host)}:{port}"
    if options.workers == 1:

        def one_ready() -> None:
            if ready is not None:
                ready(info)

        return run_worker(location, options, sock, address, info["server"], one_ready)
    return _supervise(location, options, sock, address, info, ready)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _describe(
    options: ServeOptions, name: str, alias: str | None, version: int, port: int
) -> dict[str, Any]:
    """What ``ready`` reports (and ``--json`` prints) about a server."""
    from .runtime import new_id

    return {
        "url": f"http://{_shown(options.host)}:{port}",
        "host": options.host,
        "port": port,
        "model": name,
        "alias": alias,
        "version": version,
        "workers": options.workers,
        "engine": options.engine,
        "pid": os.getpid(),
        "server": new_id(),
        "auth": "bearer token" if options.token else "none",
        "log_sample": options.sample,
    }


# -- several workers ----------------------------------------------------------------------


def _supervise(
    location: StoreLocation,
    options: ServeOptions,
    sock: socket.socket,
    address: str,
    info: dict[str, Any],
    ready: Callable[[dict[str, Any]], None] | None,
) -> int:
    """Fork the workers, report when all are ready, forward stop signals, replace the dead."""
    import select

    # Imported here, so every fork starts with them loaded.
    import uvicorn  # noqa: F401

    from .warm import import_for_loading

    import_for_loading()

    from .app import create_app  # noqa: F401

    stopping: list[int] = []
    children: dict[int, float] = {}  # pid -> when it started

    def stop(signum: int, frame: Any) -> None:
        stopping.append(signum)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    ready_read, ready_write = os.pipe()

    def start_one() -> None:
        pid = os.fork()
        if pid == 0:
            os._exit(_worker(location, options, sock, address, info["server"], ready_write))
        children[pid] = time.monotonic()

    try:
        for _ in range(options.workers):
            start_one()
        got = 0
        while got < options.workers and not stopping:
            readable, _, _ = select.select([ready_read], [], [], 0.2)
            if readable:
                got += len(os.read(ready_read, options.workers))
                continue
            pid, raw = os.waitpid(-1, os.WNOHANG)
            if pid:  # a worker ended before it was ready: the server does not start
                children.pop(pid, None)
                stop(signal.SIGTERM, None)
                _reap(children, stopping, start_one)
                code = os.waitstatus_to_exitcode(raw)
                return code if code > 0 else 1
        if got == options.workers and ready is not None and not stopping:
            ready(info)
        return _reap(children, stopping, start_one)
    finally:
        os.close(ready_read)
        os.close(ready_write)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(
    location: StoreLocation,
    options: ServeOptions,
    sock: socket.socket,
    address: str,
    server_id: str,
    ready_write: int,
) -> int:
    """The body of a forked worker; returns its exit status (it never returns to the caller)."""
    from ..text import printable

    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        _die_with_parent()

        def tell() -> None:
            with contextlib.suppress(OSError):
                os.write(ready_write, b".")

        return run_worker(location, options, sock, address, server_id, tell)
    except MlopsError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"mlops-nb: error: {printable(message)}", file=sys.stderr)
        return exc.exit_code
    except BaseException as exc:
        print(f"mlops-nb serve: worker failed: {type(exc).__name__}: {printable(str(exc))}",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _reap(children: dict[int, float], stopping: list[int], start_one: Callable[[], None]) -> int:
    """Wait for the workers; replace one that dies while serving; return the exit status.

    Once stopping, a worker still running after :data:`STOP_GRACE_S` is killed.
    """
    quick_crashes = 0
    status = 0
    stop_began: float | None = None
    while children:
        if stopping and stop_began is None:
            stop_began = time.monotonic()
        try:
            pid, raw = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if stop_began is not None and time.monotonic() - stop_began > STOP_GRACE_S:
                for late in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(late, signal.SIGKILL)
                status = 1
                stop_began = time.monotonic()  # give the kernel a moment to reap them
            time.sleep(0.2)
            continue
        started = children.pop(pid, None)
        if started is None:
            continue
        code = os.waitstatus_to_exitcode(raw)
        if stopping:
            status = status or (0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else 1)
            continue
        lived = time.monotonic() - started
        quick_crashes = quick_crashes + 1 if lived < CRASH_WINDOW_S else 0
        print(
            f"mlops-nb serve: worker {pid} ended ({_how(code)}) after {lived:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        if quick_crashes >= MAX_QUICK_CRASHES:
            print("mlops-nb serve: workers keep failing at start; stopping", file=sys.stderr)
            stopping.append(signal.SIGTERM)
            for other in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(other, signal.SIGTERM)
            status = 1
            continue
        start_one()
    return status


def _how(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"


def _die_with_parent() -> None:
    """Linux: have the kernel send this worker SIGTERM when the server process dies."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
