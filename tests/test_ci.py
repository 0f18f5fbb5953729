"""``mlops-nb ci init``: the workflows it writes are valid, and do what they say when run.

The generated GitHub workflow and GitLab pipeline are validated against the
schemas published for them (vendored by ``check-jsonschema``), then run step
by step in a real git repository with the environment each platform sets
(:mod:`ci_runner`): the real churn training notebook in real kernels, a real
store, the real ``mlops-nb`` commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci_runner import run_github, run_gitlab

from conftest import REPO
from mlops_nb.store import Store
from mlops_nb.store.location import ENV_DB_URL, StoreLocation

# The GitHub job runs on both stores (its team variant takes the database from a secret);
# the GitLab job, the same commands in another file, on the embedded store only.

PASSING = """\
data: {dataset: churn, rows: 800, seed: 11}
checks:
  - {metric: roc_auc, min: 0.6}
  - {schema: production}
"""
IMPOSSIBLE = PASSING.replace("min: 0.6", "min: 0.999")
GATE = "tests, auc>=production-0.05"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _check_schema(path: Path, schema: str) -> None:
    exe = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(exe), "--builtin-schema", schema, str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def project(tmp_path, cli, backend):
    """A git repository with the churn notebook, a suite, and churn v1 in production."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "tests").mkdir()
    shutil.copy(REPO / "notebooks" / "train_churn.ipynb", repo / "notebooks")
    (repo / "tests" / "churn.yaml").write_text(PASSING, encoding="utf-8")
    (repo / "requirements.txt").write_text("# mlops-nb is installed in the image\n")
    (repo / ".gitignore").write_text(".mlops/\nmlops-reports/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "churn model")
    # The team store, as the CI secrets name it: PostgreSQL when the backend is, else the
    # job's folder (the same folder on this machine, so the jobs share it).
    secrets = {"MLOPS_NB_DB_URL": os.environ.get(ENV_DB_URL, "") if backend == "postgresql" else ""}
    env = {"MLOPS_NB_HOME": str(repo / ".mlops"), **secrets}
    baseline = cli(
        "run", "notebooks/train_churn.ipynb", "-p", "n_customers", "1500", "-p", "C", "0.02",
        cwd=repo, env=env,
    )  # fmt: skip
    assert baseline.code == 0, baseline.err
    assert cli("promote", "churn", "1", cwd=repo, env=env).code == 0
    store = Store(StoreLocation(repo / ".mlops", secrets["MLOPS_NB_DB_URL"] or None))
    yield repo, secrets, env, store
    store.close()


def _init(cli, repo, env, *flags):
    return cli("ci", "init", "--model", "churn", "--gate", GATE, *flags, cwd=repo, env=env)


@pytest.mark.backends
def test_init_writes_valid_files_and_refuses_to_overwrite_them(cli, project):
    repo, _, env, _ = project
    done = _init(cli, repo, env, "--github", "--gitlab", "--json")
    assert done.code == 0, done.err
    assert done.json()["files"] == [".github/workflows/mlops-nb.yml", ".gitlab-ci.yml"]
    assert "set MLOPS_NB_DB_URL and MLOPS_NB_ARTIFACTS as CI secrets" in done.err
    _check_schema(repo / ".github/workflows/mlops-nb.yml", "vendor.github-workflows")
    _check_schema(repo / ".gitlab-ci.yml", "vendor.gitlab-ci")
    before = (repo / ".gitlab-ci.yml").read_bytes()
    again = _init(cli, repo, env, "--gitlab")
    assert again.code == 4 and ".gitlab-ci.yml already exists: pass --force" in again.err
    assert (repo / ".gitlab-ci.yml").read_bytes() == before
    forced = _init(cli, repo, env, "--gitlab", "--force", "--branch", "release")
    assert (
        forced.code == 0
        and '$CI_COMMIT_BRANCH == "release"' in (repo / ".gitlab-ci.yml").read_text()
    )
    # Without --model, the store's only model; the default notebook and suite paths.
    guessed = cli("ci", "init", "--force", "--json", cwd=repo, env=env)
    assert guessed.code == 0, guessed.err
    assert guessed.json()["notebook"] == "notebooks/train_churn.ipynb"
    assert "does not exist" not in guessed.err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--notebook", "${{ secrets.MLOPS_NB_DB_URL }}.ipynb"], "--notebook"),
        (["--suite", "/etc/passwd"], "must be a path relative to the repository's root"),
        (["--notebook", "../other/train.ipynb"], "must be a path relative"),
        (["--gate", "auc>>production"], "gate"),
        (["--model", "a:b"], "model name 'a:b' may not contain ':'"),
        (["--model", "${{ secrets.X }}"], "may not hold '$'"),
        (["--python", "3.12; rm -rf /"], "--python"),
    ],
)
def test_init_refuses_values_that_would_break_or_inject(cli, tmp_path, flags, message):
    cmd = ["ci", "init", *(["--model", "churn"] if "--model" not in flags else []), *flags]
    done = cli(*cmd, cwd=tmp_path)
    assert done.code == 2 and message in done.err, done.err
    assert not (tmp_path / ".github").exists()


