"""The REST API through a real Jupyter server with authentication on."""

import getpass
import json
import re
import socket
import urllib.parse
from pathlib import Path

import pytest
import yaml
from jupyter_server.utils import url_path_join

import mlops_nb
from mlops_nb import tracking

# Every store-using test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def seeded(churn_versions):
    mlops_nb.promote("churn", 1, store=churn_versions)
    return churn_versions


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


async def until_ended(jp_fetch, name, slot_id, within=120.0):
    """Poll a slot until its run has ended; the slot as it is then."""
    import asyncio
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        code, slot = await call(jp_fetch, "schedules", name, "slots", str(slot_id))
        assert code == 200, slot
        if slot["status"] not in ("running", "queued"):
            return slot
        await asyncio.sleep(0.2)
    raise AssertionError(f"slot {slot_id} of {name} still running after {within} s")


async def test_models_versions_and_history(jp_fetch, seeded):
    code, models = await call(jp_fetch, "models")
    assert (
        code == 200 and models[0]["name"] == "churn" and models[0]["aliases"] == {"production": 1}
    )
    code, model = await call(jp_fetch, "models", "churn")
    assert code == 200 and [v["version"] for v in model["versions"]] == [1, 2]
    assert model["history"][0]["to_version"] == 1


async def test_promote_gate_and_rollback(jp_fetch, seeded, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_ACTOR", raising=False)
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
    assert seeded.alias_holder("churn", "production").version == 1  # refused: nothing moved
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
    account = f"{getpass.getuser()}@{socket.gethostname()}"
    assert change["actor"] == f"{account} (jupyter)"
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
        (("models", "churn", "promote"), "POST", {"version": "²"}, 400),
        (("models", "churn", "promote"), "POST", {"version": "١"}, 400),
        (("models", "churn", "promote"), "POST", {"version": "99999999999999999999999"}, 400),
        (("models", "churn", "promote"), "POST", {"version": 99999999999999999999999}, 400),
        (("runs", "abc"), "GET", None, 400),
        (("runs", "ffffffff"), "GET", None, 404),
        (("drift", "nope"), "GET", None, 404),
        (("schedules", "nope", "pause"), "POST", {}, 404),
    ],
)
async def test_bad_input_gets_json_errors(jp_fetch, seeded, path, method, body, status):
    code, doc = await call(jp_fetch, *path, method=method, body=body)
    assert code == status and doc["error"]


@pytest.mark.parametrize("limit", ["-1", "99999999999999999999999", "١", "1e3", ""])
async def test_a_limit_out_of_range_is_bad_input(jp_fetch, seeded, limit):
    code, doc = await call(jp_fetch, "runs", limit=limit)
    assert code == 400 and doc["type"] == "InvalidInputError" and "limit" in doc["error"]


async def test_a_database_kept_locked_is_503_and_changes_nothing(jp_fetch, seeded, monkeypatch):
    import mlops_nb.store.base as base

    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.3)  # before the server opens its store
    with seeded.write():  # another writer, busy for longer than the server's store waits
        code, doc = await call(
            jp_fetch, "models", "churn", "promote", method="POST", body={"version": 2}
        )
    assert (
        code == 503
        and doc["type"] == "UnavailableError"
        and "is busy: another writer" in doc["error"]
    )
    assert seeded.alias_holder("churn", "production").version == 1


async def test_runs_and_drift(jp_fetch, seeded):
    code, runs = await call(jp_fetch, "runs", model="churn")
    assert code == 200 and len(runs) == 2 and {"run_id", "params", "metrics"} <= set(runs[0])
    code, run = await call(jp_fetch, "runs", runs[0]["run_id"][:10])
    assert code == 200 and run["run_id"] == runs[0]["run_id"]
    from mlops_nb.datasets import make_churn

    mlops_nb.check_drift("churn", make_churn(1000, seed=5, drift=0.9), store=seeded)
    code, drift = await call(jp_fetch, "drift", "churn")
    assert code == 200 and drift["history"][0]["drift"] == 1 and drift["latest"]["drift"]


