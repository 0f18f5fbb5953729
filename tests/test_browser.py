"""The MLOps side panel in a real JupyterLab, driven in Debian's Chromium by Playwright.

A store is seeded with two churn versions (v1 in production), a drift check
on shifted data, an executed notebook run, a schedule and a model whose name
is an HTML injection attempt. ``jupyter lab`` serves it on loopback with a
token; the tests click through the panel the way a user would and save a
screenshot of every step under ``test-artifacts/browser/``.

Locally the module is skipped when Chromium is not installed; under CI a
missing browser is a failure (``skip_or_fail`` in conftest.py), so the
browser half cannot be skipped silently.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import skip_or_fail

CHROMIUM = os.environ.get("MLOPS_NB_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "test-artifacts" / "browser"
TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
SLOW_PROMOTE = Path(__file__).parent / "notebooks" / "slow_promote.ipynb"
EVIL = "<img src=x onerror=alert(1)>"
#: v1 of churn: shown with 4 significant digits everywhere (0.8287)
ACCURACY = 0.8286657017313789
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = pytest.mark.slow

if not Path(CHROMIUM).exists():
    skip_or_fail(f"Chromium is not installed at {CHROMIUM} (.ci/run installs it)")


def _seed(home: Path) -> dict[str, str]:
    """Fill a fresh store through the public Python API; return ids the tests look for.

    Each model is there for one story, so the tests that move aliases do not
    move them under each other: ``churn`` (production v1, checked for drift
    against v1 on shifted data whose ``paperless_billing`` column changed type),
    ``fraud`` (production v1 then v3, for walking back through rollbacks),
    ``canary`` (promoted by the slow scheduled notebook), ``loans`` (moved by
    the widget in a notebook), ``tiny`` (registered by an executed notebook).
    """
    from models import churn_pipeline

    import mlops_nb
    from mlops_nb import tracking
    from mlops_nb.datasets import make_churn, split
    from mlops_nb.execution.runner import run_notebook
    from mlops_nb.schedules import schedule
    from mlops_nb.schedules.scheduler import tick
    from mlops_nb.store import Store

    store = Store(home)
    try:
        X_train, _, y_train, _ = split(make_churn(800, seed=5), seed=5)
        model = churn_pipeline(X_train, y_train)
        for accuracy, C in ((ACCURACY, 1.0), (0.86, 0.5)):
            with tracking.track(
                store,
                "churn",
                model=model,
                data=X_train,
                target=y_train,
                metrics={"accuracy": accuracy},
                source=["X, y = load_churn()"],
                code=f"model = churn_pipeline(X, y, C={C})",
            ):
                pass
        mlops_nb.promote("churn", 1, store=store, reason="first model")
        for name, accuracies in (
            ("fraud", (0.7, 0.8, 0.9)),
            ("canary", (0.7, 0.8)),
            ("loans", (0.7, 0.8)),
        ):
            for accuracy in accuracies:
                with tracking.track(store, name, model=model, metrics={"accuracy": accuracy}):
                    pass
        mlops_nb.promote("fraud", 1, store=store)
        mlops_nb.promote("fraud", 3, store=store)
        mlops_nb.promote("canary", 1, store=store)
        mlops_nb.promote("loans", 1, store=store)
        with tracking.track(store, EVIL, model=model, metrics={"accuracy": 0.5}):
            pass
        shifted = make_churn(3000, seed=9, month="2027-03", drift=0.9)
        # bool to 0/1: a type change the model still scores (category to str is no
        # change at all: both are text, as a CSV round trip would leave them)
        shifted["paperless_billing"] = shifted["paperless_billing"].astype(int)
        mlops_nb.check_drift("churn@production", shifted, store=store, target="churned")
        notebook_run = run_notebook(TINY, {"x": 3}, store=store)
        assert notebook_run.status == "finished", notebook_run.error
        schedule.add(
            store,
            "nightly-tiny",
            str(TINY),
            "0 3 * * *",
            tz="Europe/Berlin",
            now="2026-11-20T00:00:00Z",
        )
        # its first slot (03:00 in Berlin) ran: a slot with a run and an executed notebook
        (fired,) = tick(store, now="2026-11-20T02:01:00Z")
        assert fired["status"] == "finished", fired
        schedule.add(
            store,
            "promote-canary",
            str(SLOW_PROMOTE),
            "0 4 1 * *",
            parameters={"model": "canary", "version": 2, "seconds": 4.0},
            timeout=600,
        )
        return {"notebook_run": notebook_run.run_id}
    finally:
        store.close()


def _stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (a server then stops cleanly), a kill when it hangs; its stdout pipe closed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _this_checkouts_labextension(root: Path) -> Path:
    """A labextensions folder holding only this checkout's build of the panel.

    JupyterLab takes the first ``mlops-nb`` it finds, and ``extra_labextensions_path``
    comes before the environment's own folders, so the page runs the JavaScript built
    from the sources under test, not whatever an earlier ``pip install`` copied into
    the environment. A build older than its sources fails here rather than testing
    yesterday's panel.
    """
    build = REPO / "mlops_nb" / "labextension"
    built = build / "package.json"
    if not built.exists():
        pytest.fail(f"no panel build at {build}: run `npm ci && npm run build` in extension/")
    sources = [
        p
        for folder in ("src", "style", "schema")
        for p in (REPO / "extension" / folder).rglob("*")
        if p.is_file()
    ]
    stale = [p for p in sources if p.stat().st_mtime > built.stat().st_mtime]
    if stale:
        pytest.fail(
            f"the panel build at {build} is older than {stale[0].relative_to(REPO)}: "
            "run `npm run build` in extension/"
        )
    folder = root / "labextensions"
    folder.mkdir()
    (folder / "mlops-nb").symlink_to(build, target_is_directory=True)
    return folder


def _check_served_build(url: str, token: str, build: Path) -> None:
    """The page loads the panel from ``build``: its remoteEntry is the one JupyterLab lists."""
    import json
    import re

    request = urllib.request.Request(f"{url}/lab", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        page = response.read().decode()
    config = r'<script id="jupyter-config-data" type="application/json">(.*?)</script>'
    found = re.search(config, page, re.S)
    assert found, "no page config in /lab"
    listed = {e["name"]: e for e in json.loads(found[1])["federated_extensions"]}
    entry = Path(listed["mlops-nb"]["load"]).name
    assert (build / "static" / entry).exists(), f"JupyterLab serves another build ({entry})"


def _wait_ready(url: str, token: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(
                f"{url}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer in 120 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real ``jupyter lab`` on loopback over a seeded store: (base url, token, ids)."""
    root = tmp_path_factory.mktemp("lab")
    home = root / ".mlops"
    ids = {**_seed(home), "root": str(root)}
    port, token = _free_port(), secrets.token_hex(16)
    log = root / "jupyter.log"
    jupyter = Path(sys.executable).parent / "jupyter"
    labextensions = _this_checkouts_labextension(root)
    env = {
        **os.environ,
        "MLOPS_NB_HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(root / "config"),  # no user settings leak in
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(jupyter),
                "lab",
                "--allow-root",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={token}",
                f"--LabApp.extra_labextensions_path={labextensions}",
                # window.jupyterapp, for running notebook commands from the tests
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, token, proc, log)
        _check_served_build(url, token, labextensions / "mlops-nb")
        yield url, token, ids
    finally:
        _stop_process(proc, timeout=20)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, SHOTS / "jupyter-lab.log")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _open_lab(browser, url: str, token: str, path: str = "lab", timezone: str = "UTC"):
    """A fresh browser context on JupyterLab; dialogs and page errors collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=timezone)
    page = context.new_page()
    page.alerts = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.alerts.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(f"{url}/{path}?token={token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    return context, page


def _open_panel(page) -> None:
    tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="mlops-nb-panel"]')
    tab.wait_for(timeout=60_000)
    tab.click()
    page.locator("#mlops-nb-panel").wait_for(state="visible")


@pytest.fixture
def panel(lab, browser, request):
    """A fresh JupyterLab page with the MLOps panel open; dialogs and page errors collected."""
    url, token, _ = lab
    context, page = _open_lab(browser, url, token)
    _open_panel(page)
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    context.close()
    assert not page.errors, page.errors


def _model(page, name: str):
    return page.locator(f'[data-testid="mlops-model"][data-model-name="{name}"]')


def _alias(page, model: str, alias: str = "production"):
    return _model(page, model).locator(f'[data-testid="mlops-alias"][data-alias="{alias}"]')


def _promote_dialog(page, model: str, version: int):
    """Click *Promote…* on ``model`` v``version``; the dialog, once it shows."""
    row = _model(page, model).locator(f'[data-testid="mlops-version"][data-version="{version}"]')
    row.locator('[data-testid="mlops-promote"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    return dialog


def _open_run(page, run_id: str) -> None:
    """On the Runs tab, click the run ``run_id`` (its provenance opens below the list)."""
    page.locator('[data-testid="mlops-tab-runs"]').click()
    row = page.locator(f'[data-testid="mlops-run"][data-run-id="{run_id}"]')
    row.wait_for()
    row.click()


def _reload(page) -> None:
    """Reload JupyterLab; the panel comes back open (its state is in local storage)."""
    page.reload()
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90_000)
    page.locator("#mlops-nb-panel").wait_for(state="visible", timeout=30_000)


def test_panel_lists_models_versions_and_alias(panel):
    page = panel
    churn = _model(page, "churn")
    churn.wait_for()
    assert churn.locator('[data-testid="mlops-version"]').count() == 2
    assert _alias(page, "churn").get_attribute("data-version") == "1"
    versions = churn.locator('[data-testid="mlops-version"]').all_inner_texts()
    assert any("0.86" in text for text in versions)  # key metrics shown
    assert churn.locator('[data-testid="mlops-alias-event"]').count() >= 1


def test_a_version_shows_its_input_schema_and_two_versions_compare(panel):
    page = panel
    churn = _model(page, "churn")
    churn.wait_for()
    v2 = churn.locator('[data-testid="mlops-version"][data-version="2"]')
    schema = v2.locator('[data-testid="mlops-version-schema"]')
    schema.locator("summary").click()
    columns = schema.locator('[data-testid="mlops-schema-column"]')
    columns.first.wait_for(timeout=15_000)  # loaded on unfolding (GET …/versions/2)
    assert "contract" in [c.get_attribute("data-column") for c in columns.all()]
    button = churn.locator('[data-testid="mlops-compare-versions"]')
    assert button.is_disabled()
    for version in (2, 1):
        box = churn.locator(f'[data-version="{version}"] [data-testid="mlops-version-check"]')
        box.check()
    assert button.inner_text() == "Compare v1 · v2"
    button.click()
    view = page.locator('[data-testid="mlops-compare-view"]')
    view.wait_for(timeout=15_000)
    heads = view.locator("thead th[data-run-id]")
    assert heads.count() == 2
    assert [t.split()[-1] for t in heads.all_inner_texts()] == ["churn:1", "churn:2"]
    assert not page.errors, page.errors


def test_promote_then_roll_back_moves_the_alias(panel, lab):
    url, token, _ = lab
    page = panel
    churn = _model(page, "churn")
    churn.wait_for()
    dialog = _promote_dialog(page, "churn", 2)
    dialog.locator("input").first.fill("production")
    page.screenshot(path=str(_shot("promote-dialog")))
    dialog.get_by_role("button", name="Promote").click()
    page.wait_for_function(
        """() => document.querySelector(
            '[data-testid="mlops-model"][data-model-name="churn"] '
            + '[data-testid="mlops-alias"][data-alias="production"]'
        )?.getAttribute('data-version') === '2'""",
        timeout=30_000,
    )
    assert _server_alias(url, token) == 2  # the server agrees, not just the page
    page.screenshot(path=str(_shot("after-promote")))

    _alias(page, "churn").locator('[data-testid="mlops-rollback"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    dialog.get_by_role("button", name="Roll back").click()
    page.wait_for_function(
        """() => document.querySelector(
            '[data-testid="mlops-model"][data-model-name="churn"] '
            + '[data-testid="mlops-alias"][data-alias="production"]'
        )?.getAttribute('data-version') === '1'""",
        timeout=30_000,
    )
    assert _server_alias(url, token) == 1
    history = _model(page, "churn").locator('[data-testid="mlops-alias-event"]')
    assert history.count() >= 3  # first promotion, the promotion, the rollback


def test_gate_failure_is_shown_not_applied(panel, lab):
    url, token, _ = lab
    page = panel
    _model(page, "churn").wait_for()
    # v1 (accuracy 0.80) cannot satisfy a gate against the 0.86 of v2 once v2 holds it:
    # here the gate is typed into the dialog's condition field.
    dialog = _promote_dialog(page, "churn", 2)
    gate = dialog.locator('[data-testid="mlops-gate-input"]')
    gate.fill("accuracy>=0.99")
    dialog.get_by_role("button", name="Promote").click()
    message = page.locator('[data-testid="mlops-message"]')
    message.wait_for()
    page.wait_for_function(
        """() => (document.querySelector('[data-testid="mlops-message"]')?.textContent || '')
            .includes('accuracy>=0.99')""",
        timeout=30_000,
    )
    assert _server_alias(url, token) == 1  # refused: production did not move


def test_open_a_runs_executed_notebook(panel, lab):
    _, _, ids = lab
    page = panel
    _open_run(page, ids["notebook_run"])
    detail = page.locator('[data-testid="mlops-run-detail"]')
    detail.wait_for()
    # the run's parameters are part of the provenance shown
    parameters = detail.locator("details", has=page.locator("summary", has_text="Parameters"))
    shown = dict(
        zip(parameters.locator("dt").all_inner_texts(), parameters.locator("dd").all_inner_texts())
    )
    assert shown.get("x") == "3", shown
    # the run it tracked hangs under it, one click away
    tracked = detail.locator('[data-testid="mlops-run-tree-node"]')
    assert tracked.count() == 1 and tracked.get_attribute("data-kind") == "track"
    assert tracked.locator("button").inner_text() == "tiny"
    detail.locator('[data-testid="mlops-open-notebook"]').click()
    view = page.locator('[data-testid="mlops-notebook-view"]')
    view.wait_for(timeout=30_000)
    tab_title = page.locator(
        ".jp-MainAreaWidget .lm-TabBar-tab, .lm-DockPanel-tabBar .lm-TabBar-tab"
    )
    assert any(ids["notebook_run"][:8] in t for t in tab_title.all_inner_texts())
    frame = view.locator("iframe")
    if frame.count():
        body = frame.content_frame.locator("body")
        body.wait_for()
        text = body.inner_text()
    else:
        text = view.inner_text()
    assert "x is 3" in text  # the executed notebook's own output, read-only


def test_download_a_runs_executed_notebook(panel, lab):
    import json

    _, _, ids = lab
    page = panel
    _open_run(page, ids["notebook_run"])
    link = page.locator('[data-testid="mlops-download-notebook"]')
    with page.expect_download(timeout=30_000) as download:
        link.click()
    saved = download.value
    assert saved.suggested_filename == f"tiny_tracked-{ids['notebook_run'][:8]}.ipynb"
    notebook = json.loads(Path(saved.path()).read_text())
    assert notebook["metadata"]["mlops_nb"]["parameters"]["x"] == 3  # the stored, executed one


def test_download_the_model_a_run_registered(panel, lab):
    import hashlib

    url, token, _ = lab
    page = panel
    churn = _server_get(url, token, "runs/search?q=model%20%3D%20churn")["runs"]
    (first,) = [r for r in churn if r["model_version"] == 1]
    listed = {a["kind"]: a for a in _server_get(url, token, f"runs/{first['run_id']}")["artifacts"]}
    page.locator('[data-testid="mlops-tab-runs"]').click()
    box = page.locator('[data-testid="mlops-run-filter"]')
    box.fill("model = churn")
    box.press("Enter")
    _open_run(page, first["run_id"])
    link = page.locator('[data-testid="mlops-download-artifact"][data-kind="model"]')
    with page.expect_download(timeout=30_000) as download:
        link.click()
    saved = download.value
    assert saved.suggested_filename == "churn-v1.skops"
    digest = hashlib.sha256(Path(saved.path()).read_bytes()).hexdigest()
    assert digest == listed["model"]["sha256"]  # the registered file, byte for byte
    kinds = page.locator('[data-testid="mlops-download-artifact"]')
    assert sorted(k.get_attribute("data-kind") for k in kinds.all()) == sorted(listed)


def test_drift_tab_shows_verdict_and_charts(panel):
    page = panel
    page.locator('[data-testid="mlops-tab-drift"]').click()
    churn = page.locator('[data-testid="mlops-drift-model"]').filter(has_text="churn")
    churn.first.wait_for()
    assert churn.first.get_attribute("data-severity") in {"drift", "warning"}
    charts = page.locator('[data-testid="mlops-drift-chart"]')
    charts.first.wait_for()
    assert charts.count() >= 1
    # monthly charges went past the training range: the axis follows them and
    # marks where the reference range ends
    charges = page.locator('[data-testid="mlops-drift-chart"][data-column="monthly_charges"]')
    assert charges.locator('[data-testid="mlops-chart-range"]').count() == 1
    # the stored report opens from its link, sandboxed
    href = churn.first.locator('[data-testid="mlops-drift-report-link"]').get_attribute("href")
    served = page.request.get(urllib.parse.urljoin(page.url, href))
    assert served.status == 200 and "monthly_charges" in served.text()
    assert served.headers["content-security-policy"].startswith("sandbox allow-scripts;")
    # a chart opens large in the main area with every check of its column
    first = page.locator("figure.mlops-DriftColumn.mlops-clickable").first
    column = first.get_attribute("data-column")
    first.click()
    large = page.locator('[data-testid="mlops-drift-column-view"]')
    large.wait_for(timeout=15_000)
    detail = large.locator(f'[data-testid="mlops-drift-detail"][data-column="{column}"]')
    assert detail.count() == 1
    assert detail.locator('[data-testid="mlops-drift-detail-checks"] tbody tr').count() >= 1
    assert charts.first.locator("svg, rect, path").count() >= 1


def test_schedules_tab_shows_next_run_and_pauses(panel, lab):
    url, token, _ = lab
    page = panel
    page.locator('[data-testid="mlops-tab-schedules"]').click()
    row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="nightly-tiny"]')
    row.wait_for()
    # 03:00 in Berlin (CET in winter) is 02:00 in the browser's time zone, UTC here.
    assert "02:00" in row.inner_text()
    row.locator('[data-testid="mlops-pause"]').click()
    row.locator('[data-testid="mlops-resume"]').wait_for(timeout=30_000)
    assert _server_schedule(url, token, "nightly-tiny")["enabled"] == 0  # the server agrees
    row.locator('[data-testid="mlops-resume"]').click()
    row.locator('[data-testid="mlops-pause"]').wait_for(timeout=30_000)
    assert _server_schedule(url, token, "nightly-tiny")["enabled"] == 1


def test_hostile_model_name_is_text(panel):
    page = panel
    hostile = page.locator('[data-testid="mlops-model-name"]').filter(has_text=EVIL)
    hostile.first.wait_for()
    assert hostile.first.inner_text() == EVIL
    assert page.locator('#mlops-nb-panel img[src="x"]').count() == 0
    time.sleep(0.5)
    assert page.alerts == []  # no script ran


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"


def _server_get(url: str, token: str, route: str):
    """What the REST API says, behind the page's back."""
    import json

    request = urllib.request.Request(
        f"{url}/mlops-nb/api/{route}", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _server_post(url: str, token: str, route: str, body: dict):
    """A change made behind the page's back (a token header needs no XSRF pair)."""
    import json

    request = urllib.request.Request(
        f"{url}/mlops-nb/api/{route}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _server_alias(url: str, token: str, model: str = "churn") -> int | None:
    (found,) = [m for m in _server_get(url, token, "models") if m["name"] == model]
    return found["aliases"].get("production")


def _wait_alias(page, model: str, version: int) -> None:
    page.wait_for_function(
        """([model, version]) => document.querySelector(
            `[data-testid="mlops-model"][data-model-name="${model}"] `
            + '[data-testid="mlops-alias"][data-alias="production"]'
        )?.getAttribute('data-version') === String(version)""",
        arg=[model, version],
        timeout=30_000,
    )


def _server_schedule(url: str, token: str, name: str) -> dict:
    (found,) = [s for s in _server_get(url, token, "schedules") if s["name"] == name]
    return found


# -- the panel as a daily tool: each test below failed before its fix --------------------


def test_roll_back_names_the_version_the_server_returns_to(panel, lab):
    """Rollback walks the holder stack; the dialog must promise what the server will do."""
    url, token, _ = lab
    page = panel
    fraud = _model(page, "fraud")
    fraud.wait_for()
    dialog = _promote_dialog(page, "fraud", 2)
    dialog.get_by_role("button", name="Promote").click()
    _wait_alias(page, "fraud", 2)  # holders so far: v1, v3, v2
    for step, (promised, lands) in enumerate([("v2 back to v3", 3), ("v3 back to v1", 1)], 1):
        _alias(page, "fraud").locator('[data-testid="mlops-rollback"]').click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        text = dialog.inner_text()
        page.screenshot(path=str(_shot(f"rollback-{step}-dialog")))
        assert promised in text, text
        dialog.get_by_role("button", name="Roll back").click()
        dialog.wait_for(state="detached")
        _wait_alias(page, "fraud", lands)
        assert _server_alias(url, token, "fraud") == lands
    # v1 was the first holder: nothing earlier to return to
    button = _alias(page, "fraud").locator('[data-testid="mlops-rollback"]')
    assert button.is_disabled()
    assert "nothing earlier" in (button.get_attribute("title") or "")
    page.screenshot(path=str(_shot("rollback-nothing-earlier")))


def test_run_now_asks_first_returns_at_once_shows_progress_and_cancels(panel, lab):
    """Run now of a notebook that promotes: a confirmation, then progress, a run link, cancel."""
    url, token, _ = lab
    page = panel
    page.locator('[data-testid="mlops-tab-schedules"]').click()
    row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="promote-canary"]')
    row.wait_for()
    row.locator('[data-testid="mlops-run-now"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=5_000)  # the notebook can move production: asked first
    assert "production" in dialog.inner_text()
    page.screenshot(path=str(_shot("run-now-confirm")))
    dialog.get_by_role("button", name="Run now").click()
    # The request came back at once: progress shows while the notebook runs.
    progress = row.locator('[data-testid="mlops-slot-progress"]')
    progress.wait_for(timeout=15_000)
    page.wait_for_function(
        """() => /cell [1-9]\\d* of \\d+/.test(document.querySelector(
            '[data-schedule-name="promote-canary"] [data-testid="mlops-slot-progress"]'
        )?.textContent || '')""",
        timeout=60_000,
    )
    page.screenshot(path=str(_shot("run-now-progress")))
    run_id = row.locator('[data-testid="mlops-slot"] [data-testid="mlops-slot-run"]').get_attribute(
        "data-run-id"
    )
    assert run_id
    row.locator('[data-testid="mlops-cancel"]').click()
    page.wait_for_function(
        """() => (document.querySelector('[data-schedule-name="promote-canary"]')
            ?.textContent || '').includes('cancelled by')""",
        timeout=60_000,
    )
    page.screenshot(path=str(_shot("run-now-cancelled")))
    run = _server_get(url, token, f"runs/{run_id}")
    assert run["status"] == "failed" and "cancelled by" in run["error"], run
    assert _server_alias(url, token, "canary") == 1  # cancelled before it promoted
    # the run is a link
    row.locator('[data-testid="mlops-last-slot"] [data-testid="mlops-slot-run"]').click()
    detail = page.locator(f'[data-testid="mlops-run-detail"][data-run-id="{run_id}"]')
    detail.wait_for(timeout=15_000)
    assert "cancelled by" in detail.inner_text()


def test_drift_tab_names_the_checked_version_and_the_unchecked_holder(panel, lab):
    """The latest check was against v1; once v2 holds production the tab must say so."""
    url, token, _ = lab
    page = panel
    _server_post(url, token, "models/churn/promote", {"version": 2, "reason": "drift tab test"})
    try:
        page.locator('[data-testid="mlops-tab-drift"]').click()
        card = page.locator('[data-testid="mlops-drift-model"][data-model-name="churn"]')
        card.wait_for()
        page.wait_for_function(
            """() => (document.querySelector(
                '[data-testid="mlops-drift-model"][data-model-name="churn"]'
            )?.textContent || '').includes('production is now v2')""",
            timeout=10_000,
        )
        text = card.inner_text()
        page.screenshot(path=str(_shot("drift-checked-version")))
        assert "checked v1" in text.lower(), text
        assert "never checked" in text, text
    finally:
        _server_post(url, token, "models/churn/rollback", {"reason": "drift tab test done"})


def test_drift_notes_read_as_text_with_numbers_and_alerts(panel):
    """Type changes as text, performance with numbers, the alert, calm colours for calm columns."""
    page = panel
    page.locator('[data-testid="mlops-tab-drift"]').click()
    card = page.locator('[data-testid="mlops-drift-model"][data-model-name="churn"]')
    card.wait_for()
    text = card.inner_text()
    assert "paperless_billing: bool → int64" in text, text
    assert '{"column"' not in text
    assert re.search(r"accuracy 0\.8287 → 0\.\d+", text), text
    assert "alert" in text.lower(), text
    clipped = card.evaluate(
        """c => [...c.querySelectorAll('li, p, div')]
            .filter(e => (e.scrollWidth > e.clientWidth + 1
                          && getComputedStyle(e).overflow !== 'visible')
                         || e.getBoundingClientRect().right > c.getBoundingClientRect().right + 1)
            .map(e => e.textContent.slice(0, 60))"""
    )
    assert clipped == [], clipped
    card.locator("summary", has_text="without drift").click()
    fills = page.evaluate(
        """() => {
            const card = document.querySelector(
                '[data-testid="mlops-drift-model"][data-model-name="churn"]');
            const fill = sev => {
                const bar = card.querySelector(
                    `figure[data-severity="${sev}"] .mlops-Chart-cur`);
                return bar ? getComputedStyle(bar).fill : null;
            };
            return { drift: fill('drift'), ok: fill('ok') };
        }"""
    )
    page.screenshot(path=str(_shot("drift-notes-and-calm-columns")))
    assert fills["ok"] and fills["drift"] and fills["ok"] != fills["drift"], fills


def test_default_width_fits_the_runs_and_the_state_survives_a_reload(panel, lab):
    """Run names on one line, the close button inside, the detail in view, all after a reload."""
    _, _, ids = lab
    page = panel
    page.wait_for_timeout(300)  # the panel sizes itself one frame after it shows
    panel_box = page.locator("#mlops-nb-panel").bounding_box()
    assert panel_box["width"] >= 340, panel_box
    page.locator('[data-testid="mlops-tab-runs"]').click()
    row = page.locator(f'[data-testid="mlops-run"][data-run-id="{ids["notebook_run"]}"]')
    row.wait_for()
    wrapped = page.evaluate(
        """() => [...document.querySelectorAll('.mlops-RunRow-title')].filter(e => {
            const range = document.createRange();
            range.selectNodeContents(e);
            return range.getClientRects().length > 1;
        }).map(e => e.textContent)"""
    )
    assert wrapped == [], wrapped
    row.click()
    detail = page.locator(f'[data-testid="mlops-run-detail"][data-run-id="{ids["notebook_run"]}"]')
    detail.wait_for()
    page.wait_for_timeout(500)  # let a scroll settle
    top = detail.evaluate("d => d.getBoundingClientRect().top")
    assert top < page.viewport_size["height"] - 100, top
    close = detail.locator('[aria-label="Close the run"]').bounding_box()
    assert close["x"] + close["width"] <= panel_box["x"] + panel_box["width"], (close, panel_box)
    page.screenshot(path=str(_shot("runs-default-width")))
    _reload(page)
    assert page.locator('[data-testid="mlops-tab-runs"]').get_attribute("aria-selected") == "true"
    page.locator(f'[data-testid="mlops-run-detail"][data-run-id="{ids["notebook_run"]}"]').wait_for(
        timeout=30_000
    )
    page.wait_for_timeout(300)
    again = page.locator("#mlops-nb-panel").bounding_box()
    assert abs(again["width"] - panel_box["width"]) <= 2, (again, panel_box)
    page.screenshot(path=str(_shot("runs-after-reload")))


def test_numbers_and_times_follow_one_rule(lab, browser):
    """4 significant digits; every time with its zone, here the browser's (Berlin, UTC+1)."""
    url, token, _ = lab
    context, page = _open_lab(browser, url, token, timezone="Europe/Berlin")
    try:
        _open_panel(page)
        churn = _model(page, "churn")
        churn.wait_for()
        v1 = churn.locator('[data-testid="mlops-version"][data-version="1"]')
        assert "0.8287" in v1.inner_text()
        when = churn.locator('[data-testid="mlops-alias-event"] time').first.inner_text()
        page.screenshot(path=str(_shot("times-in-berlin")))
        assert re.fullmatch(r"\w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC\+1", when), when
        assert not page.errors, page.errors
    finally:
        context.close()


def test_a_refused_promotion_is_kept_in_the_alias_history(panel, lab):
    url, token, _ = lab
    page = panel
    churn = _model(page, "churn")
    churn.wait_for()
    dialog = _promote_dialog(page, "churn", 2)
    dialog.locator('[data-testid="mlops-gate-input"]').fill("accuracy>=0.95")
    dialog.get_by_role("button", name="Promote").click()
    # another test may have left a refusal of its own: wait for this one
    refused = churn.locator(
        '[data-testid="mlops-alias-event"][data-action="refused"]', has_text="accuracy>=0.95"
    )
    refused.wait_for(timeout=10_000)
    text = refused.inner_text()
    page.screenshot(path=str(_shot("refused-in-history")))
    assert "accuracy>=0.95" in text and "(jupyter)" in text, text
    # nothing moved, and it does not read as a move; the failed condition is named
    assert "v1 ↛ v2" in text and "v1 → v2" not in text, text
    assert "0.86 is not >= 0.95" in text, text
    history = _server_get(url, token, "models/churn")["history"]
    assert any(c["action"] == "refused" and c["to_version"] == 2 for c in history)
    assert _server_alias(url, token) == 1


def test_version_metrics_line_up_in_columns(panel):
    page = panel
    churn = _model(page, "churn")
    churn.wait_for()
    head = churn.locator('[data-testid="mlops-metric-head"] .mlops-metric', has_text="accuracy")
    cells = [
        churn.locator(f'[data-testid="mlops-version"][data-version="{v}"] [data-metric="accuracy"]')
        for v in (1, 2)
    ]
    assert [c.inner_text() for c in cells] == ["0.8287", "0.86"]
    lefts = {round(box["x"]) for box in [head.bounding_box(), *(c.bounding_box() for c in cells)]}
    page.screenshot(path=str(_shot("version-metric-columns")))
    assert len(lefts) == 1, lefts  # one column: read down it to compare versions


def test_version_rows_name_the_producing_run_apart_from_the_estimator(panel):
    page = panel
    tiny = _model(page, "tiny")
    tiny.wait_for()
    row = tiny.locator('[data-testid="mlops-version"][data-version="1"]')
    produced = row.locator('[data-testid="mlops-produced-by"]')
    produced.wait_for(timeout=10_000)
    assert "tiny_tracked.ipynb" in produced.inner_text()
    estimator = row.locator('[data-testid="mlops-estimator"]').inner_text()
    assert "LogisticRegression" in estimator and "tiny_tracked" not in estimator
    page.screenshot(path=str(_shot("version-produced-by")))


def test_runs_filter_sort_by_a_metric_column_and_keep_it_across_a_reload(panel, lab):
    """The server filters and sorts; the panel shows its page, a metric column, and says why
    a filter it cannot read was refused."""
    import urllib.parse

    url, token, _ = lab
    page = panel
    page.locator('[data-testid="mlops-tab-runs"]').click()
    box = page.locator('[data-testid="mlops-run-filter"]')
    box.fill("accuracy >= 0.8 and name ~ r")
    box.press("Enter")
    wanted = _server_get(
        url, token, "runs/search?" + urllib.parse.urlencode({"q": "accuracy >= 0.8 and name ~ r"})
    )
    expected = {r["run_id"] for r in wanted["runs"]}
    assert expected and wanted["total"] < len(_server_get(url, token, "runs?limit=0"))
    rows = page.locator('[data-testid="mlops-run"]')
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"mlops-run\"]').length === n",
        arg=len(expected),
        timeout=10_000,
    )
    assert {r.get_attribute("data-run-id") for r in rows.all()} == expected
    assert f"{wanted['total']} runs" in page.locator('[data-testid="mlops-run-count"]').inner_text()
    # accuracy as a column, sorted on the server, largest first
    page.locator('[data-testid="mlops-column-chooser"] summary').click()
    page.locator('[data-testid="mlops-column-choice"][data-column="metrics.accuracy"]').check()
    page.locator('[data-testid="mlops-sort-metrics.accuracy"]').click()
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=\"mlops-sort-metrics.accuracy\"]')"
        "?.getAttribute('aria-sort')) === 'descending'",
        timeout=10_000,
    )
    cells = page.locator('td[data-column="metrics.accuracy"]').all_inner_texts()
    assert [float(c) for c in cells] == sorted((float(c) for c in cells), reverse=True), cells
    page.screenshot(path=str(_shot("runs-filtered-sorted")))
    # a filter the server cannot read: its reason, under the box; the last good page stays
    box.fill("accuracy >")
    box.press("Enter")
    error = page.locator('[data-testid="mlops-run-filter-error"]')
    error.wait_for(timeout=10_000)
    assert error.inner_text().startswith("cannot read the filter at the end")
    assert rows.count() == len(expected)
    page.screenshot(path=str(_shot("runs-filter-refused")))
    box.fill("accuracy >= 0.8 and name ~ r")
    box.press("Enter")
    error.wait_for(state="detached", timeout=10_000)
    _reload(page)
    assert box.input_value() == "accuracy >= 0.8 and name ~ r"
    page.locator('[data-testid="mlops-sort-metrics.accuracy"]').wait_for(timeout=10_000)
    assert rows.count() == len(expected)


