"""The monthly churn retrain pipeline's notebooks, run for real, its pipeline file, and the
outputs the shipped notebooks store for nbval to compare."""

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

import mlops_nb
from mlops_nb.errors import NotFoundError
from mlops_nb.execution.runner import declared_parameters, read_notebook, run_notebook

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
PIPELINE = NOTEBOOKS / "pipelines" / "retrain_churn.yaml"
PREPARE = NOTEBOOKS / "prepare_churn.ipynb"
TRAIN = NOTEBOOKS / "train_churn.ipynb"
EVALUATE = NOTEBOOKS / "evaluate_churn.ipynb"
PROMOTE = NOTEBOOKS / "promote_churn.ipynb"
MONTH = "2026-11"
TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
# What differs from one execution to the next: a time, a run id or hash, a path on this machine.
VOLATILE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\b[0-9a-f]{12,}\b|(?:^|[\s'\"(])/\w")


def run_ok(path, params, store):
    run = run_notebook(path, params, store=store)
    assert run.status == "finished", f"{path.name}: {run.error}"
    return run


def prepare(store, tmp_path, n_customers=2000):
    return run_ok(
        PREPARE,
        {"month": MONTH, "n_customers": n_customers, "data_dir": str(tmp_path / "extracts")},
        store,
    )


def train(store, data_path, **params):
    """Run the training notebook; return the notebook run and the version it registered."""
    run = run_ok(TRAIN, {"data_path": data_path, "month": MONTH, **params}, store)
    tracked = store.list_runs(parent_run_id=run.run_id)
    assert len(tracked) == 1 and tracked[0].status == "finished"
    assert tracked[0].model_version is not None
    return run, tracked[0]


def production_version(store):
    return mlops_nb.which("churn@production", store=store).version


@pytest.mark.slow
def test_prepare_train_evaluate_promote(store, tmp_path):
    prepared = prepare(store, tmp_path)
    values = prepared.values
    data_path = Path(values["data_path"])
    assert data_path.is_absolute() and data_path == tmp_path / "extracts" / f"churn-{MONTH}.parquet"
    extract = pd.read_parquet(data_path)
    assert values["rows"] == len(extract) == 2000
    assert values["churn_rate"] == pytest.approx(extract["churned"].mean())
    assert 0.02 < values["churn_rate"] < 0.8
    # The recorded fingerprint is that of the file's content, as the training step reads it.
    assert values["data_sha256"] == mlops_nb.data_fingerprint(extract)
    assert not list(data_path.parent.glob(".*partial"))

    trained, tracked = train(store, values["data_path"])
    assert trained.params["data_path"] == tracked.params["data_path"] == values["data_path"]
    assert set(tracked.metrics) >= {"accuracy", "auc"}
    candidate = tracked.model_version

    with pytest.raises(NotFoundError):
        production_version(store)
    evaluated = run_ok(EVALUATE, {"candidate": candidate, "month": MONTH}, store)
    ev = evaluated.values
    assert ev["candidate_version"] == candidate
    assert 0.7 < ev["candidate_auc"] <= 1.0
    # Nobody holds production yet: the gain is the candidate's AUC, so `auc_gain >= 0` passes.
    assert ev["production_version"] is None and ev["production_auc"] is None
    assert ev["auc_gain"] == ev["candidate_auc"]

    promoted = run_ok(PROMOTE, {"version": candidate}, store)
    assert promoted.values == {"promoted_version": candidate}
    assert production_version(store) == candidate
    change = store.alias_changes("churn", "production")[-1]
    assert change.to_version == candidate and change.reason == "monthly retrain pipeline"

    # Next month's candidate is measured against the model now in production.
    _, retrained = train(store, values["data_path"], seed=11)
    again = run_ok(EVALUATE, {"candidate": retrained.model_version, "month": MONTH}, store)
    assert again.values["production_version"] == candidate
    assert again.values["production_auc"] == pytest.approx(ev["candidate_auc"])
    assert again.values["auc_gain"] == pytest.approx(
        again.values["candidate_auc"] - again.values["production_auc"]
    )
    assert mlops_nb.verify(store=store).ok


@pytest.mark.slow
def test_weak_candidate_records_a_negative_gain(store, tmp_path):
    data_path = prepare(store, tmp_path).values["data_path"]
    _, good = train(store, data_path)
    mlops_nb.promote("churn", good.model_version, store=store)
    _, weak = train(store, data_path, C=0.0001)

    evaluated = run_ok(EVALUATE, {"candidate": weak.model_version, "month": MONTH}, store)
    values = evaluated.values
    assert values["candidate_version"] == weak.model_version
    assert values["production_version"] == good.model_version
    assert values["auc_gain"] < 0
    assert values["auc_gain"] == pytest.approx(values["candidate_auc"] - values["production_auc"])
    assert production_version(store) == good.model_version  # evaluation never moves the alias


@pytest.mark.slow
def test_evaluate_and_promote_on_an_empty_store_record_nothing(store):
    for notebook in (EVALUATE, PROMOTE):
        run = run_ok(notebook, {}, store)
        assert run.values == {}
    # The first look that trains example versions is for notebooks opened on their own, never
    # for a notebook `mlops-nb run` executes.
    assert store.list_models() == []


@pytest.mark.slow
def test_a_missing_version_fails_the_step(store):
    run = run_notebook(EVALUATE, {"candidate": 3}, store=store)
    assert run.status == "failed" and "NotFoundError" in run.error


def test_pipeline_file_parses_and_names_existing_notebooks():
    spec = yaml.safe_load(PIPELINE.read_text())
    assert spec["name"] == "retrain_churn" and spec["model"] == "churn"
    assert spec["description"].strip()
    assert set(spec["settings"]) == {"max_parallel", "timeout", "retries", "backoff"}
    steps = spec["steps"]
    assert [s["name"] for s in steps] == ["prepare", "train", "evaluate", "promote"]
    upstream: dict[str, set[str]] = {}
    for step in steps:
        notebook = (PIPELINE.parent / step["notebook"]).resolve()
        assert notebook.is_file(), f"step {step['name']}: {notebook} does not exist"
        # Every parameter a step passes is one its notebook declares.
        declared = declared_parameters(read_notebook(notebook)[2])
        assert declared is not None, f"{notebook.name} has no cell tagged 'parameters'"
        assert set(step.get("parameters", {})) <= set(declared), step["name"]
        deps = step.get("depends_on", [])
        assert set(deps) <= set(upstream), f"{step['name']} depends on a later or unknown step"
        upstream[step["name"]] = set(deps).union(*(upstream[d] for d in deps))
        # Templates name pipeline parameters, or values of steps that ran before this one.
        for value in step.get("parameters", {}).values():
            for ref in TEMPLATE.findall(str(value)):
                kind, name, *_ = ref.split(".")
                if kind == "params":
                    assert name in spec["parameters"], ref
                else:
                    assert kind == "steps" and name in upstream[step["name"]], ref
    assert steps[2]["gate"] == "auc_gain >= 0"


def stored_text(cell) -> str:
    return "".join(
        output.get("text")
        or "".join(v for v in output.get("data", {}).values() if isinstance(v, str))
        for output in cell.outputs
    )


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_checked_cells_store_their_expected_output_and_nothing_else_does(path):
    """nbval --nbval-lax compares only cells marked NBVAL_CHECK_OUTPUT, and only if they were
    stored executed: a marked cell without an execution count is compared with nothing.

    To refresh the stored outputs, execute the notebooks in a fresh store in nbval's order
    (alphabetical) and keep the outputs and execution counts of the marked cells only.
    """
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    checked = {c.id for c in cells if CHECK_OUTPUT in c.source.splitlines()}
    assert checked, f"{path.name}: no cell's output is compared"
    for cell in cells:
        if cell.id in checked:
            text = stored_text(cell)
            assert cell.execution_count is not None and text.strip(), f"{cell.id}: nothing stored"
            assert not VOLATILE.search(text), f"{cell.id} stores {VOLATILE.search(text)[0]!r}"
        else:
            assert not cell.outputs and cell.execution_count is None, f"{cell.id} stores output"
