"""A version's description and tags, edited in the MLOps panel in a real JupyterLab (Chromium).

The same seeded store and ``jupyter lab`` as tests/test_browser.py (its fixtures);
the edit goes through the REST API to the registry, must survive a reload of the
page, and must leave an audit chain that verifies.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser import SHOTS, _model, _reload, browser, lab, panel  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def _version(page, model: str, version: int):
    return _model(page, model).locator(f'[data-testid="mlops-version"][data-version="{version}"]')


def _store(lab):  # noqa: F811 (the fixture's value)
    from mlops_nb.store import Store

    return Store(Path(lab[2]["root"]) / ".mlops")


def test_a_description_and_a_tag_are_edited_kept_after_reload_and_audited(panel, lab):  # noqa: F811
    import mlops_nb

    page = panel
    v2 = _version(page, "loans", 2)
    v2.wait_for()
    v2.locator('[data-testid="mlops-annotate-edit"]').click()
    v2.locator('[data-testid="mlops-annotate-description"]').fill("Retrained on March data")
    v2.locator('[data-testid="mlops-annotate-key"]').fill("reviewed")
    v2.locator('[data-testid="mlops-annotate-value"]').fill("yes")
    v2.locator('[data-testid="mlops-annotate-add"]').click()
    v2.locator('[data-testid="mlops-annotate-key"]').fill("ticket")
    v2.locator('[data-testid="mlops-annotate-value"]').fill("ML-142")
    v2.locator('[data-testid="mlops-annotate-value"]').press("Enter")
    page.screenshot(path=str(SHOTS / "annotate-editing.png"))
    v2.locator('[data-testid="mlops-annotate-save"]').click()
    description = v2.locator('[data-testid="mlops-version-description"]')
    description.wait_for(timeout=15_000)
    assert description.inner_text() == "Retrained on March data"
    assert v2.locator('[data-testid="mlops-annotate-editor"]').count() == 0

    # Remove one tag again: the chip's × and Save.
    v2.locator('[data-testid="mlops-annotate-edit"]').click()
    v2.locator('[data-testid="mlops-annotate-tag"][data-tag-key="ticket"]').locator(
        '[data-testid="mlops-annotate-untag"]'
    ).click()
    v2.locator('[data-testid="mlops-annotate-save"]').click()
    v2.locator('[data-testid="mlops-annotate-editor"]').wait_for(state="detached")

    _reload(page)
    v2 = _version(page, "loans", 2)
    v2.wait_for(timeout=30_000)
    assert v2.locator('[data-testid="mlops-version-description"]').inner_text() == (
        "Retrained on March data"
    )
    tags = v2.locator('[data-testid="mlops-version-tag"]')
    assert [t.get_attribute("data-tag-key") for t in tags.all()] == ["reviewed"]
    assert tags.first.inner_text() == "reviewed: yes"

    with _store(lab) as store:
        kept = store.get_version("loans", 2)
        assert (kept.description, kept.tags) == ("Retrained on March data", {"reviewed": "yes"})
        edits = [e for e in store.raw_events() if e.subject == "loans:2"][-2:]
        assert [e.kind for e in edits] == ["version.annotated"] * 2
        assert all(e.actor.endswith("(jupyter)") for e in edits)
        assert json.loads(edits[-1].payload)["_changes"] == {
            "tags": {"ticket": {"from": "ML-142", "to": None}}
        }
        assert mlops_nb.verify(store=store).ok


def test_a_refused_edit_says_why_keeps_the_draft_and_changes_nothing(panel, lab):  # noqa: F811
    page = panel
    v1 = _version(page, "canary", 1)
    v1.wait_for()
    with _store(lab) as store:
        before = store.raw_events()
    v1.locator('[data-testid="mlops-annotate-edit"]').click()
    v1.locator('[data-testid="mlops-annotate-description"]').fill("kept while I fix the tag")
    v1.locator('[data-testid="mlops-annotate-key"]').fill("owner=ana")
    v1.locator('[data-testid="mlops-annotate-add"]').click()
    v1.locator('[data-testid="mlops-annotate-save"]').click()
    error = v1.locator('[data-testid="mlops-annotate-error"]')
    error.wait_for(timeout=15_000)
    assert "may not contain =" in error.inner_text()
    page.screenshot(path=str(SHOTS / "annotate-refused.png"))
    assert v1.locator('[data-testid="mlops-annotate-description"]').input_value() == (
        "kept while I fix the tag"
    )
    v1.locator('[data-testid="mlops-annotate-cancel"]').click()
    assert v1.locator('[data-testid="mlops-annotate-editor"]').count() == 0
    assert v1.locator('[data-testid="mlops-version-description"]').count() == 0
    with _store(lab) as store:
        assert store.raw_events() == before