def test_tick_two_runs_and_compare_them_side_by_side(panel, lab):
    url, token, _ = lab
    page = panel
    page.locator('[data-testid="mlops-tab-runs"]').click()
    box = page.locator('[data-testid="mlops-run-filter"]')
    box.fill("model = churn")
    box.press("Enter")
    churn = _server_get(url, token, "runs/search?q=model%20%3D%20churn")["runs"]
    assert len(churn) == 2
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"mlops-run\"]').length === 2",
        timeout=10_000,
    )
    for run in churn:
        row = page.locator(f'[data-testid="mlops-run"][data-run-id="{run["run_id"]}"]')
        row.locator('[data-testid="mlops-run-check"]').check()
    assert page.locator('[data-testid="mlops-run-detail"]').count() == 0  # ticking is not opening
    page.locator('[data-testid="mlops-compare"]').click()
    view = page.locator('[data-testid="mlops-compare-view"]')
    view.wait_for(timeout=15_000)
    accuracy = view.locator('[data-testid="mlops-compare-row"][data-name="accuracy"]')
    assert accuracy.get_attribute("data-differs") == "true"
    shown = sorted(accuracy.locator("td").all_inner_texts())
    page.screenshot(path=str(_shot("compare-runs")))
    assert shown == ["0.8287", "0.86"], shown
    view.locator('[data-testid="mlops-compare-only-differences"]').check()
    rows = view.locator('[data-testid="mlops-compare-row"]')
    assert all(r.get_attribute("data-differs") == "true" for r in rows.all())
    # the code each run ran, diffed by the server: the changed line out and in
    code = view.locator('[data-testid="mlops-compare-code"]')
    assert code.count() == 1
    first = view.locator("thead th[data-run-id]").first.get_attribute("data-run-id")
    c_of = {r["run_id"]: 1.0 if r["model_version"] == 1 else 0.5 for r in churn}
    (later,) = [run_id for run_id in c_of if run_id != first]
    lines = {kind: [t.strip() for t in code.locator(f'[data-kind="{kind}"]').all_inner_texts()]
             for kind in ("remove", "add")}  # fmt: skip
    assert lines == {
        "remove": [f"-model = churn_pipeline(X, y, C={c_of[first]})"],
        "add": [f"+model = churn_pipeline(X, y, C={c_of[later]})"],
    }
    assert not page.errors, page.errors


