"""The prediction server's HTTP face: a Starlette (ASGI) app over a :class:`Runtime`.

Routes: ``GET /health``, ``POST /predict``, ``POST /feedback``, ``GET
/openapi.json``. Every error, from any route or none, is one JSON object
``{"error", "type"}`` (plus ``problems`` for 422) with the status its
:mod:`mlops_nb.errors` class carries; :func:`error_response` is the one
place that mapping happens. With a token, :class:`BearerAuth` wraps the
whole app, so no path (an unknown one included) answers anything but 401
without ``Authorization: Bearer <token>``; tokens are compared in constant
time and never written anywhere.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import InvalidInputError, MlopsError, PayloadTooLargeError, SchemaMismatchError
from ..text import printable
from .openapi import document
from .runtime import Runtime

#: Default of ``mlops-nb serve --max-body``: the largest request body accepted.
MAX_BODY = 1 << 20
#: Bodies up to this size are answered on the event loop; larger ones (many
#: rows) in a worker thread, so they do not hold up small requests.
INLINE_BODY = 16 << 10
_JSON = "application/json"
_HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_type(exc: BaseException) -> str:
    """``SchemaMismatchError`` -> ``"schema_mismatch"``: the ``type`` of an error body."""
    name = type(exc).__name__.removesuffix("Error") or "mlops"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_response(exc: BaseException) -> Response:
    """The one mapping from an exception to the server's JSON error response."""
    headers: dict[str, str] = {}
    problems: list[str] | None = None
    if isinstance(exc, MlopsError):
        status, kind = exc.http_status, error_type(exc)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, SchemaMismatchError):
            problems = [printable(p) for p in exc.problems]
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, HTTPException):
        status = exc.status_code
        kind = _HTTP_TYPES.get(status, "http")
        message = str(exc.detail)
        headers.update(exc.headers or {})
    else:
        status, kind = 500, "internal"
        message = f"internal error ({type(exc).__name__}); the server keeps serving"
    body: dict[str, Any] = {"error": printable(message), "type": kind}
    if problems is not None:
        body["problems"] = problems
    return Response(json.dumps(body), status, headers=headers, media_type=_JSON)


class BearerAuth:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        from ..errors import AuthenticationError

        response = error_response(
            AuthenticationError("this server needs the header Authorization: Bearer <token>")
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = b""
        for key, value in scope["headers"]:
            if key == b"authorization":
                given = value
                break
        scheme, _, credentials = given.partition(b" ")
        # compare_digest takes as long for any wrong token of one length.
        same = hmac.compare_digest(credentials.strip(), self._token)
        return scheme.lower() == b"bearer" and same


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body, at most ``limit`` bytes.

    Raises
    ------
    PayloadTooLargeError
        The body (announced or received) is over ``limit``.
    InvalidInputError
        The body is empty or not JSON (NaN and Infinity are not JSON).
    """
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise PayloadTooLargeError(
            f"the body is {announced} bytes; this server takes at most {limit}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(
                f"the body is over {limit} bytes, the most this server takes"
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data.strip():
        raise InvalidInputError("the body is empty; send a JSON object")
    try:
        return json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InvalidInputError(f"the body is not valid JSON: {detail}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def create_app(
    runtime: Runtime,
    *,
    token: str | None = None,
    max_body: int = MAX_BODY,
    own_runtime: bool = False,
) -> Starlette:
    """The ASGI app serving ``runtime``.

    Parameters
    ----------
    runtime
        The serving process's core (model holder, log, ids).
    token
        The bearer token every request must carry; ``None`` for none.
    max_body
        The largest request body accepted (413 above it).
    own_runtime
        Start the runtime when the app starts and stop it (writing the whole
        log) when it stops, through the ASGI lifespan. ``mlops-nb serve``
        starts and stops it itself, around the server.
    """
    documents: dict[int, bytes] = {}

    async def health(request: Request) -> Response:
        return Response(json.dumps(runtime.health()), media_type=_JSON)

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_json(request, max_body)
        except Exception as exc:  # the runtime counts what fails after this point itself
            runtime.count_failure(exc)
            raise
        key = request.headers.get("x-routing-key")
        if int(request.headers.get("content-length") or INLINE_BODY + 1) <= INLINE_BODY:
            data, version, request_id = runtime.predict(body, started, key)
        else:
            data, version, request_id = await run_in_threadpool(runtime.predict, body, started, key)
        headers = {"X-Model-Version": str(version), "X-Request-ID": request_id}
        return Response(data, headers=headers, media_type=_JSON)

    async def feedback(request: Request) -> Response:
        body = await read_json(request, max_body)
        accepted = await run_in_threadpool(runtime.feedback, body)
        return Response(json.dumps(accepted), 202, media_type=_JSON)

    async def openapi(request: Request) -> Response:
        predictor = runtime.predictor
        cached = documents.get(predictor.number)
        if cached is None:
            doc = document(predictor, runtime.alias, auth=token is not None)
            cached = documents[predictor.number] = json.dumps(doc).encode()
        return Response(cached, media_type=_JSON)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if own_runtime:
            await run_in_threadpool(runtime.start)
        try:
            yield
        finally:
            if own_runtime:
                await run_in_threadpool(runtime.stop)

    async def on_error(request: Request, exc: Exception) -> Response:
        return error_response(exc)

    middleware = [] if token is None else [Middleware(BearerAuth, token=token)]
    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/predict", predict, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        middleware=middleware,
        # MlopsError and HTTPException are answered where they are raised; any
        # other exception is answered by the outermost middleware, which also
        # hands it on to the server's log. Either way the server keeps serving.
        exception_handlers={MlopsError: on_error, HTTPException: on_error, Exception: on_error},
        lifespan=lifespan,
    )
