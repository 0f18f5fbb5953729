"""``mlops-nb test``: YAML suites of built-in checks and test notebooks, recorded, used by gates.

Real models trained on the built-in churn data, real stores (SQLite and
PostgreSQL, each test on both), a real notebook suite executed by papermill
in a kernel.
"""

from __future__ import annotations

import re

import nbformat
import pytest

import mlops_nb
from conftest import NOTEBOOKS
from mlops_nb import registry, tracking
from mlops_nb.datasets import TARGET, feature_columns, make_churn, split
from mlops_nb.display import format_number
from mlops_nb.errors import DeadlineError, InvalidInputError, NotFoundError
from mlops_nb.execution.report import render
from mlops_nb.store import audit
from mlops_nb.testing import run_suite

pytestmark = pytest.mark.backends

TEST_NOTEBOOK = NOTEBOOKS / "churn_test.ipynb"
#: The rows the suites below test on, as ``{dataset: churn, ...}`` names them.
HOLDOUT = {"rows": 1000, "seed": 11, "month": "2026-12"}

EVERY_KIND = """
data: {dataset: churn, rows: 1000, seed: 11, month: "2026-12"}
checks:
  - metric: roc_auc
    min: 0.7
  - metric: accuracy
    margin: 0.02
  - metric: recall
    slice: "contract == 'month-to-month'"
    min: 0.3
  - invariance: payment_method
    value: credit card
    max_changed: 0.2
  - directional: support_calls
    add: 3
    expect: increase
  - name: one row fast enough
    latency_ms: 2000
  - size_mb: 5
  - schema: production
"""


@pytest.fixture(scope="module")
def models():
    """A churn model that learned (auc ~0.85) and one fitted on shuffled labels (~0.4)."""
    from models import churn_pipeline

    X_train, _, y_train, _ = split(make_churn(1500, seed=5), seed=5)
    good = churn_pipeline(X_train, y_train)
    shuffled = y_train.sample(frac=1, random_state=0).set_axis(y_train.index)
    return X_train, y_train, good, churn_pipeline(X_train, shuffled)


@pytest.fixture
def tested(store, models):
    """``churn`` v1 (good, in production) and v2 (no better than chance)."""
    X, y, good, bad = models
    for model in (good, bad):
        with tracking.track(store, "churn", model=model, data=X, target=y):
            pass
    registry.promote(store, "churn", 1)
    return store


