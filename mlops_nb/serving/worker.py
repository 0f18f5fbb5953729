"""One serving process on uvicorn: a worker of ``mlops-nb serve`` (or the whole server).

:func:`run_worker` opens the store, builds and starts the process's
:class:`~mlops_nb.serving.runtime.Runtime` (:func:`new_runtime`, shared with
the Ray Serve replicas), serves the app on an already bound socket until
SIGTERM or Ctrl-C, then writes the whole prediction log and records the stop.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    from ..store import Store
    from ..store.location import StoreLocation
    from .runtime import Runtime
    from .server import ServeOptions


def run_worker(
    location: StoreLocation,
    options: ServeOptions,
    sock: socket.socket,
    address: str,
    server_id: str,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """One serving process: open the store, load the model, serve on ``sock`` until stopped."""
    import uvicorn

    from ..store import Store
    from .app import create_app
    from .warm import import_for_loading

    stopped_by: list[int] = []

    def remember(signum: int, frame: Any) -> None:
        stopped_by.append(signum)

    # uvicorn restores these after its own graceful stop and re-raises the
    # signal into them: so the stop ends with exit 0, not with the signal.
    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGTERM, signal.SIGINT)}
    store = Store(location, create=False)
    runtime = new_runtime(store, options, address, server_id)
    try:
        import_for_loading()  # before any thread of the runtime starts
        runtime.start()
        app = create_app(runtime, token=options.token, max_body=options.max_body)
        config = uvicorn.Config(
            app,
            loop=_best("uvloop", "asyncio"),
            http=_best("httptools", "h11"),
            lifespan="off",
            access_log=False,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=30,
        )
        server = _uvicorn_server(config, on_ready)
        server.run(sockets=[sock])
    finally:
        reason = f"signal {signal.Signals(stopped_by[0]).name}" if stopped_by else None
        try:
            runtime.stop(reason)
        finally:
            store.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0


def new_runtime(store: Store, options: ServeOptions, address: str, server_id: str) -> Runtime:
    """The runtime of one serving process (a uvicorn worker or a Ray replica), not started."""
    from .runtime import Runtime

    return Runtime(
        store,
        options.ref,
        address=address,
        server=server_id,
        sample=options.sample,
        poll=options.poll,
        flush_every=options.flush_every,
        batch_rows=options.batch_rows,
        trusted=options.trusted,
        allow_pickle=options.allow_pickle,
    )


def _best(preferred: str, fallback: str) -> str:
    import importlib.util

    return preferred if importlib.util.find_spec(preferred) is not None else fallback


def _uvicorn_server(config: Any, on_ready: Callable[[], None] | None) -> Any:
    """uvicorn's server, calling ``on_ready`` once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                on_ready()

    return Server(config)
