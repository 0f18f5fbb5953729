"""Pipelines: parsing with clear errors, values between steps, gates, parallel steps."""

import textwrap
from pathlib import Path

import pytest

import mlops_nb
from mlops_nb.errors import GateExpressionError, InvalidInputError, NotFoundError
from mlops_nb.execution import pipeline as pipelines
from mlops_nb.store import audit

pytestmark = pytest.mark.backends

NB = Path(__file__).parent / "notebooks"


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).replace("NB", str(NB)))
    return path


GOOD = """
name: two_levels
model: tiny
parameters: {start: 3.0}
settings: {max_parallel: 2, retries: 0}
steps:
  - name: left
    notebook: NB/record_step.ipynb
    parameters: {value: "{{ params.start }}", label: left}
  - name: right
    notebook: NB/record_step.ipynb
    parameters: {value: 10, label: right}
  - name: join
    notebook: NB/record_step.ipynb
    depends_on: [left, right]
    parameters:
      value: "{{ steps.left.values.score }}"
      label: "from {{ steps.right.values.label }}"
    gate: "score >= 12"
"""


@pytest.mark.slow
def test_values_flow_between_parallel_steps_and_gates_pass(store, tmp_path):
    spec = pipelines.load(write(tmp_path, GOOD))
    assert [s.name for s in spec.order()] == ["left", "right", "join"]
    run = pipelines.run(store, spec)
    assert run.status == "finished", run.error
    steps = run.data["steps"]
    assert {n: s["status"] for n, s in steps.items()} == {
        "left": "finished",
        "right": "finished",
        "join": "finished",
    }
    assert "score>=12: 12 >= 12" in steps["join"]["gate"]
    join = store.get_run(steps["join"]["run_id"])
    assert join.params["value"] == 6.0 and join.params["label"] == "from right"
    assert join.parent_run_id == run.run_id and join.tags["step"] == "join"
    assert audit.verify(store).ok
    # the executed notebook of each step is an artifact; the report of a step works
    from mlops_nb.execution import report

    assert "left" in report.render(store, steps["left"]["run_id"])


@pytest.mark.slow
def test_a_refused_gate_stops_the_pipeline_before_promotion(store, tmp_path, fitted):
    with mlops_nb.track("churn", model=fitted[0], metrics={"auc": 0.9}, store=store):
        pass
    mlops_nb.promote("churn", 1, store=store)
    path = write(
        tmp_path,
        """
    name: gated
    model: churn
    steps:
      - name: evaluate
        notebook: NB/record_step.ipynb
        parameters: {value: 0.4}
        gate: "score >= production"     # needs the candidate's score to reach production's
      - name: promote
        notebook: NB/record_step.ipynb
        depends_on: [evaluate]
    """,
    )
    run = pipelines.run(store, pipelines.load(path))
    assert run.status == "failed"
    steps = run.data["steps"]
    assert steps["evaluate"]["status"] == "failed"
    assert "gate refused" in steps["evaluate"]["error"]
    assert steps["promote"] == {"status": "skipped", "error": "an earlier step failed"}
    assert "step evaluate: gate refused" in run.error
    assert store.alias_holder("churn", "production").version == 1


