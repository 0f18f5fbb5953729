"""Notebook widgets: live views with a static fallback, actions through the core, escaping."""

import sys
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError

import mlops_nb
from mlops_nb import tracking
from mlops_nb.datasets import make_churn
from mlops_nb.display import format_number
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.widgets import WIDGET_VIEW, DriftDashboard, RegistryBrowser, RunComparison
from mlops_nb.widgets.base import PLOTLY_MIME, VIEW_MIME, live_frontend

EVIL = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def register(store, name, fitted, churn_data, C=None, **params):
    """Track a version of ``name``: the fitted pipeline, or a refit with another C."""
    from sklearn.base import clone

    X_train, X_test, y_train, y_test = churn_data
    model = fitted[0]
    if C is not None:
        model = clone(model).set_params(logisticregression__C=C).fit(X_train, y_train)
    with tracking.track(
        store,
        name,
        model=model,
        data=X_train,
        target=y_train,
        params={"C": 1.0 if C is None else C, **params},
        metrics={"accuracy": float(model.score(X_test, y_test))},
    ) as run:
        pass
    return run


def drift_batch(drift, seed):
    return make_churn(1_500, seed=seed, drift=drift).drop(columns=["churned"])


@pytest.fixture
def churn(store, fitted, churn_data):
    """``churn`` with two versions (v1 in production), one quiet check and one drifted."""
    register(store, "churn", fitted, churn_data)
    register(store, "churn", fitted, churn_data, C=0.001, solver="lbfgs")
    mlops_nb.promote("churn", 1, store=store)
    for drift, seed, label in ((0.0, 40, "week 1"), (1.0, 41, "week 2")):
        mlops_nb.check_drift("churn", drift_batch(drift, seed), batch=label, store=store)
    return store


@pytest.fixture
def run_ids(churn):
    """The ids of the two runs that made churn's versions, oldest first."""
    return [r.run_id for r in reversed(mlops_nb.runs("churn", store=churn))]


# -- the display bundle -----------------------------------------------------------


def test_registry_browser_bundle_has_the_live_view_and_the_html_fallback(churn):
    browser = RegistryBrowser(store=churn, interactive=True)
    bundle = browser._repr_mimebundle_()
    assert bundle[WIDGET_VIEW]["model_id"] == browser.widget.model_id
    html = bundle["text/html"]
    assert "versions of churn" in html and "alias history of churn" in html
    accuracy = churn.get_version("churn", 1).metrics["accuracy"]
    assert "<th>accuracy</th>" in html and format_number(accuracy) in html
    assert "<b>production</b>" in html and "promote" in html
    assert "<script" not in html and "http" not in html
    assert "versions of churn" not in bundle["text/plain"]  # the models table, as text
    assert "churn" in bundle["text/plain"] and "production=1" in bundle["text/plain"]


def test_outside_a_live_frontend_only_html_and_text_are_offered(churn, monkeypatch):
    monkeypatch.delenv("MLOPS_NB_WIDGETS", raising=False)
    browser = RegistryBrowser("churn", store=churn)
    bundle = browser._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert browser._widget is None  # no comm was opened for nobody
    monkeypatch.setenv("MLOPS_NB_WIDGETS", "1")
    assert WIDGET_VIEW in browser._repr_mimebundle_()
    monkeypatch.setenv("MLOPS_NB_WIDGETS", "0")
    assert WIDGET_VIEW not in RegistryBrowser("churn", store=churn)._repr_mimebundle_()


def test_live_frontend_means_a_kernel_whose_cell_came_from_a_person(monkeypatch):
    import IPython

    monkeypatch.delenv("MLOPS_NB_WIDGETS", raising=False)
    monkeypatch.delenv("MLOPS_NB_RUN_ID", raising=False)
    assert not live_frontend()  # no kernel here
    kernel = SimpleNamespace(_allow_stdin=True)
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=kernel))
    assert live_frontend()
    kernel._allow_stdin = False  # nbclient: papermill, nbconvert --execute
    assert not live_frontend()
    kernel._allow_stdin = True
    monkeypatch.setenv("MLOPS_NB_RUN_ID", "a" * 32)  # mlops-nb run
    assert not live_frontend()


def test_without_ipywidgets_everything_still_renders(churn, monkeypatch, run_ids):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now fails
    views = [
        RegistryBrowser(store=churn, interactive=True),
        DriftDashboard("churn", store=churn, interactive=True),
        RunComparison(run_ids, store=churn, interactive=True),
    ]
    for view in views:
        assert view.widget is None
        bundle = view._repr_mimebundle_()
        assert set(bundle) == {"text/html", "text/plain"}
        assert "churn" in bundle["text/html"] and "churn" in str(view)


