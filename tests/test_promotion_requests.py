"""Protected aliases and promotion requests: Python, CLI and REST, on SQLite and PostgreSQL.

A real store; the race runs real processes at once; the REST calls go through
a real Jupyter server with authentication on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import mlops_nb
from mlops_nb import environment
from mlops_nb.errors import (
    ApprovalRequiredError,
    ConflictError,
    ForbiddenError,
    GateFailedError,
    InvalidInputError,
    NotFoundError,
)
from mlops_nb.registry import promote, requests
from mlops_nb.store import Store, audit

pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]

ALICE, BOB, CAROL = "alice@laptop", "bob@desk", "carol@desk"


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def guarded(churn_versions):
    """``churn`` v1 (accuracy 0.80) in production, v2 (0.86) not; production protected."""
    promote(churn_versions, "churn", 1, actor=ALICE)
    requests.protect(churn_versions, "churn", "production", actor="admin@ops")
    return churn_versions


def ask(store, version=2, actor=ALICE, **kwargs):
    """Promote to the protected alias: the request it opens."""
    with pytest.raises(ApprovalRequiredError) as raised:
        promote(store, "churn", version, actor=actor, **kwargs)
    assert raised.value.exit_code == 11 and raised.value.http_status == 202
    return raised.value.request


def kinds(store):
    return [e.kind for e in store.iter_events()]


def test_a_promotion_to_a_protected_alias_is_a_pending_request_not_a_move(guarded):
    request = ask(guarded, reason="better recall", require="accuracy>=production")
    assert guarded.alias_holder("churn", "production").version == 1
    assert request["state"] == "pending" and request["actions"] == ["approve", "reject"]
    assert (request["version"], request["from_version"], request["requested_by"]) == (2, 1, ALICE)
    assert request["gate"].startswith("accuracy>=production [")
    assert ask(guarded)["request_id"] == request["request_id"]  # asked again: the same one
    assert [r["request_id"] for r in requests.requests(guarded)] == [request["request_id"]]
    assert kinds(guarded).count("request.opened") == 1
    assert audit.verify(guarded).ok


def test_someone_else_approves_and_the_alias_moves_once(guarded):
    rid = ask(guarded, reason="better recall")["request_id"]
    done = requests.approve(guarded, rid, "read the report", actor=BOB)
    assert done["state"] == "approved" and done["decided_by"] == BOB and done["actions"] == []
    assert done["approvals"][0]["by"] == BOB and done["note"] == "read the report"
    holder = guarded.alias_holder("churn", "production")
    change = guarded.alias_changes("churn", "production")[-1]
    assert holder.version == 2 and change.id == done["change_id"]
    assert change.actor == BOB and f"promotion request {rid} of {ALICE}" in change.reason
    with pytest.raises(ConflictError, match="was approved by"):
        requests.approve(guarded, rid, actor=CAROL)
    with pytest.raises(ConflictError):
        requests.reject(guarded, rid, "too late", actor=CAROL)
    assert len(guarded.alias_changes("churn", "production")) == 2
    assert {"protection.set", "request.opened", "request.approved"} <= set(kinds(guarded))
    assert audit.verify(guarded).ok


@pytest.mark.parametrize("approver", [ALICE, "alice@other-host", "Alice@laptop (jupyter)", "alice"])
def test_the_requester_may_not_approve_under_any_of_their_names(guarded, approver):
    rid = ask(guarded)["request_id"]
    with pytest.raises(ForbiddenError, match="may not approve"):
        requests.approve(guarded, rid, actor=approver)
    assert guarded.get_request(rid)["state"] == "pending"
    assert guarded.alias_holder("churn", "production").version == 1


def test_self_approval_only_where_the_protection_allows_it(guarded):
    requests.protect(guarded, "churn", "production", allow_self_approval=True, actor="admin@ops")
    rid = ask(guarded)["request_id"]
    assert requests.approve(guarded, rid, actor=ALICE)["state"] == "approved"
    assert guarded.alias_holder("churn", "production").version == 2


def test_n_approvers_must_be_distinct_people(guarded):
    requests.protect(guarded, "churn", "production", approvers=2, actor="admin@ops")
    rid = ask(guarded)["request_id"]
    first = requests.approve(guarded, rid, actor=BOB)
    assert first["state"] == "pending" and len(first["approvals"]) == 1
    assert guarded.alias_holder("churn", "production").version == 1
    with pytest.raises(ConflictError, match="approved promotion request .* already"):
        requests.approve(guarded, rid, actor="bob@other (jupyter)")
    done = requests.approve(guarded, rid, actor=CAROL)
    assert done["state"] == "approved" and [a["by"] for a in done["approvals"]] == [BOB, CAROL]
    assert guarded.alias_holder("churn", "production").version == 2
    assert "request.approval" in kinds(guarded)


def test_the_rule_a_request_was_opened_under_holds_after_the_protection_changes(guarded):
    rid = ask(guarded)["request_id"]
    requests.protect(guarded, "churn", "production", approvers=3, actor="admin@ops")
    assert requests.approve(guarded, rid, actor=BOB)["state"] == "approved"


def test_a_gate_that_fails_at_approval_refuses_it_and_keeps_the_request_pending(
    guarded, fitted, churn_data
):
    from mlops_nb import tracking

    X, _, y, _ = churn_data
    rid = ask(guarded, require="accuracy>=staging")["request_id"]  # nobody holds staging: passes
    with tracking.track(guarded, "churn", model=fitted[0], data=X, target=y,
                        metrics={"accuracy": 0.95}):  # fmt: skip
        pass
    promote(guarded, "churn", 3, "staging", actor=CAROL)  # staging is not protected
    with pytest.raises(GateFailedError, match="stays pending") as refused:
        requests.approve(guarded, rid, "looks fine", actor=BOB)
    assert refused.value.failures and "staging" in refused.value.failures[0]
    row = requests.get(guarded, rid)
    assert row["state"] == "pending" and row["approvals"] == []
    assert row["refusals"][0]["by"] == BOB and row["refusals"][0]["failures"]
    assert guarded.alias_holder("churn", "production").version == 1
    (kept,) = guarded.alias_refusals("churn", "production")
    assert kept.actor == BOB and kept.to_version == 2 and f"request {rid}" in kept.reason
    assert "request.refused" in kinds(guarded)
    assert audit.verify(guarded).ok


def test_a_gate_that_fails_when_asked_opens_no_request(guarded):
    with pytest.raises(GateFailedError):
        promote(guarded, "churn", 2, require="accuracy>0.9", actor=ALICE)
    assert requests.requests(guarded, state="all") == []
    assert len(guarded.alias_refusals("churn", "production")) == 1


def test_reject_needs_a_note_and_ends_the_request(guarded):
    rid = ask(guarded)["request_id"]
    for note in (None, "", "   "):
        with pytest.raises(InvalidInputError, match="needs a note"):
            requests.reject(guarded, rid, note, actor=BOB)
    done = requests.reject(guarded, rid, "recall on the new region is unmeasured", actor=BOB)
    assert (done["state"], done["decided_by"]) == ("rejected", BOB)
    with pytest.raises(ConflictError, match="was rejected by"):
        requests.approve(guarded, rid, actor=CAROL)
    assert guarded.alias_holder("churn", "production").version == 1
    # a new request for the same version may be opened once the first was decided
    assert ask(guarded)["request_id"] == rid + 1
    withdrawn = requests.reject(guarded, rid + 1, "asked too early", actor=ALICE)
    assert withdrawn["state"] == "rejected"


def test_bad_input_and_unknown_requests(guarded):
    with pytest.raises(NotFoundError):
        requests.approve(guarded, 99, actor=BOB)
    for bad in (0, -1, "x", 2**40, 1.5, None):
        with pytest.raises(InvalidInputError):
            requests.approve(guarded, bad, actor=BOB)
    with pytest.raises(InvalidInputError):
        requests.requests(guarded, state="open")
    for bad in (0, 21, "two", None):
        with pytest.raises(InvalidInputError):
            requests.protect(guarded, "churn", "production", approvers=bad)
    with pytest.raises(InvalidInputError):
        requests.protect(guarded, "churn", "production", allow_self_approval="yes")
    with pytest.raises(NotFoundError):
        requests.protect(guarded, "nobody", "production")
    with pytest.raises(NotFoundError):
        requests.unprotect(guarded, "churn", "staging")


def test_unprotect_restores_direct_promotion_and_pending_requests_stay_decidable(guarded):
    rid = ask(guarded)["request_id"]
    requests.unprotect(guarded, "churn", "production", actor="admin@ops")
    assert requests.protections(guarded) == []
    assert promote(guarded, "churn", 2, actor=ALICE).to_version == 2
    done = requests.approve(guarded, rid, actor=BOB)  # moved meanwhile: approved, no new move
    assert done["state"] == "approved"
    assert len(guarded.alias_changes("churn", "production")) == 2
    assert "protection.removed" in kinds(guarded)
    assert audit.verify(guarded).ok


def test_audit_verify_catches_a_request_approved_behind_the_store(guarded, tamper):
    rid = ask(guarded)["request_id"]
    tamper("update promotion_requests set state = 'approved' where id = :id", id=rid)
    result = audit.verify(guarded)
    assert not result.ok and f"promotion_requests row {rid}" in result.problem


def test_promotion_requests_for_the_evidence_pack(guarded):
    first = ask(guarded)["request_id"]
    requests.reject(guarded, first, "not yet", actor=BOB)
    second = ask(guarded)["request_id"]
    requests.approve(guarded, second, actor=BOB)
    everything = requests.promotion_requests(guarded, "churn", "2000-01-01", "2100-01-01")
    assert [r["request_id"] for r in everything] == [first, second]  # oldest first
    json.dumps(everything)  # JSON-able as it is
    assert requests.promotion_requests(guarded, "churn", "2000-01-01", "2000-12-31") == []
    today = everything[0]["requested_at"][:10]  # a bare date: the whole day, both ends
    assert len(requests.promotion_requests(guarded, "churn", today, today)) == 2
    decided_at = everything[0]["decided_at"]
    later = requests.promotion_requests(guarded, "churn", decided_at, "2100-01-01")
    assert [r["request_id"] for r in later] == [first, second]
    with pytest.raises(InvalidInputError):
        requests.promotion_requests(guarded, "churn", "2100-01-01", "2000-01-01")


def test_the_evidence_pack_shows_the_requests_and_their_decisions(guarded):
    from mlops_nb.evidence import report

    first = ask(guarded, reason="better recall")["request_id"]
    requests.reject(guarded, first, "recall not measured on the new region", actor=BOB)
    second = ask(guarded)["request_id"]
    requests.approve(guarded, second, "read the report", actor=CAROL)
    pack = report(guarded, "churn", "2000-01-01", "2100-01-01")
    data = pack.to_json()
    assert "requests" in data["sections"]
    shown = [(r["request_id"], r["state"], r["decided_by"]) for r in data["requests"]]
    assert shown == [(first, "rejected", BOB), (second, "approved", CAROL)]
    html = pack.to_html()
    assert "<h2>Promotion requests</h2>" in html
    assert "recall not measured on the new region" in html and "read the report" in html
    assert report(guarded, "churn", "2000-01-01", "2000-12-31").to_json()["requests"] == []


def test_python_api_exports(guarded):
    with pytest.raises(mlops_nb.ApprovalRequiredError):
        mlops_nb.promote("churn", 2, store=guarded)
    (item,) = mlops_nb.list_requests("churn", store=guarded)
    assert item["requested_by"] == environment.actor()
    with pytest.raises(mlops_nb.ForbiddenError):
        mlops_nb.approve_request(item["request_id"], store=guarded)
    done = mlops_nb.reject_request(item["request_id"], "withdrawn", store=guarded)
    assert done["state"] == "rejected"
    assert mlops_nb.unprotect_alias("churn", store=guarded)["alias"] == "production"
    assert mlops_nb.protect_alias("churn", approvers=2, store=guarded)["approvers"] == 2


APPROVER = textwrap.dedent("""
    import os, sys
    from mlops_nb.errors import MlopsError
    from mlops_nb.registry import requests
    from mlops_nb.store import Store
    store = Store(sys.argv[1])
    try:
        requests.approve(store, 1, actor=sys.argv[2])
    except MlopsError as exc:
        sys.exit(exc.exit_code)