@pytest.mark.slow
def test_failed_step_is_retried_then_fails_the_pipeline(store, tmp_path):
    path = write(
        tmp_path,
        f"""
    name: flaky
    settings: {{retries: 1, backoff: 0.1}}
    steps:
      - name: shaky
        notebook: NB/flaky.ipynb
        parameters: {{marker: "{tmp_path / "m"}", fail_times: 1}}
      - name: broken
        notebook: NB/flaky.ipynb
        depends_on: [shaky]
        parameters: {{marker: "{tmp_path / "n"}", fail_times: 5}}
    """,
    )
    run = pipelines.run(store, pipelines.load(path))
    steps = run.data["steps"]
    assert steps["shaky"]["status"] == "finished" and steps["shaky"]["attempts"] == 2
    assert steps["broken"]["status"] == "failed" and steps["broken"]["attempts"] == 2
    assert "flaky failure 2 of 5" in steps["broken"]["error"]
    assert run.status == "failed"


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("steps: []", InvalidInputError, "non-empty list"),
        ("- just a list", InvalidInputError, "a mapping"),
        ("name: x\nsteps: [{name: a}]", InvalidInputError, "'notebook' is missing"),
        ("name: x\nsteps: [{name: a, notebook: nope.ipynb}]", NotFoundError, "does not exist"),
        (
            "name: x\nsteps: [{name: a, notebook: NB/flaky.ipynb, depends_on: [b]}]",
            InvalidInputError,
            "must be steps listed before it",
        ),
        (
            "name: x\nsteps: [{name: a, notebook: NB/flaky.ipynb},\n"
            "        {name: a, notebook: NB/flaky.ipynb}]",
            InvalidInputError,
            "used twice",
        ),
        (
            "name: x\nsteps: [{name: a, notebook: NB/flaky.ipynb, gate: 'auc =< 3'}]",
            GateExpressionError,
            "cannot read gate",
        ),
        (
            "name: x\nsteps: [{name: a, notebook: NB/flaky.ipynb,\n"
            "        parameters: {v: '{{ steps.b.values.k }}'}}]",
            InvalidInputError,
            "does not depend on step 'b'",
        ),
        (
            "name: x\nsteps: [{name: a, notebook: NB/flaky.ipynb,\n"
            "        parameters: {v: '{{ nonsense }}'}}]",
            InvalidInputError,
            "cannot read",
        ),
        (
            "name: x\nsettings: {speed: 11}\nsteps: [{name: a, notebook: NB/flaky.ipynb}]",
            InvalidInputError,
            "unknown settings",
        ),
        ("name: [unbalanced\n", InvalidInputError, "not valid YAML"),
    ],
)
def test_malformed_pipelines_are_refused_clearly(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        pipelines.load(write(tmp_path, text))


def test_missing_file_and_unknown_parameters(store, tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        pipelines.load(tmp_path / "nope.yaml")
    spec = pipelines.load(write(tmp_path, GOOD))
    with pytest.raises(InvalidInputError, match="has no parameters"):
        pipelines.run(store, spec, {"bogus": 1})
    assert store.list_runs() == []


def test_rendering_keeps_types_and_names_missing_values():
    values = {"train": {"model_version": 3}}
    assert pipelines.render("{{ steps.train.values.model_version }}", {}, values) == 3
    assert pipelines.render("v{{ steps.train.values.model_version }}", {}, values) == "v3"
    with pytest.raises(InvalidInputError, match="recorded no value 'auc'"):
        pipelines.render("{{ steps.train.values.auc }}", {}, values)


def test_shipped_retrain_pipeline_is_valid():
    spec = pipelines.load(
        Path(__file__).parent.parent / "notebooks" / "pipelines" / "retrain_churn.yaml"
    )
    assert [s.name for s in spec.order()] == ["prepare", "train", "evaluate", "promote"]
    assert spec.model == "churn" and next(s for s in spec.steps if s.name == "evaluate").gate


def test_report_of_a_pipeline_run_points_to_its_steps(store):
    from mlops_nb.execution import report

    store.insert_run(
        {
            "run_id": "c" * 32,
            "kind": "pipeline",
            "name": "p",
            "status": "finished",
            "started_at": "t",
            "data": {"steps": {"a": {"run_id": "d" * 32}}},
        },
        "me",
    )
    with pytest.raises(NotFoundError, match="is a pipeline; report one of its steps: a dddd"):
        report.render(store, "c" * 32)


SLOW = """
name: slow_then_more
settings: {max_parallel: 1, retries: 2, backoff: 0}
steps:
  - name: first
    notebook: NB/sleepy.ipynb
    parameters: {seconds: 60, pidfile: PIDFILE}
  - name: second
    notebook: NB/record_step.ipynb
    depends_on: [first]
    parameters: {value: 1, label: never}
"""


@pytest.mark.slow
def test_a_cancelled_pipeline_kills_its_kernel_and_starts_nothing_more(store, tmp_path):
    """Cancelling kills the running step's kernel, retries nothing, skips the rest, and
    records who cancelled; the rest of the store still verifies."""
    import os
    import threading
    import uuid

    from conftest import wait_for
    from mlops_nb.execution import cancel

    pidfile = tmp_path / "kernel.pid"
    spec = pipelines.load(write(tmp_path, SLOW.replace("PIDFILE", str(pidfile))))
    run_id = uuid.uuid4().hex
    cancellation = cancel.register(run_id, cancel.Cancellation())
    done: dict = {}
    worker = threading.Thread(
        target=lambda: done.update(run=pipelines.run(store, spec, run_id=run_id))
    )
    worker.start()
    try:
        pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text(), 60, "the kernel"))
        assert cancellation.cancel("carol (jupyter)")
        worker.join(60)
        assert not worker.is_alive()
    finally:
        cancel.release(cancellation)
    run = done["run"]
    assert run.status == "failed" and "cancelled by carol (jupyter)" in run.error
    steps = run.data["steps"]
    assert steps["first"]["attempts"] == 1  # a cancelled step is not retried
    assert steps["second"]["status"] == "skipped"
    first = store.get_run(steps["first"]["run_id"])
    assert first.status == "failed" and first.error.startswith("cancelled by carol (jupyter)")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert cancel.lookup(run_id) is None
    assert audit.verify(store).ok