async def test_a_drift_check_opens_as_a_sandboxed_html_report(jp_fetch, seeded, fitted, churn_data):
    from mlops_nb.datasets import make_churn

    report = mlops_nb.check_drift("churn", make_churn(1000, seed=5, drift=0.9), store=seeded)
    response = await jp_fetch("mlops-nb", "api", "drift", "churn", "checks", str(report.check_id),
                              "report")  # fmt: skip
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox allow-scripts;") and "default-src 'none'" in policy
    assert "allow-same-origin" not in policy
    page = response.body.decode()
    assert report.summary_line().split(":")[0] in page and "monthly_charges" in page
    assert "Plotly.newPlot" in page  # the charts travel with the page
    # a check of another model, or none at all, is not this model's report
    name = "<img src=x onerror=alert(1)>"
    with tracking.track(seeded, name, model=fitted[0], data=churn_data[0]):
        pass
    other = mlops_nb.check_drift(name, churn_data[1], store=seeded)
    code, error = await call(jp_fetch, "drift", "churn", "checks", str(other.check_id), "report")
    assert code == 404 and "has no drift check" in error["error"]
    for bad in ("0", "-1", "1.5", "x"):
        code, error = await call(jp_fetch, "drift", "churn", "checks", bad, "report")
        assert code == 400 and "positive whole number" in error["error"], bad
    code, error = await call(jp_fetch, "drift", "churn", "checks", "99999", "report")
    assert code == 404
    own = await jp_fetch("mlops-nb", "api", "drift", name, "checks", str(other.check_id), "report")
    assert "<img src=x" not in own.body.decode()  # the name is text in the page too


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
    assert code == 202 and slot["status"] == "running" and slot["cancellable"]
    slot = await until_ended(jp_fetch, "nightly", slot["id"])
    assert slot["status"] == "finished" and slot["progress"] is None
    code, listing = await call(jp_fetch, "schedules")
    assert listing[0]["runs"] == 1 and listing[0]["last_status"] == "finished"
    assert listing[0]["cron_text"] == "At 02:00 every day (UTC)"
    (recent,) = listing[0]["recent"]  # the slot, with its run: the panel links the notebook
    assert recent["id"] == slot["id"] and recent["run_id"] == slot["run_id"]
    assert recent["status"] == "finished" and recent["slot"].startswith("now:")
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


# --- authentication of every route ------------------------------------------------

VERBS = ("get", "post", "put", "patch", "delete")
# A self-made XSRF pair: tornado accepts any cookie value when the header
# repeats it, so with this pair only authentication is left to refuse a POST.
FORGED_XSRF = "made-up-by-the-test"
# Without credentials at all, and with a token that is not the server's.
NO_CREDENTIALS = {"no credentials": {}, "a wrong token": {"Authorization": "token not-the-token"}}


def served_routes(web_app):
    """(path regex, handler class) of every route of mlops-nb in the running server.

    Read from the tornado application's routers, not from a list in this
    file: a route the extension adds later is in here without anyone
    remembering to add it.
    """
    from tornado.routing import PathMatches, RuleRouter
    from tornado.web import RequestHandler

    def rules(router):
        for rule in router.rules:
            if isinstance(rule.target, RuleRouter):
                yield from rules(rule.target)
            else:
                yield rule

    found = []
    for rule in rules(web_app.default_router):
        handler = rule.target
        if not (isinstance(handler, type) and issubclass(handler, RequestHandler)):
            continue
        assert isinstance(rule.matcher, PathMatches), rule
        pattern = rule.matcher.regex.pattern
        if handler.__module__.startswith("mlops_nb") or "/mlops-nb/" in pattern:
            found.append((rule.matcher, handler))
    return found


def implemented_verbs(handler) -> list[str]:
    from tornado.web import RequestHandler

    return [v for v in VERBS if getattr(handler, v) is not getattr(RequestHandler, v)]


def filled_paths(matcher, plausible: dict[str, str]) -> list[str]:
    """The route's path with every group filled: each literal alternative, or a
    plausible value that reaches the handler with data behind it."""
    import itertools
    from urllib.parse import quote

    group = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
    pattern = matcher.regex.pattern.rstrip("$")
    groups = group.findall(pattern)
    assert len(groups) == matcher.regex.groups, f"unnamed or nested groups: {pattern}"
    choices = []
    for name, body in groups:
        if re.fullmatch(r"[\w-]+(\|[\w-]+)*", body):
            choices.append(body.split("|"))
        else:
            assert name in plausible, f"no plausible value for {{{name}}} in {pattern}"
            choices.append([plausible[name]])
    between = re.split(r"\(\?P<\w+>[^()]*\)", pattern)  # the text around the groups
    return [
        between[0] + "".join(quote(v, safe="") + rest for v, rest in zip(values, between[1:]))
        for values in itertools.product(*choices)
    ]


@pytest.fixture
def everything_seeded(seeded):
    """Production moved twice (so a rollback would move it) and a schedule to act on."""
    from mlops_nb.schedules import schedule
    from mlops_nb.schedules.scheduler import claim_now

    mlops_nb.promote("churn", 2, store=seeded)
    tiny = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
    schedule.add(seeded, "churn", str(tiny), "0 2 * * *")
    claim_now(seeded, "churn")  # a slot, so the slot routes reach their handlers with data
    from mlops_nb.datasets import make_churn

    mlops_nb.check_drift("churn", make_churn(300, seed=3), store=seeded)  # a report to ask for
    # an alert to acknowledge or resolve
    mlops_nb.check_drift("churn", make_churn(300, seed=3, drift=0.9), store=seeded)
    assert seeded.get_alert(1)
    # a pending promotion request someone else asked for, to approve or reject
    from mlops_nb.registry import promote, requests

    requests.protect(seeded, "churn", "staging", actor="admin@seed")
    with pytest.raises(mlops_nb.ApprovalRequiredError):
        promote(seeded, "churn", 1, "staging", actor="alice@seed")
    assert seeded.get_request(1)["state"] == "pending"
    return seeded


