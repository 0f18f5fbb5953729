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


def broken_files(tmp_path):
    """CSV files a pipeline really writes when something upstream broke."""
    base = make_churn(1_000, seed=60)
    one_nan = base.copy()
    one_nan.loc[0, "support_calls"] = None  # the int column is written as floats
    text = base.copy()
    text["monthly_charges"] = text["monthly_charges"].astype(object)
    text.loc[0, "monthly_charges"] = "abc"
    inf = base.copy()
    inf.loc[:2, "monthly_charges"] = float("inf")
    blank = base.copy()
    for name in blank.columns:
        if name != "churned":
            blank[name] = None
    cases = {
        "one_nan_int": (one_nan, set()),
        "text_numeric": (text, {("monthly_charges", "type_change")}),
        "inf_numeric": (inf, {("monthly_charges", "infinite")}),
        "string_target": (
            base.assign(churned=base["churned"].map({0: "no", 1: "yes"})),
            {("churned", "type_change")},
        ),
        # customer_id and signup_date are in the file but not among the model's features
        "all_nan": (blank, {(c, "all_missing") for c in blank.columns[2:] if c != "churned"}),
        "missing_column": (base.drop(columns=["contract"]), {("contract", "missing_column")}),
        "ints_as_floats": (
            base.astype({"tenure_months": float, "support_calls": float, "late_payments": float}),
            set(),
        ),
    }
    out = {}
    for name, (frame, expected) in cases.items():
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        out[name] = (path, expected)
    return out


def test_broken_files_exit_0_with_their_quality_issues(cli, churn, tmp_path):
    for name, (path, expected) in broken_files(tmp_path).items():
        result = cli(
            "drift", "check", "churn", str(path), "--target", "churned", "--json", "--no-trigger"
        )
        assert result.code == 0, (name, result.err)
        assert "internal error" not in result.err and "Traceback" not in result.err
        doc = result.json()
        for column in doc["columns"]:
            assert {"column", "drift", "method", "statistic"} <= set(column)
        issues = {
            (i["column"], i["kind"]) for i in doc["quality"]["issues"] if i["kind"] != "model_error"
        }
        assert issues == expected, (name, doc["quality"])
        assert doc["quality"]["ok"] is (not doc["quality"]["issues"])
        assert doc["alarm"] is (
            doc["drift"]
            or not doc["quality"]["ok"]
            or bool(doc["performance"] and doc["performance"]["degraded"])
        )
        if name == "ints_as_floats":
            assert doc["drift"] is False and doc["drifted_columns"] == [], doc["drifted_columns"]
    text = cli("drift", "check", "churn", str(tmp_path / "all_nan.csv"), "--no-record")
    assert text.code == 0 and "DATA QUALITY" in text.out.splitlines()[0]


def test_batches_that_cannot_be_checked_are_refused_in_one_line(cli, churn, tmp_path):
    empty = tmp_path / "empty.csv"
    make_churn(100, seed=61).iloc[:0].to_csv(empty, index=False)
    result = cli("drift", "check", "churn", str(empty))
    assert result.code == 2 and "no rows" in result.err
    assert len(result.err.strip().splitlines()) == 1
    header_only = tmp_path / "header.csv"
    header_only.write_text("")
    result = cli("drift", "check", "churn", str(header_only))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
