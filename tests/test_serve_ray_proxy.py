"""The middleware a local Ray's HTTP proxy is given: one X-Request-ID per response.

Ray's proxy wraps its app in its own request-id middleware first, then in
the middlewares its callback returns (``_apply_middlewares``, the function
the proxy itself calls). Here that same wrapping is put around a Starlette
app that sets an id as ours does; the full server runs in test_serve_ray.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import skip_or_fail
from mlops_nb.serving.ray_engine import PROXY_CALLBACK, proxy_middlewares

if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.serve") is None:
    skip_or_fail("Ray Serve is not installed: pip install 'mlops-nb[ray]'")

OURS = "0123456789ab-7"


def _app() -> Starlette:
    async def predict(request):
        return JSONResponse({"request_id": OURS}, headers={"X-Request-ID": OURS})

    async def health(request):
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)]
    )


@pytest.fixture(scope="module")
def wrap():
    """Ray's own wrapping of its proxy's app (its deprecation warnings are Ray's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.serve._private.http_util import _apply_middlewares
    return _apply_middlewares


def test_rays_proxy_alone_sends_two_ids_and_ours_leaves_one_the_logs(wrap):
    # No lifespan (no `with`): Ray's proxy sends its middlewares HTTP requests only.
    alone = TestClient(wrap(_app(), [])).post("/predict")
    assert alone.status_code == 200
    both = alone.headers.get_list("x-request-id")
    assert len(both) == 2 and both[0] == OURS and both[1] != OURS  # what Ray does by itself
    client = TestClient(wrap(_app(), proxy_middlewares()))
    answer = client.post("/predict")
    assert answer.status_code == 200
    assert answer.headers.get_list("x-request-id") == [OURS] == [answer.json()["request_id"]]
    (rays,) = client.get("/health").headers.get_list("x-request-id")  # no id of ours: Ray's
    assert rays and rays != OURS


def test_the_callback_path_names_the_function():
    module, _, name = PROXY_CALLBACK.rpartition(".")
    assert getattr(importlib.import_module(module), name) is proxy_middlewares
