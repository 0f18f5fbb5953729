"""Privacy of the prediction log: masked and hashed columns, erasure, retention by the scheduler.

Through the real entry point and the Python API, on SQLite and on PostgreSQL;
``audit verify`` must accept each recorded deletion and still catch one made
behind mlops-nb's back.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from models import numeric_data
from models import numeric_rows as rows

import mlops_nb
from mlops_nb.errors import NotFoundError
from mlops_nb.jsonutil import format_time
from mlops_nb.serving import privacy
from mlops_nb.serving.runtime import Runtime
from mlops_nb.store import audit

pytestmark = pytest.mark.backends


def customers(count=30, start=0):
    X, _ = numeric_data()
    part = X.iloc[start : start + count].reset_index(drop=True)
    return part.assign(
        customer_id=[f"C{i % 10}" for i in range(start, start + count)],
        email=[f"c{i}@example.com" for i in range(start, start + count)],
        phone=[f"555-01{i % 10:02d}" for i in range(start, start + count)],
    )


def events_text(store):
    return "\n".join(f"{e.kind} {e.subject} {e.payload}" for e in store.raw_events())


def artifact_files(store):
    return {p.name for p in store.artifacts.root.rglob("*") if p.is_file()}


# -- the policy: masked and hashed at write ------------------------------------------------


def test_masked_and_hashed_columns_are_never_written_in_clear(bench, cli):
    set_ = cli("predictions", "policy", "bench", "--mask", "email,x1", "--hash", "phone,x2",
               "--retention", "30d", "--json")  # fmt: skip
    assert set_.code == 0, set_.err
    assert set_.json() == {"model": "bench", "retention_s": 30 * 86400.0,
                           "mask": ["email", "x1"], "hash": ["phone", "x2"]}  # fmt: skip
    assert "salt" not in set_.out
    shown = cli("predictions", "policy", "bench", "--json").json()
    assert shown == set_.json()

    mlops_nb.score("bench", customers(), store=bench)
    with Runtime(bench, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        runtime.predict({"rows": rows(0, 2)})
    log = mlops_nb.predictions("bench", store=bench)
    assert len(log) == 32
    assert log["email"].dropna().empty and log["x1"].isna().all()
    assert log["phone"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()
    assert log["phone"].notna().sum() == 30
    assert log["x2"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert log["x0"].notna().all()  # columns outside the policy are kept as they were
    # equal values hash equally, so they can still be counted and erased
    assert log["phone"].nunique() == 10
    stored = b"".join(p.read_bytes() for p in bench.artifacts.root.rglob("*") if p.is_file())
    assert b"example.com" not in stored and b"555-01" not in stored

    report = cli("drift", "check", "bench@production", "--from-log", "--json")
    assert report.code == 0, report.err
    doc = report.json()
    assert {c["column"] for c in doc["columns"]} == {"x0", "x3", "x4"}
    assert doc["quality"]["ok"] is True  # masked columns are left out, not "missing"
    assert any("masked or hashed in the log: x1, x2" in n for n in doc["notes"])
    assert audit.verify(bench).ok


@pytest.mark.parametrize(
    "args, message",
    [
        (["--mask", "email", "--hash", "email"], "either masked or hashed"),
        (["--retention", "0"], "longer than zero"),
        (["--retention", "soon"], "not a duration"),
        (["--mask", "a b"], "is not a column name"),
        (["--hash", "request_id"], "not an input column"),
        (["--where", "x0 == 1"], "--where: only with 'predictions erase NAME'"),
    ],
)
def test_bad_policies_are_refused_before_anything_is_recorded(bench, cli, args, message):
    done = cli("predictions", "policy", "bench", *args)
    assert done.code == 2, done.err
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert bench.log_policy("bench") is None
    assert cli("predictions", "policy", "nobody", "--mask", "a").code == 3


# -- erasure -------------------------------------------------------------------------------


def test_erase_removes_a_subject_everywhere_and_audit_verify_stays_green(bench, cli):
    _, y = numeric_data()
    first = mlops_nb.score("bench", customers(30), store=bench)
    second = mlops_nb.score("bench", customers(10, start=30), store=bench)
    with Runtime(bench, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        for i, request_id in enumerate(first["request_id"]):
            runtime.feedback({"request_id": request_id, "label": int(y.iloc[i])})
        runtime.predict({"rows": rows(0, 1)})  # a served request: not the subject
    before = artifact_files(bench)
    old_files = {
        b["file_sha256"]
        for kind in ("predictions", "feedback")
        for b in bench.log_batches("bench", kind)
    }

    done = cli("predictions", "erase", "bench", "--where", "customer_id == 'C3'", "--json")
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["rows"] == 4 and doc["requests"] == 4 and doc["feedback"] == 3
    log = mlops_nb.predictions("bench", store=bench)
    assert len(log) == 41 - 4
    assert "C3" not in set(log["customer_id"].dropna())
    assert log["label"].notna().sum() == 27
    # the files that held C3 are gone from the artifact folder, not just unlisted
    removed = before - artifact_files(bench)
    assert removed and removed <= old_files
    assert "C3" not in events_text(bench)  # the audit chain keeps the count, not the id
    assert "erasure.done" in events_text(bench)
    verified = cli("audit", "verify", "--json")
    assert verified.code == 0, verified.out + verified.err

    # erasing again finds nothing; a subject never logged is not an error
    again = cli("predictions", "erase", "bench", "--where", "customer_id == 'C3'", "--json")
    assert again.code == 0 and again.json()["rows"] == 0
    assert len(second) == 10
    assert audit.verify(bench).ok


def test_feedback_for_an_erased_request_is_refused(bench):
    scored = mlops_nb.score("bench", customers(20), store=bench)
    privacy.erase(bench, "bench", "customer_id == 'C3'")
    erased = scored.loc[scored["customer_id"] == "C3", "request_id"].tolist()
    kept = scored.loc[scored["customer_id"] != "C3", "request_id"].tolist()
    assert len(erased) == 2
    with Runtime(bench, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        for request_id in erased:
            # the batch was logged whole, but these rows are gone: no label may
            # bring the subject's request back into the log
            with pytest.raises(NotFoundError):
                runtime.feedback({"request_id": request_id, "label": 1})
        assert runtime.feedback({"request_id": kept[0], "label": 1})["accepted"] is True
    log = mlops_nb.predictions("bench", store=bench)
    assert log.dropna(subset=["label"])["request_id"].tolist() == [kept[0]]
    assert audit.verify(bench).ok


def test_erase_by_a_hashed_column_and_by_several_conditions(bench, cli):
    privacy.set_policy(bench, "bench", hash=["phone"])
    mlops_nb.score("bench", customers(30), store=bench)
    done = cli("predictions", "erase", "bench", "--where", "phone == '555-0107'", "--json")
    assert done.code == 0, done.err
    assert done.json()["rows"] == 3
    both = cli("predictions", "erase", "bench", "--where",
               "customer_id == 'C1' and phone == '555-0101'", "--json")  # fmt: skip
    assert both.json()["rows"] == 3
    none = cli("predictions", "erase", "bench", "--where",
               "customer_id == 'C2' and phone == '555-0101'", "--json")  # fmt: skip
    assert none.json()["rows"] == 0
    assert len(mlops_nb.predictions("bench", store=bench)) == 24
    every = cli("predictions", "erase", "bench", "--where", "version == 1", "--json")
    assert every.json()["rows"] == 24 and every.json()["batches_deleted"] == 1
    assert mlops_nb.predictions("bench", store=bench).empty
    assert audit.verify(bench).ok


def test_a_deletion_behind_mlops_nb_s_back_is_still_tampering(bench, raw_sql):
    mlops_nb.score("bench", customers(20), store=bench)
    mlops_nb.score("bench", customers(20, start=20), store=bench)
    privacy.erase(bench, "bench", "customer_id == 'C5'")
    assert audit.verify(bench).ok
    # a log file removed without a recorded erasure
    batches = bench.log_batches("bench", "predictions")
    bench.artifacts.path(batches[0]["file_sha256"]).unlink()
    result = audit.verify(bench)
    assert not result.ok and "is missing" in result.problem
    assert batches[0]["file_sha256"] in result.problem


def test_a_log_batch_row_deleted_or_put_back_by_sql_is_caught(bench, raw_sql):
    mlops_nb.score("bench", customers(10), store=bench)
    mlops_nb.score("bench", customers(10, start=10), store=bench)
    first, second = bench.log_batches("bench", "predictions")
    privacy.erase(bench, "bench", f"batch_id == '{first['instance']}'")
    assert audit.verify(bench).ok
    # the erased batch's row put back as it was
    raw_sql(
        "insert into log_batches (id, model, kind, version, instance, first_seq, last_seq, "
        "first_at, last_at, requests, rows, sample, dropped, file_sha256, recorded_at, "
        "event_seq) values (:id, 'bench', 'predictions', 1, :instance, 1, 10, :at, :at, 10, "
        "10, 1.0, 0, :sha, :at, 1)",
        id=first["id"], instance=first["instance"], at=first["first_at"],
        sha=first["file_sha256"],
    )  # fmt: skip
    result = audit.verify(bench)
    assert not result.ok and "was deleted by event" in result.problem
    raw_sql("delete from log_batches where id = :id", id=first["id"])
    assert audit.verify(bench).ok
    raw_sql("delete from log_batches where id = :id", id=second["id"])
    result = audit.verify(bench)
    assert not result.ok and f"log_batches row {second['id']}" in result.problem


@pytest.mark.parametrize(
    "where, message",
    [
        ("customer_id = 'C3'", "cannot read --where"),
        ("customer_id == C3", "cannot read --where"),
        ("customer_id == 'C3' or x0 == 1", "cannot read --where"),
        ("", "--where needs an expression"),
        ("x" * 1001 + " == 1", "longer than 1000"),
    ],
)
def test_bad_erasures_are_one_line_exit_2_and_change_nothing(bench, cli, where, message):
    mlops_nb.score("bench", customers(5), store=bench)
    before = bench.log_batches("bench", "predictions")
    done = cli("predictions", "erase", "bench", "--where", where)
    assert done.code == 2, done.err
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert bench.log_batches("bench", "predictions") == before
    assert cli("predictions", "erase", "bench").code == 2
    assert cli("predictions", "erase", "nobody", "--where", "a == 1").code == 3
    assert cli("predictions", "bench", "extra").code == 2


# -- retention -----------------------------------------------------------------------------


def test_the_scheduler_deletes_batches_past_their_retention(bench, cli):
    mlops_nb.score("bench", customers(10), store=bench)
    _, y = numeric_data()
    with Runtime(bench, "bench", poll=3600.0, flush_every=3600.0) as runtime:
        answer = json.loads(runtime.predict({"rows": rows(0, 1)})[0])
        runtime.feedback({"request_id": answer["request_id"], "label": int(y.iloc[0])})
    assert cli("predictions", "policy", "bench", "--retention", "2d").code == 0
    now = dt.datetime.now(dt.timezone.utc)
    assert cli("tick", "--now", format_time(now + dt.timedelta(days=1))).code == 0
    assert len(mlops_nb.predictions("bench", store=bench)) == 11  # not old enough yet
    assert cli("tick", "--now", format_time(now + dt.timedelta(days=3))).code == 0
    assert mlops_nb.predictions("bench", store=bench).empty
    assert bench.log_batches("bench", "feedback") == []
    assert "retention.done" in events_text(bench)
    assert cli("audit", "verify").code == 0
    # a model without retention keeps its log
    assert cli("predictions", "policy", "bench", "--retention", "none").code == 0
    mlops_nb.score("bench", customers(3), store=bench)
    assert cli("tick", "--now", format_time(now + dt.timedelta(days=400))).code == 0
    assert len(mlops_nb.predictions("bench", store=bench)) == 3