def test_schedules_read_the_cron_in_words_and_list_slots_with_their_notebooks(panel, lab):
    url, token, _ = lab
    page = panel
    page.locator('[data-testid="mlops-tab-schedules"]').click()
    row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="nightly-tiny"]')
    row.wait_for()
    assert row.locator('[data-testid="mlops-cron-text"]').inner_text() == (
        "At 03:00 every day (Europe/Berlin)"
    )
    (slot,) = _server_schedule(url, token, "nightly-tiny")["recent"]
    row.locator('[data-testid="mlops-slots"] summary').click()
    line = row.locator(f'[data-testid="mlops-slot-row"][data-slot-id="{slot["id"]}"]')
    assert "Fri 2026-11-20 02:00 UTC" in line.inner_text()  # the slot's own time, 03:00 Berlin
    assert line.get_attribute("data-status") == "finished"
    line.locator('[data-testid="mlops-slot-notebook"]').click()
    view = page.locator(".mlops-NotebookView")
    view.wait_for(timeout=30_000)
    page.screenshot(path=str(_shot("schedule-slot-notebook")))
    assert f"executed notebook of run {slot['run_id']}" in view.inner_text()


# -- widgets and magics in a real notebook ------------------------------------------------


def _write_notebook(root: str, name: str, sources: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, str(Path(root) / name))
    return name


