"""Pipelines: several notebooks, their dependencies, values passed along, and gates.

A pipeline is a YAML file::

    name: retrain_churn
    model: churn                      # default model for gates like auc>=production
    parameters: {month: "2026-11"}    # defaults, overridable per run
    settings: {max_parallel: 2, timeout: 900, retries: 1, backoff: 10}
    steps:
      - name: train
        notebook: ../train_churn.ipynb          # relative to the YAML file
        parameters: {month: "{{ params.month }}"}
      - name: evaluate
        notebook: ../evaluate_churn.ipynb
        depends_on: [train]
        parameters: {candidate: "{{ steps.train.values.model_version }}"}
        gate: "auc_gain >= 0"

A step's ``values`` are what its notebook recorded (``%mlops_record``), the
metrics of the runs it tracked, and ``model``/``model_version`` of the version
they registered. A parameter that is exactly one ``{{ … }}`` keeps the
value's type. A refused gate fails the pipeline; steps after it do not run.
The gate term ``tests`` looks up the newest test suite run
(:mod:`mlops_nb.testing`) of the version the step registered, or of the
``model_version`` it recorded.
Each step runs in its own kernel through an executor (:mod:`mlops_nb.execution.executor`).
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment, limits
from ..errors import InvalidInputError, NotFoundError
from ..jsonutil import jsonable, utcnow
from ..registry import gates
from ..registry.names import check_model_name

if TYPE_CHECKING:
    from ..records import ModelTest, Run
    from ..store import Store
    from .executor import Executor

_NAME = re.compile(r"^[A-Za-z][\w-]{0,63}$")
_TEMPLATE = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_SETTINGS = {"max_parallel": 2, "timeout": None, "retries": 0, "backoff": 10.0}


@dataclass(frozen=True)
class Step:
    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    gate: str | None = None
    timeout: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class Pipeline:
    name: str
    path: Path
    steps: tuple[Step, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    description: str = ""

    def order(self) -> list[Step]:
        """Steps in an order that respects dependencies (file order among equals)."""
        done: set[str] = set()
        out: list[Step] = []
        pending = list(self.steps)
        while pending:
            ready = [s for s in pending if set(s.depends_on) <= done]
            step = ready[0]
            out.append(step)
            done.add(step.name)
            pending.remove(step)
        return out

    def notebooks(self) -> list[Path]:
        return [s.notebook for s in self.steps]


def load(path: str | Path) -> Pipeline:
    """Read and validate a pipeline file, naming the first problem precisely."""
    import yaml

    file = Path(path).expanduser()
    if str(path) == "" or file.is_dir():
        raise InvalidInputError(f"pipeline file {path!r} is a folder; name a YAML file")
    if not file.is_file():
        raise NotFoundError(f"pipeline file {file} does not exist")
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{file} is not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file} is not a text file") from None
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{file}: a pipeline is a mapping with 'name' and 'steps'")
    return parse(doc, file.resolve())


def parse(doc: dict[str, Any], path: Path) -> Pipeline:
    where = str(path)
    unknown = set(doc) - {"name", "description", "model", "parameters", "settings", "steps"}
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {sorted(unknown)}")
    name = doc.get("name") or path.stem
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(f"{where}: name {name!r} must be a short identifier")
    params = _parameters(doc.get("parameters"), where)
    settings = _settings(doc.get("settings"), where)
    model = doc.get("model")
    if model is not None:
        try:
            check_model_name(model)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: model: {exc}") from None
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidInputError(f"{where}: description must be text")
    raw_steps = doc.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InvalidInputError(f"{where}: 'steps' must be a non-empty list")
    steps: list[Step] = []
    names: set[str] = set()
    for i, raw in enumerate(raw_steps, start=1):
        steps.append(_step(raw, i, path, names, params))
        names.add(steps[-1].name)
    _check_references(steps, where)
    return Pipeline(
        name=name,
        path=path,
        steps=tuple(steps),
        parameters=params,
        settings=settings,
        model=model,
        description=description or "",
    )


def _parameters(raw: Any, where: str) -> dict[str, Any]:
    """Parameters as written in the file, checked as a notebook run will check them."""
    from .runner import check_parameters

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: parameters must be a mapping of names to values")
    return check_parameters(raw, where)


def _settings(raw: Any, where: str) -> dict[str, Any]:
    """``settings`` with their defaults, each of the type and range it is used as."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInputError(
            f"{where}: settings must be a mapping such as {{max_parallel: 2, retries: 1}}"
        )
    bad = set(raw) - set(_SETTINGS)
    if bad:
        raise InvalidInputError(f"{where}: unknown settings {sorted(bad, key=str)}")
    settings = {**_SETTINGS, **raw}
    return {
        "max_parallel": _whole(settings["max_parallel"], f"{where}: max_parallel", 1),
        "timeout": _timeout(settings["timeout"], f"{where}: timeout"),
        "retries": _whole(settings["retries"], f"{where}: retries", 0, limits.MAX_RETRIES),
        "backoff": _seconds(settings["backoff"], f"{where}: backoff", allow_zero=True),
    }


