"""``PATCH /models/{name}/versions/{version}``: a version's description and tags over REST."""

import json

import pytest
from test_server import call

import mlops_nb
from mlops_nb.store import audit

pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]

EVIL = "<img src=x onerror=alert(1)>"
EVIL_KEY = "<script>alert(1)</script>"  # a tag key may not hold "="


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


async def test_a_version_is_described_and_tagged_and_the_edit_is_audited(jp_fetch, churn_versions):
    body = {"description": f"retrained {EVIL}", "tags": {"reviewed": "yes", EVIL_KEY: EVIL}}
    code, doc = await call(jp_fetch, "models", "churn", "versions", "2", method="PATCH", body=body)
    assert code == 200, doc
    assert (doc["description"], doc["tags"]) == (
        f"retrained {EVIL}",
        {"reviewed": "yes", EVIL_KEY: EVIL},
    )
    code, doc = await call(
        jp_fetch, "models", "churn", "versions", "v2", method="PATCH", body={"untag": ["reviewed"]}
    )
    assert code == 200 and doc["tags"] == {EVIL_KEY: EVIL} and doc["description"].startswith("retr")
    # the full version, the model and the panel's tab all show it
    code, full = await call(jp_fetch, "models", "churn", "versions", "2")
    assert code == 200 and full == doc and full["artifact_sha256"]
    _, model = await call(jp_fetch, "models", "churn")
    assert model["versions"][1] == doc
    _, tab = await call(jp_fetch, "panel", "models")
    shown = tab["models"][0]["detail"]["versions"][1]
    assert (shown["description"], shown["tags"]) == (doc["description"], doc["tags"])
    assert "description" not in tab["models"][0]["detail"]["versions"][0]  # none: left out
    # who did it, as for every change made through the server
    events = [e for e in churn_versions.raw_events() if e.kind == "version.annotated"]
    assert len(events) == 2 and all(e.actor.endswith("(jupyter)") for e in events)
    assert json.loads(events[1].payload)["_changes"] == {
        "tags": {"reviewed": {"from": "yes", "to": None}}
    }
    assert audit.verify(churn_versions).ok


@pytest.mark.parametrize(
    "path, body, status, fragment",
    [
        (("churn", "versions", "9"), {"description": "x"}, 404, "no version 9"),
        (("nope", "versions", "1"), {"description": "x"}, 404, "no model named"),
        (("churn", "versions", "0"), {"description": "x"}, 400, "version"),
        (("churn", "versions", "x"), {"description": "x"}, 400, "version"),
        (("churn", "versions", "1"), {"description": "x" * 5001}, 400, "at most 5000"),
        (("churn", "versions", "1"), {"description": 5}, 400, "description must be text"),
        (("churn", "versions", "1"), {"tags": {"a=b": "1"}}, 400, "may not contain ="),
        (("churn", "versions", "1"), {"tags": {" a": "1"}}, 400, "surrounding spaces"),
        (("churn", "versions", "1"), {"tags": {"k" * 65: "1"}}, 400, "at most 64"),
        (("churn", "versions", "1"), {"tags": {"k": "v" * 501}}, 400, "at most 500"),
        (("churn", "versions", "1"), {"tags": {"k": 1}}, 400, "must be text"),
        (("churn", "versions", "1"), {"tags": ["k"]}, 400, "mapping"),
        (("churn", "versions", "1"), {"untag": "k"}, 400, "list of tag keys"),
        (("churn", "versions", "1"), {"tags": {"k": "1"}, "untag": ["k"]}, 400, "both set"),
        (("churn", "versions", "1"), {"label": "x"}, 400, "unknown field 'label'"),
    ],
)
async def test_bad_input_is_a_json_error_and_changes_nothing(
    jp_fetch, churn_versions, db_rows, path, body, status, fragment
):
    before = db_rows()
    code, doc = await call(jp_fetch, "models", *path, method="PATCH", body=body)
    assert code == status and fragment in doc["error"], doc
    assert doc["type"] == ("NotFoundError" if status == 404 else "InvalidInputError")
    assert db_rows() == before
    assert mlops_nb.verify(store=churn_versions).ok