""")


@pytest.mark.slow
def test_approvals_racing_move_the_alias_once(guarded, home):
    ask(guarded)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPROVER, str(home), f"approver{i}@host"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 4, 4, 4], errors
    fresh = Store(home)
    assert len(fresh.alias_changes("churn", "production")) == 2
    assert [e.kind for e in fresh.iter_events()].count("request.approved") == 1
    assert audit.verify(fresh).ok
    fresh.close()


def test_the_command_line_and_its_exit_codes(cli, guarded):
    me = {"MLOPS_NB_ACTOR": "dana"}
    asked = cli("promote", "churn", "2", "--json", env=me)
    assert asked.code == 11, asked.err
    assert asked.json()["request"]["request_id"] == 1 and "protected" in asked.err
    listed = cli("requests", "list", "--json")
    assert listed.code == 0 and [r["request_id"] for r in listed.json()] == [1]
    assert "pending" in cli("requests", "list", "churn").out
    assert cli("requests", "approve", "1", env=me).code == 12
    assert cli("requests", "reject", "1", env=me).code == 2  # --note is required
    assert cli("requests", "approve", "7", env={"MLOPS_NB_ACTOR": "erin"}).code == 3
    assert cli("requests", "list", "--state", "done").code == 2
    done = cli("requests", "approve", "1", "--note", "ok", env={"MLOPS_NB_ACTOR": "erin"})
    assert done.code == 0 and "now holds version 2" in done.out
    assert cli("requests", "approve", "1", env={"MLOPS_NB_ACTOR": "fred"}).code == 4
    assert cli("alias", "protect", "churn", "staging", "--approvers", "2").code == 0
    shown = cli("alias", "protections", "--json").json()
    assert {(p["alias"], p["approvers"]) for p in shown} == {("production", 1), ("staging", 2)}
    assert cli("alias", "protect", "churn", "staging", "--approvers", "0").code == 2
    assert cli("alias", "unprotect", "churn", "staging").code == 0
    assert cli("alias", "unprotect", "churn", "staging").code == 3


async def call(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method, "raise_error": False}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops-nb", "api", *path, **kwargs)
    return response.code, json.loads(response.body.decode())


async def test_rest_promote_list_approve_reject(jp_fetch, guarded, db_rows):
    me = environment.actor()  # who the server says a token login is
    code, doc = await call(jp_fetch, "models", "churn", "promote", method="POST",
                           body={"version": 2})  # fmt: skip
    assert code == 202 and doc["request"]["state"] == "pending", doc
    mine = doc["request"]["request_id"]
    assert doc["request"]["requested_by"] == f"{me} (jupyter)"
    code, doc = await call(jp_fetch, "promotion-requests")
    assert code == 200 and [r["request_id"] for r in doc["requests"]] == [mine]
    assert doc["protections"][0]["alias"] == "production" and doc["actor"] == f"{me} (jupyter)"
    before = db_rows()
    code, doc = await call(jp_fetch, "promotion-requests", str(mine), "approve", method="POST",
                           body={})  # fmt: skip
    assert code == 403 and doc["type"] == "ForbiddenError", doc
    code, doc = await call(jp_fetch, "promotion-requests", str(mine), "reject", method="POST",
                           body={"note": "  "})  # fmt: skip
    assert code == 400, doc
    code, doc = await call(jp_fetch, "promotion-requests", str(mine), "approve", method="POST",
                           body={"note": "x", "extra": 1})  # fmt: skip
    assert code == 400, doc
    code, doc = await call(jp_fetch, "promotion-requests", "9", "approve", method="POST", body={})
    assert code == 404, doc
    code, doc = await call(jp_fetch, "promotion-requests", "abc", "approve", method="POST",
                           body={})  # fmt: skip
    assert code == 400, doc
    assert db_rows() == before  # refusals write nothing
    code, doc = await call(jp_fetch, "promotion-requests", str(mine), "reject", method="POST",
                           body={"note": "asked too early"})  # fmt: skip
    assert code == 200 and doc["state"] == "rejected"
    # someone else's request: this user approves it
    theirs = ask(guarded)["request_id"]
    code, doc = await call(jp_fetch, "promotion-requests", str(theirs), "approve", method="POST",
                           body={"note": "checked"})  # fmt: skip
    assert code == 200 and doc["state"] == "approved", doc
    assert guarded.alias_holder("churn", "production").version == 2
    code, doc = await call(jp_fetch, "promotion-requests", str(theirs), "approve", method="POST",
                           body={})  # fmt: skip
    assert code == 409 and doc["type"] == "ConflictError", doc
    code, doc = await call(jp_fetch, "promotion-requests", state="all")
    assert [r["state"] for r in doc["requests"]] == ["approved", "rejected"]
    code, doc = await call(jp_fetch, "promotion-requests", state="nope")
    assert code == 400
    assert audit.verify(guarded).ok


def test_migration_16_upgrades_a_store_made_before_it(home, churn_versions):
    """A store of schema 15 gains the two tables; its history still verifies."""
    import sqlalchemy as sa

    from mlops_nb.store import schema as t

    promote(churn_versions, "churn", 1, actor=ALICE)
    with churn_versions.write() as conn:
        conn.execute(sa.text("DROP TABLE promotion_requests"))
        conn.execute(sa.text("DROP TABLE alias_protections"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= 16"))
    churn_versions.close()
    upgraded = Store(home)
    try:
        with upgraded.read() as conn:
            versions = {r.version for r in conn.execute(sa.select(t.schema_version.c.version))}
        assert max(versions) == t.LATEST >= 16
        assert audit.verify(upgraded).ok
        requests.protect(upgraded, "churn", "production", actor="admin@ops")
        assert ask(upgraded)["state"] == "pending"
        assert audit.verify(upgraded).ok
    finally:
        upgraded.close()
