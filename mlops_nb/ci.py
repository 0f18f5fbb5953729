"""CI templates for models: ``mlops-nb ci init`` writes them into a repository.

The GitHub Actions workflow (``.github/workflows/mlops-nb.yml``) and the
GitLab CI file (``.gitlab-ci.yml``) do the same, in each platform's terms:

- on a pull (merge) request: run the training notebook (``mlops-nb run``,
  which records the run and registers a version), test that version
  (``mlops-nb test NAME:N SUITE --against production``), compare it with
  production (``mlops-nb compare``), put both markdown reports in the job
  summary (GitHub) or the job's exposed artifacts (GitLab), keep the executed
  notebook, and fail the job when a model test failed;
- on the main branch: the same training and test of the merged code, then
  ``mlops-nb promote NAME N --alias staging --require GATE``: staging moves
  only if the gate passes (``tests`` passes only when the version's latest
  suite passed).

The job learns the new version from ``mlops-nb --json run``, whose
``registered`` lists the versions the notebook registered.

The store: a CI job starts on a fresh machine, so the store must be the
team's (PostgreSQL and object storage, see README "Team setup"): the job
reads ``MLOPS_NB_DB_URL`` and ``MLOPS_NB_ARTIFACTS`` from repository secrets
(GitHub) or masked CI/CD variables (GitLab); ``MLOPS_NB_HOME`` is a folder in
the checkout for temporary files. Left empty, the job uses a SQLite store in
that folder, which lives only as long as the job.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import ConflictError, InvalidInputError
from .registry import check_model_name
from .registry.gates import parse as parse_gate

__all__ = ["GITHUB_PATH", "GITLAB_PATH", "github_workflow", "gitlab_pipeline", "write_templates"]

GITHUB_PATH = ".github/workflows/mlops-nb.yml"
GITLAB_PATH = ".gitlab-ci.yml"
#: Where the jobs write the executed notebook, the run's JSON and the reports.
REPORTS = "mlops-reports"
#: Paths a template may name: relative, plain characters (no ``$`` or ``{``, which
#: GitHub expressions and GitLab variables would expand, no quotes, no ``..``).
_PATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./ -]*")

_PICK_VERSION = (
    "import json, os, sys; run = json.load(open(sys.argv[1])); "
    "found = [r for r in run['registered'] if r.split(':')[0] == os.environ['MODEL']]; "
    "sys.exit('the notebook registered no version of ' + os.environ['MODEL']) "
    "if not found else print(found[0])"
)


def _commands() -> dict[str, list[str]]:
    """The shell lines of each stage, shared by both platforms."""
    return {
        "train": [
            f"mkdir -p {REPORTS}",
            f'mlops-nb --json run "$NOTEBOOK" -o {REPORTS}/train.ipynb > {REPORTS}/run.json',
            f'MODEL_REF=$(python -c "{_PICK_VERSION}" {REPORTS}/run.json)',
        ],
        "test": [
            f'mlops-nb test "$MODEL_REF" "$SUITE" --against production '
            f"--markdown {REPORTS}/tests.md || TESTS_EXIT=$?",
        ],
        "compare": [
            f'if mlops-nb which "$MODEL@production" > /dev/null; then mlops-nb compare '
            f'"$MODEL_REF" "$MODEL@production" --markdown {REPORTS}/compare.md; else echo '
            f'"No version of $MODEL holds production yet: nothing to compare with." '
            f"> {REPORTS}/compare.md; fi",
        ],
        "promote": [
            'mlops-nb promote "$MODEL" "${MODEL_REF##*:}" --alias staging --require "$GATE" '
            '--reason "tested on the main branch"',
        ],
    }


def _scalar(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _block(lines: list[str], indent: int) -> str:
    pad = " " * indent
    return "\n".join(pad + line for line in lines)


def github_workflow(
    model: str, notebook: str, suite: str, gate: str, branch: str = "main", python: str = "3.12"
) -> str:
    """The text of ``.github/workflows/mlops-nb.yml``."""
    c = _commands()
    # Each `run:` is its own shell: later steps read MODEL_REF and TESTS_EXIT from $GITHUB_ENV.
    train = [*c["train"], 'echo "MODEL_REF=$MODEL_REF" >> "$GITHUB_ENV"']
    test = [
        "TESTS_EXIT=0",
        *c["test"],
        'echo "TESTS_EXIT=$TESTS_EXIT" >> "$GITHUB_ENV"',
    ]
    summary = [
        f"for report in {REPORTS}/tests.md {REPORTS}/compare.md; do",
        '  if [ -f "$report" ]; then cat "$report" >> "$GITHUB_STEP_SUMMARY"; fi',
        "done",
    ]
    on_main = f"github.event_name == 'push' && github.ref == 'refs/heads/{branch}'"
    return f"""\
# Written by `mlops-nb ci init --github`: train, test and compare a model on each pull request,
# promote it to staging behind the gate on {branch}.
#
# The store: a job starts on a fresh machine, so point it at the team store with two repository
# secrets (Settings > Secrets and variables > Actions): MLOPS_NB_DB_URL (postgresql://...) and
# MLOPS_NB_ARTIFACTS (s3://..., gs://..., az://...). Without them each job has a store of its
# own, gone when it ends. requirements.txt must list mlops-nb and what the notebook imports.
name: mlops-nb

on:
  pull_request:
  push:
    branches: [{_scalar(branch)}]

permissions:
  contents: read

env:
  MODEL: {_scalar(model)}
  NOTEBOOK: {_scalar(notebook)}
  SUITE: {_scalar(suite)}
  GATE: {_scalar(gate)}
  MLOPS_NB_HOME: ${{{{ github.workspace }}}}/.mlops
  MLOPS_NB_DB_URL: ${{{{ secrets.MLOPS_NB_DB_URL }}}}
  MLOPS_NB_ARTIFACTS: ${{{{ secrets.MLOPS_NB_ARTIFACTS }}}}