async def test_every_route_and_verb_refuses_requests_without_credentials(
    jp_serverapp, http_server_client, everything_seeded, db_rows
):
    from jupyter_server.auth.decorator import allow_unauthenticated
    from jupyter_server.base.handlers import APIHandler
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
    from tornado.web import url

    web_app = jp_serverapp.web_app
    routes = served_routes(web_app)
    spec = yaml.safe_load((Path(mlops_nb.__file__).parent / "server" / "openapi.yaml").read_text())
    api = url_path_join(web_app.settings["base_url"], "mlops-nb", "api")
    for documented in spec["paths"]:  # the enumeration found the extension's routes
        concrete = api + re.sub(r"\{\w+\}", "x", documented)
        assert any(m.regex.match(concrete) for m, _ in routes), documented

    plausible = {
        "name": "churn",
        "version": "1",
        "run_id": everything_seeded.list_runs()[0].run_id,
        "slot_id": str(everything_seeded.slots("churn")[0]["id"]),
        "kind": "model",
        "check_id": str(everything_seeded.drift_checks()[0]["id"]),
        "alert_id": "1",
        "request_id": "1",
    }
    body = json.dumps({"version": 1, "alias": "production", "parameters": {"x": 2}})

    async def send(path, verb, headers):
        response = await http_server_client.fetch(
            path,
            method=verb.upper(),
            headers=headers,
            body=body if verb in ("post", "put", "patch") else None,
            raise_error=False,
            follow_redirects=False,
        )
        return response.code

    # Control: the forged pair really gets through the XSRF check, so a refusal
    # below with it can only come from authentication.
    class XsrfProbe(APIHandler):
        @allow_unauthenticated
        def post(self):
            self.finish("{}")

    probe = url_path_join(web_app.settings["base_url"], "xsrf-probe")
    web_app.add_handlers(".*$", [url(probe, XsrfProbe)])
    forged = {"Cookie": f"_xsrf={FORGED_XSRF}", "X-XSRFToken": FORGED_XSRF}
    assert await send(probe, "post", {}) == 403
    assert await send(probe, "post", forged) == 200

    let_through, checked = [], 0
    before = db_rows()
    assert before["aliases"], "the seeded store has an alias to protect"
    for matcher, handler in routes:
        for path in filled_paths(matcher, plausible):
            for verb in implemented_verbs(handler):
                request = HTTPServerRequest(
                    start_line=RequestStartLine(verb.upper(), path, "HTTP/1.1"),
                    headers=HTTPHeaders({"Host": "127.0.0.1"}),
                )
                reached = web_app.find_handler(request).handler_class
                assert reached is handler, f"{verb.upper()} {path} reaches {reached}"
                for label, credentials in NO_CREDENTIALS.items():
                    for xsrf in ({}, forged):
                        how = f"{verb.upper()} {path} with {label}" + (
                            " and a forged XSRF pair" if xsrf else ""
                        )
                        code = await send(path, verb, {**credentials, **xsrf})
                        checked += 1
                        if code not in (401, 403):
                            let_through.append(f"{how}: answered {code}")
                        after = db_rows()
                        if after != before:
                            changed = sorted(t for t in after if after[t] != before.get(t))
                            let_through.append(f"{how}: changed the store ({', '.join(changed)})")
                            before = after
    assert checked >= 4 * len(spec["paths"])
    assert let_through == [], "\n".join(let_through)
    assert everything_seeded.alias_holder("churn", "production").version == 2


# --- input at the boundary: wrong types are a 400 that changes nothing ---------------

DEEP = "[" * 100_000 + "]" * 100_000


async def send_raw(jp_fetch, path, body):
    response = await jp_fetch("mlops-nb", "api", *path, method="POST", body=body, raise_error=False)
    return response.code, json.loads(response.body.decode())


@pytest.mark.parametrize(
    "body",
    ["[]", '"promote"', "42", "null", "true", DEEP, b"\xff\xfe{}", '{"version": 1,', "NaN"],
    ids=["list", "string", "number", "null", "bool", "deep", "not utf-8", "cut", "nan"],
)
async def test_a_body_that_is_not_a_json_object_is_400(jp_fetch, everything_seeded, db_rows, body):
    from mlops_nb.store import audit

    before = db_rows()
    for path in (
        ("models", "churn", "promote"),
        ("models", "churn", "rollback"),
        ("schedules", "churn", "run-now"),
    ):
        code, doc = await send_raw(jp_fetch, path, body)
        assert code == 400 and doc["error"] and doc["type"] == "InvalidInputError", (path, doc)
    assert db_rows() == before
    assert audit.verify(everything_seeded).ok


