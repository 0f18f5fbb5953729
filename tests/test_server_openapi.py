"""The REST API as a contract: ``mlops_nb/server/openapi.yaml`` and the server agree.

Three things are checked. The document lists exactly the routes and verbs the
extension registers, so a route added without documentation fails here; it is
a valid OpenAPI 3.1 document. Where the server contradicted a sensible
contract (an HTML page or a 500 for a malformed id, a 405 without ``Allow``,
an error body of another shape) it is pinned by a test of its own. And
schemathesis, driven by the document alone, fuzzes a real ``jupyter server``
on loopback with token authentication, over a store with a model, versions
and an alias history, tracked and notebook runs, a drift check and schedules:
every answer must have a documented status, content type, headers and body,
none may be a server error, and every operation must be reached often enough,
and with success at least once, for its pass to mean something.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jupyter_process import JupyterServer

import mlops_nb

pytest_plugins = ["pytest_jupyter.jupyter_server"]

DOCUMENT = Path(mlops_nb.__file__).parent / "server" / "openapi.yaml"
NOTEBOOKS = Path(__file__).parent / "notebooks"
VERBS = ("get", "head", "post", "put", "patch", "delete", "options")


def load_document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


# --- the document against the routes --------------------------------------------------


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {
        (verb.upper(), path)
        for path, item in document["paths"].items()
        for verb in item
        if verb in VERBS
    }


def registered_operations() -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) for every route and verb the extension registers.

    Read from what :func:`setup_handlers` hands tornado: an alternation such as
    ``(?P<action>run-now|pause|resume)`` is one documented path per alternative.
    """
    import itertools

    from mlops_nb.server.routes import allowed_methods, setup_handlers

    class App:
        settings = {"base_url": "/"}

        def add_handlers(self, host, handlers):
            self.handlers = handlers

    app = App()
    setup_handlers(app)
    group = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
    found = set()
    for pattern, handler in app.handlers:
        path = pattern.split("/mlops-nb/api", 1)[1]
        choices = [
            body.split("|") if re.fullmatch(r"[\w-]+(\|[\w-]+)+", body) else ["{" + name + "}"]
            for name, body in group.findall(path)
        ]
        between = group.split(path)[::3]  # the text around the groups
        verbs = [v for v in allowed_methods(handler) if v != "OPTIONS"]  # Jupyter's CORS preflight
        assert verbs, f"{handler.__name__} answers no method"
        for values in itertools.product(*choices):
            filled = between[0] + "".join(v + rest for v, rest in zip(values, between[1:]))
            found.update((verb, filled) for verb in verbs)
    return found


def test_the_document_lists_every_registered_route_and_verb():
    registered, documented = registered_operations(), documented_operations(load_document())
    assert len(registered) >= 14  # the enumeration found the extension's routes
    assert registered - documented == set(), "routes the document does not list"
    assert documented - registered == set(), "operations the server does not have"