def _whole(value: Any, what: str, minimum: int, maximum: int = limits.MAX_WHOLE) -> int:
    # YAML has already typed the value: text such as "3" is refused like "many".
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a whole number, not {value!r}")
    return limits.whole_number(value, what, minimum=minimum, maximum=maximum)


def _seconds(value: Any, what: str, allow_zero: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a number of seconds, not {value!r}")
    return limits.seconds(value, what, allow_zero=allow_zero)


def _timeout(value: Any, what: str) -> float | None:
    return None if value is None else _seconds(value, f"{what} (null for none)")


def _step(raw: Any, index: int, path: Path, earlier: set[str], params: dict[str, Any]) -> Step:
    where = f"{path}: step {index}"
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where} must be a mapping with 'name' and 'notebook'")
    unknown = set(raw) - {
        "name",
        "notebook",
        "parameters",
        "depends_on",
        "gate",
        "timeout",
        "retries",
    }
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(f"{where}: name {name!r} must be a short identifier")
    if name in earlier:
        raise InvalidInputError(f"{where}: step name {name!r} is used twice")
    if not isinstance(raw.get("notebook"), str):
        raise InvalidInputError(f"{where} ({name}): 'notebook' is missing")
    notebook = (path.parent / raw["notebook"]).resolve()
    if notebook.exists() and not notebook.is_file():
        raise InvalidInputError(f"{where} ({name}): notebook {notebook} is not a file")
    if not notebook.is_file():
        raise NotFoundError(f"{where} ({name}): notebook {notebook} does not exist")
    depends = raw.get("depends_on") or []
    if isinstance(depends, str):
        depends = [depends]
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise InvalidInputError(
            f"{where} ({name}): depends_on must be a step name or a list of step names, "
            f"not {depends!r}"
        )
    missing = [d for d in depends if d not in earlier]
    if missing:
        raise InvalidInputError(
            f"{where} ({name}): depends on {missing}, which must be steps listed before it"
        )
    if raw.get("gate") is not None:
        gates.parse(str(raw["gate"]))  # raises with the bad part
    parameters = _parameters(raw.get("parameters"), f"{where} ({name})")
    retries = raw.get("retries")
    return Step(
        name=name,
        notebook=notebook,
        parameters=parameters,
        depends_on=tuple(depends),
        gate=raw.get("gate"),
        timeout=_timeout(raw.get("timeout"), f"{where} ({name}): timeout"),
        retries=None
        if retries is None
        else _whole(retries, f"{where} ({name}): retries", 0, limits.MAX_RETRIES),
    )


