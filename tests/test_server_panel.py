"""The panel's one request per tab: ``GET /panel/models``, ``/panel/runs``, ``/panel/drift``.

Each answer must be exactly what the per-model and per-run routes give, put
together, read with a number of queries that does not grow with the registry.
"""

import json

import pytest
import sqlalchemy as sa

import mlops_nb
from mlops_nb import tracking
from mlops_nb.errors import GateFailedError
from mlops_nb.tracking import context

pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


async def call(jp_fetch, *path, headers=None, **params):
    response = await jp_fetch(
        "mlops-nb", "api", *path, params=params, headers=headers or {}, raise_error=False
    )
    assert response.headers["Content-Type"].startswith("application/json")
    return response.code, json.loads(response.body.decode()), response.headers


@pytest.fixture
def registry(churn_versions, fitted):
    """``churn`` (v1, v2; production moved twice and back, one refused promotion), a
    version made by a notebook run of a scheduled pipeline, and a model with a hostile name."""
    store = churn_versions
    mlops_nb.promote("churn", 1, store=store)
    mlops_nb.promote("churn", 2, store=store, reason=EVIL)
    mlops_nb.rollback("churn", store=store)
    with pytest.raises(GateFailedError):
        mlops_nb.promote("churn", 2, store=store, require="accuracy>=0.99")
    store.insert_run(
        {
            "run_id": "a" * 32,
            "kind": "pipeline",
            "name": "retrain",
            "status": "finished",
            "started_at": "2026-11-01T06:00:00.000000+00:00",
            "tags": {"schedule": "monthly"},
        },
        "cron",
    )
    store.insert_run(
        {
            "run_id": "b" * 32,
            "kind": "notebook",
            "name": "train.ipynb",
            "status": "finished",
            "started_at": "2026-11-01T06:00:01.000000+00:00",
            "parent_run_id": "a" * 32,
            "notebook_path": "/project/train.ipynb",
            "tags": {"step": "train"},
        },
        "cron",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(context.ENV_RUN_ID, "b" * 32)
        with tracking.track(store, "churn", model=fitted[0]):
            pass
    with tracking.track(store, EVIL, model=fitted[0], tags={"note": EVIL}):
        pass
    return store


async def test_models_is_every_models_summary_and_detail_in_one_answer(jp_fetch, registry):
    code, tab, headers = await call(jp_fetch, "panel", "models")
    assert code == 200
    _, summaries, _ = await call(jp_fetch, "models")
    assert [m["summary"] for m in tab["models"]] == summaries
    for entry in tab["models"]:
        name = entry["summary"]["name"]
        _, detail, _ = await call(jp_fetch, "models", name)
        shown = entry["detail"]
        assert {**shown, "versions": None} == {**detail, "versions": None}
        assert len(shown["versions"]) == len(detail["versions"])
        for version, full in zip(shown["versions"], detail["versions"], strict=True):
            # each version is its full document less what the tab does not show
            assert version == panel_part(full)
            _, alone, _ = await call(jp_fetch, "models", name, "versions", str(full["version"]))
            assert alone == full
    churn = next(m["detail"] for m in tab["models"] if m["summary"]["name"] == "churn")
    made = churn["versions"][-1]["produced_by"]  # v3: track run ← notebook ← pipeline
    assert made == {
        "notebook": "train.ipynb",
        "pipeline": "retrain",
        "step": "train",
        "schedule": "monthly",
    }
    assert churn["versions"][0]["produced_by"] == {}  # tracked outside any notebook
    assert not {"artifact_sha256", "data_sha256", "profile_sha256", "signature"} & set(
        churn["versions"][0]
    )
    assert [h["action"] for h in churn["history"]] == ["promote", "promote", "rollback", "refused"]
    assert churn["aliases"] == [{"alias": "production", "version": 1, "rollback_to": None}]
    # A hostile name is data: JSON text, sent as JSON, never markup of ours.
    assert EVIL in [m["summary"]["name"] for m in tab["models"]]
    timings = dict(t.split(";dur=") for t in headers["Server-Timing"].split(", "))
    assert set(timings) == {"app", "cpu"} and all(float(v) >= 0 for v in timings.values())


def panel_part(full: dict) -> dict:
    """What the Models tab carries of a version, from its full document (GET …/versions/V)."""
    keep = ("version", "run_id", "created_at", "created_by", "estimator", "metrics", "aliases")
    part = {k: full[k] for k in keep}
    part["estimator_name"] = full["estimator_name"]
    part["schema_columns"] = len(full["signature"])
    if full["description"] is not None:
        part["description"] = full["description"]
    if full["tags"]:
        part["tags"] = full["tags"]
    producer = full["produced_by"]
    part["produced_by"] = (
        None
        if producer is None
        else {
            k: producer[k]
            for k in ("notebook", "pipeline", "step", "schedule")
            if producer[k] is not None
        }
    )
    return part


async def test_drift_is_every_models_drift_view_in_one_answer(jp_fetch, registry):
    from mlops_nb.datasets import make_churn

    mlops_nb.check_drift("churn@production", make_churn(500, seed=1), store=registry)
    mlops_nb.check_drift("churn@production", make_churn(1000, seed=5, drift=0.9), store=registry)
    code, tab, _ = await call(jp_fetch, "panel", "drift")
    assert code == 200
    assert [d["model"] for d in tab["models"]] == sorted(["churn", EVIL])
    for view in tab["models"]:
        _, alone, _ = await call(jp_fetch, "drift", view["model"])
        assert view == alone
    churn, evil = (next(d for d in tab["models"] if d["model"] == n) for n in ("churn", EVIL))
    assert len(churn["history"]) == 2 and churn["latest"]["level"] == "drift"
    assert [a["kind"] for a in churn["alerts"]] == ["drift"]  # raised by the latest check only
    assert churn["holder"]["version"] == 1 and churn["holder"]["checks"] == 2
    assert evil["history"] == [] and evil["latest"] is None and evil["holder"] is None


async def test_runs_is_the_search_page_and_the_selected_run_in_one_answer(jp_fetch, registry):
    selected = registry.list_runs(name="churn")[0].run_id
    query = {"q": "accuracy > 0.5", "sort": "metrics.accuracy", "order": "asc", "limit": "1"}
    code, tab, _ = await call(jp_fetch, "panel", "runs", selected=selected[:8], **query)
    assert code == 200
    _, page, _ = await call(jp_fetch, "runs", "search", **query)
    _, run, _ = await call(jp_fetch, "runs", selected)
    assert tab == {"page": page, "error": None, "selected": run, "selected_error": None}
    assert page["total"] == 2 and len(page["runs"]) == 1
    code, tab, _ = await call(jp_fetch, "panel", "runs", q="name = '" + EVIL + "'")
    assert code == 200 and [r["name"] for r in tab["page"]["runs"]] == [EVIL]
    assert tab["page"]["runs"][0]["tags"] == {"note": EVIL}
    assert tab["selected"] is None and tab["selected_error"] is None


@pytest.mark.parametrize(
    "params, error",
    [({"q": "auc >"}, "stops short"), ({"q": "C = 1 and and"}, "cannot read the filter")],
)
async def test_runs_says_why_a_filter_cannot_be_read_and_still_shows_the_run(
    jp_fetch, registry, params, error
):
    selected = registry.list_runs()[0].run_id
    code, tab, _ = await call(jp_fetch, "panel", "runs", selected=selected, **params)
    assert code == 200 and tab["page"] is None and error in tab["error"]
    assert tab["selected"]["run_id"] == selected
    code, doc, _ = await call(jp_fetch, "runs", "search", **params)  # there, it is a 400
    assert code == 400 and doc["error"] == tab["error"]


@pytest.mark.parametrize("selected, error", [("f" * 32, "no run"), ("xyz", "not a run id")])
async def test_runs_says_why_the_selected_run_cannot_be_shown(jp_fetch, registry, selected, error):
    code, tab, _ = await call(jp_fetch, "panel", "runs", selected=selected)
    assert code == 200 and tab["selected"] is None and error in tab["selected_error"]
    assert tab["page"]["total"] == len(registry.list_runs())


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "abc"}, {"offset": "-1"}, {"order": "up"}, {"q": "a" * 2001}],
)
async def test_runs_refuses_what_the_document_rules_out(jp_fetch, registry, params):
    code, doc, _ = await call(jp_fetch, "panel", "runs", **params)
    assert code == 400 and doc["type"] == "InvalidInputError"


