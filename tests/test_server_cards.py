"""``GET`` and ``PATCH /models/{name}/versions/{version}/card``: model cards over REST."""

import json

import pytest
from test_server import call

from mlops_nb import cards
from mlops_nb.store import audit

pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]

EVIL = "<img src=x onerror=alert(1)>\n# heading"


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


async def test_a_card_is_read_and_written_and_the_edit_is_audited(jp_fetch, churn_versions):
    path = ("models", "churn", "versions", "2", "card")
    code, doc = await call(jp_fetch, *path)
    assert code == 200, doc
    assert doc["model"] == "churn" and doc["version"] == 2 and doc["metrics"] == {"accuracy": 0.86}
    assert set(doc["written"].values()) == {None} and doc["markdown"].startswith("---\n")
    body = {"intended_use": EVIL, "limitations": "not B2B"}
    code, doc = await call(jp_fetch, *path, method="PATCH", body=body)
    assert code == 200, doc
    assert doc["changed"] == ["intended_use", "limitations"]
    assert doc["written"]["intended_use"] == EVIL and doc["written_by"].endswith("(jupyter)")
    assert "<img" not in doc["markdown"] and "\n# heading" not in doc["markdown"]
    # what the core reads is what the server wrote
    assert cards.card(churn_versions, "churn", 2)["written"] == doc["written"]
    code, again = await call(jp_fetch, *path, method="PATCH", body={"limitations": "not B2B"})
    assert code == 200 and again["changed"] == []
    code, cleared = await call(jp_fetch, *path, method="PATCH", body={"limitations": ""})
    assert code == 200 and cleared["written"]["limitations"] is None
    events = [e for e in churn_versions.raw_events() if e.kind == "card.edited"]
    assert len(events) == 2 and all(e.actor.endswith("(jupyter)") for e in events)
    assert json.loads(events[1].payload)["_changes"] == {
        "limitations": {"from": "not B2B", "to": None}
    }
    assert audit.verify(churn_versions).ok


@pytest.mark.parametrize(
    "path, body, status, fragment",
    [
        (("churn", "versions", "9"), {"limitations": "x"}, 404, "no version 9"),
        (("nope", "versions", "1"), {"limitations": "x"}, 404, "no model named"),
        (("churn", "versions", "0"), {"limitations": "x"}, 400, "version"),
        (("churn", "versions", "1"), {"limitations": "x" * 10_001}, 400, "at most 10000"),
        (("churn", "versions", "1"), {"intended_use": 5}, 400, "intended use must be text"),
        (("churn", "versions", "1"), {"intended_use": "a\x00b"}, 400, "NUL"),
        (("churn", "versions", "1"), {"license": "MIT"}, 400, "unknown field 'license'"),
    ],
)
async def test_bad_input_is_a_json_error_and_changes_nothing(
    jp_fetch, churn_versions, db_rows, path, body, status, fragment
):
    before = db_rows()
    code, doc = await call(jp_fetch, "models", *path, "card", method="PATCH", body=body)
    assert code == status and fragment in doc["error"], doc
    assert doc["type"] == ("NotFoundError" if status == 404 else "InvalidInputError")
    assert db_rows() == before


async def test_reading_an_unknown_card_is_404(jp_fetch, churn_versions):
    code, doc = await call(jp_fetch, "models", "churn", "versions", "7", "card")
    assert code == 404 and doc["type"] == "NotFoundError"
