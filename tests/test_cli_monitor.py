"""mlops-nb drift / alerts through the installed entry point."""

import pytest

import mlops_nb
from mlops_nb import tracking
from mlops_nb.datasets import make_churn

pytestmark = pytest.mark.backends


@pytest.fixture
def churn(store, churn_data, fitted):
    X_train, _, y_train, _ = churn_data
    with tracking.track(
        store,
        "churn",
        model=fitted[0],
        data=X_train,
        target=y_train,
        metrics={"accuracy": fitted[1]},
    ):
        pass
    mlops_nb.promote("churn", 1, store=store)
    return store


def test_drift_check_json_contract_and_exit_codes(cli, churn, tmp_path):
    same, drifted = tmp_path / "same.parquet", tmp_path / "drifted.csv"
    make_churn(2_000, seed=40).to_parquet(same)
    make_churn(2_000, seed=41, drift=0.9).to_csv(drifted, index=False)
    ok = cli("drift", "check", "churn@production", str(same), "--json")
    assert ok.code == 0, ok.err
    doc = ok.json()
    assert doc["drift"] is False and doc["batch"] == "same.parquet"
    for column in doc["columns"]:
        assert {"column", "drift", "method", "statistic"} <= set(column)
    bad = cli(
        "drift",
        "check",
        "churn:1",
        str(drifted),
        "--target",
        "churned",
        "--json",
        "--html",
        str(tmp_path / "r.html"),
    )
    assert bad.code == 0, bad.err  # drift found is not an error
    doc = bad.json()
    assert doc["drift"] is True and doc["check_id"] == 2
    assert doc["performance"]["rows"] == 2_000
    assert "plotly" in (tmp_path / "r.html").read_text()
    text = cli("drift", "check", "churn", str(drifted), "--no-record")
    assert text.code == 0 and text.out.startswith("DRIFT in churn:1")
    history = cli("drift", "history", "churn", "--json")
    assert [h["batch"] for h in history.json()] == ["same.parquet", "drifted.csv"]
    assert history.json()[1]["columns"]["monthly_charges"]["drift"] is True


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("drift", "check", "churn", "missing.csv"), 3, "does not exist"),
        (("drift", "check", "churn", "setup.cfg.txt"), 3, "does not exist"),
        (("drift", "check", "nope", "{csv}"), 3, "no model named 'nope'"),
        (("drift", "check", "churn@staging", "{csv}"), 3, "nobody holds churn@staging"),
        (("drift", "history", "nope"), 3, "no model named"),
        (("drift", "trigger", "churn"), 2, "needs NOTEBOOK"),
        (("alerts", "add", "churn", "--webhook", "mailto:x"), 2, "http(s) URL"),
        (("alerts", "remove", "99"), 3, "no alert channel 99"),
    ],
)
def test_bad_input(cli, churn, tmp_path, args, code, fragment):
    csv = tmp_path / "b.csv"
    make_churn(100, seed=1).to_csv(csv, index=False)
    result = cli(*[a.replace("{csv}", str(csv)) for a in args])
    assert result.code == code, result.err
    assert fragment in result.err and len(result.err.strip().splitlines()) == 1


def test_unreadable_and_wrong_files(cli, churn, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert cli("drift", "check", "churn", str(text)).code == 2
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    result = cli("drift", "check", "churn", str(broken))
    assert result.code == 2 and "cannot read" in result.err


def test_alert_channels_and_list(cli, churn, tmp_path):
    log = tmp_path / "a.log"
    added = cli("alerts", "add", "churn", "--log", str(log), "--json")
    assert added.code == 0 and added.json()["kind"] == "log"
    csv = tmp_path / "d.csv"
    make_churn(2_000, seed=42, drift=1.0).to_csv(csv, index=False)
    assert cli("drift", "check", "churn", str(csv)).code == 0
    listed = cli("alerts", "list", "churn", "--json").json()
    assert listed[0]["deliveries"][0]["ok"] is True and log.exists()
    assert cli("alerts", "remove", str(added.json()["id"])).code == 0
    channels = cli("alerts", "channels", "--json").json()
    assert channels[0]["enabled"] == 0


def test_trigger_set_and_remove(cli, churn):
    from pathlib import Path

    nb = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
    set_ = cli("drift", "trigger", "churn", str(nb), "-p", "x", "4", "--cooldown", "12h", "--json")
    assert set_.code == 0, set_.err
    assert set_.json()["parameters"] == {"x": 4} and set_.json()["cooldown_s"] == 43_200
    assert cli("drift", "trigger", "churn", "--remove").code == 0
    assert churn.get_trigger("churn")["enabled"] == 0