jobs:
  model:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: {_scalar(python)}
      - name: Install
        run: python -m pip install -r requirements.txt
      - name: Train (run the notebook, register a version)
        run: |
{_block(train, 10)}
      - name: Test the new version
        run: |
{_block(test, 10)}
      - name: Compare with production
        run: |
{_block(c["compare"], 10)}
      - name: Write the reports to the job summary
        if: always()
        run: |
{_block(summary, 10)}
      - name: Keep the executed notebook and the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: mlops-nb-reports
          path: {REPORTS}/
      - name: Fail when a model test failed
        if: github.event_name == 'pull_request'
        run: exit "$TESTS_EXIT"
      - name: Promote to staging behind the gate
        if: {on_main}
        run: |
{_block(c["promote"], 10)}
"""


def gitlab_pipeline(
    model: str, notebook: str, suite: str, gate: str, branch: str = "main", python: str = "3.12"
) -> str:
    """The text of ``.gitlab-ci.yml``."""
    c = _commands()
    # A job's script lines share one shell: MODEL_REF and TESTS_EXIT carry over.
    common = [
        "python -m pip install -r requirements.txt",
        *c["train"],
        "TESTS_EXIT=0",
        *c["test"],
    ]

    def script(lines: list[str]) -> str:
        return "\n".join(f"    - {_scalar(line)}" for line in lines)

    return f"""\
# Written by `mlops-nb ci init --gitlab`: train, test and compare a model on each merge request,
# promote it to staging behind the gate on {branch}.
#
# The store: a job starts on a fresh machine, so point it at the team store with two masked
# CI/CD variables (Settings > CI/CD > Variables): MLOPS_NB_DB_URL (postgresql://...) and
# MLOPS_NB_ARTIFACTS (s3://..., gs://..., az://...). Without them each job has a store of its
# own, gone when it ends. requirements.txt must list mlops-nb and what the notebook imports.
# The reports (markdown) and the executed notebook are the job's artifacts, linked from the
# merge request.

variables:
  MODEL: {_scalar(model)}
  NOTEBOOK: {_scalar(notebook)}
  SUITE: {_scalar(suite)}
  GATE: {_scalar(gate)}
  MLOPS_NB_HOME: "$CI_PROJECT_DIR/.mlops"

default:
  image: {_scalar("python:" + python)}

model-report:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  script:
{script([*common, *c["compare"], 'exit "$TESTS_EXIT"'])}
  artifacts:
    when: always
    expose_as: "model report"
    paths:
      - {REPORTS}/

model-promote:
  rules:
    - if: $CI_COMMIT_BRANCH == {_scalar(branch)}
  script:
{script([*common, *c["promote"]])}
  artifacts:
    when: always
    paths:
      - {REPORTS}/
"""


def _path(value: str, what: str) -> str:
    if not _PATH.fullmatch(value) or ".." in Path(value).parts:
        raise InvalidInputError(
            f"{what} {value!r} must be a path relative to the repository's root, of letters, "
            "digits, '_', '-', '.', '/' and spaces"
        )
    return value


def write_templates(
    root: Path,
    *,
    model: str,
    notebook: str | None = None,
    suite: str | None = None,
    gate: str = "tests",
    branch: str = "main",
    python: str = "3.12",
    github: bool = True,
    gitlab: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Write the chosen templates under ``root``; refuse to overwrite without ``force``.

    Returns ``{"files": [paths written], "notes": [things to do before the first job]}``.
    """
    model = check_model_name(model)
    if any(c in model for c in "${}"):  # GitHub expressions and GitLab variables expand these
        raise InvalidInputError(f"--model {model!r}: a model in CI may not hold '$', '{{' or '}}'")
    notebook = _path(notebook or f"notebooks/train_{model}.ipynb", "--notebook")
    suite = _path(suite or f"tests/{model}.yaml", "--suite")
    parse_gate(gate)  # a malformed gate fails here, not in the first job on main
    if "$" in gate or '"' in gate:
        raise InvalidInputError(f"--gate {gate!r} may not hold '$' or '\"'")
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", branch):
        raise InvalidInputError(f"--branch {branch!r} is not a plain branch name")
    if not re.fullmatch(r"3\.[0-9]{1,2}", python):
        raise InvalidInputError(f"--python {python!r} must be a version such as 3.12")
    texts = {}
    if github:
        texts[GITHUB_PATH] = github_workflow(model, notebook, suite, gate, branch, python)
    if gitlab:
        texts[GITLAB_PATH] = gitlab_pipeline(model, notebook, suite, gate, branch, python)
    existing = [p for p in texts if (root / p).exists()]
    if existing and not force:
        raise ConflictError(
            f"{', '.join(existing)} already exists: pass --force to overwrite"
            if len(existing) == 1
            else f"{' and '.join(existing)} already exist: pass --force to overwrite"
        )
    for rel, content in texts.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    notes = [
        f"{what} {path} does not exist yet"
        for what, path in (("the notebook", notebook), ("the suite", suite))
        if not (root / path).exists()
    ]
    if not (root / "requirements.txt").exists():
        notes.append("the jobs install requirements.txt, which does not exist yet")
    notes.append(
        "set MLOPS_NB_DB_URL and MLOPS_NB_ARTIFACTS as CI secrets so the jobs use the team store"
    )
    return {"files": list(texts), "notes": notes, "model": model, "notebook": notebook,
            "suite": suite, "gate": gate}  # fmt: skip
