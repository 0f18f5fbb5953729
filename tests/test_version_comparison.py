"""``mlops-nb compare``: two model versions for a pull request, as JSON, text and markdown.

Real churn models tracked into real stores (SQLite and PostgreSQL), a real
YAML suite run, the real drift engine; the markdown is parsed by a
CommonMark parser with GitHub's tables to prove what a reader would see.
"""

from __future__ import annotations

import dataclasses

import pytest
from markdown_it import MarkdownIt

from mlops_nb import registry, tracking
from mlops_nb.datasets import make_churn, split
from mlops_nb.errors import NotFoundError
from mlops_nb.markdown import fenced, text
from mlops_nb.monitoring.drift.engine import check_frame
from mlops_nb.monitoring.drift.profile import profile as build_profile
from mlops_nb.monitoring.drift.rebuild import frame_from_profile
from mlops_nb.registry.comparison import compare_versions
from mlops_nb.testing import run_suite

pytestmark = pytest.mark.backends

HOSTILE = "C|<img src=x onerror=alert(1)>`x`[a](http://e.example)"
SUITE = """
data: {dataset: churn, rows: 600, seed: 11}
checks:
  - {metric: roc_auc, min: 0.6}
  - {size_mb: 5}
"""


@pytest.fixture(scope="module")
def trained():
    """The churn data and a model; the same data with three columns moved and one less."""
    from models import churn_pipeline

    X, _, y, _ = split(make_churn(1200, seed=4), seed=4)
    shifted = X.assign(
        tenure_months=X["tenure_months"] * 2 + 30,
        monthly_charges=X["monthly_charges"] + 40,
        total_charges=X["total_charges"] * 3,
    ).drop(columns=["internet_service"])
    shifted["support_calls"] = shifted["support_calls"].astype("float64")
    return X, y, churn_pipeline(X, y), shifted, churn_pipeline(shifted, y)


@pytest.fixture
def versions(store, trained):
    """``churn`` v1 (production, C=1) and v2 (shifted data, C=0.5, hostile parameter names)."""
    X, y, model, shifted, model2 = trained
    with tracking.track(
        store, "churn", model=model, data=X, target=y,
        params={"C": 1.0, "seed": 4, "note": "plain"},
        metrics={"auc": 0.80, "accuracy": 0.75},
        source=["import pandas as pd"], code="fit(C=1.0)",
    ):  # fmt: skip
        pass
    with tracking.track(
        store, "churn", model=model2, data=shifted, target=y,
        params={"C": 0.5, "seed": 4, HOSTILE: "a|b\n## heading"},
        metrics={"auc": 0.85, "log_loss": 0.4},
        source=["import pandas as pd", "```\n</details>\n<script>x</script>"],
        code="fit(C=0.5)",
    ):  # fmt: skip
        pass
    registry.promote(store, "churn", 1)
    return store