def _suite(tmp_path, text, name="churn.yaml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _detail(result, name):
    return next(c.detail for c in result.checks if c.name == name)


def test_a_yaml_suite_runs_every_kind_of_check_and_is_recorded(tested, models, tmp_path):
    from sklearn.metrics import recall_score, roc_auc_score

    path = _suite(tmp_path, EVERY_KIND)
    result = mlops_nb.check_model("churn:1", path, store=tested)
    assert result.passed and result.failed == []
    assert [c.name for c in result.checks] == [
        "roc_auc >= 0.7",
        "accuracy vs alias - 0.02",
        "recall on contract == 'month-to-month' >= 0.3",
        "invariance of payment_method",
        "support_calls moves the score: increase",
        "one row fast enough",
        "model size <= 5 MB",
        "schema fits production",
    ]
    # The numbers are the model's on the suite's rows, as scikit-learn gives them.
    good = models[2]
    rows = make_churn(HOLDOUT["rows"], seed=HOLDOUT["seed"], month=HOLDOUT["month"])
    auc = roc_auc_score(rows[TARGET], good.predict_proba(rows[feature_columns()])[:, 1])
    assert f"roc_auc {format_number(auc)} on 1000 rows" in _detail(result, "roc_auc >= 0.7")
    sliced = rows[rows.contract == "month-to-month"]
    recall = recall_score(sliced[TARGET], good.predict(sliced[feature_columns()]))
    assert f"recall {format_number(recall)} on {len(sliced)} rows of contract" in _detail(
        result, "recall on contract == 'month-to-month' >= 0.3"
    )
    assert "production v1 needs >= " in _detail(result, "accuracy vs alias - 0.02")
    assert "0 of 1000 rows moved the other way" in _detail(
        result, "support_calls moves the score: increase"
    )
    assert "takes what production v1's callers send (10 columns)" in _detail(
        result, "schema fits production"
    )
    # Recorded against the version, with a run of kind ``test`` holding the suite.
    assert tested.latest_model_test("churn", 1) == result
    assert (result.suite, result.suite_kind, result.against) == ("churn.yaml", "yaml", "production")
    assert result.against_version == 1
    run = tested.get_run(result.run_id)
    assert (run.kind, run.status, run.name) == ("test", "finished", "churn.yaml")
    assert tested.get_artifact(run.input_sha256) == path.read_bytes()
    assert run.params == {"model_ref": "churn:1", "against_ref": "churn@production"}
    assert tested.latest_model_test("churn", 2) is None
    assert audit.verify(tested).ok
    with pytest.raises(NotFoundError, match="YAML suite churn.yaml: it has no notebook"):
        render(tested, result.run_id)


def test_failing_checks_exit_7_with_json_markdown_and_a_line_naming_them(cli, tested, tmp_path):
    path = _suite(tmp_path, EVERY_KIND)
    markdown = tmp_path / "report.md"
    result = cli("test", "churn:2", str(path), "--json", "--markdown", str(markdown))
    assert result.code == 7, result.err
    doc = result.json()
    assert {"model", "version", "passed", "checks", "run_id"} <= set(doc)
    assert (doc["model"], doc["version"], doc["passed"]) == ("churn", 2, False)
    verdicts = {c["name"]: c["passed"] for c in doc["checks"]}
    assert verdicts == {
        "roc_auc >= 0.7": False,
        "accuracy vs alias - 0.02": False,
        "recall on contract == 'month-to-month' >= 0.3": False,
        "invariance of payment_method": True,
        "support_calls moves the score: increase": False,
        "one row fast enough": True,
        "model size <= 5 MB": True,
        "schema fits production": True,
    }
    assert all(set(c) == {"name", "passed", "detail"} for c in doc["checks"])
    # One line on stderr: the first failed check and why, and how many more.
    assert result.err.count("\n") == 1
    assert "churn:2 failed 4 of 8 checks of churn.yaml: 'roc_auc >= 0.7': roc_auc 0." in result.err
    assert "not >= 0.7 (and 3 more" in result.err
    table = markdown.read_text(encoding="utf-8")
    # Markdown for a job summary: the suite's text escaped, so none of it is read as markup.
    assert "churn\\:2 FAILED churn\\.yaml" in table and "4 of 8 checks passed" in table
    assert "| roc\\_auc &gt;= 0\\.7 | **FAIL** |" in table
    assert "| model size &lt;= 5 MB | pass |" in table
    recorded = tested.latest_model_test("churn", 2)
    assert recorded.run_id == doc["run_id"] and not recorded.passed
    assert [c.name for c in recorded.failed] == [n for n, ok in verdicts.items() if not ok]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_data_is_a_file_beside_the_suite_and_slices_choose_its_rows(
    tested, models, tmp_path, monkeypatch, kind
):
    from sklearn.metrics import accuracy_score

    rows = make_churn(400, seed=21)
    data = tmp_path / "suites" / "data" / f"holdout.{kind}"
    data.parent.mkdir(parents=True)
    rows.to_csv(data, index=False) if kind == "csv" else rows.to_parquet(data)
    path = _suite(
        tmp_path / "suites",
        f"""
data: data/holdout.{kind}
target: churned
checks:
  - metric: accuracy
    slice: "contract == 'two-year' and tenure_months > 12"
    min: 0.5
  - name: nobody that old
    metric: recall
    slice: "tenure_months > 1000"
    min: 0
""",
    )
    monkeypatch.chdir(tmp_path)  # the data is found beside the suite, not here
    result = run_suite(tested, "churn@production", path)
    chosen = rows[(rows.contract == "two-year") & (rows.tenure_months > 12)]
    accuracy = accuracy_score(chosen[TARGET], models[2].predict(chosen[feature_columns()]))
    first, empty = result.checks
    assert first.passed, first.detail
    assert f"accuracy {format_number(accuracy)} on {len(chosen)} rows of contract" in first.detail
    # A slice nothing falls into cannot vouch for the model: a failure, not a pass.
    assert not empty.passed and "no rows on 0 rows of tenure_months > 1000" in empty.detail
    assert not result.passed and result.version == 1


def test_comparisons_use_against_and_pass_when_nobody_holds_the_alias(tested, tmp_path):
    path = _suite(
        tmp_path,
        """
data: {dataset: churn, rows: 500, seed: 11}
against: production
checks:
  - metric: roc_auc
  - schema:
""",
    )
    worse = run_suite(tested, "churn:2", path)
    assert not worse.checks[0].passed and ": worse" in worse.checks[0].detail
    assert worse.checks[1].passed  # the same columns and types
    free = run_suite(tested, "churn:2", path, against="staging")
    assert free.passed and free.against == "staging" and free.against_version is None
    assert "nobody holds 'staging' yet" in free.checks[0].detail


@pytest.mark.parametrize(
    "text, message",
    [
        ("checks: [\n", "is not valid YAML (line 2)"),
        ("checks: []\n", "'checks' must be a non-empty list"),
        ("checks: [{metric: auroc, min: 0.5}]", "check 1 (metric): unknown metric 'auroc'"),
        ("checks: [{size_mb: 5, schema: production}]", "check 1 must have exactly one of"),
        ("checks: [{size_mb: 5, slice: 'a > 1'}]", "check 1 (size_mb): unknown keys ['slice']"),
        ("checks: [{metric: f1, min: 0.5, margin: 0.1}]", "not both"),
        ("checks: [{directional: x, add: 1, expect: up}]", "'expect' must be increase"),
        ("checks: [{size_mb: 5}, {size_mb: 5}]", "check names must differ"),
        ("data: {dataset: iris}\nchecks: [{size_mb: 5}]", "'dataset' must be one of ['churn']"),
        ("checks: [{schema: Production}]", "the alias"),
        ("checks: [{metric: f1, min: 0.5}]", "'f1 >= 0.5' needs rows to test on: add 'data'"),
        ("data: 3\nchecks: [{size_mb: 5}]", "'data' must name a CSV or Parquet file"),
    ],
)
def test_mistakes_in_a_suite_are_named_and_nothing_is_recorded(tested, tmp_path, text, message):
    path = _suite(tmp_path, text)
    events = len(tested.raw_events())
    with pytest.raises(InvalidInputError) as refused:
        run_suite(tested, "churn:1", path)
    assert message in str(refused.value)
    assert tested.model_tests("churn") == [] and len(tested.raw_events()) == events


def test_a_check_that_cannot_be_carried_out_is_bad_input(tested, tmp_path):
    cases = {
        "checks: [{invariance: customer_id, value: C1}]": "'customer_id' is not a column",
        "checks: [{metric: f1, slice: 'no_such > 1', min: 0}]": "cannot select the slice",
    }
    for checks, message in cases.items():
        path = _suite(tmp_path, "data: {dataset: churn, rows: 200}\n" + checks)
        with pytest.raises(InvalidInputError, match=message):
            run_suite(tested, "churn:1", path)
    make_churn(50, seed=1)[["tenure_months", "churned"]].to_csv(tmp_path / "narrow.csv")
    path = _suite(tmp_path, "data: narrow.csv\ntarget: churned\nchecks: [{metric: f1, min: 0}]")
    with pytest.raises(InvalidInputError, match="lacks columns churn:1 was trained on: contract"):
        run_suite(tested, "churn:1", path)
    with pytest.raises(InvalidInputError, match=r"notebook \(\.ipynb\) or a YAML file"):
        run_suite(tested, "churn:1", _suite(tmp_path, "", name="suite.txt"))
    with pytest.raises(InvalidInputError, match="-p parameters are for notebook suites"):
        run_suite(tested, "churn:1", _suite(tmp_path, EVERY_KIND), parameters={"a": 1})
    with pytest.raises(NotFoundError):
        run_suite(tested, "churn:1", tmp_path / "missing.yaml")
    with pytest.raises(NotFoundError):
        run_suite(tested, "churn:9", _suite(tmp_path, EVERY_KIND))
    assert tested.model_tests("churn") == []


def test_bad_yaml_on_the_command_line_exits_2_with_one_line(cli, tested, tmp_path):
    path = _suite(tmp_path, "checks:\n  - metric: roc_auc\n   min: 0.7\n")
    result = cli("test", "churn:1", str(path))
    assert result.code == 2
    assert result.err.startswith("mlops-nb: error: test suite ") and result.err.count("\n") == 1
    assert "is not valid YAML (line 3)" in result.err
    assert result.out == ""


def test_a_notebook_suite_gets_model_ref_and_against_ref_and_is_kept(cli, tested):
    result = cli("test", "churn:1", str(TEST_NOTEBOOK), "--against", "production", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["passed"] and doc["checks"][0]["name"] == "churn_test.ipynb"
    run = tested.get_run(doc["run_id"])
    assert run.kind == "notebook" and run.status == "finished"
    assert run.tags == {"test_of": "churn:1"}
    executed = nbformat.reads(tested.get_artifact(run.output_sha256).decode(), as_version=4)
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert 'model_ref = "churn:1"' in injected.source
    assert 'against_ref = "churn@production"' in injected.source
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert re.search(r"churn:1: auc 0\.8\d\d", printed)
    assert re.search(r"churn:1: auc 0\.8\d\d", render(tested, run.run_id))  # a shareable report
    recorded = tested.latest_model_test("churn", 1)
    assert (recorded.suite_kind, recorded.against, recorded.against_version) == (
        "notebook",
        "production",
        1,
    )
    assert recorded.suite_sha256 == run.input_sha256


def test_a_failing_notebook_names_the_cell_and_the_gate_follows_the_latest_suite(
    cli, tested, tmp_path
):
    failing = cli("test", "churn:1", str(TEST_NOTEBOOK), "-p", "min_auc", "0.99", "--json")
    assert failing.code == 7
    detail = failing.json()["checks"][0]["detail"]
    assert re.fullmatch(
        r"cell 6 \(execution count \d+\) raised AssertionError: auc 0\.\d{3} of churn:1 is "
        r"below 0\.99",
        detail,
    ), detail
    assert detail in failing.err
    # ``tests`` in a gate: refused after the failure, with its reason ...
    refused = cli("promote", "churn", "1", "--alias", "staging", "--require", "tests, auc>=0")
    assert refused.code == 4
    assert "tests: the latest suite churn_test.ipynb failed 1 of 1 checks" in refused.err
    assert tested.alias_holder("churn", "staging") is None
    # ... and allowed once the latest suite of that version passed.
    path = _suite(tmp_path, "checks: [{size_mb: 5}, {schema: production}]\n")
    assert cli("test", "churn:1", str(path)).code == 0
    promoted = cli("promote", "churn", "1", "--alias", "staging", "--require", "tests", "--json")
    assert promoted.code == 0, promoted.err
    assert "tests: churn.yaml passed 2 checks" in promoted.json()["gate"]
    assert audit.verify(tested).ok


def test_a_notebook_suite_refuses_parameters_it_is_given_by_mlops_nb(tested):
    with pytest.raises(InvalidInputError, match="model_ref is set by mlops-nb test"):
        run_suite(tested, "churn:1", TEST_NOTEBOOK, parameters={"model_ref": "churn:2"})
    assert tested.model_tests("churn") == []


def test_the_text_output_lists_each_check(cli, tested, tmp_path):
    path = _suite(tmp_path, "checks: [{size_mb: 0.001}, {schema: production}]\n")
    result = cli("test", "churn@production", str(path))
    assert result.code == 7
    lines = result.out.splitlines()
    assert lines[0] == "churn:1 FAILED churn.yaml"
    assert lines[1].startswith("  FAIL  model size <= 0.001 MB: model file ")
    assert lines[2].startswith("  PASS  schema fits production: takes what production v1")
    assert lines[3] == f"  run {tested.latest_model_test('churn', 1).run_id[:12]}"


def test_a_notebook_suite_out_of_time_is_a_deadline_not_a_verdict(tested):
    # Neither passed nor failed: no outcome for a gate to read, the run is kept as failed.
    with pytest.raises(
        DeadlineError, match=r"test notebook sleepy.ipynb \(run [0-9a-f]{12}\) timed"
    ):
        sleepy = NOTEBOOKS / "sleepy.ipynb"
        run_suite(tested, "churn:1", sleepy, parameters={"seconds": 30}, timeout=3)
    assert tested.model_tests("churn") == []
    (kept,) = tested.list_runs(kind="notebook")
    assert kept.status == "failed" and kept.tags == {"test_of": "churn:1"}