def _open_notebook(browser, url: str, token: str, name: str):
    """The notebook alone in a workspace of its own: nothing another test left open is restored."""
    return _open_lab(browser, url, token, f"lab/workspaces/{secrets.token_hex(4)}/tree/{name}")


def _run_all(page) -> None:
    """Run every cell of the notebook on show, once its kernel is ready; wait for the last."""
    page.locator(".jp-NotebookPanel").wait_for(timeout=60_000)
    # Started, not awaited: the command's promise settles only when every cell has run.
    page.evaluate(
        """async () => {
            const app = window.jupyterapp;
            const notebook = app.shell.currentWidget;
            await notebook.context.ready;
            await notebook.sessionContext.ready;
            app.commands.execute('notebook:run-all-cells');
        }"""
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-InputArea-prompt')]"
        ".every(p => /\\[\\d+\\]/.test(p.textContent))",
        timeout=120_000,
    )


def _stop_kernels(url: str, token: str) -> None:
    for session in _jupyter_api(url, token, "sessions"):
        _jupyter_api(url, token, f"sessions/{session['id']}", method="DELETE")


def _jupyter_api(url: str, token: str, route: str, method: str = "GET"):
    import json

    request = urllib.request.Request(
        f"{url}/api/{route}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def test_widget_labels_its_fields_and_its_fallback_outlives_the_kernel(lab, browser):
    url, token, ids = lab
    name = _write_notebook(
        ids["root"],
        "registry-widget.ipynb",
        ["from mlops_nb.widgets import RegistryBrowser\nRegistryBrowser('loans')"],
    )
    context, page = _open_notebook(browser, url, token, name)
    try:
        _run_all(page)
        widget = page.locator(".jp-OutputArea-output .widget-vbox").first
        widget.wait_for(timeout=30_000)
        labels = [t.strip().lower() for t in widget.locator(".widget-label").all_inner_texts()]
        assert "gate" in labels and "reason" in labels, labels
        widget.get_by_role("button", name="Promote…").click()
        confirm = widget.locator(
            ".widget-hbox", has=page.get_by_role("button", name="Confirm")
        ).locator(".widget-html")
        confirm.filter(has_text="Promote").wait_for()
        asked = confirm.inner_text()
        page.screenshot(path=str(_shot("widget-promote-confirm")))
        assert re.search(r"held by (version |v)1\b", asked), asked
        widget.get_by_role("button", name="Confirm").click()
        page.wait_for_function(
            "() => (document.querySelector('.jp-OutputArea-output')?.textContent || '')"
            ".includes('1 → 2')",
            timeout=30_000,
        )
        assert _server_alias(url, token, "loans") == 2
        import nbformat

        # The kernel re-sends the bundle after the action; the view may show the
        # move first. Save until the file holds it (a stale fallback never does).
        html = ""
        for _ in range(20):
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            page.wait_for_timeout(1_500)
            saved = nbformat.read(str(Path(ids["root"]) / name), as_version=4)
            outputs = [o for o in saved.cells[0].outputs if "data" in o]
            html = "".join(o["data"].get("text/html", "") for o in outputs)
            if "1 → 2" in html:
                break
        assert "1 → 2" in html, "the saved fallback is stale"
    finally:
        context.close()
    _stop_kernels(url, token)  # as after a server restart: the widget models are gone
    context, page = _open_notebook(browser, url, token, name)
    try:
        output = page.locator(".jp-OutputArea-output").first
        output.wait_for(timeout=60_000)
        page.wait_for_timeout(3_000)  # give the widget manager its chance to fail
        text = output.inner_text()
        page.screenshot(path=str(_shot("widget-after-restart")))
        assert "model not found" not in text, text
        assert "versions of loans" in text, text
    finally:
        context.close()
        _stop_kernels(url, token)


def test_a_failing_tracked_cell_shows_the_users_traceback(lab, browser):
    url, token, ids = lab
    name = _write_notebook(
        ids["root"],
        "failing-track.ipynb",
        [
            "%load_ext mlops_nb",
            "%%mlops_track boom\nx = 1\nraise RuntimeError('boom: data file missing')",
        ],
    )
    context, page = _open_notebook(browser, url, token, name)
    try:
        _run_all(page)
        cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
        output = cell.locator(".jp-OutputArea")
        output.wait_for()
        page.wait_for_timeout(500)
        text = output.inner_text()
        prompt = cell.locator(".jp-InputArea-prompt").inner_text()
        page.screenshot(path=str(_shot("failing-track-cell")))
        assert "RuntimeError: boom: data file missing" in text, text
        # the user's frame under the cell's own execution count, line 3 of the cell
        count = re.search(r"\[(\d+)\]", prompt)
        assert count and int(count[1]) > 0, prompt
        assert "Cell In[0]" not in text and f"Cell In[{count[1]}], line 3" in text, text
        for internal in ("magics.py", "/mlops_nb/", "site-packages"):
            assert internal not in text, text
        assert re.search(r"recorded run [0-9a-f]{12} of boom as failed", text), text
        runs = _server_get(url, token, "runs?model=boom")
        assert runs and runs[0]["status"] == "failed"
    finally:
        context.close()
        _stop_kernels(url, token)


# -- schedules made in the panel -------------------------------------------------------------


def _cron_reading(url: str, token: str, expr: str, tz: str) -> str:
    from urllib.parse import urlencode

    return _server_get(url, token, "cron?" + urlencode({"expr": expr, "tz": tz}))["text"]


def _wait_text(page, selector: str, text: str, exact: bool = True) -> None:
    page.wait_for_function(
        """([selector, text, exact]) => {
            const found = document.querySelector(selector)?.textContent ?? '';
            return exact ? found === text : found.includes(text);
        }""",
        arg=[selector, text, exact],
        timeout=30_000,
    )


def test_schedule_a_notebook_from_its_toolbar_then_edit_and_remove_it(lab, browser):
    url, token, ids = lab
    shutil.copyfile(TINY, Path(ids["root"]) / "weekly report.ipynb")
    context, page = _open_notebook(browser, url, token, "weekly report.ipynb")
    try:
        page.locator(".jp-NotebookPanel").wait_for(timeout=60_000)
        page.locator('.jp-NotebookPanel [data-testid="mlops-schedule-notebook"]').click()
        dialog = page.locator('[data-testid="mlops-schedule-dialog"]')
        dialog.wait_for()
        # the notebook and a name from it are filled in; every field has its label
        assert (
            dialog.get_by_label("Notebook or pipeline file", exact=True).input_value()
            == "weekly report.ipynb"
        )
        assert dialog.get_by_label("Name", exact=True).input_value() == "weekly-report"
        for label in ("Cron expression", "Time zone", "After downtime", "Alert"):
            assert dialog.get_by_label(label, exact=True).count() == 1, label
        # the server reads the cron while it is typed, and says what it refuses
        cron, zone = (
            dialog.get_by_label("Cron expression", exact=True),
            dialog.get_by_label("Time zone", exact=True),
        )
        cron.fill("61 * * * *")
        _wait_text(page, '[data-testid="mlops-cron-reading"]', "'61' is not a valid minute", False)
        cron.fill("0 6 1 * *")
        zone.fill("Europe/Berlin")
        words = _cron_reading(url, token, "0 6 1 * *", "Europe/Berlin")
        _wait_text(page, '[data-testid="mlops-cron-words"]', words)
        dialog.get_by_label("After downtime", exact=True).select_option("all")
        dialog.get_by_role("button", name="Add parameter").click()
        dialog.locator('[name="parameter-key"]').first.fill("x")
        dialog.locator('[name="parameter-value"]').first.fill("3")
        dialog.get_by_label("Retries after a failure", exact=True).fill("2")
        dialog.get_by_label("Timeout per attempt (seconds)", exact=True).fill("600")
        dialog.get_by_label("Alert", exact=True).select_option("always")
        page.screenshot(path=str(_shot("schedule-new-dialog")))
        page.locator(".jp-Dialog").get_by_role("button", name="Create", exact=True).click()

        row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="weekly-report"]')
        row.wait_for(timeout=30_000)
        saved = _server_schedule(url, token, "weekly-report")
        assert (saved["cron"], saved["tz"], saved["catchup"]) == (
            "0 6 1 * *",
            "Europe/Berlin",
            "all",
        )
        assert saved["parameters"] == {"x": 3} and saved["retries"] == 2
        assert saved["timeout_s"] == 600 and saved["alert_on"] == "always"
        assert saved["target"] == str((Path(ids["root"]) / "weekly report.ipynb").resolve())
        assert row.locator('[data-testid="mlops-cron-text"]').inner_text() == words
        page.screenshot(path=str(_shot("schedule-created")))

        # edit: a refused cron comes back beside its field and changes nothing
        row.locator('[data-testid="mlops-edit-schedule"]').click()
        dialog.wait_for()
        assert dialog.get_by_label("Name", exact=True).get_attribute("readonly") is not None
        assert dialog.get_by_label("Cron expression", exact=True).input_value() == "0 6 1 * *"
        dialog.get_by_label("Cron expression", exact=True).fill("0 25 * * *")
        page.locator(".jp-Dialog").get_by_role("button", name="Save", exact=True).click()
        _wait_text(page, '[data-testid="mlops-error-cron"]', "'25' is not a valid hour", False)
        page.screenshot(path=str(_shot("schedule-edit-refused")))
        assert _server_schedule(url, token, "weekly-report")["cron"] == "0 6 1 * *"
        dialog.get_by_label("Cron expression", exact=True).fill("30 7 * * 1-5")
        dialog.get_by_label("Retries after a failure", exact=True).fill("0")
        page.locator(".jp-Dialog").get_by_role("button", name="Save", exact=True).click()
        edited = _cron_reading(url, token, "30 7 * * 1-5", "Europe/Berlin")
        _wait_text(
            page, '[data-schedule-name="weekly-report"] [data-testid="mlops-cron-text"]', edited
        )
        saved = _server_schedule(url, token, "weekly-report")
        assert (saved["cron"], saved["retries"], saved["parameters"]) == (
            "30 7 * * 1-5",
            0,
            {"x": 3},
        )

        # remove, after a confirmation
        row.locator('[data-testid="mlops-remove-schedule"]').click()
        confirm = page.locator(".jp-Dialog")
        confirm.filter(has_text="Remove schedule weekly-report?").wait_for()
        page.screenshot(path=str(_shot("schedule-remove-confirm")))
        confirm.get_by_role("button", name="Remove").click()
        row.wait_for(state="detached", timeout=30_000)
        assert "weekly-report" not in [s["name"] for s in _server_get(url, token, "schedules")]
        assert page.errors == [] and page.alerts == []
    finally:
        page.screenshot(path=str(_shot("schedule-toolbar-edit-remove")))
        context.close()
        _stop_kernels(url, token)


