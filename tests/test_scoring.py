"""Batch scoring: ``mlops-nb score`` and ``mlops_nb.score`` write into the prediction log.

Through the real entry point and the Python API, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from models import FEATURES, numeric_data, numeric_model

import mlops_nb
from mlops_nb import registry
from mlops_nb.errors import SchemaMismatchError
from mlops_nb.serving.runtime import Runtime
from mlops_nb.store import audit

pytestmark = pytest.mark.backends


def table(count=40, start=0):
    X, _ = numeric_data()
    part = X.iloc[start : start + count].reset_index(drop=True)
    return part.assign(customer_id=[f"C{i}" for i in range(start, start + count)])


def logged_batches(store):
    return store.log_batches("bench", "predictions")


def test_score_writes_the_output_and_logs_every_row_with_its_batch(bench, cli, tmp_path):
    source = tmp_path / "customers.csv"
    table().to_csv(source, index=False)
    out = tmp_path / "scored.parquet"
    done = cli("score", "bench", str(source), "-o", str(out), "--json")
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["model"] == "bench" and doc["version"] == 1 and doc["rows"] == 40
    batch = doc["batch_id"]

    scored = pd.read_parquet(out)
    added = ["prediction", "probability_0", "probability_1", "version", "request_id", "batch_id"]
    assert list(scored.columns) == [*FEATURES, "customer_id", *added]
    want = numeric_model(1.0).predict_proba(table()[FEATURES])
    assert scored["probability_1"].tolist() == pytest.approx(want[:, 1].tolist(), abs=1e-12)
    assert scored["request_id"].tolist() == [f"{batch}-{n}" for n in range(1, 41)]
    assert set(scored["version"]) == {1} and set(scored["batch_id"]) == {batch}

    listed = cli("predictions", "bench", "--batch", batch, "--json").json()
    assert len(listed) == 40
    assert {i["batch_id"] for i in listed} == {batch}
    # in request order: request 10 follows request 9 (the rows share one time)
    assert [i["request_id"] for i in listed] == [f"{batch}-{n}" for n in range(1, 41)]
    by_id = {i["request_id"]: i for i in listed}
    assert by_id[f"{batch}-4"]["inputs"]["customer_id"] == "C3"
    assert by_id[f"{batch}-4"]["prediction"] == int(scored["prediction"][3])
    assert [b["instance"] for b in logged_batches(bench)] == [batch]
    assert audit.verify(bench).ok


def test_score_uses_the_alias_or_version_named(bench, cli, tmp_path):
    registry.promote(bench, "bench", 2, alias="staging")
    source = tmp_path / "t.parquet"
    table(10).to_parquet(source)
    for ref, version in (("bench@staging", 2), ("bench:1", 1), ("bench@production", 1)):
        done = cli("score", ref, str(source), "-o", str(tmp_path / "o.parquet"), "--json")
        assert done.code == 0, done.err
        assert done.json()["version"] == version
    log = mlops_nb.predictions("bench", store=bench)
    assert log.groupby("batch_id")["version"].first().sort_values().tolist() == [1, 1, 2]
    missing = cli("score", "bench@nowhere", str(source), "-o", str(tmp_path / "x.parquet"))
    assert missing.code == 3 and "nowhere" in missing.err


@pytest.mark.parametrize(
    "change, code, message",
    [
        (lambda t: t.drop(columns=["x1", "x3"]), 2, "missing column 'x1'; missing column 'x3'"),
        (lambda t: t.assign(x2=t["x2"].astype(str)), 2,
         "row 0: column 'x2' (float64) must be a number, not text"),
        (lambda t: t.assign(x0=t["x0"].where(t.index != 5)), 2,
         "row 5: column 'x0' (float64) cannot be null"),
        (lambda t: t.assign(prediction=1), 2, "already has columns the scores go in: prediction"),
        (lambda t: t.iloc[:0], 2, "no rows"),
    ],
)  # fmt: skip
def test_a_table_that_does_not_fit_is_refused_and_nothing_is_logged(
    bench, cli, tmp_path, change, code, message
):
    work = tmp_path / "work"
    work.mkdir()
    source = work / "bad.parquet"
    change(table()).to_parquet(source)
    out = work / "out.parquet"
    done = cli("score", "bench", str(source), "-o", str(out))
    assert done.code == code, done.err
    assert message in done.err
    assert len(done.err.strip().splitlines()) == 1 and "Traceback" not in done.err
    assert not out.exists()
    assert list(work.iterdir()) == [source]  # no staged output left behind
    assert logged_batches(bench) == []


def test_bad_paths_are_refused_before_scoring(bench, cli, tmp_path):
    source = tmp_path / "t.csv"
    table().to_csv(source, index=False)
    assert (
        cli("score", "bench", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.parquet")).code
        == 3
    )
    wrong = cli("score", "bench", str(source), "-o", str(tmp_path / "o.csv"))
    assert wrong.code == 2 and "must end in .parquet" in wrong.err
    folder = cli("score", "bench", str(source), "-o", str(tmp_path / "no" / "o.parquet"))
    assert folder.code == 2, folder.err
    assert cli("score", "nobody", str(source), "-o", str(tmp_path / "o.parquet")).code == 3
    assert logged_batches(bench) == []


def test_staged_files_a_killed_scoring_left_are_removed_and_live_ones_kept(bench, tmp_path):
    out = tmp_path / "scored.parquet"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f".scored.parquet.{int(ended.stdout)}-0123456789ab.tmp"
    alive = tmp_path / f".scored.parquet.{os.getpid()}-ba9876543210.tmp"
    other = tmp_path / f".other.parquet.{int(ended.stdout)}-0123456789ab.tmp"
    for left in (dead, alive, other):
        left.write_bytes(b"half a file")
    mlops_nb.score("bench", table(5), store=bench, output=out)
    assert len(pd.read_parquet(out)) == 5
    assert not dead.exists()  # its process is gone: it can never be put in place
    assert alive.exists() and other.exists()  # a running score's file; another target's
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == sorted(
        [alive.name, other.name]
    )


def test_feedback_on_scored_rows_reaches_the_log_and_the_drift_check(bench, cli, tmp_path):
    _, y = numeric_data()
    scored = mlops_nb.score("bench", table(200), store=bench)
    with Runtime(bench, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        for i, request_id in enumerate(scored["request_id"][:80]):
            runtime.feedback({"request_id": request_id, "label": int(y.iloc[i])})
    log = mlops_nb.predictions("bench", store=bench)
    labelled = log.dropna(subset=["label"])
    assert len(labelled) == 80
    assert set(labelled["batch_id"]) == {scored["batch_id"][0]}
    report = cli("drift", "check", "bench@production", "--from-log", "--json").json()
    assert report["rows"] == 200
    assert report["performance"]["rows"] == 80


def test_the_python_api_scores_a_frame_or_a_file(bench, tmp_path):
    frame = mlops_nb.score("bench", table(5), store=bench)
    assert len(frame) == 5 and frame["version"].tolist() == [1] * 5
    source = tmp_path / "t.csv"
    table(7).to_csv(source, index=False)
    out = tmp_path / "o.parquet"
    from_file = mlops_nb.score("bench:2", source, out, store=bench)
    assert pd.read_parquet(out)["request_id"].tolist() == from_file["request_id"].tolist()
    assert set(from_file["version"]) == {2}
    with pytest.raises(SchemaMismatchError) as caught:
        mlops_nb.score("bench", table(3).drop(columns=["x4"]), store=bench)
    assert "missing column 'x4'" in str(caught.value)
    assert len(logged_batches(bench)) == 2