def schemas_in(node, where="#"):
    """(location, JSON Schema) of every schema the document holds."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}/{key}"
            if key == "schema" or where.endswith("/components/schemas"):
                yield here, value
            yield from schemas_in(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{i}")


def test_the_document_is_valid_openapi():
    import jsonschema
    import schemathesis

    schema = schemathesis.openapi.from_path(DOCUMENT)
    schema.validate()  # the document's structure, against the OpenAPI 3.1 meta-schema
    # The meta-schema leaves the JSON Schemas inside loose: check each one itself.
    for where, inner in schemas_in(load_document()):
        try:
            jsonschema.Draft202012Validator.check_schema(inner)
        except jsonschema.SchemaError as exc:
            raise AssertionError(f"{where}: {exc.message}") from None
    operations = [result.ok() for result in schema.get_all_operations()]  # raises on a bad one
    assert {(op.method.upper(), op.path) for op in operations} == documented_operations(
        load_document()
    )
    for op in operations:
        declared = set(re.findall(r"\{(\w+)\}", op.path))
        in_path = {p.name for p in op.path_parameters}
        assert declared == in_path, f"{op.method} {op.path}: path parameters {in_path}"
        responses = op.definition.raw["responses"]
        assert {"403", "405"} <= set(responses), f"{op.method} {op.path}: {sorted(responses)}"
        assert "500" not in responses, "a 500 is a defect, never part of the contract"


# --- where the server contradicted the contract (each failed before its fix) -------------


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def versions(store, fitted):
    from mlops_nb import tracking

    for accuracy in (0.80, 0.86):
        with tracking.track(store, "churn", model=fitted[0], metrics={"accuracy": accuracy}):
            pass
    mlops_nb.promote("churn", 1, store=store)
    return store


async def fetch(jp_fetch, *path, method="GET", body=None, **params):
    """(status, headers, JSON body or text) of a request with the server's token."""
    response = await jp_fetch(
        "mlops-nb", "api", *path, method=method, raise_error=False,
        body=None if body is None else json.dumps(body), allow_nonstandard_methods=True,
        **({"params": params} if params else {}),
    )  # fmt: skip
    text = response.body.decode()
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    return response.code, response.headers, json.loads(text) if is_json and text else text


def assert_error_object(doc, kind: str) -> None:
    assert isinstance(doc, dict) and set(doc) == {"error", "type"}, doc
    assert doc["type"] == kind and doc["error"], doc


@pytest.mark.parametrize(
    "path, method, allow",
    [
        (("models",), "DELETE", "GET, OPTIONS"),
        (("models", "churn", "promote"), "GET", "POST, OPTIONS"),
        (("runs",), "PUT", "GET, OPTIONS"),
        (("schedules", "churn", "run-now"), "PATCH", "POST, OPTIONS"),
        (("schedules", "churn"), "GET", "DELETE, PATCH, OPTIONS"),
        (("cron",), "POST", "GET, OPTIONS"),
    ],
)
async def test_a_405_names_the_allowed_methods_in_the_error_object(
    jp_fetch, versions, path, method, allow
):
    code, headers, doc = await fetch(
        jp_fetch, *path, method=method, body={} if method != "GET" else None
    )
    assert code == 405 and headers.get("Allow") == allow, (code, dict(headers))
    assert_error_object(doc, "HTTPError")


async def test_cancel_has_no_get(jp_fetch, versions):
    from mlops_nb.schedules import schedule
    from mlops_nb.schedules.scheduler import claim_now

    schedule.add(versions, "nightly", str(NOTEBOOKS / "tiny_tracked.ipynb"), "0 2 * * *")
    slot = claim_now(versions, "nightly")
    code, _, doc = await fetch(jp_fetch, "schedules", "nightly", "slots", str(slot["id"]))
    assert code == 200 and doc["id"] == slot["id"]
    code, headers, doc = await fetch(
        jp_fetch, "schedules", "nightly", "slots", str(slot["id"]), "cancel"
    )
    assert code == 405 and headers.get("Allow") == "POST, OPTIONS", doc


async def test_refused_credentials_get_the_error_object(jp_fetch, versions):
    response = await jp_fetch(
        "mlops-nb", "api", "models", headers={"Authorization": "token wrong"}, raise_error=False
    )
    assert response.code == 403
    assert_error_object(json.loads(response.body), "HTTPError")


# PostgreSQL's 32-bit integers overflowed where SQLite's 64-bit ones did not.
@pytest.mark.backends
@pytest.mark.parametrize(
    "version", [2**31, 2**63, 10**30, "\u00b2", "v\u0663"], ids=["2^31", "2^63", "1e30", "²", "v٣"]
)
async def test_a_version_beyond_any_store_is_400(jp_fetch, versions, db_rows, version):
    before = db_rows()
    code, _, doc = await fetch(
        jp_fetch, "models", "churn", "promote", method="POST", body={"version": version}
    )
    assert code == 400 and "version" in doc["error"], doc
    assert db_rows() == before
    assert versions.alias_holder("churn", "production").version == 1