def test_schedule_a_notebook_from_the_file_browser(lab, browser):
    url, token, ids = lab
    shutil.copyfile(TINY, Path(ids["root"]) / "from-browser.ipynb")
    context, page = _open_lab(browser, url, token, f"lab/workspaces/{secrets.token_hex(4)}")
    try:
        # activate, not a click on its tab: a click on the open tab would close it
        page.wait_for_function("() => window.jupyterapp?.shell", timeout=30_000)
        page.evaluate(
            """async () => {
                await window.jupyterapp.restored;
                window.jupyterapp.shell.activateById('filebrowser');
            }"""
        )
        item = page.locator('.jp-DirListing-item[data-file-type="notebook"]').filter(
            has_text="from-browser.ipynb"
        )
        from playwright.sync_api import TimeoutError as NotYet

        entry = page.locator(".lm-Menu-item", has_text="New Schedule…")
        # The context menu takes its entries from the plugins' settings, which may
        # still be loading right after the page: open it again until ours is there.
        for _ in range(10):
            item.click(button="right", timeout=30_000)
            try:
                entry.wait_for(timeout=3_000)
                break
            except NotYet:
                page.keyboard.press("Escape")
        page.screenshot(path=str(_shot("schedule-file-browser-menu")))
        entry.click()
        dialog = page.locator('[data-testid="mlops-schedule-dialog"]')
        dialog.wait_for()
        assert (
            dialog.get_by_label("Notebook or pipeline file", exact=True).input_value()
            == "from-browser.ipynb"
        )
        assert dialog.get_by_label("Name", exact=True).input_value() == "from-browser"
        page.screenshot(path=str(_shot("schedule-from-file-browser")))
        page.locator(".jp-Dialog").get_by_role("button", name="Create", exact=True).click()
        row = page.locator('[data-testid="mlops-schedule"][data-schedule-name="from-browser"]')
        row.wait_for(timeout=30_000)
        assert _server_schedule(url, token, "from-browser")["target"].endswith("from-browser.ipynb")
        assert page.errors == []
    finally:
        context.close()