def test_empty_store_and_unknown_names(store):
    browser = RegistryBrowser(store=store, interactive=True)
    assert "no models registered yet" in browser.to_html()
    assert browser.controls.promote.disabled and browser.controls.model.options == ()
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        RegistryBrowser("nope", store=store)
    with pytest.raises(InvalidInputError, match="may not contain"):
        RegistryBrowser("a/b", store=store)
    with pytest.raises(NotFoundError, match="no model named"):
        DriftDashboard("nope", store=store)


# -- promote and roll back through the widget -----------------------------------------


def test_promote_through_the_widget_moves_the_alias_and_shows_a_refused_gate(churn):
    browser = RegistryBrowser("churn", store=churn, interactive=True)
    c = browser.controls
    assert c.version.options == (("2", 2), ("1 [production]", 1))
    c.version.value = 2
    c.require.value = "accuracy>=production+0.5"
    c.promote.click()
    assert "Promote <b>churn:2</b> to <b>@production</b>" in c.question.value
    assert c.confirm_box.layout.display == "flex"
    assert churn.alias_holder("churn", "production").version == 1  # nothing before confirming
    c.confirm.click()  # the gate says no: shown, not raised
    assert "gate refused churn:2 for @production" in c.status.value
    assert "is not &gt;= production v1" in c.status.value
    assert c.confirm_box.layout.display == "none"
    assert churn.alias_holder("churn", "production").version == 1

    c.require.value = "accuracy>0.1"
    c.reason.value = "from the widget"
    c.promote.click()
    c.confirm.click()
    assert churn.alias_holder("churn", "production").version == 2
    change = churn.alias_changes("churn", "production")[-1]
    assert (change.action, change.reason, change.from_version) == ("promote", "from the widget", 1)
    assert change.gate.startswith("accuracy>0.1")
    assert "churn@production: 1 → 2" in c.status.value and "gate passed" in c.status.value
    assert c.version.options == (("2 [production]", 2), ("1", 1))  # refreshed
    assert "from the widget" in c.history.value

    c.rollback.click()
    assert "back from version 2 to version 1" in c.question.value
    c.cancel.click()
    assert churn.alias_holder("churn", "production").version == 2
    c.rollback.click()
    c.confirm.click()
    assert churn.alias_holder("churn", "production").version == 1
    assert "churn@production: 2 → 1 (rollback)" in c.status.value


def test_the_promote_controls_are_labelled_and_the_question_names_the_holder(churn):
    browser = RegistryBrowser("churn", store=churn, interactive=True)
    c = browser.controls
    assert (c.alias.description, c.require.description, c.reason.description) == (
        "alias",
        "gate",
        "reason",
    )
    c.version.value = 2
    c.promote.click()
    assert "@production is held by version 1 now" in c.question.value
    c.cancel.click()
    c.alias.value = "staging"
    c.promote.click()
    assert "nobody holds @staging yet" in c.question.value


def test_a_refusal_in_the_widget_is_kept_in_the_history_it_shows(churn):
    browser = RegistryBrowser("churn", store=churn, interactive=True)
    c = browser.controls
    c.version.value = 2
    c.require.value = "accuracy>=production+0.5"
    c.promote.click()
    c.confirm.click()
    assert "nothing moved" in c.status.value
    assert "refused" in c.history.value and "1 ↛ 2" in c.history.value
    assert "accuracy&gt;=production+0.5: " in c.history.value


def test_times_in_the_widget_carry_their_zone(churn):
    html = RegistryBrowser("churn", store=churn).to_html()
    created = churn.get_version("churn", 1).created_at
    assert created[:19] not in html  # not the bare stored ISO time
    from mlops_nb.display import format_time

    assert format_time(created) in html and format_time(created).endswith(" UTC")


def test_the_fallback_follows_the_widget_and_marks_itself_for_jupyterlab(churn, shell):
    """Shown with a display id; each action re-sends the bundle, so the saved HTML is current."""
    from unittest import mock

    browser = RegistryBrowser("churn", store=churn, interactive=True)
    with mock.patch("IPython.core.display_functions.publish_display_data") as publish:
        browser._ipython_display_()
        first = publish.call_args
        c = browser.controls
        c.version.value = 2
        c.promote.click()
        c.confirm.click()
        second = publish.call_args
    shown, updated = first.kwargs, second.kwargs
    assert shown["data"][VIEW_MIME] == {"fallback": "text/html"}
    assert WIDGET_VIEW in shown["data"]
    display_id = shown["transient"]["display_id"]
    assert updated["transient"]["display_id"] == display_id and updated["update"]
    assert "1 → 2" in updated["data"]["text/html"] and "1 → 2" not in shown["data"]["text/html"]
    # without a live view there is nothing for JupyterLab to choose between
    static = RegistryBrowser("churn", store=churn, interactive=False)
    assert VIEW_MIME not in static._repr_mimebundle_()