@pytest.mark.backends
@pytest.mark.parametrize(
    "path",
    [
        ("runs", "not-hex"),
        ("runs", "not-hex", "notebook"),
        ("schedules", "churn", "slots", "x"),
        ("schedules", "churn", "slots", "0"),
        ("schedules", "churn", "slots", str(2**31)),
        ("schedules", "churn", "slots", "\u0663"),
    ],
    ids=["run", "run notebook", "slot x", "slot 0", "slot 2^31", "slot ٣"],
)
async def test_a_malformed_id_is_a_400_error_object_not_a_page(jp_fetch, versions, path):
    code, _, doc = await fetch(jp_fetch, *path)
    assert code == 400, (code, doc)
    assert_error_object(doc, "InvalidInputError")


async def test_the_notebook_of_a_running_run_is_a_409_in_either_format(jp_fetch, store):
    # What a notebook run looks like while papermill still executes it.
    run_id = store.insert_run(
        {"run_id": "ab" * 16, "kind": "notebook", "name": "slow.ipynb", "status": "running",
         "started_at": "2026-11-30T08:00:00+00:00"},
        "test",
    )  # fmt: skip
    for fmt in ("ipynb", "html"):
        code, _, doc = await fetch(jp_fetch, "runs", run_id, "notebook", format=fmt)
        assert code == 409, (fmt, code, doc)
        assert_error_object(doc, "ConflictError")


# --- a real server over a seeded store -----------------------------------------------


def seed(home: Path) -> None:
    """A store worth fuzzing, so that every operation can succeed as well as fail.

    ``churn`` has two versions, production moved twice (so a rollback has
    somewhere to go), a refused promotion, pending promotion requests of
    protected aliases and a drift check whose alert was delivered; a notebook run has an executed
    notebook; schedule ``churn`` runs a notebook that sleeps, so a *run now*
    keeps its slot running (and the next one is refused) until it is
    cancelled; schedule ``busy`` holds a running slot nobody runs (so removing
    it is refused); schedule ``old-report`` is there to be removed. The
    notebook new schedules may name is copied into the server's folder, with a
    pipeline file running it.
    """
    from models import churn_pipeline

    from mlops_nb import tracking
    from mlops_nb.datasets import make_churn, split
    from mlops_nb.execution.runner import run_notebook
    from mlops_nb.schedules import schedule
    from mlops_nb.schedules.scheduler import claim_now
    from mlops_nb.store import Store

    store = Store(home)
    try:
        X_train, _, y_train, _ = split(make_churn(400, seed=5), seed=5)
        model = churn_pipeline(X_train, y_train)
        for accuracy in (0.80, 0.86):
            with tracking.track(
                store, "churn", model=model, data=X_train, target=y_train,
                metrics={"accuracy": accuracy},
            ):  # fmt: skip
                pass
        mlops_nb.promote("churn", 1, store=store, reason="first model")
        mlops_nb.promote("churn", 2, store=store, reason="better")
        with pytest.raises(mlops_nb.GateFailedError):  # a refusal in the history too
            mlops_nb.promote("churn", 1, store=store, require="accuracy>=production")
        # Pending promotion requests asked for by someone else, to approve (1) and reject (2).
        from mlops_nb.registry import promote, requests

        for alias in ("staging", "shadow", "eu", "us"):
            requests.protect(store, "churn", alias, actor="admin@seed")
            with pytest.raises(mlops_nb.ApprovalRequiredError):
                promote(store, "churn", 1, alias, actor="alice@seed")
        mlops_nb.add_alert_channel("*", "log", path=str(home.parent / "alerts.log"), store=store)
        shifted = make_churn(600, seed=9, month="2027-03", drift=0.9)
        mlops_nb.check_drift("churn@production", shifted, store=store, target="churned")
        notebook_run = run_notebook(NOTEBOOKS / "tiny_tracked.ipynb", {"x": 3}, store=store)
        assert notebook_run.status == "finished", notebook_run.error
        tiny = str(NOTEBOOKS / "tiny_tracked.ipynb")
        schedule.add(store, "churn", tiny, "0 3 * * *", parameters={"sleep": 600})
        schedule.add(store, "busy", tiny, "0 4 * * *")
        claim_now(store, "busy")
        schedule.add(store, "old-report", tiny, "0 5 * * 1")
        shutil.copyfile(tiny, home.parent / "tiny_tracked.ipynb")
        (home.parent / "tiny_pipeline.yaml").write_text(
            "name: tiny\nsteps:\n  - name: only\n    notebook: tiny_tracked.ipynb\n"
        )
        seed_servers(store)
    finally:
        store.close()


