import pytest
from IPython.core.error import UsageError

import mlops_nb

SETUP = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
y = (X.a + rng.normal(size=300) > 0).astype(int)
"""

TRAIN = """%%mlops_track churn --data X --target y --tag team=growth
model = LogisticRegression(C=C).fit(X, y)
accuracy = model.score(X, y)
label = "not a metric"
accuracy
"""


def run(shell, source):
    result = shell.run_cell(source)
    return result


def test_tracked_cell_records_run_version_and_metrics(shell, capsys):
    run(shell, SETUP + "C = 0.5")
    result = run(shell, TRAIN)
    assert result.success, result.error_in_exec
    out = capsys.readouterr().out
    assert "churn · run" in out and "version  churn:1" in out
    runs = mlops_nb.runs("churn")
    assert len(runs) == 1
    stored = runs[0]
    assert stored.status == "finished"
    assert set(stored.metrics) == {"accuracy"}  # C is assigned elsewhere, label is text
    assert stored.tags == {"team": "growth"}
    assert stored.model_version == 1
    assert stored.data["rows"] == 300
    assert stored.source_sha256  # the session's cells were stored


def test_rerunning_the_cell_never_fails_and_adds_versions(shell):
    run(shell, SETUP + "C = 1.0")
    for _ in range(3):
        assert run(shell, TRAIN).success
    runs = mlops_nb.runs("churn")
    assert [r.status for r in runs] == ["finished"] * 3
    assert [v.version for v in mlops_nb.versions("churn")] == [1, 2, 3]
    from mlops_nb.tracking import current_run

    assert current_run() is None


def test_failing_cell_records_failed_run_and_reraises(shell):
    run(shell, SETUP)
    result = run(
        shell,
        "%%mlops_track churn\nmodel = LogisticRegression().fit(X, y)\n"
        "raise RuntimeError('data source down')\n",
    )
    assert not result.success
    assert isinstance(result.error_in_exec, RuntimeError)
    failed = mlops_nb.runs("churn")[0]
    assert failed.status == "failed" and "data source down" in failed.error
    # and the next run is fine
    assert run(shell, "%%mlops_track churn\nmodel = LogisticRegression().fit(X, y)\n").success
    assert mlops_nb.runs("churn")[0].status == "finished"


def test_a_failing_cell_shows_its_own_traceback_and_the_recorded_run(shell, capsys):
    run(shell, SETUP)
    shell.execution_count = 7
    result = run(shell, "%%mlops_track churn\nx = 1\nraise RuntimeError('data source down')\n")
    assert isinstance(result.error_in_exec, RuntimeError)
    import re

    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(result.error_in_exec._render_traceback_()))
    failed = mlops_nb.runs("churn")[0]
    assert "Cell In[7], line 3" in shown  # this cell, counted as the user sees it
    assert "raise RuntimeError('data source down')" in shown
    assert "magics.py" not in shown and "recorder.py" not in shown
    assert f"recorded run {failed.run_id[:12]} of churn as failed" in shown
    capsys.readouterr()


@pytest.mark.parametrize("store_history", [True, False])
def test_the_traceback_names_the_cell_as_its_prompt_does(shell, store_history, capsys):
    # A kernel runs cells with history (IPython 9 counts the cell before running it);
    # the number in the traceback is the one in the cell's prompt either way.
    run(shell, SETUP)
    shell.execution_count = 4
    result = shell.run_cell(
        "%%mlops_track churn\nx = 1\nraise RuntimeError('data source down')\n",
        store_history=store_history,
    )
    import re

    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(result.error_in_exec._render_traceback_()))
    assert f"Cell In[{result.execution_count}], line 3" in shown, shown
    capsys.readouterr()


def test_line_magic_tracks_existing_variables(shell):
    run(shell, SETUP + "m = LogisticRegression().fit(X, y)\nauc = 0.77\nacc = 0.7\n")
    assert run(shell, "%mlops_track churn --model m --data X --metrics auc").success
    stored = mlops_nb.runs("churn")[0]
    assert stored.metrics == {"auc": 0.77} and stored.model_version == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ("%mlops_track churn", "needs --model"),
        ("%mlops_track churn --model nothere", "no variable named 'nothere'"),
        ("%mlops_track churn --model X", "not a scikit-learn estimator"),
        ("%mlops_track churn --model m --data m", "must be a pandas DataFrame"),
        ("%mlops_track 'bad/name' --model m", "may not contain"),
    ],
)
def test_line_magic_bad_input_records_nothing(shell, line, message):
    run(shell, SETUP + "m = LogisticRegression().fit(X, y)")
    with pytest.raises(UsageError, match=message):
        shell.run_line_magic("mlops_track", line.split(" ", 1)[1])
    assert mlops_nb.runs() == []


def test_cell_magic_bad_data_variable_fails_the_run_clearly(shell):
    run(shell, SETUP)
    result = run(shell, "%%mlops_track churn --data nope\nmodel = LogisticRegression().fit(X, y)\n")
    assert not result.success
    assert "no variable named 'nope'" in str(result.error_in_exec)
    assert mlops_nb.runs("churn")[0].status == "failed"


def test_two_estimators_need_a_name(shell):
    run(shell, SETUP)
    assert run(
        shell,
        "%%mlops_track churn\na_model = LogisticRegression().fit(X, y)\n"
        "b_model = LogisticRegression(C=2).fit(X, y)\n",
    ).success
    stored = mlops_nb.runs("churn")[0]
    assert stored.model_version is None


def test_record_promote_rollback_models(shell):
    run(shell, SETUP + "C = 1.0")
    run(shell, TRAIN)
    run(shell, TRAIN.replace("LogisticRegression(C=C)", "LogisticRegression(C=0.001)"))
    shell.run_line_magic("mlops_record", "threshold 0.25 + 0.05")
    assert mlops_nb.runs("churn")[0].values == {"threshold": pytest.approx(0.3)}
    change = shell.run_line_magic("mlops_promote", "churn 1 --require 'accuracy>0.5'")
    assert change.to_version == 1
    with pytest.raises(UsageError, match="gate refused"):
        shell.run_line_magic("mlops_promote", "churn 2 --require 'accuracy>=production+0.5'")
    with pytest.raises(UsageError, match="cannot read gate"):
        shell.run_line_magic("mlops_promote", "churn 2 --require 'accuracy=>production'")
    for version in ("²", "١", "99999999999999999999999"):  # not 2, not 1, not storable
        with pytest.raises(UsageError, match="version must be"):
            shell.run_line_magic("mlops_promote", f"churn {version}")
    shell.run_line_magic("mlops_promote", "churn 2 --alias production")
    assert shell.run_line_magic("mlops_rollback", "churn").to_version == 1
    table = shell.run_line_magic("mlops_models", "churn")
    assert [r["version"] for r in table] == [1, 2]
    assert table[0]["aliases"] == ["production"]
    assert "<table>" in table._repr_html_()
    assert [m["name"] for m in shell.run_line_magic("mlops_models", "")] == ["churn"]
    with pytest.raises(UsageError, match="no model named"):
        shell.run_line_magic("mlops_models", "nope")


def test_a_busy_database_is_one_usage_line(shell, home, fitted, monkeypatch):
    import mlops_nb.store.base as base
    from mlops_nb import tracking
    from mlops_nb.store import Store

    holder = Store(home)
    with tracking.track(holder, "churn", model=fitted[0]):
        pass
    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.3)  # the magics' store opens after this
    with holder.write(), pytest.raises(UsageError, match="is busy: another writer") as info:
        shell.run_line_magic("mlops_promote", "churn 1")
    assert len(str(info.value).splitlines()) == 1
    holder.close()


def test_record_without_a_run(shell):
    with pytest.raises(UsageError, match="no run to record"):
        shell.run_line_magic("mlops_record", "k 1")
    with pytest.raises(UsageError, match="usage"):
        shell.run_line_magic("mlops_record", "k")
    with pytest.raises(UsageError, match="cannot evaluate"):
        shell.run_line_magic("mlops_record", "k undefined_name")


def test_load_ext_registers_every_magic(shell):
    from mlops_nb.magics import MlopsMagics

    line_magics = (
        "mlops_track",
        "mlops_record",
        "mlops_drift",
        "mlops_models",
        "mlops_promote",
        "mlops_rollback",
    )
    for name in line_magics:
        magic = shell.find_line_magic(name)
        assert magic is not None and isinstance(magic.__self__, MlopsMagics), name
    assert isinstance(shell.find_cell_magic("mlops_track").__self__, MlopsMagics)


def test_summary_renders_as_html(shell):
    run(shell, SETUP + "C = 1.0")
    import mlops_nb.api as api

    with api.track("churn", model=None) as active:
        pass
    html = active._repr_html_()
    assert "churn" in html and "<table>" in html