@pytest.mark.parametrize(
    "path, body, fragment",
    [
        (("promote",), {"version": 1, "reason": 42}, "reason must be text"),
        (("promote",), {"version": 1, "reason": 4.2}, "reason must be text"),
        (("promote",), {"version": 1, "reason": True}, "reason must be text"),
        (("promote",), {"version": 1, "reason": ["x"]}, "reason must be text"),
        (("promote",), {"version": 1, "reason": {"a": 1}}, "reason must be text"),
        (("promote",), {"version": 1, "reason": "nul \u0000"}, "NUL"),
        (("promote",), {"version": 1, "reason": "half \ud800"}, "not valid Unicode"),
        (("promote",), {"version": 1, "reason": "x" * 10_001}, "at most 10000"),
        (("promote",), {"version": 1, "alias": 5}, "alias must be text"),
        (("promote",), {"version": 1, "alias": ["production"]}, "alias must be text"),
        (("promote",), {"version": 1, "alias": "Production"}, "alias 'Production'"),
        (("promote",), {"version": 1, "require": 5}, "a gate must be text"),
        (("promote",), {"version": 1, "require": ["auc>0"]}, "a gate must be text"),
        (("promote",), {"version": 1, "require": "accuracy>production-0,"}, "ends with ','"),
        (("promote",), {"version": 1, "require": "accuracy>Production"}, "alias 'Production'"),
        (("promote",), {"version": {"v": 1}}, "version"),
        (("promote",), {"version": [1]}, "version"),
        (("rollback",), {"reason": 42}, "reason must be text"),
        (("rollback",), {"alias": 5}, "alias must be text"),
    ],
)
async def test_wrong_types_in_a_field_are_400(
    jp_fetch, everything_seeded, db_rows, path, body, fragment
):
    from mlops_nb.store import audit

    before = db_rows()
    code, doc = await call(jp_fetch, "models", "churn", *path, method="POST", body=body)
    assert code == 400 and fragment in doc["error"], doc
    assert db_rows() == before
    assert audit.verify(everything_seeded).ok


@pytest.mark.parametrize(
    "parameters, fragment",
    [
        ([1, 2], "parameters must be a JSON object"),
        ("x=1", "parameters must be a JSON object"),
        (5, "parameters must be a JSON object"),
        ({"1x": 1}, "'1x' is not a Python identifier"),
        ({"x": ["half \ud800"]}, "not valid Unicode"),
    ],
)
async def test_run_now_parameters_of_the_wrong_type_are_400(
    jp_fetch, everything_seeded, db_rows, parameters, fragment
):
    from mlops_nb.store import audit

    before = db_rows()
    code, doc = await call(
        jp_fetch, "schedules", "churn", "run-now", method="POST", body={"parameters": parameters}
    )
    assert code == 400 and fragment in doc["error"], doc
    assert db_rows() == before  # no slot claimed, no run started
    assert audit.verify(everything_seeded).ok


@pytest.mark.parametrize("limit", ["-1", "abc", "1.5", str(2**80)])
async def test_a_bad_limit_is_400(jp_fetch, seeded, limit):
    code, doc = await call(jp_fetch, "runs", limit=limit)
    assert code == 400 and "limit" in doc["error"], doc


async def test_an_accepted_reason_with_control_characters_verifies(jp_fetch, seeded):
    from mlops_nb.store import audit

    reason = "\x1b[2K\raudit log intact\nsecond line \u202e"
    code, change = await call(
        jp_fetch, "models", "churn", "promote", method="POST", body={"version": 2, "reason": reason}
    )
    assert code == 200 and change["reason"] == reason
    assert audit.verify(seeded).ok


async def test_a_decomposed_name_finds_the_composed_model(jp_fetch, store, fitted):
    import unicodedata

    with tracking.track(store, "café", model=fitted[0]):
        pass
    code, model = await call(jp_fetch, "models", unicodedata.normalize("NFD", "café"))
    assert code == 200 and model["name"] == "café" and len(model["versions"]) == 1
    code, refused = await call(jp_fetch, "models", "c\u0430fe")  # Cyrillic а
    assert code == 400 and "mixes" in refused["error"]


# --- what the panel shows is computed here --------------------------------------------


async def test_the_model_says_where_a_rollback_goes_and_keeps_refused_promotions(jp_fetch, seeded):
    code, model = await call(jp_fetch, "models", "churn")
    assert model["default_alias"] == "production"
    assert model["aliases"] == [{"alias": "production", "version": 1, "rollback_to": None}]
    await call(jp_fetch, "models", "churn", "promote", method="POST", body={"version": 2})
    code, refused = await call(
        jp_fetch,
        "models",
        "churn",
        "promote",
        method="POST",
        body={"version": 1, "require": "accuracy>=production", "reason": "try v1 again"},
    )
    assert code == 409 and refused["type"] == "GateFailedError"
    code, model = await call(jp_fetch, "models", "churn")
    assert model["aliases"] == [{"alias": "production", "version": 2, "rollback_to": 1}]
    moves = [(h["action"], h["from_version"], h["to_version"]) for h in model["history"]]
    assert moves == [("promote", None, 1), ("promote", 1, 2), ("refused", 2, 1)]
    refusal = model["history"][-1]
    assert refusal["actor"].endswith("(jupyter)") and refusal["reason"] == "try v1 again"
    assert refusal["gate"] == "accuracy>=production"
    assert refusal["failures"] == ["accuracy>=production: 0.8 is not >= production v2 0.86"]
    # the refusal does not count as a holder: one rollback, then nothing earlier
    code, back = await call(jp_fetch, "models", "churn", "rollback", method="POST", body={})
    assert back["to_version"] == 1
    code, model = await call(jp_fetch, "models", "churn")
    assert model["aliases"][0] == {"alias": "production", "version": 1, "rollback_to": None}