def seed_servers(store) -> None:
    """Two serving processes of churn as ``mlops-nb serve`` records them: one that swapped
    from v1 to v2 and writes its numbers, one that never wrote any (shown stale)."""
    from mlops_nb.jsonutil import utcnow

    def step(instance, action, old, new):
        store.record_deploy(
            {"instance": instance, "server": "5e4fe4000001", "model": "churn",
             "alias": "production", "action": action, "from_version": old, "to_version": new,
             "at": utcnow(), "host": "fuzz-host", "address": "127.0.0.1:9", "pid": 2**22 + 1,
             "reason": None},
            "seed",
        )  # fmt: skip

    step("a1b2c3d4e5f6", "started", None, 1)
    step("a1b2c3d4e5f6", "swapped", 1, 2)
    step("0f0e0d0c0b0a", "started", None, 2)
    store.put_serving_stats(
        {"instance": "a1b2c3d4e5f6", "model": "churn", "at": utcnow(), "every_s": 10.0,
         "requests_per_min": 120.0, "errors_per_min": 6.0, "p50_ms": 0.4, "p99_ms": 2.5,
         "requests_total": 900, "errors_total": 12}
    )  # fmt: skip


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A seeded store behind a real ``jupyter server``."""
    root = tmp_path_factory.mktemp("openapi")
    home = root / ".mlops"
    seed(home)
    server = JupyterServer(root, home)
    try:
        yield server
    finally:
        server.stop()


# --- schemathesis against the real server ------------------------------------------------

#: Cases per operation schemathesis generates at most in its fuzzing phase; the
#: examples, coverage and stateful phases add their own.
MAX_EXAMPLES = 20
#: Fewest requests an operation must get for its pass to mean something.
MIN_REQUESTS = 15


def run_schemathesis(server: JupyterServer, reports: Path) -> subprocess.CompletedProcess:
    """``schemathesis run`` as CI would type it: every check, every phase, a fixed seed."""
    from urllib.request import Request, urlopen

    # The ids of the store's runs, so that a comparison the fuzzer draws can succeed.
    listing = Request(
        f"{server.url}/mlops-nb/api/runs", headers={"Authorization": f"token {server.token}"}
    )
    with urlopen(listing, timeout=30) as answer:
        run_ids = [run["run_id"] for run in json.load(answer)]
    assert len(run_ids) >= 2, run_ids
    env = {
        **os.environ,
        # The hooks give the document's formats (model-name, run-filter, run-sort,
        # run-ids, notebook-path, pipeline-path, cron, time-zone) their generators.
        "SCHEMATHESIS_HOOKS": "openapi_hooks",
        "MLOPS_NB_FUZZ_RUN_IDS": ",".join(run_ids),
        "MLOPS_NB_FUZZ_NOTEBOOKS": "tiny_tracked.ipynb",
        "MLOPS_NB_FUZZ_PIPELINES": "tiny_pipeline.yaml",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run", str(DOCUMENT),
            "--url", f"{server.url}/mlops-nb/api",
            "--header", f"Authorization: token {server.token}",
            "--checks", "all",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", "20261130",
            "--workers", "1",
            "--generation-database", "none",
            "--request-timeout", "30",
            "--report", "json,har",
            "--report-json-path", str(reports / "run.json"),
            "--report-har-path", str(reports / "requests.har"),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=600, env=env, cwd=reports,
    )  # fmt: skip


def requests_by_operation(har: dict, document: dict) -> dict[tuple[str, str], list[dict]]:
    """The HAR's entries by the documented operation they hit; undocumented methods
    (the fuzzer's TRACE, PUT… probes) under ``(METHOD, "undocumented")``."""
    from urllib.parse import urlsplit

    templates = {
        path: re.compile("^/mlops-nb/api" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")
        for path in document["paths"]
    }
    operations = documented_operations(document)
    found: dict[tuple[str, str], list[dict]] = {}
    for entry in har["log"]["entries"]:
        method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
        paths = [p for p, rx in templates.items() if rx.match(path)]
        # a literal segment wins over a parameter (runs/compare is not run "compare"),
        # as the server's routes are registered
        fewest = min((p.count("{") for p in paths), default=0)
        paths = [p for p in paths if p.count("{") == fewest]
        assert len(paths) == 1, f"{method} {path} matches {paths}: the fuzzer left the API"
        key = (method, paths[0]) if (method, paths[0]) in operations else (method, "undocumented")
        found.setdefault(key, []).append(entry)
    return found


@pytest.mark.slow
def test_schemathesis_finds_the_server_keeps_the_document(jupyter, tmp_path):
    server = jupyter
    document = load_document()
    fuzz = run_schemathesis(server, tmp_path)
    summary = json.loads((tmp_path / "run.json").read_text())
    output = fuzz.stdout[-8000:] + fuzz.stderr[-2000:]
    assert fuzz.returncode == 0, output
    assert summary["failures"] == [] and summary["errors"] == [], output
    assert summary["complete"] and summary["stop_reason"] == "completed", output
    operations = documented_operations(document)
    assert summary["operations"]["tested"] == summary["operations"]["total"] == len(operations)
    assert summary["test_cases"]["with_failures"] == 0
    assert summary["test_cases"]["generated"] >= MIN_REQUESTS * len(operations)
    ran = {phase for phase, result in summary["phases"].items() if result["status"] == "success"}
    assert ran == {"examples", "coverage", "fuzzing", "stateful"}, summary["phases"]

    # Read what crossed the wire, not only the fuzzer's verdict.
    har = json.loads((tmp_path / "requests.har").read_text())
    by_operation = requests_by_operation(har, document)
    for method, path in sorted(operations):
        entries = by_operation.get((method, path), [])
        statuses = sorted({e["response"]["status"] for e in entries})
        where = f"{method} {path}: {len(entries)} requests, statuses {statuses}"
        assert len(entries) >= MIN_REQUESTS, where
        # Reached with data behind it at least once, not only refused at the door.
        assert any(200 <= s < 300 for s in statuses), where
        assert 403 in statuses, where  # and the fuzzer checked that credentials matter
        documented = {int(code) for code in document["paths"][path][method.lower()]["responses"]}
        assert set(statuses) <= documented, where
    probes = [e for (_, path), entries in by_operation.items() if path == "undocumented"
              for e in entries if e["request"]["method"] != "OPTIONS"]  # fmt: skip
    assert len(probes) >= len(document["paths"]), "the fuzzer probed undocumented methods"
    for entry in probes:
        assert entry["response"]["status"] == 405, entry["request"]["url"]
        headers = {h["name"].lower(): h["value"] for h in entry["response"]["headers"]}
        assert headers.get("allow"), entry["request"]["url"]
    assert not [e for e in har["log"]["entries"] if e["response"]["status"] >= 500]
    assert server.proc.poll() is None, server.output()
