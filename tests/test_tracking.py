import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mlops_nb
from mlops_nb import tracking
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.tracking import context


def test_a_run_records_everything(store, churn_data, fitted):
    X, _, y, _ = churn_data
    model, acc = fitted
    with tracking.track(
        store, "churn", data=X, target=y, params={"C": 1.0}, tags={"team": "growth"}
    ) as run:
        run.set_model(model)
        run.log_metric("accuracy", acc)
        run.log_metric("n_errors", np.int64(3))
    stored = store.get_run(run.run_id)
    assert stored.status == "finished" and stored.ended_at >= stored.started_at
    assert stored.params == {"C": 1.0} and stored.tags == {"team": "growth"}
    assert stored.metrics == {"accuracy": acc, "n_errors": 3.0}
    assert stored.data["rows"] == len(X) and stored.data["columns"] == X.shape[1]
    assert stored.data["features_sha256"] == mlops_nb.data_fingerprint(X)
    assert stored.data["target"] == {"name": "churned", "dtype": "int64"}
    assert stored.environment["packages"]["sklearn"]
    assert stored.environment["python"] and stored.environment["host"]
    assert stored.model_version == 1
    version = store.get_version("churn", 1)
    assert version.signature[0] == {"name": X.columns[0], "dtype": str(X.dtypes.iloc[0])}
    assert version.metrics == stored.metrics
    assert version.data_sha256 == stored.data["sha256"]
    assert version.estimator == "sklearn.pipeline.Pipeline" and version.format == "skops"


def test_failing_block_records_failed_run_and_reraises(store):
    with pytest.raises(ZeroDivisionError), tracking.track(store, "churn") as run:
        _ = 1 / 0
    stored = store.get_run(run.run_id)
    assert stored.status == "failed" and "ZeroDivisionError" in stored.error
    assert stored.ended_at is not None
    assert store.list_runs(name="churn")[0].status == "failed"
    with pytest.raises(NotFoundError, match="no model named 'churn'"):
        store.latest_version("churn")


def test_no_register_and_no_estimator(store, fitted):
    with tracking.track(store, "churn", model=fitted[0], register=False) as run:
        pass
    assert run.version is None and store.get_run(run.run_id).status == "finished"
    with tracking.track(store, "other") as run:
        run.log_metric("x", 1)
    assert run.version is None
    assert any("no fitted estimator" in n for n in run.notes)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "high", None, True])
def test_explicit_bad_metrics_are_refused(store, value):
    with pytest.raises(InvalidInputError, match="not a finite number"):
        tracking.track(store, "churn", metrics={"auc": value})


def test_bad_data_target_and_model(store, fitted):
    with pytest.raises(InvalidInputError, match="DataFrame"):
        tracking.track(store, "churn", data=[[1, 2]])
    with pytest.raises(InvalidInputError, match="target has 2 rows"):
        tracking.track(
            store, "churn", data=pd.DataFrame({"a": [1, 2, 3]}), target=pd.Series([1, 2])
        )
    with pytest.raises(InvalidInputError, match="not a scikit-learn estimator"):
        tracking.track(store, "churn", model="a string")
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InvalidInputError, match="not fitted"):
        tracking.track(store, "churn", model=LogisticRegression())
    with pytest.raises(InvalidInputError, match="may not contain"):
        tracking.track(store, "a/b")
    assert store.list_runs() == []  # nothing half-written


def test_record_values_need_json(store):
    with tracking.track(store, "churn") as run:
        run.record("threshold", 0.4)
        run.record("classes", np.array([0, 1]).tolist())
        with pytest.raises(InvalidInputError, match="cannot record 'frame'"):
            run.record("frame", pd.DataFrame({"a": [1]}))
    assert store.get_run(run.run_id).values == {"threshold": 0.4, "classes": [0, 1]}


def test_nested_runs_link_to_parent(store):
    with tracking.track(store, "outer") as outer, tracking.track(store, "inner") as inner:
        assert tracking.current_run() is inner
    assert tracking.current_run() is None
    assert store.get_run(inner.run_id).parent_run_id == outer.run_id


def test_papermill_parameters_found_in_history(monkeypatch):
    monkeypatch.delenv(context.ENV_PARAMS, raising=False)
    history = ["import x", '# Parameters\nC = 0.5\nmonth = "2026-10"\nflags = [1, 2]\n', "print(C)"]
    assert context.injected_parameters(history) == {"C": 0.5, "month": "2026-10", "flags": [1, 2]}
    monkeypatch.setenv(context.ENV_PARAMS, '{"C": 2}')
    assert context.injected_parameters(history) == {"C": 2}


def test_api_track_merges_injected_parameters(home, monkeypatch):
    monkeypatch.setenv(context.ENV_PARAMS, '{"C": 2, "month": "2026-10"}')
    with mlops_nb.track("churn", params={"extra": 1}) as run:
        pass
    assert mlops_nb.runs()[0].params == {"C": 2, "month": "2026-10", "extra": 1}
    assert mlops_nb.record("k", 5) == run.run_id  # last run of the session


def test_orphaned_run_of_a_dead_process_is_marked_failed(store):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    store.insert_run(
        {
            "run_id": "a" * 32,
            "kind": "track",
            "name": "churn",
            "status": "running",
            "started_at": "2026-01-01",
            "pid": proc.pid,
            "host": __import__("socket").gethostname(),
        },
        "tester",
    )
    assert tracking.recover_orphans(store) == []  # still alive
    proc.kill()
    proc.wait()
    assert tracking.recover_orphans(store) == ["a" * 32]
    run = store.get_run("a" * 32)
    assert run.status == "failed" and f"process {proc.pid}" in run.error


def test_git_state_is_recorded(store, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=env)
    monkeypatch.chdir(repo)
    with tracking.track(store, "churn") as run:
        pass
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    stored = store.get_run(run.run_id)
    assert stored.git_commit == head and stored.git_dirty is False


def test_git_info_names_commit_branch_and_changes(tmp_path):
    from mlops_nb import environment

    repo = tmp_path / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }

    def git(*args):
        done = subprocess.run(
            ["git", *args], cwd=repo, check=True, env=env, capture_output=True, text=True
        )
        return done.stdout.strip()

    git("init", "-q", "-b", "work")
    assert environment.git_info(repo) == {}  # no commit yet
    (repo / "train.py").write_text("x = 1\n")
    git("add", ".")
    git("commit", "-q", "-m", "x")
    head = git("rev-parse", "HEAD")
    assert environment.git_info(repo) == {"commit": head, "branch": "work", "dirty": False}
    (repo / "notes.txt").write_text("untracked files do not make the tree dirty\n")
    assert environment.git_info(repo)["dirty"] is False
    (repo / "train.py").write_text("x = 2\n")
    assert environment.git_info(repo)["dirty"] is True
    git("stash", "-q")
    git("checkout", "-q", "--detach")
    assert environment.git_info(repo / "train.py") == {
        "commit": head,
        "branch": "HEAD",
        "dirty": False,
    }
    assert environment.git_info(tmp_path) == {}  # not a work tree
