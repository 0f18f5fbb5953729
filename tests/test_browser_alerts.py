"""The panel's Alerts tab, in a real JupyterLab in Chromium.

The same seeded store and ``jupyter lab`` as tests/test_browser.py (its
fixtures, started afresh for this module). A drift check of churn on drifted
data raises the alert (grouped into the seed's, if that one is still open);
the test opens its check on the Drift tab, acknowledges it with a note,
resolves it with ``ignore`` until a date after a refused past date, and
reads the store behind the page: the state, the notes, who, and an audit
chain that still verifies (``mlops-nb audit verify``).
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


def _drifted_check(root: str) -> dict:
    """Check churn on drifted data; its open drift alert, as the inbox gives it."""
    import mlops_nb
    from mlops_nb.datasets import make_churn
    from mlops_nb.monitoring.inbox import inbox
    from mlops_nb.store import Store

    store = Store(Path(root) / ".mlops")
    try:
        shifted = make_churn(3000, seed=11, month="2027-04", drift=0.9)
        report = mlops_nb.check_drift("churn@production", shifted, store=store)
        assert report.drift
        opened = [a for a in inbox(store, "churn", "open") if a["kind"] == "drift"]
        assert opened, inbox(store, "churn", "all")
        return opened[0]
    finally:
        store.close()


def _store_item(root: str, alert_id: int) -> dict:
    from mlops_nb.monitoring.inbox import inbox
    from mlops_nb.store import Store

    store = Store(Path(root) / ".mlops")
    try:
        return next(a for a in inbox(store, "churn", "all") if a["alert_id"] == alert_id)
    finally:
        store.close()


def test_acknowledge_then_ignore_an_alert_until_a_date_from_the_alerts_tab(panel, lab):  # noqa: F811
    url, token, ids = lab
    page = panel
    alert = _drifted_check(ids["root"])
    alert_id, check_id = alert["alert_id"], alert["last_check_id"]
    assert alert["actions"] == ["ack", "resolve"]

    page.locator('[data-testid="mlops-tab-alerts"]').click()
    card = page.locator(f'[data-testid="mlops-alert"][data-alert-id="{alert_id}"]')
    card.wait_for(timeout=30_000)
    assert card.get_attribute("data-state") == "open"
    text = card.inner_text()
    assert "churn" in text and "drift" in text and f"seen {alert['count']} time" in text
    assert "UTC" in text  # the opened and latest times carry their zone
    report = card.locator('[data-testid="mlops-alert-report"]')
    assert report.get_attribute("href").endswith(f"/drift/churn/checks/{check_id}/report")

    # the check's charts one click away: the Drift tab, churn unfolded, that check on show
    card.locator('[data-testid="mlops-alert-open-check"]').click()
    churn = page.locator('[data-testid="mlops-drift-model"][data-model-name="churn"]')
    churn.wait_for(timeout=30_000)
    assert page.locator('[data-testid="mlops-tab-drift"]').get_attribute("aria-selected") == "true"
    shown = churn.locator('[data-testid="mlops-drift-timeline"] [aria-pressed="true"]')
    assert shown.get_attribute("data-check-id") == str(check_id)
    assert churn.locator("figure.mlops-DriftColumn").count() > 0

    # back to the inbox, every state, so the alert stays in view as it changes
    page.locator('[data-testid="mlops-tab-alerts"]').click()
    page.locator('[data-testid="mlops-alerts-state"]').select_option("all")
    card.wait_for()
    card.locator('[data-testid="mlops-alert-ack"]').click()
    form = card.locator('[data-testid="mlops-alert-form"]')
    form.locator('[data-testid="mlops-alert-note"]').fill("looking at the supplier feed")
    form.locator('[data-testid="mlops-alert-submit"]').click()
    page.locator(
        f'[data-testid="mlops-alert"][data-alert-id="{alert_id}"][data-state="acknowledged"]'
    ).wait_for(timeout=30_000)
    acked = card.locator('[data-testid="mlops-alert-acked"]').inner_text()
    assert "looking at the supplier feed" in acked and "(jupyter)" in acked
    # acknowledged: the server allows resolve only
    assert card.locator('[data-testid="mlops-alert-ack"]').count() == 0

    card.locator('[data-testid="mlops-alert-resolve"]').click()
    form.locator('[data-testid="mlops-alert-decision"]').select_option("ignore")
    assert (
        "Silences drift alerts of churn until the date"
        in form.locator('[data-testid="mlops-alert-effect"]').inner_text()
    )
    # a past date: the server refuses (400), the form stays open and says why
    form.locator('[data-testid="mlops-alert-until"]').fill("2020-01-31")
    form.locator('[data-testid="mlops-alert-note"]').fill("seasonal: the spring promotion")
    form.locator('[data-testid="mlops-alert-submit"]').click()
    _wait_text(
        page,
        f'[data-alert-id="{alert_id}"] [data-testid="mlops-alert-error"]',
        "in the past",
        exact=False,
    )
    assert "(bad input)" in form.locator('[data-testid="mlops-alert-error"]').inner_text()
    assert _store_item(ids["root"], alert_id)["state"] == "acknowledged"  # nothing changed
    form.locator('[data-testid="mlops-alert-until"]').fill("2099-01-31")
    form.locator('[data-testid="mlops-alert-submit"]').click()
    page.locator(
        f'[data-testid="mlops-alert"][data-alert-id="{alert_id}"][data-state="resolved"]'
    ).wait_for(timeout=30_000)
    outcome = card.locator('[data-testid="mlops-alert-outcome"]').inner_text()
    assert outcome.startswith("ignore: silenced until ") and "2099-01-31" in outcome
    assert (
        "seasonal: the spring promotion"
        in card.locator('[data-testid="mlops-alert-resolved"]').inner_text()
    )
    assert card.locator('[data-testid="mlops-alert-resolve"]').count() == 0

    # the store, behind the page: state, notes, who, the silence
    stored = _store_item(ids["root"], alert_id)
    assert stored["state"] == "resolved" and stored["decision"] == "ignore"
    assert stored["ack_note"] == "looking at the supplier feed"
    assert stored["note"] == "seasonal: the spring promotion"
    assert stored["acknowledged"]["by"].endswith("(jupyter)")
    assert stored["resolved"]["by"] == stored["acknowledged"]["by"]
    assert stored["silenced_until"].startswith("2099-01-31")
    assert (
        _server_get(url, token, "alerts?state=resolved&model=churn")["alerts"][0]["alert_id"]
        == alert_id
    )
    cli = Path(sys.executable).parent / "mlops-nb"
    verified = subprocess.run(
        [str(cli), "audit", "verify"],
        env={**os.environ, "MLOPS_NB_HOME": str(Path(ids["root"]) / ".mlops")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
