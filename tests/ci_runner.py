"""Run a generated CI file's steps on this machine, the way GitHub Actions or GitLab would.

For the tests of ``mlops-nb ci init``: each ``run:`` step (GitHub) or the
job's script (GitLab) runs in bash with the options and the environment the
platform gives it (``CI``, ``GITHUB_*`` / ``CI_*``, the workflow's ``env`` or
``variables``, ``$GITHUB_ENV`` carried from step to step, a
``$GITHUB_STEP_SUMMARY`` file). ``uses:`` steps (checkout, setup-python,
upload-artifact) are the platform's own actions: they are listed, not run;
the checkout is the repository itself and Python is this one. Conditions are
the few the templates use (``always()``, ``==`` on ``github.*`` or ``$VAR``,
``&&``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: What GitHub's runner gives a ``run:`` step (``shell: bash``).
GITHUB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


@dataclass
class Step:
    name: str
    code: int | None  # None: not run (its condition was false, or an action)
    out: str = ""
    err: str = ""


@dataclass
class JobResult:
    steps: list[Step] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return all(s.code in (None, 0) for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name.startswith(name))


def _base_env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_NB_", "GITHUB_", "CI"))}
    # setup-python's Python, with mlops-nb installed, first on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    env["HOME"] = env.get("HOME", str(repo))
    return env


def _github_expr(text: str, context: dict[str, str], job_ok: bool) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("secrets."):
            return context.get(key, "")
        return context[key]

    return re.sub(r"\$\{\{\s*([a-z_.A-Z]+)\s*\}\}", value, text)


def _github_if(condition: str | None, context: dict[str, str], job_ok: bool) -> bool:
    if condition is None:
        return job_ok
    python = condition.replace("&&", " and ").replace("||", " or ")
    python = python.replace("always()", "True").replace("success()", repr(job_ok))
    python = python.replace("failure()", repr(not job_ok))
    python = re.sub(r"\bgithub\.[a-z_]+", lambda m: repr(context[m.group(0)]), python)
    verdict = bool(eval(python, {"__builtins__": {}}))  # the templates' own conditions only
    return verdict if "always()" in condition or "failure()" in condition else verdict and job_ok


def run_github(
    workflow: Path, repo: Path, event: str, ref: str, secrets: dict[str, str], tmp: Path
) -> JobResult:
    """Run the workflow's one job for ``event`` (``pull_request`` or ``push``) at ``ref``."""
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert event in on, f"the workflow does not run on {event}"
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    tmp.mkdir(parents=True, exist_ok=True)
    summary, github_env = tmp / "step_summary.md", tmp / "github_env"
    summary.write_text("", encoding="utf-8")
    context = {
        "github.event_name": event,
        "github.ref": ref,
        "github.sha": sha,
        "github.workspace": str(repo),
        **{f"secrets.{k}": v for k, v in secrets.items()},
    }
    env = _base_env(repo)
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME=event,
        GITHUB_REF=ref,
        GITHUB_SHA=sha,
        GITHUB_WORKSPACE=str(repo),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ENV=str(github_env),
        RUNNER_TEMP=str(tmp),
    )
    for key, value in (doc.get("env") or {}).items():
        env[key] = _github_expr(str(value), context, True)
    (job,) = doc["jobs"].values()
    for key, value in (job.get("env") or {}).items():
        env[key] = _github_expr(str(value), context, True)
    result = JobResult()
    job_ok = True
    for n, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {n}"
        if not _github_if(step.get("if"), context, job_ok):
            result.steps.append(Step(name, None))
            continue
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                path = repo / step["with"]["path"]
                assert path.exists(), f"{name}: nothing to upload at {path}"
            result.steps.append(Step(name, None))
            continue
        script = tmp / f"step{n}.sh"
        script.write_text(step["run"], encoding="utf-8")
        github_env.write_text("", encoding="utf-8")
        proc = subprocess.run(
            [*GITHUB_SHELL, str(script)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        result.steps.append(Step(name, proc.returncode, proc.stdout, proc.stderr))
        for line in github_env.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                env[key] = value
        job_ok = job_ok and proc.returncode == 0
    result.summary = summary.read_text(encoding="utf-8")
    return result


def _gitlab_expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), value)


def _gitlab_rule(rule: str, env: dict[str, str]) -> bool:
    python = re.sub(r"\$([A-Z_][A-Z0-9_]*)", lambda m: repr(env.get(m.group(1), "")), rule)
    python = python.replace("&&", " and ").replace("||", " or ")
    return bool(eval(python, {"__builtins__": {}}))  # the templates' own rules only


def run_gitlab(
    pipeline: Path, repo: Path, source: str, branch: str | None, variables: dict[str, str]
) -> dict[str, Step]:
    """Run every job whose rules match (``source``: ``merge_request_event`` or ``push``)."""
    doc = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    env = _base_env(repo)
    env.update(
        GITLAB_CI="true",
        CI_PIPELINE_SOURCE=source,
        CI_PROJECT_DIR=str(repo),
        CI_DEFAULT_BRANCH="main",
        **variables,  # the project's CI/CD variables (the secrets)
    )
    if branch is not None:
        env["CI_COMMIT_BRANCH"] = branch
    for key, value in (doc.get("variables") or {}).items():
        env[key] = _gitlab_expand(str(value), env)
    ran = {}
    for name, job in doc.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        if not any(_gitlab_rule(r["if"], env) for r in job.get("rules", [])):
            continue
        # The runner feeds the script lines to one bash, stopping at the first that fails.
        script = "set -eo pipefail\n" + "\n".join(job["script"]) + "\n"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc"],
            input=script,
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        for path in job.get("artifacts", {}).get("paths", []):
            assert (repo / path).exists(), f"{name}: no artifact at {path}"
        ran[name] = Step(name, proc.returncode, proc.stdout, proc.stderr)
    return ran