async def test_versions_name_the_run_notebook_pipeline_and_schedule_that_made_them(
    jp_fetch, store, fitted, monkeypatch
):
    from mlops_nb.tracking import context

    store.insert_run(
        {
            "run_id": "a" * 32,
            "kind": "pipeline",
            "name": "retrain_churn",
            "status": "running",
            "started_at": "2026-11-01T06:00:00.000000+00:00",
            "tags": {"schedule": "monthly"},
        },
        "cron",
    )
    store.insert_run(
        {
            "run_id": "b" * 32,
            "kind": "notebook",
            "name": "train_churn.ipynb",
            "status": "running",
            "started_at": "2026-11-01T06:00:01.000000+00:00",
            "parent_run_id": "a" * 32,
            "notebook_path": "/project/notebooks/train_churn.ipynb",
            "tags": {"step": "train", "pipeline": "retrain_churn"},
        },
        "cron",
    )
    monkeypatch.setenv(context.ENV_RUN_ID, "b" * 32)
    with tracking.track(store, "churn", model=fitted[0]):
        pass
    monkeypatch.delenv(context.ENV_RUN_ID)
    with tracking.track(store, "churn", model=fitted[0]):
        pass
    _, model = await call(jp_fetch, "models", "churn")
    scheduled, interactive = model["versions"]
    assert scheduled["estimator_name"] == "Pipeline"
    made = scheduled["produced_by"]
    assert (made["notebook"], made["pipeline"], made["step"], made["schedule"]) == (
        "train_churn.ipynb",
        "retrain_churn",
        "train",
        "monthly",
    )
    assert made["notebook_run_id"] == "b" * 32 and made["pipeline_run_id"] == "a" * 32
    assert interactive["produced_by"]["pipeline"] is None
    assert interactive["produced_by"]["run_id"] == interactive["run_id"]


async def test_a_pipeline_run_shows_its_steps_and_what_each_tracked(
    jp_fetch, store, fitted, monkeypatch
):
    from mlops_nb.server.views import TREE_WIDTH
    from mlops_nb.tracking import context

    def insert(run_id, kind, name, parent=None, at="00"):
        store.insert_run(
            {"run_id": run_id, "kind": kind, "name": name, "status": "finished",
             "started_at": f"2026-11-01T06:00:{at}.000000+00:00", "parent_run_id": parent},
            "cron",
        )  # fmt: skip

    insert("a" * 32, "pipeline", "retrain_churn")
    insert("b" * 32, "notebook", "prepare.ipynb", "a" * 32, "01")
    insert("c" * 32, "notebook", "<b>train</b>.ipynb", "a" * 32, "02")
    monkeypatch.setenv(context.ENV_RUN_ID, "c" * 32)
    with tracking.track(store, "churn", model=fitted[0]) as tracked:
        pass
    monkeypatch.delenv(context.ENV_RUN_ID)
    code, doc = await call(jp_fetch, "runs", "a" * 32)
    assert code == 200, doc
    tree = doc["started"]
    assert tree["truncated"] is False
    steps = tree["runs"]
    assert [(s["run_id"], s["name"]) for s in steps] == [
        ("b" * 32, "prepare.ipynb"),
        ("c" * 32, "<b>train</b>.ipynb"),  # text: the panel shows it, never parses it
    ]
    assert steps[0]["started"] == {"runs": [], "truncated": False}
    (trained,) = steps[1]["started"]["runs"]
    assert trained["run_id"] == tracked.run_id and trained["model_version"] == 1
    assert trained["kind"] == "track" and trained["started"] == {"runs": [], "truncated": False}
    code, leaf = await call(jp_fetch, "runs", tracked.run_id)
    assert leaf["started"] == {"runs": [], "truncated": False}

    for i in range(TREE_WIDTH + 2):
        insert(f"{i:032x}", "notebook", f"step{i}", "b" * 32, f"{10 + i % 40:02d}")
    code, doc = await call(jp_fetch, "runs", "b" * 32)
    assert doc["started"]["truncated"] is True and len(doc["started"]["runs"]) == TREE_WIDTH


