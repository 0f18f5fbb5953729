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


@pytest.mark.backends
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
        # The share is measured once routing has begun: from 200 answers after the
        # canary's first one (each process loads and smoke-tests it off the request
        # path first, which takes longer on a busy machine).
        wait_for(
            lambda: any(d["version"] == 2 for _, _, d in load.answers[-200:]),
            what="the canary's first answer",
        )
        start = load.count() + 200
        wait_for(lambda: load.count() > start + 1500, what="requests during the canary")
        during = load.answers[start : load.count()]
        api.deploy_abort("bench", "enough", store=bench)
        wait_for(lambda: api.deploy_status("bench", store=bench)["canary"]["state"] == "aborted")
        # Each process stops routing at its next look at the store (every 0.2 s here):
        # wait until 100 answers in a row come from production; from then on it must stay so.
        wait_for(
            lambda: {d["version"] for _, _, d in load.answers[-100:]} == {1},
            within=10,
            what="routing to stop after the abort",
        )
        mark = load.count()
        wait_for(lambda: load.count() > mark + 300, what="requests after the abort")
        after = load.answers[mark:]
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
    assert served.stop() == 0, served.stderr()  # verify reads a store at rest
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
    assert served.stop() == 0, served.stderr()  # verify reads a store at rest
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
    expected = status["expected"]
    assert expected["feedback_per_s"] > 0 and expected["observed"]["relative"] == -1.0
    assert expected["observed"]["feedback_needed"] <= expected["feedback_seen"]
    assert expected["detectable"]["feedback_needed"] > expected["observed"]["feedback_needed"]
    # routing stopped: from now on only production answers
    time.sleep(1.0)
    versions = {served.call("POST", "/predict", {"rows": rows(0)})[2]["version"] for _ in range(30)}
    assert versions == {1}
    assert served.stop() == 0, served.stderr()  # verify reads a store at rest
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
    assert first.stop() == 0, first.stderr()  # verify reads a store at rest
    assert second.stop() == 0, second.stderr()  # verify reads a store at rest
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


def _sell_until_decided(served, bench, canary_rate: float, production_rate: float) -> str:
    """Predict and post a sale per answer (a deterministic pattern at each arm's rate)
    until the deploy is no longer running or a new alert was raised; return its state."""
    import time

    conn = served.connection()
    answered = {1: 0, 2: 0}
    deadline = time.monotonic() + 180
    alerted = len(api.alerts("bench", store=bench))
    try:
        while time.monotonic() < deadline:
            for _ in range(50):
                status, _, doc = served.call("POST", "/predict", {"rows": rows(0)}, conn)
                assert status == 200
                version = doc["version"]
                answered[version] += 1
                rate = canary_rate if version == 2 else production_rate
                n = answered[version]
                sale = float(int(n * rate) != int((n - 1) * rate))
                fb = {"request_id": doc["request_id"], "value": sale}
                assert served.call("POST", "/feedback", fb, conn)[0] == 202
            found = api.deploy_status("bench", store=bench)
            if (
                found["canary"]["state"] != "running"
                or len(api.alerts("bench", store=bench)) > alerted
            ):
                return found["canary"]["state"]
    finally:
        conn.close()
    return "running"


def test_a_clear_win_promotes_through_the_gate_by_itself(bench, home, servers):  # noqa: F811
    from mlops_nb.errors import GateFailedError

    served = servers(home, "bench", "--poll", "0.2", "--log-flush", "0.3")
    # The gate names a metric version 2 does not have: the win is refused and alerted.
    api.deploy_canary(
        "bench", 2, 0.3, metric="value", auto_promote=True, require="auc>=0.5", store=bench
    )
    assert _sell_until_decided(served, bench, 2 / 3, 1 / 3) == "running"
    (alert,) = api.alerts("bench", store=bench)
    assert "better (mSPRT)" in alert.message and "gate refused" in alert.message
    assert bench.alias_refusals("bench", "production")
    with pytest.raises(GateFailedError):
        api.deploy_promote("bench", store=bench)
    api.deploy_abort("bench", "the gate refused", store=bench)
    # Without a gate the same win promotes by itself.
    api.deploy_canary("bench", 2, 0.3, metric="value", auto_promote=True, store=bench)
    assert _sell_until_decided(served, bench, 2 / 3, 1 / 3) == "promoted"
    status = api.deploy_status("bench", store=bench)
    assert status["production"]["version"] == 2
    assert status["decision"]["test"]["verdict"] == "better"
    assert "better (mSPRT)" in status["canary"]["reason"]
    assert bench.alias_changes("bench", "production")[-1].to_version == 2
    wait_for(lambda: served.version() == 2, what="the promoted version served")
    assert served.stop() == 0, served.stderr()  # verify reads a store at rest
    assert audit.verify(bench).ok


@pytest.mark.backends
def test_feedback_sent_to_another_replica_counts_in_the_arm_that_answered(bench):
    from mlops_nb.serving.runtime import Runtime

    api.deploy_canary("bench", 2, 0.5, metric="value", store=bench)
    first = Runtime(bench, "bench", poll=0.1, flush_every=0.2).start()
    second = Runtime(bench, "bench", poll=0.1, flush_every=0.2).start()
    try:
        import json

        answers = [json.loads(first.predict({"rows": rows(i)})[0]) for i in range(40)]
        assert {a["version"] for a in answers} == {1, 2}
        first.log.flush()
        for a in answers:
            value = 1.0 if a["version"] == 2 else 0.0
            second.feedback({"request_id": a["request_id"], "value": value})
        counters = second.router.current.counters
        canary = sum(a["version"] == 2 for a in answers)
        assert counters["canary"].metric == [canary, float(canary), float(canary)]
        assert counters["production"].metric == [40 - canary, 0.0, 0.0]
    finally:
        first.stop()
        second.stop()
    status = api.deploy_status("bench", store=bench)
    assert [a["feedback"] for a in status["arms"]] == [40 - canary, canary]
    assert [a["metric_mean"] for a in status["arms"]] == [0.0, 1.0]


def test_technical_guards_judge_the_last_window_and_the_arms_the_whole_deploy(bench):
    from mlops_nb.serving import arms, deploy
    from mlops_nb.serving.stats import _bin

    row = api.deploy_canary("bench", 2, 0.5, guards=["p99_ms<=10"], store=bench)

    def counts(fast: int, slow: int) -> dict:
        latency = {str(_bin(1.0)): fast, str(_bin(100.0)): slow}
        return {"requests": fast + slow, "errors": 0, "latency": latency,
                "predictions": {"1": fast + slow}, "metric": [0, 0.0, 0.0]}  # fmt: skip

    # A minute of fast answers, then the canary turns slow.
    bench.put_deployment_stats(row["id"], "a" * 12, "canary", 2, counts(10000, 0))
    bench.put_deployment_stats(row["id"], "a" * 12, "production", 1, counts(10000, 0))
    first = deploy.evidence(bench, row)
    assert first["guards"][0]["passed"] is True
    bench.put_deployment_stats(row["id"], "a" * 12, "canary", 2, counts(10000, 60))
    whole = deploy.evidence(bench, row)
    assert whole["guards"][0]["passed"] is True  # 60 slow in 10,060: the p99 hides them
    window = deploy.evidence(bench, row, {**first["merged"], "at": "t"})
    assert window["guards"][0]["passed"] is False  # the last window is all slow
    assert window["arms"][1]["requests"] == 10060  # the arms still cover the whole deploy
    assert arms.subtract(whole["merged"]["canary"], first["merged"]["canary"])["requests"] == 60
    api.deploy_abort("bench", store=bench)