@pytest.mark.slow
@pytest.mark.backends
def test_the_github_workflow_reports_on_pull_requests_and_promotes_behind_the_gate(
    cli, project, tmp_path
):
    repo, secrets, env, store = project
    assert _init(cli, repo, env, "--github").code == 0
    workflow = repo / ".github/workflows/mlops-nb.yml"
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "CI for the churn model")
    # A pull request changes the training notebook's regularisation.
    _git(repo, "checkout", "-qb", "stronger-model")
    notebook = repo / "notebooks" / "train_churn.ipynb"
    notebook.write_text(notebook.read_text().replace("C = 1.0", "C = 0.5"))
    _git(repo, "commit", "-qam", "less regularisation")

    pr = run_github(workflow, repo, "pull_request", "refs/pull/7/merge", secrets, tmp_path / "pr")
    assert pr.ok, [(s.name, s.code, s.err[-500:]) for s in pr.steps]
    assert pr.step("Promote").code is None  # not on a pull request
    assert "### ✅ churn\\:2 passed churn\\.yaml" in pr.summary
    assert "### Model churn\\:2 compared with churn@production \\(churn\\:1\\)" in pr.summary
    assert "| C | 0.5 | 0.02 |" in pr.summary and "**Training data**: different data." in pr.summary
    assert "<details>" in pr.summary and "+C = 0.5" in pr.summary
    assert (repo / "mlops-reports" / "train.ipynb").exists()  # what upload-artifact keeps
    assert store.alias_holder("churn", "staging") is None

    # Merged: main trains the merged code, tests it, and the gate lets staging move.
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "stronger-model", "-m", "merge")
    merged = run_github(workflow, repo, "push", "refs/heads/main", secrets, tmp_path / "main")
    assert merged.ok, [(s.name, s.code, s.err[-500:]) for s in merged.steps]
    assert merged.step("Fail when").code is None  # only on pull requests
    assert "churn@staging: None → 3" in merged.step("Promote").out
    assert store.alias_holder("churn", "staging").version == 3
    assert "### ✅ churn\\:3 passed churn\\.yaml" in merged.summary

    # A commit that makes the suite fail: the tests are recorded, the gate refuses, staging
    # stays where it was, and the summary shows why.
    (repo / "tests" / "churn.yaml").write_text(IMPOSSIBLE, encoding="utf-8")
    _git(repo, "commit", "-qam", "a stricter suite")
    refused = run_github(workflow, repo, "push", "refs/heads/main", secrets, tmp_path / "refused")
    assert not refused.ok
    assert refused.step("Test the new version").code == 0  # recorded, judged by the gate
    promote = refused.step("Promote")
    assert promote.code == 4 and "gate" in promote.err and "tests" in promote.err
    assert store.alias_holder("churn", "staging").version == 3
    assert store.latest_model_test("churn", 4).passed is False
    assert "### ❌ churn\\:4 FAILED churn\\.yaml" in refused.summary


@pytest.mark.slow
def test_the_gitlab_pipeline_reports_on_merge_requests_and_promotes_behind_the_gate(cli, project):
    repo, secrets, env, store = project
    assert _init(cli, repo, env, "--gitlab").code == 0
    pipeline = repo / ".gitlab-ci.yml"
    (repo / "tests" / "churn.yaml").write_text(IMPOSSIBLE, encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "CI, and a suite churn cannot pass")

    mr = run_gitlab(pipeline, repo, "merge_request_event", None, secrets)
    assert list(mr) == ["model-report"]
    job = mr["model-report"]
    assert job.code == 7, job.err[-2000:]  # the failed check fails the job, after the reports
    tests = (repo / "mlops-reports" / "tests.md").read_text(encoding="utf-8")
    compared = (repo / "mlops-reports" / "compare.md").read_text(encoding="utf-8")
    assert tests.startswith("### ❌ churn\\:2 FAILED churn\\.yaml")
    assert compared.startswith("### Model churn\\:2 compared with churn@production")
    assert "| churn\\:2 | churn\\.yaml | ❌ failed" in compared
    assert json.loads((repo / "mlops-reports" / "run.json").read_text())["registered"] == [
        "churn:2"
    ]

    main = run_gitlab(pipeline, repo, "push", "main", secrets)
    assert list(main) == ["model-promote"]
    assert main["model-promote"].code == 4 and "gate" in main["model-promote"].err
    assert store.alias_holder("churn", "staging") is None

    (repo / "tests" / "churn.yaml").write_text(PASSING, encoding="utf-8")
    _git(repo, "commit", "-qam", "the usual suite")
    main = run_gitlab(pipeline, repo, "push", "main", secrets)
    assert main["model-promote"].code == 0, main["model-promote"].err[-2000:]
    assert store.alias_holder("churn", "staging").version == 4