def _check_references(steps: list[Step], where: str) -> None:
    by_name = {s.name: s for s in steps}
    for step in steps:
        upstream = _ancestors(step, by_name)
        for value in step.parameters.values():
            for ref in _TEMPLATE.findall(str(value)):
                parts = ref.split(".")
                if parts[0] == "params" and len(parts) == 2:
                    continue
                if parts[0] == "steps" and len(parts) == 4 and parts[2] == "values":
                    if parts[1] not in upstream:
                        raise InvalidInputError(
                            f"{where}: step {step.name!r} uses {{{{ {ref} }}}} but does not "
                            f"depend on step {parts[1]!r}"
                        )
                    continue
                raise InvalidInputError(
                    f"{where}: step {step.name!r}: cannot read "
                    f"{{{{ {ref} }}}} (use params.NAME or "
                    "steps.STEP.values.KEY)"
                )


def _ancestors(step: Step, by_name: dict[str, Step]) -> set[str]:
    seen: set[str] = set()
    stack = list(step.depends_on)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(by_name[name].depends_on)
    return seen


def render(value: Any, params: dict[str, Any], values: dict[str, dict[str, Any]]) -> Any:
    """Fill ``{{ params.x }}`` and ``{{ steps.s.values.k }}`` into a parameter value."""
    if not isinstance(value, str):
        return value

    def lookup(ref: str) -> Any:
        parts = ref.split(".")
        if parts[0] == "params":
            if parts[1] not in params:
                raise InvalidInputError(f"pipeline parameter {parts[1]!r} is not set")
            return params[parts[1]]
        step_values = values.get(parts[1], {})
        if parts[3] not in step_values:
            raise InvalidInputError(
                f"step {parts[1]!r} recorded no value {parts[3]!r} "
                f"(it has: {', '.join(sorted(step_values)) or 'none'})"
            )
        return step_values[parts[3]]

    whole = _TEMPLATE.fullmatch(value.strip())
    if whole:
        return lookup(whole[1])
    return _TEMPLATE.sub(lambda m: str(lookup(m[1])), value)


def step_values(store: Store, run: Run) -> dict[str, Any]:
    """What a finished step passes on: recorded values, tracked metrics, model version."""
    out: dict[str, Any] = {}
    for child in reversed(store.list_runs(parent_run_id=run.run_id)):
        out.update(child.metrics)
        out.update(child.values)
        if child.model_version is not None:
            out["model"] = child.name
            out["model_version"] = child.model_version
    out.update(run.values)
    return out


def check_gate(
    store: Store, step: Step, values: dict[str, Any], model: str | None
) -> tuple[bool, str]:
    """Evaluate a step's gate on its values; return (passed, explanation)."""
    if not step.gate:
        return True, ""
    numbers = {k: float(v) for k, v in values.items() if isinstance(v, (int, float))}

    def holder(alias: str) -> tuple[int, dict[str, float]] | None:
        if not model:
            return None
        found = store.alias_holder(model, alias)
        return None if found is None else (found.version, found.metrics)

    def latest_test() -> ModelTest | None:
        # The version this step registered (or recorded as ``model_version``).
        version = values.get("model_version")
        name = values.get("model") or model
        if not name or not isinstance(version, int) or isinstance(version, bool):
            return None
        return store.latest_model_test(str(name), version)

    passed, failed = gates.evaluate(
        gates.parse(step.gate), numbers, holder, f"step {step.name}", latest_test
    )
    if failed:
        return False, "gate refused: " + "; ".join(failed)
    return True, "gate passed: " + "; ".join(passed)


