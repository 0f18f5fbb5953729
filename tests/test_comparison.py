"""Runs compared: rows that differ, shared metrics, and the diff of the code that ran.

The same core feeds the widget, ``GET runs/compare`` and reports; the REST
shape is tested in test_server.py, the widget in test_widgets.py.
"""

from __future__ import annotations

import nbformat
import pytest

from mlops_nb import tracking
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.execution.runner import run_notebook
from mlops_nb.tracking.comparison import MAX_DIFF_LINES, MISSING, Comparison, differs
from mlops_nb.widgets import RunComparison

MAGIC = "get_ipython().run_cell_magic('mlops_track', 'churn', 'model.fit(X, y)\\n')"


def tracked(store, code, cells=(), **options):
    with tracking.track(store, "churn", source=list(cells), code=code, **options) as run:
        pass
    return run.run_id


def test_rows_that_differ_and_metrics_every_run_has(store):
    a = tracked(store, "fit()", params={"C": 1}, metrics={"auc": 0.8, "loss": 0.3})
    b = tracked(store, "fit()", params={"C": 1, "l1": 0.5}, metrics={"auc": 0.9})
    compared = Comparison(store, [a, b[:8], a])  # a prefix; a run named twice counts once
    assert [r.run_id for r in compared.runs] == [a, b]
    sections = dict(compared.sections())
    assert dict(sections["parameters"]) == {"C": [1, 1], "l1": [MISSING, 0.5]}
    assert dict(sections["metrics"]) == {"auc": [0.8, 0.9], "loss": [0.3, MISSING]}
    assert compared.differences()["parameters"] == ["l1"]
    assert compared.differences()["metrics"] == ["auc", "loss"]
    assert "started" not in compared.differences()["run"]  # shown, never a difference
    assert compared.shared_metrics() == {"auc": [0.8, 0.9]}
    assert compared.labels() == [f"{a[:8]} churn", f"{b[:8]} churn"]  # no model: no version


@pytest.mark.parametrize(
    "values, name, expected",
    [
        ([1, 1, 1], "x", False),
        ([1, 1, 2], "x", True),
        ([MISSING, MISSING], "x", True),  # nobody has it: shown as a difference to look at
        ([1, MISSING], "x", True),
        ([MISSING, 1], "x", True),
        (["a", "b"], "started", False),
        ([0, False], "x", False),  # Python equality, as JSON readers see them alike
    ],
)
def test_differs(values, name, expected):
    assert differs(values, name) is expected


def test_bad_run_lists_are_refused(store):
    for bad in ([], "abcdef", [42]):
        with pytest.raises(InvalidInputError):
            Comparison(store, bad)
    with pytest.raises(NotFoundError):
        Comparison(store, ["ffffffffffff"])


def test_tracked_code_diff_names_the_cells_that_changed(store):
    first = tracked(store, "model.fit(X, y)\n", ["import pandas", "X = load(1)", MAGIC])
    second = tracked(store, "model.fit(X, y, w)\n", ["import pandas", "X = load(2)", MAGIC])
    same = tracked(store, "model.fit(X, y)\n", ["import pandas", "X = load(1)", MAGIC])
    compared = Comparison(store, [first, second, same])
    source, cells = compared.code(compared.runs[0])
    # the magic's own call is left out: the tracked cell is kept as typed, last
    assert source == "tracked" and cells == ["import pandas", "X = load(1)", "model.fit(X, y)\n"]

    changed, unchanged = compared.code_diffs()
    labels = compared.labels()
    assert changed.run_id == second and changed.against == first and changed.changed
    assert changed.lines[:2] == [f"--- {labels[0]}", f"+++ {labels[1]}"]
    assert "-X = load(1)" in changed.lines and "+X = load(2)" in changed.lines
    assert "-model.fit(X, y)" in changed.lines and "+model.fit(X, y, w)" in changed.lines
    assert " # cell 2" in changed.lines  # the heading of the changed cell, as context
    assert not any(line.startswith(("-import", "+import")) for line in changed.lines)
    assert unchanged.run_id == same and unchanged.lines == [] and not unchanged.changed
    assert unchanged.to_json() == {
        "run_id": same,
        "against": first,
        "source": "tracked",
        "against_source": "tracked",
        "lines": [],
        "changed": False,
    }


def test_a_run_without_code_diffs_as_all_added(store):
    bare = tracked(store, None)
    coded = tracked(store, "fit()")
    (diff,) = Comparison(store, [bare, coded]).code_diffs()
    assert diff.against_source is None and diff.source == "tracked"
    assert diff.lines[-2:] == ["+# cell 1", "+fit()"]


def test_a_long_diff_is_cut_and_says_how_much(store):
    many = [f"x{i} = {i}" for i in range(MAX_DIFF_LINES + 50)]
    a = tracked(store, "\n".join(many))
    b = tracked(store, "\n".join(f"{line} + 1" for line in many))
    (diff,) = Comparison(store, [a, b]).code_diffs()
    assert len(diff.lines) == MAX_DIFF_LINES + 1
    assert diff.lines[-1].startswith("… ") and diff.lines[-1].endswith(" more lines not shown")
    left = int(diff.lines[-1].split()[1])
    # file headers, one hunk heading, the cell heading as context, every line out and in
    assert left == 2 + 1 + 1 + 2 * (MAX_DIFF_LINES + 50) - MAX_DIFF_LINES


@pytest.mark.slow
def test_notebook_runs_diff_their_executed_code_cells(store, tmp_path):
    def notebook(path, body):
        kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        cells = [nbformat.v4.new_code_cell("n = 2"), nbformat.v4.new_markdown_cell("# notes")]
        cells.append(nbformat.v4.new_code_cell(body))
        nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), str(path))
        return path

    one = run_notebook(notebook(tmp_path / "a.ipynb", "print(n * 2)"), store=store)
    two = run_notebook(notebook(tmp_path / "b.ipynb", "print(n * 3)"), store=store)
    assert one.status == two.status == "finished", (one.error, two.error)
    compared = Comparison(store, [one.run_id, two.run_id])
    assert compared.code(compared.runs[0]) == ("notebook", ["n = 2", "print(n * 2)"])
    (diff,) = compared.code_diffs()
    assert diff.source == diff.against_source == "notebook"
    assert [line for line in diff.lines if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-print(n * 2)",
        "+print(n * 3)",
    ]
    html = RunComparison([one.run_id, two.run_id], store).to_html()
    assert "code: " in html and "+print(n * 3)" in html


def test_the_widget_escapes_code_it_shows(store):
    a = tracked(store, "x = '<b>'")
    b = tracked(store, "x = '<script>alert(1)</script>'")
    html = RunComparison([a, b], store).to_html()
    assert "<script>alert(1)" not in html
    assert "+x = &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;" in html
    same = RunComparison([a, tracked(store, "x = '<b>'")], store).to_html()
    assert "the same code" in same