def test_the_report_has_metrics_params_data_schema_tests_drift_and_code(versions, tmp_path):
    suite = tmp_path / "churn.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    tested = run_suite(versions, "churn:2", suite, against="production")
    found = compare_versions(versions, "churn:2", "churn@production")
    doc = found.to_json()
    assert (doc["new"]["version"], doc["base"]["version"]) == (2, 1)
    assert doc["base"]["ref"] == "churn@production" and doc["base"]["aliases"] == ["production"]
    metrics = {m["name"]: m for m in doc["metrics"]}
    assert metrics["auc"]["delta"] == pytest.approx(0.05)
    assert metrics["accuracy"] == {"name": "accuracy", "new": None, "base": 0.75, "delta": None}
    assert metrics["log_loss"]["base"] is None
    # Only the parameters that changed, each side's value (or None where a side lacks it).
    assert doc["params"] == [
        {"name": "C", "new": 0.5, "base": 1.0, "in": "both"},
        {"name": HOSTILE, "new": "a|b\n## heading", "base": None, "in": "new"},
        {"name": "note", "new": None, "base": "plain", "in": "base"},
    ]
    assert doc["unchanged_params"] == 1
    assert not doc["data"]["same"] and doc["data"]["new"]["rows"] == 900
    assert doc["data"]["new"]["target_sha256"] == doc["data"]["base"]["target_sha256"]
    assert doc["schema"] == {
        "added": [],
        "removed": [{"name": "internet_service", "dtype": "str"}],
        "changed": [{"name": "support_calls", "new": "float64", "base": "int64"}],
    }
    assert doc["tests"]["base"] is None
    assert doc["tests"]["new"]["passed"] == tested.passed and doc["tests"]["new"]["suite"] == (
        "churn.yaml"
    )
    # The training sets: three of nine columns moved far (a share, weighted by the feature
    # importance stored with the base, above 0.3: drift), and the column v2 lacks is named.
    drift = doc["drift"]
    assert "rebuilt from its stored profile" in drift["method"]
    assert drift["drift"] and drift["drift_share"] >= drift["share_threshold"] == 0.3
    assert sorted(c["column"] for c in drift["columns"] if c["drift"]) == [
        "monthly_charges",
        "tenure_months",
        "total_charges",
    ]
    assert {
        "column": "internet_service",
        "check": "schema",
        "message": "missing from this batch",
    } in (drift["findings"])
    code = doc["code"]
    assert code["changed"] and (code["new_source"], code["base_source"]) == ("tracked", "tracked")
    assert "-fit(C=1.0)" in code["lines"] and "+fit(C=0.5)" in code["lines"]
    assert found.changed


def test_a_version_compared_with_itself_shows_no_change_and_no_drift(versions):
    found = compare_versions(versions, "churn:1", "churn@production")
    assert not found.changed
    assert found.params == [] and found.data["same"] and not any(found.schema.values())
    assert found.drift["drift"] is False and found.drift["drift_share"] == 0
    assert not found.code["changed"]
    assert "the training code cells are the same" in found.to_markdown()


def test_a_profile_rebuilt_as_rows_is_no_drift_against_itself(trained):
    X, y, *_ = trained
    profile = build_profile(X, target=y)
    rebuilt = frame_from_profile(profile)
    assert list(rebuilt.columns) == list(X.columns) and len(rebuilt) == len(X)
    report = check_frame(profile, rebuilt)
    assert not report.drift and report.drift_share == 0
    assert not [f for f in report.findings if f["check"] == "schema"]
    # Scaled down, the shares stay.
    small = frame_from_profile(profile, max_rows=300)
    assert len(small) == pytest.approx(300, abs=len(X.columns))
    assert not check_frame(profile, small).drift


def _rendered(markdown: str):
    md = MarkdownIt("commonmark").enable("table")
    return md.parse(markdown)


def test_markdown_tables_hold_hostile_text_as_text(versions):
    found = compare_versions(versions, "churn:2", "churn@production")
    markdown = found.to_markdown()
    tokens = _rendered(markdown)
    # Every table row has as many cells as its header: no "|" of a value split a cell.
    widths, row = [], 0
    for tok in tokens:
        if tok.type == "tr_open":
            row = 0
        elif tok.type in ("th_open", "td_open"):
            row += 1
        elif tok.type == "tr_close":
            widths.append(row)
        elif tok.type == "thead_open":
            widths.append("table")
    tables = " ".join(map(str, widths)).split("table")[1:]
    assert len(tables) >= 4
    for table in tables:
        assert len(set(table.split())) == 1, table
    # The only HTML is ours; the user's <img> and <script> are text, its link no link.
    html = [t.content for t in tokens if t.type == "html_block"]
    inline = [
        c.content for t in tokens if t.children for c in t.children if c.type == "html_inline"
    ]
    assert [h.split("\n")[0] for h in html] == ["<details>", "</details>"], html
    assert inline == ["<sub>", "</sub>"]
    assert not any(c.type == "link_open" for t in tokens if t.children for c in t.children)
    plain = "".join(c.content for t in tokens if t.children for c in t.children if c.type == "text")
    assert "C|<img src=x onerror=alert(1)>" in plain and "a|b\\n## heading" in plain
    # The code diff sits in one fence, which the user's ``` and </details> do not close.
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].info == "diff"
    assert "+</details>" in fences[0].content and "+<script>x</script>" in fences[0].content
    assert markdown.rstrip().endswith("</details>")


