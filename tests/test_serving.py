"""The prediction server in process: input checks, errors, the token, the log, swaps, feedback.

The app runs under Starlette's test client (the ASGI lifespan starts and
stops the runtime); real server processes are in ``test_serve_process.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from models import FEATURES, numeric_data, numeric_model
from models import numeric_rows as rows
from starlette.routing import Route
from starlette.testclient import TestClient

import mlops_nb
from mlops_nb import registry, tracking
from mlops_nb.errors import InvalidInputError, SchemaMismatchError, UnavailableError
from mlops_nb.serving import history, reader
from mlops_nb.serving.app import create_app
from mlops_nb.serving.inputs import Column, InputSchema
from mlops_nb.serving.log import PredictionLog
from mlops_nb.serving.runtime import Runtime
from mlops_nb.store import audit

TOKEN = "correct-horse-battery-staple"


def start(store, ref="bench", token=None, **options):
    """A runtime and its app; the alias is looked at only when a test says so."""
    options = {"poll": 3600.0, "flush_every": 3600.0, **options}
    runtime = Runtime(store, ref, **options)
    return runtime, create_app(runtime, token=token, own_runtime=True)


@pytest.fixture
def served(bench):
    runtime, app = start(bench)
    with TestClient(app) as client:
        client.runtime = runtime
        yield client


def assert_close(got, want):
    import numpy as np

    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want), rtol=0, atol=1e-15)


def expected(C, start_row=0, count=1):
    X, _ = numeric_data()
    return numeric_model(C).predict_proba(X.iloc[start_row : start_row + count]).tolist()


# -- predictions ---------------------------------------------------------------------


def test_both_body_shapes_predict_what_the_model_predicts(served):
    by_rows = served.post("/predict", json={"rows": rows(0, 3)})
    assert by_rows.status_code == 200, by_rows.text
    doc = by_rows.json()
    assert doc["model"] == "bench" and doc["version"] == 1
    assert by_rows.headers["X-Model-Version"] == "1"
    assert by_rows.headers["X-Request-ID"] == doc["request_id"]
    assert doc["request_id"].startswith(served.runtime.instance + "-")
    assert_close(doc["probabilities"], expected(1.0, 0, 3))
    assert doc["classes"] == [0, 1]
    assert doc["predictions"] == [int(p[1] > 0.5) for p in doc["probabilities"]]
    reordered = list(reversed(FEATURES))
    data = [[row[c] for c in reordered] for row in rows(0, 3)]
    by_columns = served.post("/predict", json={"columns": reordered, "data": data})
    assert by_columns.status_code == 200
    assert by_columns.json()["probabilities"] == doc["probabilities"]
    assert by_columns.json()["request_id"] != doc["request_id"]


def test_the_array_shortcut_gives_what_the_frame_gives(bench):
    """The shortcut is taken for plain float columns only after the smoke test agreed."""
    runtime, _ = start(bench)
    with runtime:
        predictor = runtime.predictor
        assert predictor.uses_array
        checked = predictor.schema.parse({"rows": rows(0, 50)})
        framed = predictor._run(predictor.frame(checked), checked.count)
        arrayed = predictor.predict(checked)
        assert (framed.predictions == arrayed.predictions).all()
        assert (framed.probabilities == arrayed.probabilities).all()


def test_each_problem_with_the_rows_is_named(served):
    first = {k: v for k, v in rows()[0].items() if k != "x2"}
    first.update(x0="tall", zz=1)
    second = {**rows(1)[0], "x1": True}
    response = served.post("/predict", json={"rows": [first, second]})
    assert response.status_code == 422
    doc = response.json()
    assert doc["type"] == "schema_mismatch"
    assert set(doc["problems"]) == {
        "row 0: unknown column 'zz'",
        "row 0: column 'x0' (float64) must be a number, not text",
        "row 0: missing column 'x2'",
        "row 1: column 'x1' (float64) must be a number, not a boolean",
    }
    assert served.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    "body, problem",
    [
        ([], "must be a JSON object"),
        ({"rows": []}, "'rows' must be a non-empty list"),
        ({"rows": [1]}, "row 0 must be an object"),
        ({"rows": [{}], "data": []}, "not both"),
        ({"columns": FEATURES}, "needs 'rows'"),
        ({"columns": [*FEATURES, "x0"], "data": [[0] * 6]}, "named twice"),
        ({"columns": FEATURES, "data": [[0.0] * 4]}, "row 0 must be a list of 5 values"),
        ({"rows": [{}], "extra": 1}, "unknown field 'extra'"),
    ],
)
def test_bodies_of_the_wrong_shape_are_422(served, body, problem):
    response = served.post("/predict", json=body)
    assert response.status_code == 422
    assert problem in response.json()["error"]


@pytest.mark.parametrize(
    "dtype, value, read",
    [
        ("int64", 3, 3),
        ("int64", 3.0, 3),
        ("int64", 3.5, None),
        ("int64", True, None),
        ("int64", "3", None),
        ("int64", None, None),
        ("int64", 2**63, None),
        ("uint8", -1, None),
        ("float64", 1, 1.0),
        ("float64", 2.5, 2.5),
        ("float64", True, None),
        ("float64", "x", None),
        ("float64", 10**400, None),
        ("bool", True, True),
        ("bool", 1, None),
        ("str", "a", "a"),
        ("str", 1, None),
        ("category", "a", "a"),
        ("category", 1, None),
        ("object", 1, 1),
        ("object", [1], None),
        ("object", {"a": 1}, None),
        ("datetime64[ns]", "2026-07-01T00:00:00", "2026-07-01T00:00:00"),
        ("datetime64[ns]", 5, None),
    ],
)
def test_values_are_read_as_their_column_holds_them(dtype, value, read):
    schema = InputSchema([{"name": "c", "dtype": dtype}], missing={"c": 0})
    if read is None:
        with pytest.raises(SchemaMismatchError) as refused:
            schema.parse({"rows": [{"c": value}]})
        assert refused.value.problems[0].startswith("row 0: column 'c'")
    else:
        got = schema.parse({"rows": [{"c": value}]}).columns["c"]
        assert got == [read] and type(got[0]) is type(read)


def test_null_is_taken_only_where_the_training_data_had_missing_values(store):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = numeric_data()
    X.loc[::7, "x0"] = float("nan")
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)
    with tracking.track(store, "gappy", model=model, data=X, target=y):
        pass
    registry.promote(store, "gappy", 1)
    runtime, app = start(store, "gappy")
    with TestClient(app) as client:
        assert [c.nullable for c in runtime.predictor.schema.columns] == [True] + [False] * 4
        gap = {**rows()[0], "x0": None}
        answered = client.post("/predict", json={"rows": [gap]})
        assert answered.status_code == 200
        want = model.predict_proba(pd.DataFrame([gap], dtype="float64"))
        assert_close(answered.json()["probabilities"], want)
        refused = client.post("/predict", json={"rows": [{**rows()[0], "x1": None}]})
        assert refused.status_code == 422
        assert "cannot be null" in refused.json()["error"]


def test_the_mixed_columns_of_a_pipeline_reach_it_as_a_frame(churn_versions, churn_data):
    _, X_test, _, _ = churn_data
    registry.promote(churn_versions, "churn", 2)
    runtime, app = start(churn_versions, "churn")
    model = registry.load_model("churn:2", churn_versions)
    sent = json.loads(X_test.head(4).to_json(orient="records"))
    with TestClient(app) as client:
        answered = client.post("/predict", json={"rows": sent})
        assert answered.status_code == 200, answered.text
        assert not runtime.predictor.uses_array
    want = model.predict_proba(X_test.head(4))
    assert_close(answered.json()["probabilities"], want.tolist())


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"nope", b"", b"  ", b"NaN", b'{"rows": [{"x0": NaN}]}', b"\xff\xfe\x00", b"[" * 100_000],
)
def test_a_body_that_is_not_json_is_400_and_the_server_stays_up(served, body):
    response = served.post("/predict", content=body)
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_input"
    assert served.get("/health").status_code == 200


def test_a_body_over_the_limit_is_413_announced_or_not(bench):
    runtime, app = start(bench)
    app = create_app(runtime, max_body=1000, own_runtime=True)
    big = json.dumps({"rows": rows(0, 40)}).encode()
    assert len(big) > 1000
    with TestClient(app) as client:
        announced = client.post("/predict", content=big)
        assert announced.status_code == 413
        assert announced.json()["type"] == "payload_too_large"
        streamed = client.post("/predict", content=iter([big[:600], big[600:]]))
        assert streamed.status_code == 413
        assert "transfer-encoding" in streamed.request.headers
        assert client.post("/predict", json={"rows": rows(0, 2)}).status_code == 200


def test_every_error_is_one_json_object_with_error_and_type(served):
    answers = {
        "unknown path": served.get("/nowhere"),
        "wrong method": served.get("/predict"),
        "not JSON": served.post("/predict", content=b"{"),
        "bad rows": served.post("/predict", json={"rows": [{}]}),
        "unknown request": served.post(
            "/feedback", json={"request_id": "0" * 12 + "-1", "value": 1}
        ),
    }
    statuses = {what: r.status_code for what, r in answers.items()}
    assert statuses == {
        "unknown path": 404,
        "wrong method": 405,
        "not JSON": 400,
        "bad rows": 422,
        "unknown request": 404,
    }
    for what, response in answers.items():
        assert response.headers["content-type"] == "application/json", what
        doc = response.json()
        assert isinstance(doc["error"], str) and doc["error"], what
        assert isinstance(doc["type"], str) and doc["type"], what
    assert answers["wrong method"].headers["allow"] == "POST"


def test_an_unexpected_failure_is_a_500_and_the_server_keeps_serving(bench, monkeypatch):
    runtime, app = start(bench)
    with TestClient(app, raise_server_exceptions=False) as client:
        model = runtime.predictor.model
        monkeypatch.setattr(model, "predict", lambda X: 1 / 0, raising=False)
        broken = client.post("/predict", json={"rows": rows()})
        assert broken.status_code == 500
        assert broken.json() == {
            "error": "internal error (ZeroDivisionError); the server keeps serving",
            "type": "internal",
        }
        monkeypatch.undo()
        assert client.post("/predict", json={"rows": rows()}).status_code == 200


def test_values_the_model_itself_refuses_are_422(bench, monkeypatch):
    runtime, app = start(bench)
    with TestClient(app) as client:

        def refuse(X):
            raise ValueError("Input X contains infinity\nsecond line")

        monkeypatch.setattr(runtime.predictor.model, "predict", refuse, raising=False)
        response = client.post("/predict", json={"rows": rows()})
    assert response.status_code == 422
    assert response.json()["problems"] == [
        "the model could not predict these rows: ValueError: Input X contains infinity"
    ]


# -- the bearer token -------------------------------------------------------------------------

WRONG_CREDENTIALS = {
    "no header": {},
    "another token": {"Authorization": "Bearer not-the-token"},
    "the token cut short": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    "the token and more": {"Authorization": f"Bearer {TOKEN}x"},
    "an empty token": {"Authorization": "Bearer "},
    "another scheme": {"Authorization": f"Token {TOKEN}"},
    "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    "the bare token": {"Authorization": TOKEN},
}


def test_every_route_refuses_requests_without_the_token(bench, db_rows, tmp_path):
    """Enumerated from the app itself: a route added later is covered without a list here."""
    runtime, app = start(bench, token=TOKEN)
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert {r.path for r in routes} >= {"/health", "/predict", "/feedback", "/openapi.json"}
    targets = [(m, r.path) for r in routes for m in sorted(r.methods or [])]
    targets += [("GET", "/no-such-path"), ("POST", "/no-such-path"), ("DELETE", "/predict")]
    let_through, seen = [], []
    with TestClient(app) as client:
        body = {"rows": rows()}
        before = db_rows()
        for method, path in targets:
            for label, headers in WRONG_CREDENTIALS.items():
                response = client.request(method, path, json=body, headers=headers)
                seen.append(response)
                if response.status_code != 401:
                    let_through.append(f"{method} {path} with {label}: {response.status_code}")
                elif response.headers.get("www-authenticate") != "Bearer":
                    let_through.append(f"{method} {path} with {label}: no WWW-Authenticate")
        assert runtime.log.pending_rows == 0
        assert db_rows() == before, "a refused request changed the store"
        assert let_through == []
        for scheme in ("Bearer", "bearer", "BEARER"):
            allowed = client.post(
                "/predict", json=body, headers={"Authorization": f"{scheme} {TOKEN}"}
            )
            assert allowed.status_code == 200
        document = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
        assert document.json()["security"] == [{"bearer": []}]
        seen.append(document)
    # The token is never written anywhere: not in answers, events or log files.
    for response in seen:
        assert TOKEN not in response.text and TOKEN not in str(response.headers)
    assert all(TOKEN not in json.dumps(e.payload) for e in bench.iter_events())
    for batch in bench.log_batches("bench"):
        assert TOKEN.encode() not in bench.get_artifact(batch["file_sha256"])


# -- feedback ------------------------------------------------------------------------------------


def test_feedback_is_kept_and_joined_to_the_log_latest_first(served):
    ids = [served.post("/predict", json={"rows": rows(i)}).json()["request_id"] for i in range(3)]
    given = [
        {"request_id": ids[0], "label": 1},
        {"request_id": ids[1], "value": 129.5},
        {"request_id": ids[2], "label": "no", "value": 0},
        {"request_id": ids[2], "label": 0, "value": 12.25},
    ]
    for body in given:
        response = served.post("/feedback", json=body)
        assert response.status_code == 202, response.text
        assert response.json() == {"request_id": body["request_id"], "accepted": True}
    served.runtime.log.flush()
    frame = mlops_nb.predictions("bench", store=served.runtime.store).set_index("request_id")
    assert frame.loc[ids[0], "label"] == 1 and pd.isna(frame.loc[ids[0], "value"])
    assert frame.loc[ids[1], "value"] == 129.5 and pd.isna(frame.loc[ids[1], "label"])
    assert frame.loc[ids[2], "label"] == 0 and frame.loc[ids[2], "value"] == 12.25
    assert frame["feedback_at"].notna().all()


@pytest.mark.parametrize(
    "body, status",
    [
        ({"request_id": "000000000000-1", "label": 1}, 404),
        ({"request_id": "not-an-id", "label": 1}, 404),
        ({"request_id": "", "label": 1}, 422),
        ({"request_id": 5, "label": 1}, 422),
        ({"label": 1}, 422),
        ({"request_id": "{rid}"}, 422),
        ({"request_id": "{rid}", "label": None}, 422),
        ({"request_id": "{rid}", "label": [1]}, 422),
        ({"request_id": "{rid}", "value": "12"}, 422),
        ({"request_id": "{rid}", "value": True}, 422),
        ({"request_id": "{rid}", "value": 10**400}, 422),
        ({"request_id": "{rid}", "value": 1, "why": "x"}, 422),
        ([], 422),
    ],
)
def test_feedback_that_cannot_be_taken(served, body, status):
    issued = served.post("/predict", json={"rows": rows()}).json()["request_id"]
    if isinstance(body, dict) and body.get("request_id") == "{rid}":
        body = {**body, "request_id": issued}
    unknown_next = f"{served.runtime.instance}-999"
    assert (
        served.post("/feedback", json={"request_id": unknown_next, "value": 1}).status_code == 404
    )
    response = served.post("/feedback", json=body)
    assert response.status_code == status, response.text
    assert served.runtime.log._feedback == []


def test_feedback_for_a_request_another_process_answered_waits_for_its_batch(bench):
    import threading

    answering, _ = start(bench)
    receiving, _ = start(bench, flush_every=1.0)
    with answering, receiving:
        issued = json.loads(answering.predict({"rows": rows()})[0])["request_id"]
        assert receiving.log.waiting(int(issued.split("-")[1])) is False
        timer = threading.Timer(0.4, answering.log.flush)
        timer.start()
        try:
            assert receiving.feedback({"request_id": issued, "label": 1})["accepted"]
        finally:
            timer.join()
        # A stopped process has written all it logged: no waiting for it.
        never = f"{answering.instance}-77"
    assert receiving.logged(never) is False


# -- the prediction log ----------------------------------------------------------------------


def test_the_log_holds_every_request_once_the_server_stops(served):
    sent, answered = [], []
    for i in range(30):
        batch = rows(i, 1 + i % 3)
        response = served.post("/predict", json={"rows": batch})
        sent.append(batch)
        answered.append(response.json())
    assert served.runtime.log.rows_written == 0  # nothing written on the request path
    runtime = served.runtime
    served.__exit__(None, None, None)  # the lifespan's stop: everything is written
    frame = mlops_nb.predictions("bench", store=runtime.store)
    assert len(frame) == sum(len(b) for b in sent)
    assert list(frame["request_id"].unique()) == [a["request_id"] for a in answered]
    for doc, batch in zip(answered, sent):
        mine = frame[frame["request_id"] == doc["request_id"]].sort_values("row")
        assert mine["prediction"].tolist() == doc["predictions"]
        assert [list(p) for p in mine["probabilities"]] == doc["probabilities"]
        assert mine[FEATURES].to_dict("records") == batch
        assert (mine["version"] == 1).all() and (mine["latency_ms"] > 0).all()
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert audit.verify(runtime.store).ok


def test_a_swap_starts_a_new_batch_and_every_row_names_its_version(served):
    runtime = served.runtime
    before = served.post("/predict", json={"rows": rows(0, 2)}).json()
    registry.promote(runtime.store, "bench", 2)
    assert runtime.holder.check_now() is True
    assert served.get("/health").json()["version"] == 2
    after = served.post("/predict", json={"rows": rows(0, 2)}).json()
    assert (before["version"], after["version"]) == (1, 2)
    assert_close(after["probabilities"], expected(0.01, 0, 2))
    runtime.log.flush()
    batches = runtime.store.log_batches("bench")
    assert [(b["version"], b["requests"], b["rows"]) for b in batches] == [(1, 1, 2), (2, 1, 2)]
    frame = mlops_nb.predictions("bench", store=runtime.store)
    by_request = frame.groupby("request_id")["version"].unique().map(list).to_dict()
    assert by_request == {before["request_id"]: [1], after["request_id"]: [2]}
    assert len(mlops_nb.predictions("bench", store=runtime.store, version=2)) == 2
    steps = [(d["action"], d["from_version"], d["to_version"]) for d in runtime.store.deploys()]
    assert steps == [("started", None, 1), ("swapped", 1, 2)]


def test_a_sample_of_requests_is_logged_and_the_share_is_recorded(bench):
    import random

    runtime, app = start(bench, sample=0.25)
    runtime._random = random.Random(7)
    with TestClient(app) as client:
        ids = [
            client.post("/predict", json={"rows": rows(i)}).json()["request_id"] for i in range(200)
        ]
        runtime.log.flush()
        logged = set(mlops_nb.predictions("bench", store=bench)["request_id"])
        assert 20 <= len(logged) <= 80 and logged <= set(ids)
        assert {b["sample"] for b in bench.log_batches("bench")} == {0.25}
        skipped = next(i for i in ids if i not in logged)
        kept = next(iter(logged))
        assert client.post("/feedback", json={"request_id": skipped, "value": 1}).status_code == 404
        assert client.post("/feedback", json={"request_id": kept, "value": 1}).status_code == 202


def test_a_store_that_refuses_writes_keeps_the_log_waiting_up_to_its_bound(bench, monkeypatch):
    runtime, _ = start(bench)
    with runtime:
        for i in range(3):
            runtime.predict({"rows": rows(i)})
        real = bench.record_log_batch
        refusals = []

        def refuse(fields, actor):
            refusals.append(fields["kind"])
            raise UnavailableError("the database is down (test)")

        monkeypatch.setattr(bench, "record_log_batch", refuse)
        with pytest.raises(UnavailableError):
            runtime.log.flush()
        assert runtime.log.pending_rows == 3 and refusals == ["predictions"]
        runtime.log.max_pending_rows = 5
        for i in range(3, 9):
            runtime.predict({"rows": rows(i)})
        assert runtime.log.pending_rows == 5  # the four oldest gave way
        monkeypatch.setattr(bench, "record_log_batch", real)
    batches = bench.log_batches("bench")
    assert [(b["rows"], b["dropped"]) for b in batches] == [(5, 4)]
    assert sorted(mlops_nb.predictions("bench", store=bench)["request_id"].str[-1]) == list("56789")
    assert audit.verify(bench).ok


def test_a_batch_file_altered_after_the_fact_is_refused_not_read(served):
    served.post("/predict", json={"rows": rows()})
    served.runtime.log.flush()
    store = served.runtime.store
    (batch,) = store.log_batches("bench")
    path = store.artifacts.path(batch["file_sha256"])
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes()[:-8] + b"tampered")
    with pytest.raises(mlops_nb.IntegrityError):
        mlops_nb.predictions("bench", store=store)
    assert not audit.verify(store).ok


# -- swaps and refusals -------------------------------------------------------------------------


def test_a_version_that_cannot_be_loaded_is_refused_and_the_old_one_keeps_serving(served):
    runtime, store = served.runtime, served.runtime.store
    X, _ = numeric_data()
    with tracking.track(store, "bench", model=numeric_model(0.5), data=X, serializer="pickle"):
        pass
    registry.promote(store, "bench", 3)
    assert runtime.holder.check_now() is False
    assert served.post("/predict", json={"rows": rows()}).json()["version"] == 1
    refused = store.deploys()[-1]
    assert (refused["action"], refused["from_version"], refused["to_version"]) == (
        "refused",
        1,
        3,
    )
    assert "pickle" in refused["reason"]
    (alert,) = mlops_nb.alerts("bench", store=store)
    assert alert.kind == "serve" and "keeps serving version 1" in alert.message
    assert runtime.holder.check_now() is False
    assert len(store.deploys()) == 2  # refused once, not at every look
    registry.promote(store, "bench", 2)
    assert runtime.holder.check_now() is True
    registry.promote(store, "bench", 3)
    assert runtime.holder.check_now() is False  # the alias moved again: tried again
    assert [d["action"] for d in store.deploys()] == ["started", "refused", "swapped", "refused"]
    assert audit.verify(store).ok


def test_a_version_that_fails_its_smoke_prediction_is_refused(served):
    runtime, store = served.runtime, served.runtime.store
    v1 = store.get_version("bench", 1)
    wrong = [{"name": f"y{i}", "dtype": "float64"} for i in range(5)]
    store.create_version(
        {
            "model": "bench",
            "artifact_sha256": v1.artifact_sha256,
            "format": v1.format,
            "estimator": v1.estimator,
            "signature": wrong,
        },
        "tester",
    )
    registry.promote(store, "bench", 3)
    assert runtime.holder.check_now() is False
    assert store.deploys()[-1]["action"] == "refused"
    assert "feature names" in store.deploys()[-1]["reason"]
    assert served.get("/health").json()["version"] == 1


def test_a_fixed_version_is_served_whatever_the_alias_does(bench):
    runtime, app = start(bench, "bench:2")
    with TestClient(app) as client:
        registry.promote(bench, "bench", 2)
        registry.rollback(bench, "bench")
        assert runtime.holder.check_now() is False
        assert client.get("/health").json() == {
            "status": "ok",
            "model": "bench",
            "alias": None,
            "version": 2,
            "instance": runtime.instance,
        }


def test_which_names_the_servers_and_the_version_each_answered_with(bench):
    from mlops_nb.jsonutil import utcnow

    runtime, _ = start(bench)
    with runtime:
        while_one = utcnow()
        registry.promote(bench, "bench", 2)
        runtime.holder.check_now()
        while_two = utcnow()
    after = utcnow()
    then = mlops_nb.which("bench@production", at=while_one, store=bench)
    (server,) = then.servers
    assert (server["version"], server["instance"]) == (1, runtime.instance)
    assert server["host"] == runtime.identity.host
    assert [
        s["version"] for s in mlops_nb.which("bench@production", at=while_two, store=bench).servers
    ] == [2]
    assert mlops_nb.which("bench@production", at=after, store=bench).servers == []
    by_version = mlops_nb.which("bench:1", at=while_one, store=bench).servers
    assert [s["instance"] for s in by_version] == [runtime.instance]
    assert mlops_nb.which("bench:2", at=while_one, store=bench).servers == []


def test_a_server_killed_without_recording_its_stop_is_closed_by_the_next(bench):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    first, _ = start(bench)
    first.identity = first.holder.identity = first.identity.__class__(
        **{**first.identity.__dict__, "pid": dead_pid}
    )
    first.holder.start()  # recorded as started by a process that no longer exists
    second, _ = start(bench)
    with second:
        rows_of_first = bench.deploys(instance=first.instance)
        assert [r["action"] for r in rows_of_first] == ["started", "stopped"]
        assert "ended without recording its stop" in rows_of_first[-1]["reason"]
    assert audit.verify(bench).ok


def test_history_replays_refusals_as_the_version_kept(bench):
    runtime, _ = start(bench)
    with runtime:
        X, _ = numeric_data()
        with tracking.track(bench, "bench", model=numeric_model(0.5), data=X, serializer="pickle"):
            pass
        registry.promote(bench, "bench", 3)
        runtime.holder.check_now()
        (state,) = history.servers_at(bench, "bench", "9999-01-01T00:00:00.000000+00:00")
        assert state["version"] == 1


# -- the command line and the Python API -----------------------------------------------------------


def test_predictions_on_the_command_line(served, cli, tmp_path):
    ids = [
        served.post("/predict", json={"rows": rows(i, 2)}).json()["request_id"] for i in range(3)
    ]
    served.post("/feedback", json={"request_id": ids[1], "label": 1, "value": 3.5})
    served.runtime.log.flush()
    listed = cli("predictions", "bench", "--json")
    assert listed.code == 0, listed.err
    items = listed.json()
    assert [i["request_id"] for i in items] == [r for r in ids for _ in range(2)]
    for item in items:
        assert {"request_id", "at", "version", "prediction", "row", "inputs"} <= set(item)
        assert item["version"] == 1 and set(item["inputs"]) == set(FEATURES)
    assert [i["value"] for i in items if i["request_id"] == ids[1]] == [3.5, 3.5]
    out = tmp_path / "log.parquet"
    written = cli("predictions", "bench", "--since", "7d", "-o", str(out))
    assert written.code == 0 and "6 predicted rows from 3 requests" in written.out
    assert pd.read_parquet(out)["request_id"].tolist() == [i["request_id"] for i in items]
    assert cli("predictions", "bench", "--since", "2999-01-01", "--json").json() == []
    assert cli("predictions", "bench", "--version", "2", "--json").json() == []
    assert cli("predictions", "bench", "--limit", "1", "--json").json() == items[-1:]
    assert cli("predictions", "nosuch").code == 3
    assert cli("predictions", "bench", "--since", "last tuesday").code == 2


def test_since_takes_durations_dates_and_times():
    import datetime as dt

    now = dt.datetime(2026, 7, 15, 12, 0, tzinfo=dt.timezone.utc)
    assert reader.since_time("7d", now) == "2026-07-08T12:00:00.000000+00:00"
    assert reader.since_time("90m", now) == "2026-07-15T10:30:00.000000+00:00"
    assert reader.since_time("2w", now) == "2026-07-01T12:00:00.000000+00:00"
    assert reader.since_time("2026-07-01") == "2026-07-01T00:00:00.000000+00:00"
    assert reader.since_time("20260701") == "2026-07-01T00:00:00.000000+00:00"
    assert reader.since_time("2026-07-01T08:30Z") == "2026-07-01T08:30:00.000000+00:00"
    for bad in ("yesterday", "7 days", "-3d", "99999w"):
        with pytest.raises(InvalidInputError):
            reader.since_time(bad)


def test_serve_refuses_what_it_cannot_serve_before_listening(bench, cli):
    assert cli("serve", "nosuch", "--port", "0").code == 3
    nobody = cli("serve", "bench@staging", "--port", "0")
    assert nobody.code == 3 and "nobody holds bench@staging" in nobody.err
    assert cli("serve", "bench:9", "--port", "0").code == 3
    assert cli("serve", "bench", "--log-sample", "0").code == 2
    assert cli("serve", "bench", "--log-sample", "1.5").code == 2
    assert cli("serve", "bench", "--workers", "0").code == 2
    assert cli("serve", "bench", "--port", "70000").code == 2
    spaced = cli("serve", "bench", "--port", "0", "--token", "two words")
    assert spaced.code == 2 and "two words" not in spaced.err


def test_the_openapi_document_describes_the_version_served(churn_versions):
    registry.promote(churn_versions, "churn", 1)
    runtime, app = start(churn_versions, "churn")
    with TestClient(app) as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    row = doc["components"]["schemas"]["RowsRequest"]["properties"]["rows"]["items"]
    assert row["required"] == runtime.predictor.schema.names
    kinds = {name: spec["type"] for name, spec in row["properties"].items()}
    assert kinds["tenure_months"] == "integer"
    assert kinds["monthly_charges"] == "number"
    assert kinds["contract"] == "string"  # a category column takes text
    assert kinds["senior"] == "boolean"
    assert "security" not in doc


def test_column_kinds_cover_the_dtypes_tracking_records():
    assert Column.of("a", "float64").numeric and Column.of("a", "int32").numeric
    assert not Column.of("a", "Int64").numeric  # nullable: goes as a frame
    assert Column.of("a", "datetime64[ns, UTC]").kind == "datetime"
    assert Column.of("a", "something-new").kind == "any"


def test_a_prediction_log_closes_cleanly_with_nothing_in_it(store):
    log = PredictionLog(store, "nothing", "0" * 12)
    log.start()
    log.close()
    assert store.log_batches("nothing") == []
