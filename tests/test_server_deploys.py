"""``GET deploys/{name}`` and ``GET serving``'s ``deploys``: a canary's status and decisions."""

import pytest
from test_server import call

import mlops_nb
from mlops_nb.serving import arms, deploy

pytestmark = pytest.mark.backends

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


def counted(answers: int, sales: float, errors: int = 0) -> dict:
    """One process's counts for one arm: ``answers`` requests, each with a sale reported
    with probability ``sales`` (deterministically spread), and ``errors`` failures."""
    counter = arms.ArmCounter()
    for i in range(answers):
        counter.answered(2.0 + i % 5, [i % 2])
        counter.feedback(1.0 if (i * sales) % 1 + sales >= 1 else 0.0)
    for _ in range(errors):
        counter.failed()
    return counter.to_json()


async def test_a_canary_its_numbers_and_its_rollback_are_served(jp_fetch, bench):
    code, doc = await call(jp_fetch, "deploys", "bench")
    assert (code, doc) == (200, {"model": "bench", "deploy": None, "history": []})
    mlops_nb.deploy_canary("bench", 2, 0.2, store=bench)
    mlops_nb.deploy_abort("bench", "wrong version", store=bench)
    started = mlops_nb.deploy_canary(
        "bench", 2, 0.3, guards=["error_rate<=0.05"], metric="value", auto_rollback=True,
        store=bench,
    )  # fmt: skip
    code, doc = await call(jp_fetch, "serving")
    assert code == 200 and [d["model"] for d in doc["deploys"]] == ["bench"]
    running = doc["deploys"][0]["deploy"]
    assert running["canary"]["state"] == "running" and running["canary"]["share"] == 0.3
    assert running["canary"]["guards"] == ["error_rate<=0.05"]
    assert [a["role"] for a in running["arms"]] == ["production", "canary"]

    bench.put_deployment_stats(started["id"], "a00000000001", "production", 1, counted(600, 0.4))
    bench.put_deployment_stats(started["id"], "a00000000001", "canary", 2, counted(300, 0.1))
    live = deploy.status(bench, "bench")
    assert live["arms"][1]["requests"] == 300 and live["arms"][1]["metric_mean"] < 0.2
    ended, _ = deploy.judge(bench, deploy.current(bench, "bench"), "test")
    assert ended is not None and ended["state"] == "aborted"

    code, doc = await call(jp_fetch, "deploys", "bench")
    assert code == 200 and doc["model"] == "bench"
    assert doc["deploy"]["canary"]["state"] == "aborted"
    assert doc["deploy"]["canary"]["reason"].startswith("guard failed: value (mSPRT)")
    assert doc["deploy"]["decision"]["test"]["verdict"] == "worse"
    events = [(e["event"], e["deployment"]) for e in doc["history"]]
    first, second = started["id"] - 1, started["id"]
    assert events == [
        ("aborted", second),
        ("started", second),
        ("aborted", first),
        ("started", first),
    ]
    decided = doc["history"][0]
    assert decided["test"]["verdict"] == "worse" and decided["test"]["n_canary"] == 300
    assert decided["reason"] == doc["deploy"]["canary"]["reason"]
    assert doc["history"][2]["reason"] == "wrong version" and doc["history"][2]["actor"]
    code, doc = await call(jp_fetch, "serving")
    assert doc["deploys"] == []  # nothing runs and no server answers for bench


async def test_a_bad_model_name_is_a_400(jp_fetch, store):
    code, doc = await call(jp_fetch, "deploys", "a:b")
    assert code == 400 and "error" in doc
