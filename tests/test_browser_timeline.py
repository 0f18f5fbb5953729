"""The Drift tab's check timeline and pipeline schedules, in a real JupyterLab in Chromium.

The same seeded store and ``jupyter lab`` as tests/test_browser.py (its
fixtures, started afresh for this module): churn's drift check of the seed
is followed by a clean one, so the timeline has an older check to open; a
pipeline file and a broken one are written into the server's folder for the
schedule dialog to read.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401  (fixtures)
    TINY,
    _server_get,
    _shot,
    _wait_text,
    browser,
    lab,
    panel,
)

pytestmark = pytest.mark.slow

PIPELINE = """\
name: tiny_twice
steps:
  - name: first
    notebook: ../tiny.ipynb
  - name: second
    notebook: ../tiny.ipynb
    depends_on: [first]
"""


def _add_clean_check(root: str) -> list[int]:
    """A check of churn on data like its training data, after the seed's drifted one;
    the ids of churn's checks, oldest first."""
    import mlops_nb
    from mlops_nb.datasets import make_churn
    from mlops_nb.store import Store

    store = Store(Path(root) / ".mlops")
    try:
        mlops_nb.check_drift("churn@production", make_churn(800, seed=5), store=store)
        return [c["id"] for c in store.drift_checks("churn")]
    finally:
        store.close()


def test_click_an_older_check_on_the_timeline_to_see_it(panel, lab):  # noqa: F811
    url, token, ids = lab
    page = panel
    checks = _add_clean_check(ids["root"])
    older, latest = checks[-2], checks[-1]
    page.locator('[data-testid="mlops-tab-drift"]').click()
    churn = page.locator('[data-testid="mlops-drift-model"][data-model-name="churn"]')
    timeline = churn.locator('[data-testid="mlops-drift-timeline"]')
    timeline.wait_for(timeout=30_000)
    points = timeline.locator('[data-testid="mlops-timeline-check"]')
    assert points.count() == len(checks)
    # coloured by the level the server gave each check, the latest marked as shown
    server = {c["id"]: c["level"] for c in _server_get(url, token, "drift/churn")["history"]}
    for i in range(points.count()):
        point = points.nth(i)
        assert (
            point.get_attribute("data-level") == server[int(point.get_attribute("data-check-id"))]
        )
    assert server[older] == "drift" and server[latest] != "drift"
    shown = timeline.locator('[aria-pressed="true"]')
    assert shown.get_attribute("data-check-id") == str(latest)
    # the axis's ends carry the zone; each check's tooltip its time, verdict and version
    assert timeline.locator('[data-testid="mlops-timeline-end"]').inner_text().endswith("UTC")
    old_point = timeline.locator(f'[data-check-id="{older}"]')
    assert old_point.get_attribute("title").startswith(f"check #{older} · ")
    assert "· drift (" in old_point.get_attribute("title")
    assert old_point.get_attribute("title").endswith("· v1")
    page.screenshot(path=str(_shot("drift-timeline")))

    old_point.click()
    chosen = churn.locator('[data-testid="mlops-drift-chosen"]')
    chosen.wait_for(timeout=15_000)
    assert chosen.get_attribute("data-check-id") == str(older)
    assert f"Showing check #{older}" in chosen.inner_text()
    assert "drift" in chosen.locator(".mlops-verdict").inner_text()
    # its own columns, charts and stored report, in place of the latest's
    link = churn.locator('[data-testid="mlops-drift-report-link"]').get_attribute("href")
    assert link.endswith(f"/drift/churn/checks/{older}/report")
    detail = _server_get(url, token, f"drift/churn/checks/{older}")
    columns = [*detail["columns"], *([detail["prediction"]] if detail.get("prediction") else [])]
    drifted = sorted(c["column"] for c in columns if c["level"] == "drift")
    loud = churn.locator('figure.mlops-DriftColumn[data-severity="drift"]')
    assert sorted(loud.nth(i).get_attribute("data-column") for i in range(loud.count())) == drifted
    assert churn.locator('[data-testid="mlops-drift-chart"]').count() >= 1
    assert churn.locator('[data-testid="mlops-drift-alert"]').count() == len(detail["alerts"]) > 0
    pressed = timeline.locator('[aria-pressed="true"]')
    assert pressed.get_attribute("data-check-id") == str(older)
    page.screenshot(path=str(_shot("drift-timeline-older-check")))

    # by keyboard: the clicked check keeps the focus; Tab to the latest, Enter opens it
    focused = page.evaluate("document.activeElement?.dataset?.checkId")
    assert focused == str(older)
    for _ in range(len(checks)):
        if page.evaluate("document.activeElement?.dataset?.checkId") == str(latest):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    chosen.wait_for(state="detached", timeout=15_000)
    assert timeline.locator('[aria-pressed="true"]').get_attribute("data-check-id") == str(latest)
    assert page.errors == []