async def test_drift_names_the_version_checked_the_holder_levels_and_alerts(jp_fetch, seeded):
    from mlops_nb.datasets import make_churn

    mlops_nb.check_drift("churn@production", make_churn(1000, seed=5, drift=0.9), store=seeded)
    mlops_nb.promote("churn", 2, store=seeded)
    code, drift = await call(jp_fetch, "drift", "churn")
    assert code == 200
    latest = drift["latest"]
    assert latest["version"] == 1 and latest["check_id"] == drift["history"][-1]["id"]
    assert drift["holder"] == {
        "alias": "production",
        "version": 2,
        "last_checked_at": None,
        "checks": 0,
    }
    assert latest["level"] == "drift" and drift["history"][-1]["level"] == "drift"
    levels = {c["column"]: c["level"] for c in latest["columns"]}
    assert set(levels.values()) <= {"drift", "warning", "ok", "none"}
    for column in latest["columns"]:
        if column["drift"]:
            assert column["level"] == "drift"
        elif column.get("testable") and (column.get("severity") or 0) < 0.7:
            assert column["level"] == "ok"
    (alert,) = drift["alerts"]
    assert alert["kind"] == "drift" and "drift in churn:1" in alert["message"]


async def test_runs_say_whether_they_have_a_notebook(jp_fetch, seeded):
    code, runs = await call(jp_fetch, "runs", model="churn")
    assert [r["has_notebook"] for r in runs] == [False, False]  # tracked in this process
    code, run = await call(jp_fetch, "runs", runs[0]["run_id"])
    assert code == 200 and run["has_notebook"] is False


@pytest.mark.slow
async def test_run_now_answers_at_once_shows_progress_and_can_be_cancelled(
    jp_fetch, store, tmp_path
):
    from mlops_nb.schedules import schedule

    sleepy = Path(__file__).parent / "notebooks" / "sleepy.ipynb"
    schedule.add(store, "sleepy", str(sleepy), "0 2 * * *", parameters={"seconds": 60})
    schedule.add(store, "other", str(sleepy), "0 3 * * *")
    code, slot = await call(jp_fetch, "schedules", "sleepy", "run-now", method="POST", body={})
    assert code == 202 and slot["status"] == "running" and slot["cancellable"]
    # one at a time (max_concurrent 1): a second click starts nothing
    code, again = await call(jp_fetch, "schedules", "sleepy", "run-now", method="POST", body={})
    assert code == 409 and "running already" in again["error"]
    code, _ = await call(jp_fetch, "schedules", "other", "slots", str(slot["id"]))
    assert code == 404  # a slot is found under its own schedule only

    async def cells_known():
        _, now = await call(jp_fetch, "schedules", "sleepy", "slots", str(slot["id"]))
        return now["progress"] and now["progress"]["cells_total"]

    import asyncio
    import time

    deadline = time.monotonic() + 60
    while not await cells_known():
        assert time.monotonic() < deadline, "no progress reported"
        await asyncio.sleep(0.3)
    code, listing = await call(jp_fetch, "schedules")
    (running,) = next(s for s in listing if s["name"] == "sleepy")["running"]
    assert running["id"] == slot["id"] and running["progress"]["cells_total"] >= 1
    code, cancelled = await call(
        jp_fetch, "schedules", "sleepy", "slots", str(slot["id"]), "cancel", method="POST", body={}
    )
    assert code == 202 and cancelled["cancelled_by"].endswith("(jupyter)")
    ended = await until_ended(jp_fetch, "sleepy", slot["id"], within=60)
    assert ended["status"] == "failed" and "cancelled by" in ended["error"]
    code, run = await call(jp_fetch, "runs", slot["run_id"])
    assert run["status"] == "failed" and run["error"].startswith("cancelled by")
    assert run["has_notebook"] is True
    code, late = await call(
        jp_fetch, "schedules", "sleepy", "slots", str(slot["id"]), "cancel", method="POST", body={}
    )
    assert code == 404 and "not running in this Jupyter server" in late["error"]
    assert store.list_alerts() == []  # a run someone cancelled raises no alert


