"""The REST API through a real Jupyter server with authentication on."""

import json
import re
from pathlib import Path

import pytest
import yaml

import mlops_nb
from mlops_nb import tracking

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def seeded(store, fitted, churn_data):
    X, _, y, _ = churn_data
    for acc in (0.80, 0.86):
        with tracking.track(
            store, "churn", model=fitted[0], data=X, target=y, metrics={"accuracy": acc}
        ):
            pass
    mlops_nb.promote("churn", 1, store=store)
    return store


async def call(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method, "raise_error": False}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops-nb", "api", *path, **kwargs)
    text = response.body.decode()
    return response.code, (
        json.loads(text)
        if text and response.headers.get("Content-Type", "").startswith("application/json")
        else text
    )


async def test_models_versions_and_history(jp_fetch, seeded):
    code, models = await call(jp_fetch, "models")
    assert (
        code == 200 and models[0]["name"] == "churn" and models[0]["aliases"] == {"production": 1}
    )
    code, model = await call(jp_fetch, "models", "churn")
    assert code == 200 and [v["version"] for v in model["versions"]] == [1, 2]
    assert model["history"][0]["to_version"] == 1


async def test_promote_gate_and_rollback(jp_fetch, seeded):
    code, refused = await call(
        jp_fetch,
        "models",
        "churn",
        "promote",
        method="POST",
        body={"version": 2, "require": "accuracy>=0.9"},
    )
    assert code == 409 and refused["type"] == "GateFailedError"
    assert refused["failures"] == ["accuracy>=0.9: 0.86 is not >= 0.9"]
    code, change = await call(
        jp_fetch,
        "models",
        "churn",
        "promote",
        method="POST",
        body={"version": 2, "require": "accuracy>=production", "reason": "from the panel"},
    )
    assert code == 200 and change["to_version"] == 2
    # a token login is the account that runs the server, not a random id
    from mlops_nb.environment import actor

    assert change["actor"] == f"{actor()} (jupyter)"
    code, back = await call(jp_fetch, "models", "churn", "rollback", method="POST", body={})
    assert code == 200 and back["to_version"] == 1
    assert seeded.alias_holder("churn", "production").version == 1


@pytest.mark.parametrize(
    "path, method, body, status",
    [
        (("models", "nope"), "GET", None, 404),
        (("models", "churn", "promote"), "POST", {"version": 9}, 404),
        (("models", "churn", "promote"), "POST", {}, 400),
        (("models", "churn", "promote"), "POST", {"version": 2, "require": "acc=>1"}, 400),
        (("runs", "abc"), "GET", None, 400),
        (("runs", "ffffffff"), "GET", None, 404),
        (("drift", "nope"), "GET", None, 404),
        (("schedules", "nope", "pause"), "POST", {}, 404),
    ],
)
async def test_bad_input_gets_json_errors(jp_fetch, seeded, path, method, body, status):
    code, doc = await call(jp_fetch, *path, method=method, body=body)
    assert code == status and doc["error"]


async def test_runs_and_drift(jp_fetch, seeded):
    code, runs = await call(jp_fetch, "runs", model="churn")
    assert code == 200 and len(runs) == 2 and {"run_id", "params", "metrics"} <= set(runs[0])
    code, run = await call(jp_fetch, "runs", runs[0]["run_id"][:10])
    assert code == 200 and run["run_id"] == runs[0]["run_id"]
    from mlops_nb.datasets import make_churn

    mlops_nb.check_drift("churn", make_churn(1000, seed=5, drift=0.9), store=seeded)
    code, drift = await call(jp_fetch, "drift", "churn")
    assert code == 200 and drift["history"][0]["drift"] == 1 and drift["latest"]["drift"]


async def test_html_names_stay_text(jp_fetch, store, fitted):
    name = "<img src=x onerror=alert(1)>"
    with tracking.track(store, name, model=fitted[0]):
        pass
    code, models = await call(jp_fetch, "models")
    assert code == 200 and models[0]["name"] == name  # JSON, rendered as text by clients
    code, model = await call(jp_fetch, "models", name)  # jp_fetch URL-escapes it
    assert code == 200 and model["name"] == name


@pytest.mark.slow
async def test_executed_notebook_and_schedules(jp_fetch, store):
    tiny = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
    from mlops_nb.schedules import schedule

    schedule.add(store, "nightly", str(tiny), "0 2 * * *", parameters={"x": 4})
    code, slot = await call(
        jp_fetch, "schedules", "nightly", "run-now", method="POST", body={"parameters": {"x": 5}}
    )
    assert code == 200 and slot["status"] == "finished"
    code, listing = await call(jp_fetch, "schedules")
    assert listing[0]["runs"] == 1 and listing[0]["last_status"] == "finished"
    code, nb = await call(jp_fetch, "runs", slot["run_id"], "notebook")
    assert code == 200 and json.loads(nb)["metadata"]["mlops_nb"]["parameters"]["x"] == 5
    response = await jp_fetch(
        "mlops-nb", "api", "runs", slot["run_id"], "notebook", params={"format": "html"}
    )
    assert response.code == 200 and "mlops-nb-provenance" in response.body.decode()
    # outputs of the executed notebook never run scripts in the Jupyter origin
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    code, paused = await call(jp_fetch, "schedules", "nightly", "pause", method="POST", body={})
    assert code == 200 and paused["enabled"] == 0


@pytest.mark.parametrize("authorization", ["", "token not-the-token"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", ("models",)),
        ("POST", ("models", "churn", "promote")),
        ("GET", ("runs",)),
        ("GET", ("schedules",)),
    ],
)
async def test_every_route_needs_authentication(jp_fetch, seeded, authorization, method, path):
    response = await jp_fetch(
        "mlops-nb",
        "api",
        *path,
        method=method,
        raise_error=False,
        headers={"Authorization": authorization},
        body=json.dumps({"version": 2}) if method == "POST" else None,
    )
    assert response.code in (401, 403)
    assert seeded.alias_holder("churn", "production").version == 1


def test_every_route_is_documented():
    from mlops_nb.server.routes import setup_handlers

    class App:
        settings = {"base_url": "/"}

        def add_handlers(self, host, handlers):
            self.handlers = handlers

    routes = setup_handlers(App())
    spec = yaml.safe_load((Path(mlops_nb.__file__).parent / "server" / "openapi.yaml").read_text())
    documented = set(spec["paths"])
    for route in routes:
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
        assert path in documented, path
    assert len(documented) == len(routes)