@pytest.mark.parametrize("tab", ["models", "runs", "drift"])
async def test_every_tab_needs_credentials(jp_fetch, registry, tab):
    for headers in ({"Authorization": ""}, {"Authorization": "token not-the-token"}):
        response = await jp_fetch(
            "mlops-nb", "api", "panel", tab, headers=headers, raise_error=False
        )
        assert response.code == 403, headers
        body = json.loads(response.body.decode())
        assert body["type"] == "HTTPError" and "models" not in body


async def test_a_refresh_after_a_change_shows_it(jp_fetch, registry):
    from mlops_nb.datasets import make_churn

    _, before, _ = await call(jp_fetch, "panel", "models")
    _, again, _ = await call(jp_fetch, "panel", "models")  # unchanged: the kept document
    assert again == before
    mlops_nb.promote("churn", 3, store=registry)  # another process's write, as a kernel's
    _, after, _ = await call(jp_fetch, "panel", "models")
    churn = next(m for m in after["models"] if m["summary"]["name"] == "churn")
    assert churn["summary"]["aliases"] == {"production": 3}
    assert churn["detail"]["history"][-1]["to_version"] == 3
    _, drift, _ = await call(jp_fetch, "panel", "drift")
    mlops_nb.check_drift("churn:1", make_churn(300, seed=2), store=registry)
    _, drift_after, _ = await call(jp_fetch, "panel", "drift")
    counts = [len(d["history"]) for d in (drift, drift_after) for d in d["models"]]
    assert counts == [0, 0, 0, 1]  # A to Z: the hostile name ("<" sorts first), then churn


