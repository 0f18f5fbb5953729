"""The drift check timeline over REST: pages of checks, one older check, the alias moves.

Through a real Jupyter server with token authentication, on SQLite and on PostgreSQL.
"""

import pytest
from test_server import call

import mlops_nb

# Every store-using test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def checked(churn_versions):
    """churn: v1 promoted, checked twice (clean then drifted), v2 promoted, checked once."""
    from mlops_nb.datasets import make_churn

    store = churn_versions
    mlops_nb.promote("churn", 1, store=store)
    ids = [mlops_nb.check_drift("churn@production", make_churn(600, seed=5), store=store).check_id]
    drifted = make_churn(600, seed=5, drift=0.9)
    ids.append(mlops_nb.check_drift("churn@production", drifted, store=store).check_id)
    mlops_nb.promote("churn", 2, store=store)
    ids.append(mlops_nb.check_drift("churn@production", drifted, store=store).check_id)
    return ids


async def test_checks_page_back_oldest_first_with_levels(jp_fetch, checked):
    code, page = await call(jp_fetch, "drift", "churn", "checks", limit="2")
    assert code == 200
    assert [c["id"] for c in page["checks"]] == checked[1:] and page["more"] is True
    assert [c["version"] for c in page["checks"]] == [1, 2]
    assert page["checks"][0]["level"] == "drift"
    code, older = await call(
        jp_fetch, "drift", "churn", "checks", limit="2", before=str(checked[1])
    )
    assert code == 200 and [c["id"] for c in older["checks"]] == checked[:1]
    assert older["more"] is False
    code, everything = await call(jp_fetch, "drift", "churn", "checks")
    assert [c["id"] for c in everything["checks"]] == checked and not everything["more"]


@pytest.mark.parametrize("limit", ["0", "501", "-1", "2.5", "ten", "１"])
async def test_a_bad_page_size_is_refused(jp_fetch, checked, limit):
    code, error = await call(jp_fetch, "drift", "churn", "checks", limit=limit)
    assert code == 400 and "limit must be a whole number from 1 to 500" in error["error"]


async def test_a_bad_before_and_an_unknown_model_are_refused(jp_fetch, checked):
    code, error = await call(jp_fetch, "drift", "churn", "checks", before="0")
    assert code == 400 and "before is a positive whole number" in error["error"]
    code, error = await call(jp_fetch, "drift", "nope", "checks")
    assert code == 404


async def test_an_older_check_opens_with_its_own_verdict_version_and_alerts(jp_fetch, checked):
    code, old = await call(jp_fetch, "drift", "churn", "checks", str(checked[0]))
    assert code == 200
    assert old["check_id"] == checked[0] and old["latest_id"] == checked[-1]
    assert old["version"] == 1 and old["level"] != "drift" and old["alerts"] == []
    assert {c["level"] for c in old["columns"]} <= {"ok", "warning", "none"}
    code, loud = await call(jp_fetch, "drift", "churn", "checks", str(checked[1]))
    assert code == 200 and loud["level"] == "drift" and loud["version"] == 1
    assert [a["kind"] for a in loud["alerts"]] == ["drift"]
    assert any(c["level"] == "drift" for c in loud["columns"])


async def test_a_check_of_another_model_or_a_bad_id_is_refused(jp_fetch, checked):
    code, error = await call(jp_fetch, "drift", "churn", "checks", "999999")
    assert code == 404
    for bad in ("0", "abc", "1.5"):
        code, error = await call(jp_fetch, "drift", "churn", "checks", bad)
        assert code == 400 and "drift check id" in error["error"]


async def test_the_drift_view_lists_the_default_alias_moves(jp_fetch, checked):
    code, drift = await call(jp_fetch, "drift", "churn")
    assert code == 200
    moves = [(m["from_version"], m["to_version"]) for m in drift["alias_moves"]]
    assert moves == [(None, 1), (1, 2)]
    code, tab = await call(jp_fetch, "panel", "drift")
    (doc,) = [m for m in tab["models"] if m["model"] == "churn"]
    assert doc["alias_moves"] == drift["alias_moves"]
