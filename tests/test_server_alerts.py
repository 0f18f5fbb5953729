"""The alert inbox over REST, through a real Jupyter server with authentication on."""

from __future__ import annotations

import pytest
from test_server import call

import mlops_nb
from mlops_nb.datasets import make_churn
from mlops_nb.store import audit

# Every store-using test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def alarmed(churn_versions):
    """churn v1 then v2 in production; a drifted batch checked twice: alert 1, count 2."""
    mlops_nb.promote("churn", 1, store=churn_versions)
    mlops_nb.promote("churn", 2, store=churn_versions)
    batch = make_churn(800, seed=21, drift=0.9)
    for _ in range(2):
        assert mlops_nb.check_drift("churn", batch, store=churn_versions).alert_ids == [1]
    return churn_versions


async def test_the_inbox_by_state(jp_fetch, alarmed):
    code, doc = await call(jp_fetch, "alerts")
    assert code == 200, doc
    (item,) = doc["alerts"]
    assert (item["alert_id"], item["model"], item["kind"], item["state"]) == (
        1,
        "churn",
        "drift",
        "open",
    )
    assert item["count"] == 2 and item["last_check_id"] == 2 and item["columns"]
    code, doc = await call(jp_fetch, "alerts", state="resolved")
    assert code == 200 and doc["alerts"] == []
    code, doc = await call(jp_fetch, "alerts", state="all", model="churn", limit="5")
    assert code == 200 and len(doc["alerts"]) == 1
    code, doc = await call(jp_fetch, "alerts", state="closed")
    assert code == 400 and doc["type"] == "InvalidInputError" and "state" in doc["error"]


async def test_ack_and_resolve_as_the_jupyter_user(jp_fetch, alarmed):
    code, doc = await call(jp_fetch, "alerts", "1", "ack", method="POST", body={"note": "seen it"})
    assert code == 200, doc
    assert doc["state"] == "acknowledged" and doc["acknowledged"]["by"].endswith("(jupyter)")
    code, doc = await call(
        jp_fetch,
        "alerts",
        "1",
        "resolve",
        method="POST",
        body={"decision": "rollback", "note": "v2 hurts"},
    )
    assert code == 200, doc
    assert doc["decision_detail"]["to_version"] == 1 and doc["resolved"]["by"].endswith("(jupyter)")
    change = alarmed.alias_changes("churn", "production")[-1]
    assert change.action == "rollback" and change.actor.endswith("(jupyter)")
    code, doc = await call(jp_fetch, "alerts", state="resolved")
    assert [a["decision"] for a in doc["alerts"]] == ["rollback"]
    assert audit.verify(alarmed).ok


@pytest.mark.parametrize(
    "path, body, status, kind",
    [
        (("1", "resolve"), {"decision": "panic"}, 400, "InvalidInputError"),
        (("1", "resolve"), {"decision": "ignore"}, 400, "InvalidInputError"),
        (("1", "resolve"), {"decision": "ignore", "until": "2001-01-01"}, 400, "InvalidInputError"),
        (("1", "resolve"), {"note": "no decision"}, 400, "InvalidInputError"),
        (("1", "resolve"), {"decision": "rebaseline", "why": 1}, 400, "InvalidInputError"),
        (("1", "ack"), {"note": 5}, 400, "InvalidInputError"),
        (("abc", "ack"), {}, 400, "InvalidInputError"),
        (("99", "resolve"), {"decision": "rebaseline"}, 404, "NotFoundError"),
        (("99", "ack"), {}, 404, "NotFoundError"),
    ],
)
async def test_bad_requests_are_error_objects_and_change_nothing(
    jp_fetch, alarmed, db_rows, path, body, status, kind
):
    before = db_rows()
    code, doc = await call(jp_fetch, "alerts", *path, method="POST", body=body)
    assert (code, doc["type"]) == (status, kind), doc
    assert set(doc) >= {"error", "type"}
    assert db_rows() == before


async def test_deciding_on_a_resolved_alert_is_409(jp_fetch, alarmed):
    body = {"decision": "ignore", "until": "2099-01-01"}
    code, _ = await call(jp_fetch, "alerts", "1", "resolve", method="POST", body=body)
    assert code == 200
    code, doc = await call(jp_fetch, "alerts", "1", "resolve", method="POST", body=body)
    assert code == 409 and doc["type"] == "ConflictError" and "resolved by" in doc["error"]
    code, doc = await call(jp_fetch, "alerts", "1", "ack", method="POST", body={})
    assert code == 409