def test_the_tab_cache_builds_again_exactly_when_the_store_changed(store):
    from mlops_nb.server.panel import TabCache

    built = []

    def build(s):
        built.append(1)
        return {"runs": len(s.list_runs())}

    cache = TabCache()
    assert cache.body(store, "t", build) == '{"runs":0}'  # an empty chain too
    assert cache.body(store, "t", build) == '{"runs":0}' and len(built) == 1
    store.insert_run(
        {"run_id": "c" * 32, "kind": "track", "name": "m", "status": "running",
         "started_at": "2026-11-01T06:00:00.000000+00:00"},
        "ana",
    )  # fmt: skip
    assert cache.body(store, "t", build) == '{"runs":1}' and len(built) == 2
    assert cache.body(store, "other", build) == '{"runs":1}' and len(built) == 3


# -- the core: a fixed number of queries, however large the registry -------------------


def count_queries(store, func):
    """How many SQL statements ``func()`` sends to the store's database."""
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(store._engine, "before_cursor_execute", seen)
    try:
        func()
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", seen)
    return len(statements)


def test_a_tab_reads_the_same_number_of_queries_for_2_or_12_models(store, fitted, churn_data):
    from mlops_nb.server.panel import RunSearch, drift_tab, models_tab, runs_tab

    X = churn_data[0]

    def add_models(names):
        for name in names:
            for _ in range(2):
                with tracking.track(store, name, model=fitted[0], data=X):
                    pass
            mlops_nb.promote(name, 1, store=store)
            mlops_nb.promote(name, 2, store=store)
            mlops_nb.check_drift(name, X.head(200), store=store)

    def tabs():
        return (
            count_queries(store, lambda: models_tab(store)),
            count_queries(store, lambda: drift_tab(store)),
            count_queries(store, lambda: runs_tab(store, RunSearch(limit=50), None)),
        )

    add_models(["m0", "m1"])
    few = tabs()
    add_models([f"m{i}" for i in range(2, 12)])
    many = tabs()
    assert few == many, f"queries for 2 models {few}, for 12 models {many}"
    assert len(models_tab(store)["models"]) == 12
