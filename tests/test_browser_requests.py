"""The panel's Requests tab, in a real JupyterLab in Chromium.

The same seeded store and ``jupyter lab`` as tests/test_browser.py (its
fixtures, started afresh for this module). Behind the page, churn's aliases
``staging`` and ``eu`` are protected and three promotions to them wait: two
asked for by someone else, one by the account that runs the server (the
panel's user to the server). In the page: approving your own request is
refused (403) and said in the form, a rejection needs a note and then ends
the request, a request rejected behind the page meanwhile is refused (409),
and someone else's request approved in the page moves the alias; the store
and ``mlops-nb audit verify`` are read behind the page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401  (fixtures)
    _server_get,
    _wait_text,
    browser,
    lab,
    panel,
)

pytestmark = pytest.mark.slow


def _store(root: str):
    from mlops_nb.store import Store

    return Store(Path(root) / ".mlops")


def _ask(root: str) -> dict[str, int]:
    """Protect churn@staging and churn@eu and open three requests; their ids by story."""
    from mlops_nb.errors import ApprovalRequiredError
    from mlops_nb.registry import promote, requests

    store = _store(root)
    try:
        ids = {}
        for alias in ("staging", "eu"):
            requests.protect(store, "churn", alias, actor="admin@ops")
        for story, version, alias, actor in (
            ("theirs", 2, "staging", "alice@laptop"),
            ("mine", 1, "staging", None),  # the server's own account: the panel's user
            ("approve", 2, "eu", "alice@laptop"),
        ):
            with pytest.raises(ApprovalRequiredError) as opened:
                promote(store, "churn", version, alias, actor=actor)
            ids[story] = opened.value.request["request_id"]
        return ids
    finally:
        store.close()


def _request(root: str, request_id: int) -> dict:
    from mlops_nb.registry import requests

    store = _store(root)
    try:
        return requests.get(store, request_id)
    finally:
        store.close()


def test_approve_and_reject_promotion_requests_from_the_requests_tab(panel, lab):  # noqa: F811
    url, token, ids = lab
    page = panel
    asked = _ask(ids["root"])

    page.locator('[data-testid="mlops-tab-requests"]').click()
    page.locator('[data-testid="mlops-requests-state"]').select_option("all")

    def card(story):
        return page.locator(f'[data-testid="mlops-request"][data-request-id="{asked[story]}"]')

    card("theirs").wait_for(timeout=30_000)
    protections = page.locator('[data-testid="mlops-protections"]').inner_text()
    assert "churn@staging (1 approver)" in protections and "churn@eu" in protections
    text = card("theirs").inner_text()
    assert "churn@staging" in text and "v2" in text and "asked by alice@laptop" in text
    assert "0/1 approved" in text

    # your own request: the server refuses the approval (403), the form says so
    mine = card("mine")
    assert "(you)" in mine.inner_text()
    mine.locator('[data-testid="mlops-request-approve"]').click()
    form = mine.locator('[data-testid="mlops-request-form"]')
    form.locator('[data-testid="mlops-request-note"]').fill("my own")
    form.locator('[data-testid="mlops-request-submit"]').click()
    _wait_text(
        page,
        f'[data-request-id="{asked["mine"]}"] [data-testid="mlops-request-error"]',
        "(not allowed)",
        exact=False,
    )
    assert "may not approve" in form.locator('[data-testid="mlops-request-error"]').inner_text()
    assert _request(ids["root"], asked["mine"])["state"] == "pending"

    # withdraw it: a rejection needs a note, then ends the request
    form.locator('[data-testid="mlops-request-cancel"]').click()
    mine.locator('[data-testid="mlops-request-reject"]').click()
    form.locator('[data-testid="mlops-request-submit"]').click()
    assert "needs a note" in form.locator('[data-testid="mlops-request-error"]').inner_text()
    form.locator('[data-testid="mlops-request-note"]').fill("asked too early")
    form.locator('[data-testid="mlops-request-submit"]').click()
    page.locator(
        f'[data-testid="mlops-request"][data-request-id="{asked["mine"]}"][data-state="rejected"]'
    ).wait_for(timeout=30_000)
    assert "asked too early" in mine.locator('[data-testid="mlops-request-decided"]').inner_text()

    # decided behind the page while the form is open: the approval is refused (409)
    theirs = card("theirs")
    theirs.locator('[data-testid="mlops-request-approve"]').click()
    form = theirs.locator('[data-testid="mlops-request-form"]')
    from mlops_nb.registry import requests

    store = _store(ids["root"])
    try:
        requests.reject(store, asked["theirs"], "superseded", actor="carol@desk")
    finally:
        store.close()
    form.locator('[data-testid="mlops-request-submit"]').click()
    _wait_text(
        page,
        f'[data-request-id="{asked["theirs"]}"] [data-testid="mlops-request-error"]',
        "(conflict)",
        exact=False,
    )
    assert (
        "was rejected by carol@desk"
        in form.locator('[data-testid="mlops-request-error"]').inner_text()
    )

    # someone else's request approved in the page: the alias moves
    approve = card("approve")
    approve.locator('[data-testid="mlops-request-approve"]').click()
    form = approve.locator('[data-testid="mlops-request-form"]')
    assert (
        "Moves churn@eu to v2" in form.locator('[data-testid="mlops-request-effect"]').inner_text()
    )
    form.locator('[data-testid="mlops-request-note"]').fill("read the holdout report")
    form.locator('[data-testid="mlops-request-submit"]').click()
    page.locator(
        f'[data-testid="mlops-request"][data-request-id="{asked["approve"]}"][data-state="approved"]'
    ).wait_for(timeout=30_000)
    assert approve.locator('[data-testid="mlops-request-approve"]').count() == 0

    # the store, behind the page
    stored = _request(ids["root"], asked["approve"])
    assert stored["state"] == "approved" and stored["decided_by"].endswith("(jupyter)")
    assert stored["note"] == "read the holdout report"
    store = _store(ids["root"])
    try:
        assert store.alias_holder("churn", "eu").version == 2
        assert store.alias_holder("churn", "staging") is None
    finally:
        store.close()
    listed = _server_get(url, token, "promotion-requests?state=all")
    assert {r["request_id"]: r["state"] for r in listed["requests"]} == {
        asked["theirs"]: "rejected",
        asked["mine"]: "rejected",
        asked["approve"]: "approved",
    }
    cli = Path(sys.executable).parent / "mlops-nb"
    verified = subprocess.run(
        [str(cli), "audit", "verify"],
        env={**os.environ, "MLOPS_NB_HOME": str(Path(ids["root"]) / ".mlops")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