def run(
    store: Store,
    pipeline: Pipeline,
    parameters: dict[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> Run:
    """Run a pipeline once and return its ``pipeline`` run (status finished or failed)."""
    from .executor import LocalExecutor, StepTask

    unknown = set(parameters or {}) - set(pipeline.parameters)
    if unknown:
        raise InvalidInputError(
            f"pipeline {pipeline.name} has no parameters {sorted(unknown)} "
            f"(it has: {', '.join(sorted(pipeline.parameters)) or 'none'})"
        )
    params = {k: jsonable(v) for k, v in {**pipeline.parameters, **(parameters or {})}.items()}
    executor = executor or LocalExecutor(int(pipeline.settings["max_parallel"]))
    actor = environment.actor()
    run_id = run_id or uuid.uuid4().hex
    store.insert_run(
        {
            "run_id": run_id,
            "kind": "pipeline",
            "name": pipeline.name,
            "status": "running",
            "started_at": utcnow(),
            "params": params,
            "tags": dict(tags or {}),
            "notebook_path": str(pipeline.path),
            "data": {"steps": {}},
            "pid": os.getpid(),
            "host": socket.gethostname(),
        },
        actor,
    )
    states: dict[str, dict[str, Any]] = {s.name: {"status": "pending"} for s in pipeline.steps}
    values: dict[str, dict[str, Any]] = {}
    failure: str | None = None

    def save(status: str = "running", error: str | None = None) -> None:
        changes: dict[str, Any] = {"data": {"steps": states}}
        if status != "running":
            changes.update(status=status, ended_at=utcnow(), error=error)
        store.update_run(
            run_id, changes, actor, kind="run.updated" if status == "running" else "run.finished"
        )

    from .cancel import lookup

    cancellation = lookup(run_id)  # someone may stop this pipeline: no step starts after that
    pending = list(pipeline.order())
    while pending and failure is None:
        if cancellation is not None and cancellation.cancelled:
            failure = cancellation.reason
            break
        done = {n for n, s in states.items() if s["status"] == "finished"}
        ready = [s for s in pending if set(s.depends_on) <= done]
        if not ready:  # pragma: no cover - parse() rejects cycles and forward references
            failure = "no step can run: dependencies unmet"
            break
        tasks = []
        for step in ready:
            try:
                step_params = {k: render(v, params, values) for k, v in step.parameters.items()}
            except InvalidInputError as exc:
                states[step.name] = {"status": "failed", "error": str(exc)}
                failure = f"step {step.name}: {exc}"
                break
            states[step.name] = {"status": "running", "started_at": utcnow()}
            tasks.append(
                StepTask(
                    name=step.name,
                    notebook=step.notebook,
                    parameters=step_params,
                    timeout=step.timeout or pipeline.settings["timeout"],
                    retries=int(
                        step.retries if step.retries is not None else pipeline.settings["retries"]
                    ),
                    backoff=float(pipeline.settings["backoff"]),
                    tags={"pipeline": pipeline.name, "pipeline_run": run_id, "step": step.name},
                )
            )
        if failure:
            break
        save()
        for task, outcome in executor.run_steps(store, tasks, parent_run_id=run_id):
            step = next(s for s in pipeline.steps if s.name == task.name)
            pending.remove(step)
            state = {
                "status": outcome.status,
                "run_id": outcome.run_id,
                "attempts": outcome.attempts,
                "error": outcome.error,
                "started_at": states[step.name].get("started_at"),
                "ended_at": utcnow(),
            }
            if outcome.status == "finished" and outcome.run is not None:
                values[step.name] = step_values(store, outcome.run)
                passed, note = check_gate(store, step, values[step.name], pipeline.model)
                state["gate"] = note or None
                if not passed:
                    state["status"] = "failed"
                    state["error"] = note
            states[step.name] = state
            if state["status"] != "finished" and failure is None:
                failure = f"step {step.name}: {state['error']}"
        save()
    for step in pending:
        if states[step.name]["status"] == "pending":
            states[step.name] = {"status": "skipped", "error": "an earlier step failed"}
    save("failed" if failure else "finished", failure)
    return store.get_run(run_id)


def timed_out_step(run: Run) -> str | None:
    """The step whose time limit ran out and failed the pipeline ``run``, if one did."""
    from .kernel import TIMED_OUT

    for name, state in (run.data.get("steps") or {}).items():
        if state.get("status") == "failed" and str(state.get("error") or "").startswith(TIMED_OUT):
            return str(name)
    return None
