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
import re
from pathlib import Path

import pytest
import yaml

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