# -- serving: a real prediction server on the lab's store ----------------------------------


def _serve(home: Path, ref: str, log: Path) -> tuple[subprocess.Popen, dict]:
    """``mlops-nb serve ref`` on a loopback port the kernel picks; (process, what it reports)."""
    import json
    import select

    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlops_nb", "--home", str(home), "serve", ref,
             "--host", "127.0.0.1", "--port", "0", "--json"],
            stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
            if line:
                return proc, json.loads(line)
    _stop_process(proc, timeout=60)
    raise AssertionError(f"mlops-nb serve did not start:\n{log.read_text()[-3000:]}")


def _predict(port: int, body: dict) -> int:
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/predict", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_serving_tab_shows_a_running_server_its_version_and_numbers(panel, lab):
    import json

    from mlops_nb.datasets import make_churn, split

    url, token, ids = lab
    page = panel
    SHOTS.mkdir(parents=True, exist_ok=True)
    proc, info = _serve(Path(ids["root"]) / ".mlops", "churn", SHOTS / "serve.log")
    try:
        _, X_test, _, _ = split(make_churn(800, seed=5), seed=5)
        rows = json.loads(X_test.head(3).to_json(orient="records"))
        assert [_predict(info["port"], {"rows": rows}) for _ in range(20)] == [200] * 20
        assert _predict(info["port"], {"rows": [{}]}) == 422  # one refused request
        page.locator('[data-testid="mlops-tab-serving"]').click()
        group = page.locator('[data-testid="mlops-serving-model"][data-model-name="churn"]')
        server = group.locator('[data-testid="mlops-server"]')
        server.wait_for(timeout=30_000)  # listed from its start, before any numbers
        assert server.get_attribute("data-version") == str(info["version"])
        address = server.locator('[data-testid="mlops-server-address"]').inner_text()
        assert address == f"127.0.0.1:{info['port']}"
        assert "production" in server.inner_text()
        # Its numbers arrive with the process's next write (every 10 s): refresh until then.
        rate = server.locator('[data-testid="mlops-server-rate"]')
        deadline = time.monotonic() + 60
        while not (rate.get_attribute("title") or "").startswith("21 since"):
            assert time.monotonic() < deadline, rate.get_attribute("title")
            page.locator('[data-testid="mlops-refresh"]').click()
            time.sleep(1)
        assert server.get_attribute("data-stale") == "false"
        assert re.fullmatch(r"[\d.]+/min", rate.inner_text()) and rate.inner_text() != "0/min"
        latency = server.locator('[data-testid="mlops-server-latency"]').inner_text()
        assert re.fullmatch(r"p50 [\d.]+ ms · p99 [\d.]+ ms", latency), latency
        errors = server.locator('[data-testid="mlops-server-errors"]').inner_text()
        assert errors.endswith("%") and errors != "0 %", errors  # 1 of 21 failed
        (listed,) = _server_get(url, token, "serving")["servers"]  # the page shows the API's
        assert listed["instance"] == server.get_attribute("data-instance")
        page.screenshot(path=str(_shot("serving-tab")))
    finally:
        _stop_process(proc, timeout=60)  # it writes its log and records its stop
    assert proc.returncode == 0, (SHOTS / "serve.log").read_text()[-3000:]
    assert _server_get(url, token, "serving") == {"servers": [], "deploys": []}  # it stopped
    page.locator('[data-testid="mlops-refresh"]').click()
    page.locator('[data-testid="mlops-serving-empty"]').wait_for(timeout=30_000)