def test_fenced_and_text_escape_what_markdown_would_read():
    assert fenced("a\n````\nb") == "`````\na\n````\nb\n`````"
    assert text("a|b") == "a\\|b" and text("<b>&") == "&lt;b&gt;&amp;"
    assert text("line\nnext") == "line\\\\nnext"


def test_the_command_writes_markdown_prints_json_and_exits_3_for_unknown(cli, versions, tmp_path):
    out = tmp_path / "compare.md"
    done = cli("compare", "churn:2", "churn@production", "--markdown", str(out), "--json")
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["new"]["version"] == 2 and doc["drift"]["drift"] is True
    assert out.read_text(encoding="utf-8").startswith(
        "### Model churn\\:2 compared with churn@production \\(churn\\:1\\)"
    )
    shown = cli("compare", "churn:2", "churn:1")
    assert shown.code == 0 and "churn:2 compared with churn:1" in shown.out
    assert "metric auc: 0.85 vs 0.8  (+0.05)" in shown.out
    line = next(x for x in shown.out.splitlines() if "drift between the training sets" in x)
    assert line.startswith("  drift between the training sets: yes (")  # most severe first
    assert all(c in line for c in ("tenure_months", "monthly_charges", "total_charges"))
    for refs, code, message in [
        (("churn:9", "churn:1"), 3, "churn"),
        (("churn:2", "churn@staging"), 3, "nobody holds churn@staging"),
        (("churn:2", "nope:1"), 3, "nope"),
        (("churn:x", "churn:1"), 2, "version must be a positive whole number"),
    ]:
        failed = cli("compare", *refs)
        assert (failed.code, failed.out) == (code, ""), failed.err
        assert message in failed.err and failed.err.count("\n") == 1


def test_a_version_without_a_profile_says_why_drift_was_not_compared(store, trained):
    X, y, model, *_ = trained
    with tracking.track(store, "plain", model=model, data=X, target=y, profile=False):
        pass
    with tracking.track(store, "plain", model=model, data=X, target=y):
        pass
    found = compare_versions(store, "plain:2", "plain:1")
    assert "has no reference profile" in found.drift["error"]
    assert "**Drift between the training sets**: not compared" in found.to_markdown()
    with pytest.raises(NotFoundError):
        compare_versions(store, "plain:3", "plain:1")
    # A markdown rendering needs nothing but the comparison itself.
    empty = dataclasses.replace(found, metrics=[], params=[])
    assert "No metrics recorded for either version." in empty.to_markdown()


def test_the_test_report_markdown_keeps_a_hostile_check_name_as_text(versions, tmp_path):
    from mlops_nb.cli.testing import to_markdown

    suite = tmp_path / "hostile.yaml"
    suite.write_text(
        "data: {dataset: churn, rows: 300, seed: 11}\n"
        "checks:\n"
        "  - {name: 'a|b <img src=x onerror=alert(1)> `x` [l](http://e.example)', size_mb: 5}\n",
        encoding="utf-8",
    )
    result = run_suite(versions, "churn:2", suite)
    runs = [versions.get_run(result.run_id)]  # its id is the one code span, ours
    tokens = _rendered(to_markdown(result))
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 3  # one row: check, result, detail
    children = [c for t in tokens if t.children for c in t.children]
    assert not [c for c in children if c.type in ("html_inline", "link_open")]
    assert [c.content for c in children if c.type == "code_inline"] == [runs[0].run_id[:12]]
    plain = "".join(c.content for c in children if c.type == "text")
    assert "a|b <img src=x onerror=alert(1)> `x` [l](http://e.example)" in plain
