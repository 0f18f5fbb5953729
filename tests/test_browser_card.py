"""A version's model card, shown and edited in the MLOps panel in a real JupyterLab (Chromium).

The same seeded store and ``jupyter lab`` as tests/test_browser.py (its fixtures);
the edit goes through the REST API to the store, must survive a reload of the
page, must leave an audit chain that verifies, and the downloaded Markdown must
be the card the store gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser import SHOTS, _reload, browser, lab, panel  # noqa: F401 (fixtures)
from test_browser_annotate import _store, _version

pytestmark = pytest.mark.slow

EVIL = "<img src=x onerror=alert(1)>"


def test_a_card_is_shown_edited_kept_after_reload_audited_and_downloaded(panel, lab):  # noqa: F811
    import mlops_nb
    from mlops_nb import cards

    page = panel
    v1 = _version(page, "loans", 1)
    v1.wait_for()
    v1.locator('[data-testid="mlops-card-open"]').click()
    body = v1.locator('[data-testid="mlops-card-body"]')
    body.wait_for(timeout=15_000)
    assert "Not written yet." in body.inner_text()
    v1.locator('[data-testid="mlops-card-edit"]').click()
    field = v1.locator('[data-testid="mlops-card-input"]')
    field.and_(page.locator('[data-field="intended_use"]')).fill(f"Score loan applications {EVIL}")
    field.and_(page.locator('[data-field="limitations"]')).fill("Not for business loans")
    page.screenshot(path=str(SHOTS / "card-editing.png"))
    v1.locator('[data-testid="mlops-card-save"]').click()
    v1.locator('[data-testid="mlops-card-editor"]').wait_for(state="detached", timeout=15_000)
    shown = v1.locator('[data-field="intended_use"] [data-testid="mlops-card-text"]')
    assert shown.inner_text() == f"Score loan applications {EVIL}"
    assert v1.locator("img").count() == 0

    _reload(page)
    v1 = _version(page, "loans", 1)
    v1.wait_for(timeout=30_000)
    v1.locator('[data-testid="mlops-card-open"]').click()
    v1.locator('[data-testid="mlops-card-body"]').wait_for(timeout=15_000)
    assert v1.locator('[data-field="limitations"]').inner_text().endswith("Not for business loans")
    with page.expect_download() as caught:
        v1.locator('[data-testid="mlops-card-markdown"]').click()
    markdown = Path(caught.value.path()).read_text(encoding="utf-8")

    with _store(lab) as store:
        doc = cards.card(store, "loans", 1)
        assert doc["written"]["limitations"] == "Not for business loans"
        assert markdown == cards.to_markdown(doc) and "&lt;img src" in markdown
        (edit,) = [e for e in store.raw_events() if e.kind == "card.edited"]
        assert edit.actor.endswith("(jupyter)") and edit.subject == "loans:1"
        assert sorted(json.loads(edit.payload)["_changes"]) == ["intended_use", "limitations"]
        assert mlops_nb.verify(store=store).ok


def test_a_refused_edit_says_why_keeps_the_draft_and_changes_nothing(panel, lab):  # noqa: F811
    page = panel
    v1 = _version(page, "canary", 1)
    v1.wait_for()
    with _store(lab) as store:
        before = store.raw_events()
    v1.locator('[data-testid="mlops-card-open"]').click()
    v1.locator('[data-testid="mlops-card-edit"]').click()
    field = v1.locator('[data-testid="mlops-card-input"][data-field="limitations"]')
    field.fill("x" * 10_001)
    v1.locator('[data-testid="mlops-card-save"]').click()
    error = v1.locator('[data-testid="mlops-card-error"]')
    error.wait_for(timeout=15_000)
    assert "at most 10000" in error.inner_text()
    assert len(field.input_value()) == 10_001
    v1.locator('[data-testid="mlops-card-cancel"]').click()
    assert v1.locator('[data-testid="mlops-card-editor"]').count() == 0
    with _store(lab) as store:
        assert store.raw_events() == before