def test_widget_actions_report_bad_input_instead_of_raising(churn):
    browser = RegistryBrowser("churn", store=churn, interactive=True)
    c = browser.controls
    c.alias.value = "Not An Alias"
    c.promote.click()
    assert "is not valid" in c.status.value and c.confirm_box.layout.display == "none"
    c.alias.value = "staging"
    c.rollback.click()
    assert "no earlier holder" in c.status.value
    c.require.value = "accuracy=>production"
    c.promote.click()
    c.confirm.click()
    assert "cannot read gate" in c.status.value
    assert churn.alias_holder("churn", "staging") is None
    c.confirm.click()  # nothing pending any more
    assert "nothing to confirm" in c.status.value


def test_picking_another_model_shows_its_versions(churn, fitted, churn_data):
    register(churn, "pricing-ish", fitted, churn_data)
    browser = RegistryBrowser(store=churn, interactive=True)
    c = browser.controls
    assert c.model.options == ("churn", "pricing-ish") and browser.selected == "churn"
    mlops_nb.promote("churn", 2, store=churn)  # elsewhere: the CLI, another widget
    c.reload.click()
    assert c.version.options[0] == ("2 [production]", 2)
    c.model.value = "pricing-ish"
    assert browser.selected == "pricing-ish"
    assert "versions of pricing-ish" in browser.to_html()
    assert c.version.options == (("1", 1),)
    assert "no alias has been set yet" in c.history.value


# -- drift dashboard ---------------------------------------------------------------


def test_drift_dashboard_shows_the_latest_verdict_charts_and_history(churn):
    dash = DriftDashboard("churn@production", store=churn, interactive=True)
    assert dash.name == "churn" and dash.check_id == 2 and dash.report.drift
    bundle = dash._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    html = bundle["text/html"]
    assert "drift of churn: 2 checks, showing check 2" in html
    for column in dash.report.drifted:
        assert f"<tr class='sev-drift'><td>{column}</td>" in html
    assert "sev-ok" in html and "week 1" in html and "week 2" in html
    assert "<script" not in html
    assert "DRIFT" in bundle["text/plain"] and "week 2" in bundle["text/plain"]

    c = dash.controls
    outputs = c.figures.outputs
    assert len(outputs) == len(dash.report.figures()) >= 2
    assert all(PLOTLY_MIME in o["data"] for o in outputs)
    assert c.history.outputs  # severity over time
    c.check.value = 1  # the history selector
    assert dash.check_id == 1 and not dash.report.drift
    assert "showing check 1" in c.verdict.value and "class='sev-drift'" not in c.verdict.value
    assert len(c.figures.outputs) == len(dash.report.figures())
    with pytest.raises(NotFoundError, match="no drift check 99"):
        dash.show(99)


def test_drift_dashboard_without_checks(store, fitted, churn_data):
    register(store, "fresh", fitted, churn_data)
    dash = DriftDashboard("fresh", store=store, interactive=True)
    assert dash.report is None and dash.figures() == []
    assert "no drift checks recorded for fresh yet" in dash._repr_mimebundle_()["text/html"]
    assert dash.controls.check.options == ()


# -- run comparison ----------------------------------------------------------------


def test_run_comparison_highlights_differences_and_charts_shared_metrics(churn, run_ids):
    first, second = run_ids
    comparison = RunComparison([first[:8], second], store=churn, interactive=True)
    assert [r.run_id for r in comparison.runs] == [first, second]
    assert comparison.differences()["parameters"] == ["C", "solver"]
    assert "accuracy" in comparison.shared_metrics()
    bundle = comparison._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    html = bundle["text/html"]
    assert "<tr class='diff'><td><b>C</b></td><td>1</td><td>0.001</td></tr>" in html
    assert "<tr><td><b>status</b></td>" in html  # the same in both: not highlighted
    assert "shared metrics" in html and "class='bar" in html
    text = bundle["text/plain"]
    assert "* C" in text and "  status" in text

    c = comparison.controls
    assert "<b>status</b>" in c.tables.value
    c.only.value = True
    assert "<b>status</b>" not in c.tables.value and "<b>C</b>" in c.tables.value
    (chart,) = c.chart.outputs
    bars = chart["data"][PLOTLY_MIME]["data"]
    assert [b["x"] for b in bars] == [["accuracy"], ["accuracy"]]


def test_run_comparison_bad_input(churn, run_ids):
    with pytest.raises(InvalidInputError, match="non-empty list"):
        RunComparison([], store=churn)
    with pytest.raises(InvalidInputError, match="non-empty list"):
        RunComparison(run_ids[0], store=churn)
    with pytest.raises(NotFoundError, match="no run"):
        RunComparison(["abcdef012345"], store=churn)
    runs = mlops_nb.runs("churn", store=churn)
    assert len(RunComparison([*runs, runs[0].run_id], store=churn).runs) == 2


