"""The installed mlops-nb entry point: JSON contract, exit codes, one-line errors."""

import sys
from pathlib import Path

import pytest

from mlops_nb import tracking

pytestmark = pytest.mark.backends

TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"


@pytest.fixture
def seeded(store, fitted):
    for acc in (0.80, 0.86, 0.75):
        with tracking.track(
            store, "churn", model=fitted[0], metrics={"accuracy": acc}, params={"acc": acc}
        ):
            pass
    return store


def one_line_error(result, code, fragment):
    assert result.code == code, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-nb: error: "), result.err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.err


def test_init_creates_store_in_current_folder(cli, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    result = cli("init", "--json", cwd=folder, env={"MLOPS_NB_HOME": ""})
    assert result.code == 0, result.err
    assert result.json()["home"] == str((folder / ".mlops").resolve())
    # commands run below it find it like git finds .git
    (folder / "sub").mkdir()
    listed = cli("models", "--json", cwd=folder / "sub", env={"MLOPS_NB_HOME": ""})
    assert listed.code == 0 and listed.json() == []


def test_runs_versions_models_json_contract(cli, seeded):
    runs = cli("runs", "--json")
    assert runs.code == 0, runs.err
    items = runs.json()
    assert len(items) == 3
    for item in items:
        assert {"run_id", "status", "params", "metrics"} <= set(item)
    assert cli("runs", "--model", "churn", "--json").json()[0]["model"] == "churn"
    versions = cli("versions", "churn", "--json").json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    for v in versions:
        assert {"version", "run_id", "created_at", "metrics", "aliases"} <= set(v)
    models = cli("--json", "models").json()  # --json before the command works too
    assert models[0]["name"] == "churn" and models[0]["versions"] == 3
    text = cli("runs")
    assert text.code == 0 and "churn" in text.out and "finished" in text.out


def test_show_accepts_prefix(cli, seeded):
    run_id = seeded.list_runs()[0].run_id
    shown = cli("show", run_id[:8], "--json")
    assert shown.code == 0 and shown.json()["run_id"] == run_id


def test_promote_gate_rollback_which(cli, seeded):
    first = cli("promote", "churn", "2", "--reason", "best so far", "--json")
    assert first.code == 0, first.err
    assert first.json()["to_version"] == 2
    refused = cli("promote", "churn", "3", "--require", "accuracy>=production")
    one_line_error(refused, 4, "0.75 is not >= production v2 0.86")
    assert cli("which", "churn@production", "--json").json()["version"] == 2
    forced = cli("promote", "churn", "3", "--json")
    assert forced.code == 0
    between = forced.json()["at"]
    back = cli("rollback", "churn", "--json")
    assert back.code == 0 and back.json()["to_version"] == 2
    past = cli("which", "churn@production", "--at", between, "--json")
    assert past.code == 0, past.err
    doc = past.json()
    assert doc["version"] == 3
    for key in (
        "model",
        "alias",
        "version",
        "run_id",
        "set_at",
        "set_by",
        "data_sha256",
        "notebook_sha256",
        "git_commit",
    ):
        assert key in doc


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("versions", "nope"), 3, "no model named 'nope'"),
        (("promote", "churn", "9"), 3, "no version 9"),
        (("promote", "churn", "two"), 2, "positive whole number"),
        (("promote", "churn", "1", "--require", "accuracy=>production"), 2, "cannot read gate"),
        (("which", "churn@production", "--at", "last summer"), 2, "not an ISO date"),
        (("which", "churn@production"), 3, "nobody held churn@production"),
        (("rollback", "churn"), 3, "nobody holds churn@production"),
        (("show", "zzz"), 2, "not a run id"),
        (("run", "does-not-exist.ipynb"), 3, "does not exist"),
        (("run", str(TINY), "-f", "missing.yaml"), 2, "cannot read parameters file"),
        (("report", "ffffffff"), 3, "no run ffffffff"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code(cli, seeded, args, code, fragment):
    one_line_error(cli(*args), code, fragment)


@pytest.mark.slow
def test_a_run_out_of_time_exits_with_the_deadline_code(cli, store):
    result = cli("run", str(TINY.parent / "sleepy.ipynb"), "-p", "seconds", "60", "--timeout", "3")
    one_line_error(result, 8, "timed out after 3 s; the kernel was killed")
    (run,) = store.list_runs()
    assert run.status == "failed" and run.output_sha256  # the partial notebook is kept


@pytest.mark.slow
def test_a_pipeline_whose_step_ran_out_of_time_exits_with_the_deadline_code(cli, store, tmp_path):
    spec = tmp_path / "slow.yaml"
    spec.write_text(
        f"name: slow\nsteps:\n  - name: nap\n    notebook: {TINY.parent / 'sleepy.ipynb'}\n"
        "    parameters: {seconds: 60}\n    timeout: 3\n"
    )
    result = cli("pipeline", "run", str(spec))
    one_line_error(result, 8, "step nap: timed out after 3 s")
    (pipeline,) = store.list_runs(kind="pipeline")
    assert pipeline.status == "failed" and pipeline.data["steps"]["nap"]["status"] == "failed"
    # a step that fails on its own is a failed run (6), not a deadline
    spec.write_text(
        f"name: broken\nsteps:\n  - name: fail\n    notebook: {TINY}\n"
        "    parameters: {x: 5, fail_on: 5}\n"
    )
    one_line_error(cli("pipeline", "run", str(spec)), 6, "step fail: cell")


def test_argparse_errors_are_one_line(cli):
    result = cli("promote")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "error:" in result.err


def test_audit_log_and_verify_detects_tampering(cli, seeded, raw_sql):
    log = cli("audit", "log", "--json")
    assert log.code == 0
    events = log.json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {"seq", "at", "actor", "kind", "payload", "prev_hash", "hash"} <= set(events[0])
    ok = cli("audit", "verify", "--json")
    assert ok.code == 0 and ok.json()["ok"] is True
    raw_sql("update events set actor='mallory' where seq=2")
    broken = cli("audit", "verify", "--json")
    assert broken.code == 5
    assert broken.json()["ok"] is False and broken.json()["seq"] == 2
    one_line_error(broken, 5, "event 2")


@pytest.mark.slow
def test_run_and_report_through_the_cli(cli, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("x: 5\nsleep: 0\n")
    ok = cli("run", str(TINY), "-f", str(params), "-p", "fail_on", "7", "--json")
    assert ok.code == 0, ok.err
    doc = ok.json()
    assert doc["status"] == "finished" and len(doc["notebook_sha256"]) == 64
    assert doc["params"]["x"] == 5 and doc["params"]["fail_on"] == 7
    failed = cli("run", str(TINY), "-p", "x", "7", "-p", "fail_on", "7", "--json")
    assert failed.code == 6
    assert failed.json()["status"] == "failed"
    assert "x was 7" in failed.err and len(failed.err.strip().splitlines()) == 1
    out = tmp_path / "report.html"
    rep = cli("report", doc["run_id"], "-o", str(out), "--json")
    assert rep.code == 0, rep.err
    assert out.exists() and "mlops-nb-provenance" in out.read_text()


def test_python_dash_m_works(home):
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "mlops_nb", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("mlops-nb ")


def test_init_records_a_team_store_in_the_folder(cli, tmp_path):
    folder = tmp_path / "team"
    objects = (tmp_path / "objects").as_uri()
    made = cli("--home", str(folder), "init", "--artifacts", objects, "--json")
    assert made.code == 0, made.err
    assert "artifacts" in (folder / "config.yaml").read_text()
    # a later process that only knows the folder finds the artifacts place
    from mlops_nb.store import Store

    store = Store(folder)
    try:
        assert store.artifacts_url == objects
        sha = store.put_artifact(b"team bytes", "test", "me")
        assert (tmp_path / "objects" / sha[:2] / sha).read_bytes() == b"team bytes"
    finally:
        store.close()
    bad = cli("--home", str(tmp_path / "x"), "init", "--db-url", "mysql://nope", "--json")
    assert bad.code == 2 and "postgresql" in bad.err
