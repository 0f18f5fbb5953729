"""``mlops-nb serve --engine ray``: the same app as a Ray Serve deployment of N replicas.

Each replica (a Ray actor process) is a serving process like a uvicorn
worker: :class:`Replica` opens the store, builds and starts a
:class:`~mlops_nb.serving.runtime.Runtime` (its own instance id, alias
watcher and prediction log) and hands Ray Serve the same Starlette app
(:func:`~mlops_nb.serving.app.create_app`) through its ASGI ingress, so the
routes, bodies, token check and error objects are the uvicorn engine's.
When the alias moves, each replica swaps in place, off the request path: the
deployment itself never changes, so Ray never replaces a replica and none
goes unready.

:func:`serve_on_ray` connects to a cluster (``--ray-address``) or starts a
local one (this machine's CPUs, no dashboard UI, no usage statistics), runs
the application with its HTTP proxy on ``--host:--port``, and on SIGTERM or
Ctrl-C deletes the application, which lets every replica finish its
requests, write its whole log and record its stop; then it stops Serve and
the local Ray it started. On a cluster it was given it deletes only its own
application. Ray's own processes listen on every interface whatever
``--host`` says (Ray resolves a loopback node address to a reachable one);
Ray's token authentication guards them.

Ray's HTTP proxy adds an ``X-Request-ID`` of its own to every response,
after the app's. :func:`proxy_middlewares` (Ray's proxy callback, which a
local Ray started here is given) keeps the first, so a prediction's response
carries exactly one: the prediction log's request id. A cluster joined with
``--ray-address`` does the same when its nodes run with
``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH=mlops_nb.serving.ray_engine.proxy_middlewares``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, UnavailableError

if TYPE_CHECKING:
    from ..store import Store
    from ..store.location import StoreLocation
    from .runtime import Runtime
    from .server import ServeOptions

#: How long a replica may take to stop (finish requests, write its log) before Ray kills it.
STOP_GRACE_S = 120.0
#: Requests one replica takes at once before Ray's proxy queues more for it.
MAX_ONGOING = 256
#: A local Ray started here keeps its shared-memory object store small: the
#: application passes no objects through it.
LOCAL_OBJECT_STORE_BYTES = 128 << 20
#: How many times a local Ray is started before the command gives up.
LOCAL_START_ATTEMPTS = 2
#: Where Ray's HTTP proxy looks for the callback that returns its extra middlewares.
ENV_PROXY_CALLBACK = "RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH"
PROXY_CALLBACK = "mlops_nb.serving.ray_engine.proxy_middlewares"
_REQUEST_ID = b"x-request-id"


class OneRequestId:
    """ASGI middleware for Ray's proxy: a response keeps only its first ``X-Request-ID``.

    Ray's own request-id middleware, inside this one, appends its id after
    the headers the replica answered with; the first is the app's (the
    prediction log's id) when the app set one, else Ray's.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_one(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers, seen = [], False
                for key, value in message.get("headers") or ():
                    if key.lower() == _REQUEST_ID:
                        if seen:
                            continue
                        seen = True
                    headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_one)


def proxy_middlewares() -> list[Any]:
    """Ray's HTTP proxy callback (:data:`ENV_PROXY_CALLBACK`): :class:`OneRequestId`."""
    from starlette.middleware import Middleware

    return [Middleware(OneRequestId)]


def app_name(model: str) -> str:
    """The Ray Serve application serving ``model`` (one per model on a cluster)."""
    return f"mlops-nb-{model}"


class Replica:
    """One Ray Serve replica: a started runtime and the HTTP app over it.

    Ray constructs it in the replica's process, asks
    :meth:`__serve_build_asgi_app__` for the ASGI app, calls
    :meth:`check_health` periodically and ``__del__`` when the replica stops.

    Parameters
    ----------
    location
        The store to serve from and log into.
    options
        What ``mlops-nb serve`` was asked for.
    address
        ``host:port`` of the HTTP proxy (recorded with the deploy events).
    server
        The id shared by the replicas of one ``mlops-nb serve``.
    """

    def __init__(
        self, location: StoreLocation, options: ServeOptions, address: str, server: str
    ) -> None:
        from ..store import Store
        from .worker import new_runtime

        self.options = options
        self.store: Store = Store(location, create=False)
        self.runtime: Runtime = new_runtime(self.store, options, address, server)
        try:
            # Loaded and smoke-tested before Ray counts this replica as ready.
            self.runtime.start()
        except BaseException:
            self.store.close()
            raise

    def __serve_build_asgi_app__(self) -> Any:
        from .app import create_app

        return create_app(self.runtime, token=self.options.token, max_body=self.options.max_body)

    def check_health(self) -> None:
        """Raise when this replica has nothing to answer with (Ray then replaces it)."""
        self.runtime.health()

    def __del__(self) -> None:
        # Ray calls this once the replica has drained; the runtime ignores a second stop.
        runtime = getattr(self, "runtime", None)
        if runtime is None or not runtime.started:
            return
        try:
            runtime.stop("Ray Serve stopped the replica")
        finally:
            self.store.close()