async def test_runs_search_filters_sorts_and_pages_in_the_store(jp_fetch, seeded):
    with tracking.track(seeded, "<img src=x onerror=alert(1)>", metrics={"accuracy": 0.9}):
        pass
    code, page = await call(
        jp_fetch, "runs", "search", q="accuracy > 0.81", sort="metrics.accuracy", limit="1"
    )
    assert code == 200, page
    assert page["total"] == 2 and page["limit"] == 1 and page["offset"] == 0
    assert page["sort"] == "metrics.accuracy" and page["order"] == "desc"
    (best,) = page["runs"]
    assert best["name"] == "<img src=x onerror=alert(1)>"  # JSON text; the panel shows text
    assert best["metrics"] == {"accuracy": 0.9} and "has_notebook" in best
    code, rest = await call(
        jp_fetch, "runs", "search", q="accuracy > 0.81", sort="metrics.accuracy", offset="1"
    )
    assert [r["metrics"]["accuracy"] for r in rest["runs"]] == [0.86]
    code, churn = await call(jp_fetch, "runs", "search", q="model = churn", order="asc")
    assert [r["model_version"] for r in churn["runs"]] == [1, 2] and churn["order"] == "asc"
    code, everything = await call(jp_fetch, "runs", "search")
    assert everything["total"] == 3 and everything["sort"] == "started"
    code, tracked = await call(jp_fetch, "runs", "search", kind="track", q="accuracy > 0.85")
    assert tracked["total"] == 2
    code, none = await call(jp_fetch, "runs", "search", kind="notebook")
    assert none["total"] == 0 and none["runs"] == []
    # a message about q points into q itself, whatever kind was asked for
    code, error = await call(jp_fetch, "runs", "search", kind="track", q="accuracy >")
    assert code == 400 and error["error"].startswith("cannot read the filter at the end")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"q": "accuracy >"}, "cannot read the filter at the end"),
        ({"q": "status > 1"}, "status compares with = != or ~"),
        ({"sort": "accuracy"}, "cannot sort by 'accuracy'"),
        ({"order": "up"}, "order must be asc or desc"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 1000"),
        ({"limit": "ten"}, "limit must be a whole number"),
        ({"offset": "-1"}, "offset must be a whole number"),
        ({"q": "a = 1 or " * 300}, "longer than 2000 characters"),
    ],
)
async def test_runs_search_says_what_is_wrong_with_a_filter(jp_fetch, seeded, params, message):
    code, error = await call(jp_fetch, "runs", "search", **params)
    assert code == 400, error
    assert message in error["error"] and "\n" not in error["error"]


async def test_runs_compare_sets_runs_side_by_side(jp_fetch, seeded):
    with tracking.track(
        seeded, "<img src=x onerror=alert(1)>", params={"C": 1}, metrics={"accuracy": 0.9}
    ):
        pass
    runs = seeded.list_runs()
    ids = ",".join(r.run_id[:8] for r in runs[:2])
    code, doc = await call(jp_fetch, "runs", "compare", ids=ids)
    assert code == 200, doc
    assert [r["run_id"] for r in doc["runs"]] == [r.run_id for r in runs[:2]]
    assert doc["runs"][0]["label"].endswith("<img src=x onerror=alert(1)>")  # text for the panel
    sections = {s["name"]: {r["name"]: r for r in s["rows"]} for s in doc["sections"]}
    assert list(sections) == ["run", "parameters", "metrics"]
    c = sections["parameters"]["C"]
    assert c["values"] == [1, None] and c["missing"] == [False, True] and c["differs"]
    accuracy = sections["metrics"]["accuracy"]
    assert accuracy["values"] == [0.9, 0.86] and accuracy["differs"]
    assert not sections["run"]["started"]["differs"]  # shown, never counted as a difference
    assert doc["shared_metrics"] == {"accuracy": [0.9, 0.86]}
    assert [d["changed"] for d in doc["code"]] == [False]  # neither run kept code


async def test_runs_compare_gives_the_diff_of_the_code_that_ran(jp_fetch, seeded):
    ids = []
    for code in ("fit(C=1)\nscore()", "fit(C=2)  # <img src=x onerror=alert(1)>\nscore()"):
        with tracking.track(seeded, "churn", source=["X = load()"], code=code) as run:
            pass
        ids.append(run.run_id)
    status, doc = await call(jp_fetch, "runs", "compare", ids=",".join(ids))
    assert status == 200, doc
    (diff,) = doc["code"]
    assert diff["run_id"] == ids[1] and diff["against"] == ids[0] and diff["changed"]
    assert diff["source"] == diff["against_source"] == "tracked"
    changed = [line for line in diff["lines"] if line[:1] in "+-" and line[:3] not in "+++---"]
    # the code as text, markup and all: the panel shows it, never parses it
    assert changed == ["-fit(C=1)", "+fit(C=2)  # <img src=x onerror=alert(1)>"]
    status, same = await call(jp_fetch, "runs", "compare", ids=f"{ids[0]},{ids[0][:8]},{ids[1]}")
    assert status == 200 and len(same["code"]) == 1


async def test_a_runs_files_download_as_stored(jp_fetch, seeded):
    run = next(r for r in seeded.list_runs() if r.model_version == 1)
    code, doc = await call(jp_fetch, "runs", run.run_id)
    assert code == 200, doc
    listed = {a["kind"]: a for a in doc["artifacts"]}
    assert sorted(listed) == ["model", "profile"]  # no code was kept for this run
    version = seeded.get_version("churn", 1)
    assert listed["model"] == {
        "kind": "model",
        "sha256": version.artifact_sha256,
        "filename": "churn-v1.skops",
    }
    response = await jp_fetch("mlops-nb", "api", "runs", run.run_id[:8], "artifacts", "model")
    assert response.body == seeded.get_artifact(version.artifact_sha256)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"churn-v1.skops\"; filename*=UTF-8''churn-v1.skops"
    )
    profile = await jp_fetch("mlops-nb", "api", "runs", run.run_id, "artifacts", "profile")
    assert json.loads(profile.body)["rows"] > 0
    assert profile.headers["Content-Type"] == "application/json"
    missing, error = await call(jp_fetch, "runs", run.run_id, "artifacts", "source")
    assert missing == 404 and "has no source file" in error["error"]
    bad, error = await call(jp_fetch, "runs", run.run_id, "artifacts", "weights")
    assert bad == 400 and "model, profile, source" in error["error"]


