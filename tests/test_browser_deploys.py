"""The Serving tab shows a canary started against a real ``mlops-nb serve``, in Chromium."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401 - the fixtures
    SHOTS,
    _serve,
    _server_get,
    _shot,
    _stop_process,
    browser,
    lab,
    panel,
)

import mlops_nb

pytestmark = pytest.mark.slow


def _visit(port: int, rows: list, sale: float) -> tuple[int, int]:
    """One prediction and its sale reported as feedback: (predict status, feedback status)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        conn.request("POST", "/predict", json.dumps({"rows": rows}), headers)
        answer = conn.getresponse()
        doc = json.loads(answer.read())
        if answer.status != 200:
            return answer.status, 0
        body = json.dumps({"request_id": doc["request_id"], "value": sale})
        conn.request("POST", "/feedback", body, headers)
        feedback = conn.getresponse()
        feedback.read()
        return answer.status, feedback.status
    finally:
        conn.close()


def test_serving_tab_shows_a_running_canary_its_arms_and_its_end(panel, lab):  # noqa: F811
    from mlops_nb.datasets import make_churn, split

    url, token, ids = lab
    page = panel
    home = Path(ids["root"]) / ".mlops"
    SHOTS.mkdir(parents=True, exist_ok=True)
    proc, info = _serve(home, "churn", SHOTS / "serve-canary.log")
    try:
        mlops_nb.deploy_canary(
            "churn", 2, 0.5, guards=["error_rate<=0.5"], metric="value", home=str(home)
        )
        time.sleep(1.5)  # the server's next poll (0.5 s) picks the canary up
        _, X_test, _, _ = split(make_churn(800, seed=5), seed=5)
        rows = json.loads(X_test.head(2).to_json(orient="records"))
        answers = [_visit(info["port"], rows, float(i % 3 == 0)) for i in range(40)]
        assert answers == [(200, 202)] * 40
        page.locator('[data-testid="mlops-tab-serving"]').click()
        card = page.locator('[data-testid="mlops-serving-model"][data-model-name="churn"]')
        deploy = card.locator('[data-testid="mlops-deploy"]')
        deploy.wait_for(timeout=30_000)
        assert deploy.get_attribute("data-state") == "running"
        assert deploy.locator('[data-testid="mlops-deploy-title"]').inner_text() == "canary v2"
        assert "(50 % of requests) beside production v1" in deploy.inner_text()
        # The arms' numbers arrive with the process's next log flush (2 s): refresh until then.
        arms = deploy.locator('[data-testid="mlops-deploy-arm"]')
        deadline = time.monotonic() + 60
        while (
            sum(
                int(arms.nth(i).locator('[data-testid="mlops-deploy-requests"]').inner_text())
                for i in range(arms.count())
            )
            < 40
        ):
            assert time.monotonic() < deadline, deploy.inner_text()
            page.locator('[data-testid="mlops-refresh"]').click()
            time.sleep(1)
        roles = [arms.nth(i).get_attribute("data-role") for i in range(arms.count())]
        assert roles == ["production", "canary"]
        for i in range(2):
            assert (
                int(arms.nth(i).locator('[data-testid="mlops-deploy-requests"]').inner_text()) > 0
            )
        guards = deploy.locator('[data-testid="mlops-deploy-guards"]').inner_text()
        assert "error_rate<=0.5" in guards
        test = deploy.locator('[data-testid="mlops-deploy-test"]').inner_text()
        assert test.startswith("value (mSPRT, α 0.05)") and "no decision yet" in test
        eta = deploy.locator('[data-testid="mlops-deploy-eta"]').inner_text()
        assert eta.startswith("time to a decision: ")
        page.screenshot(path=str(_shot("serving-canary")))

        mlops_nb.deploy_abort("churn", "seen enough", home=str(home))
        page.locator('[data-testid="mlops-refresh"]').click()
        page.locator('[data-testid="mlops-deploy"][data-state="aborted"]').wait_for(timeout=30_000)
        assert deploy.locator('[data-testid="mlops-deploy-reason"]').inner_text() == "seen enough"
        events = deploy.locator('[data-testid="mlops-deploy-event"]')
        assert [events.nth(i).get_attribute("data-event") for i in range(events.count())] == [
            "aborted",
            "started",
        ]
        assert "seen enough" in events.nth(0).inner_text()
        (listed,) = _server_get(url, token, "serving")["deploys"]  # the page shows the API's
        assert listed["deploy"]["canary"]["state"] == "aborted"
        assert listed == _server_get(url, token, "deploys/churn") | {"deploy": listed["deploy"]}
    finally:
        _stop_process(proc, timeout=60)
    assert proc.returncode == 0, (SHOTS / "serve-canary.log").read_text()[-3000:]