def free_port(host: str) -> int:
    """A port free on ``host`` now (Ray's proxy binds it itself, a moment later)."""
    from .server import bind

    with bind(host, 0) as sock:
        return int(sock.getsockname()[1])


def serve_on_ray(
    location: StoreLocation,
    options: ServeOptions,
    info: dict[str, Any],
    ready: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run the application on Ray until SIGTERM or Ctrl-C; return the exit status.

    ``info`` describes the server (its ``port`` is where the proxy listens);
    ``ready`` is called with it once every replica answers.

    Raises
    ------
    InvalidInputError
        Ray Serve is not installed.
    UnavailableError
        The cluster could not be reached, or the application did not start.
    """
    try:
        import ray
        from ray import serve
    except ImportError:
        raise InvalidInputError(
            "--engine ray needs Ray Serve: pip install 'mlops-nb[ray]'"
        ) from None

    stopping = threading.Event()
    signals: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        signals.append(signum)
        stopping.set()

    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in handled}
    local = options.ray_address is None
    quiet = {"log_level": "WARNING", "enable_access_log": False}
    try:
        _connect(ray, options, local)
        # After ray.init, which sets its own SIGTERM handler (exit at once):
        # a stop must instead drain the replicas and write their logs.
        for sig in handled:
            signal.signal(sig, stop)
        name = app_name(info["model"])
        try:
            if local:
                serve.start(
                    http_options={"host": options.host, "port": info["port"]},
                    logging_config=quiet,
                )
            serve.run(
                _deployment(serve, location, options, info),
                name=name,
                route_prefix="/",
                logging_config=quiet,
            )
            if ready is not None and not stopping.is_set():
                ready(info)
            while not stopping.wait(0.5):
                pass
        finally:
            _stop_application(serve, name, local)
    except (ray.exceptions.RayError, RuntimeError, ConnectionError) as exc:
        if signals:
            return 0  # stopped while starting: nothing left to serve
        raise UnavailableError(f"Ray Serve: {_first_line(exc)}") from None
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _connect(ray: Any, options: ServeOptions, local: bool) -> None:
    """Join the cluster at ``--ray-address``, or start a private local one.

    Raises
    ------
    UnavailableError
        The cluster could not be joined, or a local one did not start twice.
    """
    if local:
        # What the local Ray's processes inherit: no usage statistics sent
        # anywhere, no joining a cluster named in the environment.
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        os.environ.pop("RAY_ADDRESS", None)
        # Its HTTP proxy leaves one X-Request-ID per response (a callback set by the user stays).
        os.environ.setdefault(ENV_PROXY_CALLBACK, PROXY_CALLBACK)
    # Ray gives its raylet a fixed 30 s to register at start, which a busy
    # two-core machine can exceed: a local start is tried once more.
    attempts = LOCAL_START_ATTEMPTS if local else 1
    for attempt in range(1, attempts + 1):
        try:
            if local:
                ray.init(
                    num_cpus=os.cpu_count() or 1,
                    include_dashboard=False,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                    logging_level=logging.WARNING,
                )
            else:
                _check_reachable(str(options.ray_address))
                ray.init(address=options.ray_address, logging_level=logging.WARNING)
            break
        except UnavailableError:
            raise
        except Exception as exc:  # Ray raises plain Exception for a start that timed out
            ray.shutdown()  # whatever the failed start left running
            if attempt == attempts:
                where = "start a local Ray" if local else f"join {options.ray_address}"
                raise UnavailableError(f"could not {where}: {_first_line(exc)}") from None
    # The driver's own Serve messages (each start, deploy, delete) are not the user's concern.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)


def _check_reachable(address: str) -> None:
    """Fail fast when nothing listens at a ``HOST:PORT`` cluster address.

    Ray itself retries a silent address for minutes; other forms (``auto``,
    ``ray://…``) are left to Ray.
    """
    import re
    import socket

    found = re.fullmatch(r"\[?([\w.:-]+?)\]?:(\d{1,5})", address)
    if found is None:
        return
    try:
        socket.create_connection((found.group(1), int(found.group(2))), timeout=10).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnavailableError(f"no Ray cluster answers at {address}: {reason}") from None


def _deployment(
    serve: Any, location: StoreLocation, options: ServeOptions, info: dict[str, Any]
) -> Any:
    """The application: ``options.workers`` replicas of :class:`Replica`."""
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    # One CPU each where the cluster has them; on a small machine the
    # replicas share its CPUs (as uvicorn workers would) instead of waiting.
    each = min(1.0, cpus / options.workers)
    ingress = serve.ingress()(Replica)
    deployment = serve.deployment(
        ingress,
        name="predictor",
        num_replicas=options.workers,
        max_ongoing_requests=MAX_ONGOING,
        graceful_shutdown_timeout_s=STOP_GRACE_S,
        health_check_period_s=5,
        ray_actor_options={"num_cpus": each},
    )
    address = str(info["url"]).removeprefix("http://")
    return deployment.bind(location, options, address, info["server"])


def _stop_application(serve: Any, name: str, local: bool) -> None:
    """Delete the application (every replica drains, writes its log, records its stop)."""
    try:
        serve.delete(name, _blocking=True)
    finally:
        if local:
            serve.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