def test_schedule_a_pipeline_file_from_the_panel(panel, lab):  # noqa: F811
    url, token, ids = lab
    page = panel
    root = Path(ids["root"])
    shutil.copyfile(TINY, root / "tiny.ipynb")
    (root / "pipelines").mkdir(exist_ok=True)
    (root / "pipelines" / "tiny_twice.yaml").write_text(PIPELINE)
    (root / "pipelines" / "broken.yaml").write_text("steps: [unclosed\n")

    page.locator('[data-testid="mlops-tab-schedules"]').click()
    page.locator('[data-testid="mlops-new-schedule"]').click()
    dialog = page.locator('[data-testid="mlops-schedule-dialog"]')
    dialog.wait_for()
    path = dialog.get_by_label("Notebook or pipeline file", exact=True)
    # a broken file: the server says why while it is typed, and refuses it on Create
    path.fill("pipelines/broken.yaml")
    _wait_text(page, '[data-testid="mlops-pipeline-reading"]', "is not valid YAML", False)
    dialog.get_by_label("Name", exact=True).fill("tiny-twice")
    page.locator(".jp-Dialog").get_by_role("button", name="Create", exact=True).click()
    _wait_text(page, '[data-testid="mlops-error-notebook"]', "is not valid YAML", False)
    message = page.locator('[data-testid="mlops-error-notebook"]').inner_text()
    assert message.startswith("pipelines/broken.yaml is not valid YAML")
    page.screenshot(path=str(_shot("schedule-pipeline-refused")))
    assert "tiny-twice" not in [s["name"] for s in _server_get(url, token, "schedules")]

    # the good file: its steps are listed back before it is saved
    path.fill("pipelines/tiny_twice.yaml")
    steps = dialog.locator('[data-testid="mlops-pipeline-step"]')
    steps.first.wait_for(timeout=15_000)
    assert [steps.nth(i).get_attribute("data-step") for i in range(steps.count())] == [
        "first",
        "second",
    ]
    assert dialog.get_by_label("Name", exact=True).input_value() == "tiny-twice"
    page.screenshot(path=str(_shot("schedule-pipeline-steps")))
    page.locator(".jp-Dialog").get_by_role("button", name="Create", exact=True).click()

    row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="tiny-twice"]')
    row.wait_for(timeout=30_000)
    listed = row.locator('[data-testid="mlops-schedule-step"]')
    assert [listed.nth(i).get_attribute("data-step") for i in range(listed.count())] == [
        "first",
        "second",
    ]
    saved = next(s for s in _server_get(url, token, "schedules") if s["name"] == "tiny-twice")
    assert saved["kind"] == "pipeline"
    assert saved["target"] == str((root / "pipelines" / "tiny_twice.yaml").resolve())
    page.screenshot(path=str(_shot("schedule-pipeline-listed")))
    assert page.errors == [] and page.alerts == []


def test_earlier_checks_page_in_from_the_server(panel, lab):  # noqa: F811
    import mlops_nb
    from mlops_nb.datasets import make_churn
    from mlops_nb.store import Store

    url, token, ids = lab
    page = panel
    store = Store(Path(ids["root"]) / ".mlops")
    try:
        clean = make_churn(300, seed=7)
        for _ in range(41):  # more than the timeline shows at once (40)
            mlops_nb.check_drift("churn@production", clean, store=store)
        checks = [c["id"] for c in store.drift_checks("churn")]
    finally:
        store.close()
    page.locator('[data-testid="mlops-tab-drift"]').click()
    churn = page.locator('[data-testid="mlops-drift-model"][data-model-name="churn"]')
    timeline = churn.locator('[data-testid="mlops-drift-timeline"]')
    timeline.wait_for(timeout=30_000)
    points = timeline.locator('[data-testid="mlops-timeline-check"]')
    assert points.count() == 40
    assert points.first.get_attribute("data-check-id") == str(checks[-40])

    timeline.locator('[data-testid="mlops-timeline-earlier"]').click()
    timeline.locator('[data-testid="mlops-timeline-newest"]').wait_for(timeout=15_000)
    shown = [points.nth(i).get_attribute("data-check-id") for i in range(points.count())]
    assert shown == [str(c) for c in checks[:-40]]
    # the seed's drifted check is the oldest: open it from the earlier page
    timeline.locator(f'[data-check-id="{checks[0]}"]').click()
    chosen = churn.locator('[data-testid="mlops-drift-chosen"]')
    chosen.wait_for(timeout=15_000)
    assert chosen.get_attribute("data-check-id") == str(checks[0])
    page.screenshot(path=str(_shot("drift-timeline-earlier-page")))

    timeline.locator('[data-testid="mlops-timeline-newest"]').click()
    timeline.locator('[data-testid="mlops-timeline-newest"]').wait_for(state="detached")
    assert points.count() == 40
    assert _server_get(url, token, "drift/churn/checks?limit=40")["more"] is True
    assert page.errors == []
