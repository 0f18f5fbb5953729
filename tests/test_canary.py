"""Canary and shadow deploys: the store's record, real ``mlops-nb serve`` processes routing."""

from __future__ import annotations

import pytest
from models import numeric_rows as rows
from test_serve_process import Load, servers  # noqa: F401 - the fixture

from conftest import wait_for
from mlops_nb import api, registry
from mlops_nb.cli import main
from mlops_nb.errors import ConflictError, InvalidInputError, NotFoundError
from mlops_nb.store import audit

pytestmark = pytest.mark.slow


def test_bad_deploys_are_refused_with_clear_errors(bench, capsys):
    for share in (0, 1, 1.5, -0.1):
        with pytest.raises(InvalidInputError, match="strictly between 0 and 1"):
            api.deploy_canary("bench", 2, share, store=bench)
    with pytest.raises(NotFoundError):
        api.deploy_canary("bench", 9, 0.1, store=bench)
    with pytest.raises(InvalidInputError, match="guard"):
        api.deploy_canary("bench", 2, 0.1, guards=["latency<3"], store=bench)
    with pytest.raises(ConflictError, match="holds"):
        api.deploy_canary("bench", 1, 0.1, store=bench)
    api.deploy_canary("bench", 2, 0.2, store=bench)
    with pytest.raises(ConflictError, match="running already"):
        api.deploy_shadow("bench", 2, store=bench)
    assert main(["deploy", "canary", "bench", "2", "--share", "0.3"]) != 0
    assert "running already" in capsys.readouterr().err
    assert main(["deploy", "canary", "bench", "2", "--share", "2"]) != 0
    api.deploy_abort("bench", "test", store=bench)
    assert main(["deploy", "status", "bench", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"model", "production", "canary", "arms"}
    assert doc["production"] == {"version": 1}
    assert {k: doc["canary"][k] for k in ("version", "share", "state", "reason")} == {
        "version": 2,
        "share": 0.2,
        "state": "aborted",
        "reason": "test",
    }
    arm_keys = {"version", "requests", "errors", "p50_ms", "p99_ms", "metric_mean", "feedback"}
    assert [a["version"] for a in doc["arms"]] == [1, 2] and arm_keys <= set(doc["arms"][0])
    assert main(["deploy", "status", "bench"]) == 0
    assert "canary version 2 (20%) aborted: test" in capsys.readouterr().out
    with pytest.raises(NotFoundError, match="no canary"):
        api.deploy_abort("bench", store=bench)
    assert audit.verify(bench).ok


def test_a_canary_needs_production(store):
    from models import add_bench

    add_bench(store)
    from models import numeric_data, numeric_model

    from mlops_nb import tracking

    X, y = numeric_data()
    with tracking.track(store, "lonely", model=numeric_model(1.0), data=X, target=y):
        pass
    with pytest.raises(NotFoundError, match="production"):
        api.deploy_canary("lonely", 1, 0.1, store=store)


def test_canary_start_abort_promote_under_load_fail_no_request(bench, home, servers):  # noqa: F811
    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.5")
    load = Load(served, clients=8, body={"rows": rows(3)})
    try:
        wait_for(lambda: load.count() > 50, what="requests before the canary")
        api.deploy_canary("bench", 2, 0.25, store=bench)
        start = load.count()
        wait_for(lambda: load.count() > start + 1500, what="requests during the canary")
        during = load.answers[start + 200 : load.count()]
        api.deploy_abort("bench", "enough", store=bench)
        wait_for(lambda: api.deploy_status("bench", store=bench)["canary"]["state"] == "aborted")
        mark = load.count()
        wait_for(lambda: load.count() > mark + 300, what="requests after the abort")
        after = load.answers[mark + 200 :]
        api.deploy_canary("bench", 2, 0.5, store=bench)
        mark = load.count()
        wait_for(lambda: load.count() > mark + 300, what="requests in the second canary")
        api.deploy_promote("bench", reason="looks fine", store=bench)
        wait_for(lambda: served.version() == 2, what="the promoted version")
        mark = load.count()
        wait_for(lambda: load.count() > mark + 300, what="requests after the promote")
        final = load.answers[mark + 200 :]
    finally:
        load.stop()
    assert load.errors == []
    assert all(status == 200 for status, _, _ in load.answers)
    share = sum(doc["version"] == 2 for _, _, doc in during) / len(during)
    assert 0.15 < share < 0.35, share
    assert {doc["version"] for _, _, doc in after} == {1}
    assert {doc["version"] for _, _, doc in final} == {2}
    status = api.deploy_status("bench", store=bench)
    assert status["canary"]["state"] == "promoted" and status["production"]["version"] == 2
    kinds = [e.kind for e in bench.iter_events() if e.kind.startswith("deployment.")]
    assert kinds == [
        "deployment.started",
        "deployment.aborted",
        "deployment.started",
        "deployment.promoted",
    ]
    assert registry.which(bench, "bench@production").version == 2
    assert audit.verify(bench).ok


def test_shadow_answers_are_logged_and_never_returned(bench, home, servers):  # noqa: F811
    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.5")
    api.deploy_shadow("bench", 2, store=bench)
    wait_for(lambda: served.call("POST", "/predict", {"rows": rows(1)})[2]["version"] == 1)
    import time

    time.sleep(1.0)  # the server's next poll has picked the shadow up
    ids = []
    for i in range(40):
        status, headers, doc = served.call("POST", "/predict", {"rows": rows(i)})
        assert status == 200 and doc["version"] == 1 and headers["x-model-version"] == "1"
        ids.append(doc["request_id"])
    wait_for(lambda: sum(b["requests"] for b in bench.log_batches("bench", "shadow")) >= 40)
    batches = bench.log_batches("bench", "shadow")
    assert {b["version"] for b in batches} == {2}
    status = api.deploy_status("bench", store=bench)
    wait_for(
        lambda: api.deploy_status("bench", store=bench)["arms"][1]["requests"] >= 40,
        what="the shadow's counts",
    )
    status = api.deploy_status("bench", store=bench)
    assert status["arms"][1]["role"] == "shadow" and status["canary"]["kind"] == "shadow"
    logged = api.predictions("bench", store=bench)
    assert set(logged["version"]) == {1}  # the shadow's rows are not served predictions
    api.deploy_abort("bench", store=bench)
    assert audit.verify(bench).ok


def test_a_guard_on_feedback_rolls_the_canary_back_by_itself(bench, home, servers):  # noqa: F811
    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.3")
    api.deploy_canary("bench", 2, 0.5, metric="value", auto_rollback=True, store=bench)
    import time

    time.sleep(1.0)
    conn = served.connection()
    answered = {1: 0, 2: 0}
    deadline = time.monotonic() + 180
    state = "running"
    try:
        while state == "running" and time.monotonic() < deadline:
            for _ in range(50):
                status, _, doc = served.call("POST", "/predict", {"rows": rows(0)}, conn)
                assert status == 200
                answered[doc["version"]] += 1
                # production sells to every other customer, the canary to nobody
                sale = float(answered[1] % 2) if doc["version"] == 1 else 0.0
                fb = {"request_id": doc["request_id"], "value": sale}
                assert served.call("POST", "/feedback", fb, conn)[0] == 202
            state = api.deploy_status("bench", store=bench)["canary"]["state"]
    finally:
        conn.close()
    status = api.deploy_status("bench", store=bench)
    assert status["canary"]["state"] == "aborted", status
    assert "value (mSPRT)" in status["canary"]["reason"]
    assert status["decision"]["test"]["verdict"] == "worse"
    # routing stopped: from now on only production answers
    time.sleep(1.0)
    versions = {served.call("POST", "/predict", {"rows": rows(0)})[2]["version"] for _ in range(30)}
    assert versions == {1}
    assert audit.verify(bench).ok


def _traffic(served, count: int) -> list[int]:
    conn = served.connection()
    try:
        return [
            served.call("POST", "/predict", {"rows": rows(i % 50)}, conn)[2]["version"]
            for i in range(count)
        ]
    finally:
        conn.close()


def test_two_replicas_take_a_failed_technical_guard_decision_once(bench, home, servers):  # noqa: F811
    # No answer is ever that fast: the latency guard fails as soon as it is judged.
    first = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.3")
    second = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.3")
    api.deploy_canary(
        "bench", 2, 0.5, guards=["p99_ms<=0.000001", "error_rate<=0.5"], auto_rollback=True,
        store=bench,
    )  # fmt: skip
    wait_for(lambda: 2 in _traffic(first, 20) and 2 in _traffic(second, 20), what="routing")
    for _ in range(3):
        _traffic(first, 60)
        _traffic(second, 60)
    wait_for(
        lambda: api.deploy_status("bench", store=bench)["canary"]["state"] == "aborted",
        what="the automatic rollback",
    )
    status = api.deploy_status("bench", store=bench)
    assert "p99_ms<=1e-06" in status["canary"]["reason"]
    passed = {g["guard"]: g["passed"] for g in status["decision"]["guards"]}
    assert passed == {"p99_ms<=1e-06": False, "error_rate<=0.5": True}
    import time

    time.sleep(1.0)  # both replicas' next polls
    assert set(_traffic(first, 30)) == {1} and set(_traffic(second, 30)) == {1}
    ended = [e for e in bench.iter_events() if e.kind == "deployment.aborted"]
    assert len(ended) == 1  # both replicas judged it; one decision is recorded
    assert audit.verify(bench).ok


def test_a_failed_guard_without_auto_rollback_alerts_once_and_keeps_routing(
    bench,
    home,
    servers,  # noqa: F811
):
    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.3")
    api.deploy_canary("bench", 2, 0.5, guards=["p99_ms<=0.000001"], store=bench)
    wait_for(lambda: 2 in _traffic(served, 20), what="routing")
    _traffic(served, 150)
    wait_for(lambda: api.alerts("bench", store=bench), what="the alert")
    _traffic(served, 100)
    import time

    time.sleep(1.0)
    alerts = api.alerts("bench", store=bench)
    assert len(alerts) == 1 and "deploy abort bench" in alerts[0].message
    status = api.deploy_status("bench", store=bench)
    assert status["canary"]["state"] == "running"
    assert 2 in _traffic(served, 30)  # a person decides; routing goes on
    assert [e.kind for e in bench.iter_events() if e.kind == "deployment.alerted"] == [
        "deployment.alerted"
    ]