async def test_a_downloads_name_survives_any_model_name(jp_fetch, seeded):
    name = 'q"; x=1 数据 <img src=x>'
    with tracking.track(seeded, name, code="fit()") as run:
        pass
    response = await jp_fetch("mlops-nb", "api", "runs", run.run_id, "artifacts", "source")
    disposition = response.headers["Content-Disposition"]
    plain = disposition.split('filename="')[1].split('"')[0]
    assert set(plain) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert urllib.parse.unquote(encoded) == f"{name}-{run.run_id[:8]}-code.json"
    assert json.loads(response.body)["tracked_cell"] == "fit()"


@pytest.mark.parametrize(
    "ids, code, message",
    [
        ("", 400, "compare takes 2 to 10 run ids"),
        ("abcdef", 400, "compare takes 2 to 10 run ids"),
        (",".join(["abcdef"] * 11), 400, "not 11"),
        ("abc,abcdef", 400, "too short (need 6+)"),
        ("ffffffff,eeeeeeee", 404, "no run"),
    ],
)
async def test_runs_compare_says_what_is_wrong(jp_fetch, seeded, ids, code, message):
    got, error = await call(jp_fetch, "runs", "compare", ids=ids)
    assert got == code, error
    assert message in error["error"] and "\n" not in error["error"]


async def test_runs_compare_needs_two_different_runs(jp_fetch, seeded):
    run_id = seeded.list_runs()[0].run_id
    code, error = await call(jp_fetch, "runs", "compare", ids=f"{run_id},{run_id[:10]}")
    assert code == 400 and "two different runs" in error["error"]


# --- serving: the servers running now and their live numbers ----------------------------


async def test_serving_lists_each_running_process_its_version_swap_and_numbers(jp_fetch, bench):
    from models import numeric_rows

    from mlops_nb.serving.runtime import Runtime

    code, doc = await call(jp_fetch, "serving")
    assert (code, doc) == (200, {"servers": [], "deploys": []})
    served = Runtime(bench, "bench", poll=3600.0, flush_every=3600.0)
    with served:
        for i in range(5):
            served.predict({"rows": numeric_rows(i)})
        mlops_nb.promote("bench", 2, store=bench)
        assert served.holder.check_now()  # the swap a watcher would make
        served.predict({"rows": numeric_rows()})
        with pytest.raises(mlops_nb.SchemaMismatchError):
            served.predict({"rows": [{}]})
        served.beat.write()
        code, doc = await call(jp_fetch, "serving")
        assert code == 200
        (server,) = doc["servers"]
        assert server["instance"] == served.instance and server["model"] == "bench"
        assert (server["alias"], server["version"]) == ("production", 2)
        assert server["last_swap"]["from_version"] == 1 and server["last_swap"]["to_version"] == 2
        assert server["since"] == server["last_swap"]["at"]
        assert (server["requests_total"], server["errors_total"]) == (7, 1)
        assert server["error_rate"] == pytest.approx(1 / 7)
        assert 0 < server["p50_ms"] <= server["p99_ms"]
        assert server["stale"] is False and server["address"] == "in-process"
    code, doc = await call(jp_fetch, "serving")
    assert (code, doc) == (200, {"servers": [], "deploys": []})  # stopped: no longer listed


async def test_serving_marks_a_silent_process_stale_and_keeps_names_text(jp_fetch, store, fitted):
    from mlops_nb.jsonutil import utcnow

    name = "<img src=x onerror=alert(1)>"
    with tracking.track(store, name, model=fitted[0]):
        pass
    store.record_deploy(
        {"instance": "dead00000001", "server": "dead00000000", "model": name, "alias": None,
         "action": "started", "from_version": None, "to_version": 1,
         "at": "2026-11-30T08:00:00.000000+00:00", "host": "elsewhere", "address": "[::1]:8000",
         "pid": 1, "reason": None},
        "test",
    )  # fmt: skip
    store.put_serving_stats(
        {"instance": "dead00000001", "model": name, "at": "2026-11-30T08:00:05.000000+00:00",
         "every_s": 10.0, "requests_per_min": 0.0, "errors_per_min": 0.0, "p50_ms": None,
         "p99_ms": None, "requests_total": 0, "errors_total": 0}
    )  # fmt: skip
    assert utcnow() > "2026-11-30T08:00:35"
    code, doc = await call(jp_fetch, "serving")
    assert code == 200
    (server,) = doc["servers"]
    assert server["model"] == name  # JSON text; clients render it as text
    assert server["stale"] is True and server["silent_s"] > 30
    assert server["error_rate"] is None and server["last_swap"] is None