# -- escaping ----------------------------------------------------------------------


def test_user_names_are_escaped_in_every_html_output(store, fitted, churn_data):
    import ipywidgets

    run = register(store, EVIL, fitted, churn_data, **{EVIL: EVIL})
    mlops_nb.promote(EVIL, 1, store=store, reason=EVIL)
    mlops_nb.check_drift(EVIL, drift_batch(1.0, 50), batch=EVIL, store=store)
    views = [
        RegistryBrowser(store=store, interactive=True),
        RegistryBrowser(EVIL, store=store, interactive=True),
        DriftDashboard(EVIL, store=store, interactive=True),
        RunComparison([run.run_id], store=store, interactive=True),
    ]
    browser = views[1]
    browser.controls.promote.click()  # the confirmation question names the model
    assert ESCAPED in browser.controls.question.value
    browser.controls.rollback.click()  # nothing to roll back to: an error naming it
    assert ESCAPED in browser.controls.status.value
    for view in views:
        html = view._repr_mimebundle_()["text/html"]
        assert ESCAPED in html and "<img" not in html
        for control in vars(view.controls).values():
            if isinstance(control, ipywidgets.HTML):  # the rest show their values as text
                assert "<img" not in control.value, control


# -- magics ------------------------------------------------------------------------


def test_magics_return_the_widgets(shell, churn, run_ids):
    browser = shell.run_line_magic("mlops_models", "churn")
    assert isinstance(browser, RegistryBrowser)
    assert [r["version"] for r in browser] == [1, 2] and browser[0]["aliases"] == ["production"]
    assert set(browser._repr_mimebundle_()) == {"text/html", "text/plain"}  # no frontend here
    assert str(browser).startswith("versions of churn\nversion")
    dash = shell.run_line_magic("mlops_drift", "churn@production")
    assert isinstance(dash, DriftDashboard) and dash.check_id == 2
    with pytest.raises(UsageError, match="--batch needs a batch"):
        shell.run_line_magic("mlops_drift", "churn --batch 'week 3'")
    with pytest.raises(UsageError, match="no model named 'nope'"):
        shell.run_line_magic("mlops_drift", "nope")
    first, second = run_ids
    comparison = shell.run_line_magic("mlops_compare", f"{first[:8]} {second} --only-differences")
    assert isinstance(comparison, RunComparison) and comparison.only_differences
    assert "<b>status</b>" not in comparison.to_html()
    with pytest.raises(UsageError, match="too short"):
        shell.run_line_magic("mlops_compare", "abc")


# -- executed notebooks ------------------------------------------------------------


def _notebook(run_ids):
    import nbformat.v4 as v4

    return v4.new_notebook(
        cells=[
            v4.new_code_cell(
                "from mlops_nb.widgets import DriftDashboard, RegistryBrowser, RunComparison"
            ),
            v4.new_code_cell("RegistryBrowser()"),
            v4.new_code_cell('DriftDashboard("churn")'),
            v4.new_code_cell(f"RunComparison({run_ids!r})"),
            v4.new_code_cell("%load_ext mlops_nb\n%mlops_models churn"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


def _execute(nb, cwd):
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return [cell.outputs[-1]["data"] for cell in nb.cells[1:]]


@pytest.mark.slow
def test_an_executed_notebook_keeps_the_html_fallback(churn, tmp_path, monkeypatch, run_ids):
    from nbconvert import HTMLExporter

    monkeypatch.delenv("MLOPS_NB_WIDGETS", raising=False)
    nb = _notebook(run_ids)
    browser, dash, comparison, magic = _execute(nb, tmp_path)
    for data in (browser, dash, comparison, magic):
        # nobody watched this run: no dead widget references, the HTML alone
        assert set(data) == {"text/html", "text/plain"}
    assert "versions of churn" in browser["text/html"] and "<b>production</b>" in magic["text/html"]
    assert "showing check 2" in dash["text/html"] and "sev-drift" in dash["text/html"]
    assert "<tr class='diff'><td><b>C</b>" in comparison["text/html"]
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert "alias history of churn" in page and "showing check 2" in page


@pytest.mark.slow
def test_forced_widgets_in_an_executed_notebook_still_carry_the_html(
    churn, tmp_path, monkeypatch, run_ids
):
    monkeypatch.setenv("MLOPS_NB_WIDGETS", "1")
    nb = _notebook(run_ids)
    outputs = _execute(nb, tmp_path)
    for data in outputs:
        assert WIDGET_VIEW in data and "text/html" in data
    assert "versions of churn" in outputs[-1]["text/html"]
    assert nb.metadata["widgets"]  # nbclient saved the widget state next to the views
