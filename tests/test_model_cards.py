"""Model cards: filled from the store, written fields audited, Markdown in skops' layout."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

import mlops_nb
from mlops_nb import cards, registry
from mlops_nb.cards.fields import FIELD_LIMIT
from mlops_nb.datasets import make_churn
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.store import Store
from mlops_nb.store import schema as t

pytestmark = pytest.mark.backends

EVIL = "<img src=x onerror=alert(1)> | `code` [link](http://x) # heading\n- item\n    indented"
SUITE = """
data: {dataset: churn, rows: 300, seed: 11, month: "2026-12"}
checks:
  - metric: accuracy
    min: 0.5
  - metric: accuracy
    min: 0.999
"""


def card_events(store):
    return [e for e in store.raw_events() if e.kind == "card.edited"]


@pytest.fixture
def lived(churn_versions, tmp_path):
    """churn v1 and v2; v2 tested (one check fails), promoted past a refused gate, checked
    for drift twice on drifted data."""
    store = churn_versions
    registry.promote(store, "churn", 1)
    with pytest.raises(mlops_nb.GateFailedError):
        registry.promote(store, "churn", 2, require="accuracy>=0.99")
    registry.promote(store, "churn", 2, require="accuracy>=production", reason="better recall")
    suite = tmp_path / "churn.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    mlops_nb.check_model("churn:2", suite, store=store)
    batch = make_churn(400, seed=21, drift=0.9).drop(columns=["churned"])
    for week in ("w1", "w2"):
        mlops_nb.check_drift("churn:2", batch, store=store, batch=week, alert=False, trigger=False)
    return store


def test_a_card_is_filled_from_what_the_store_knows(lived):
    store = lived
    doc = cards.card(store, "churn", 2)
    version = store.get_version("churn", 2)
    assert (doc["model"], doc["version"], doc["estimator"]) == ("churn", 2, version.estimator)
    assert doc["data"] == {"sha256": version.data_sha256, "schema": version.signature}
    assert doc["data"]["sha256"] and len(doc["data"]["schema"]) > 3
    assert doc["metrics"] == {"accuracy": 0.86} and doc["aliases"] == ["production"]
    lineage = mlops_nb.which("churn:2", store=store)
    assert doc["lineage"]["run_id"] == lineage.run_id and doc["lineage"]["environment"]
    assert doc["lineage"]["artifact_sha256"] == version.artifact_sha256
    # one test run, one of its two checks failed
    assert (doc["tests"]["runs"], doc["tests"]["passed"]) == (1, 0)
    checks = doc["tests"]["recent"][0]["checks"]
    assert [c["passed"] for c in checks] == [True, False]
    # promoted with its gate and reason; the refused gate kept beside it
    (move,) = doc["promotions"]
    assert (move["alias"], move["reason"]) == ("production", "better recall")
    assert move["gate"].startswith("accuracy>=production [") and "0.86" in move["gate"]
    (refusal,) = doc["refusals"]
    assert refusal["gate"] == "accuracy>=0.99" and refusal["failures"]
    # drift history of this version only
    assert doc["drift"]["checks"] == 2 and doc["drift"]["drifted"] == 2
    assert [c["id"] for c in doc["drift"]["recent"]] == [2, 1]
    assert cards.card(store, "churn", 1)["drift"]["checks"] == 0
    # nothing written yet
    assert set(doc["written"].values()) == {None} and doc["written_by"] is None
    json.dumps(doc)  # JSON-able as it is
    assert cards.card_for_pack(store, "churn", 2) == doc


def test_written_fields_are_set_changed_cleared_and_each_edit_audited(churn_versions):
    store = churn_versions
    done = cards.edit_card(
        store, "churn", 2, intended_use="rank customers", limitations="not B2B", actor="ann"
    )
    assert done["changed"] == ["intended_use", "limitations"] and done["actor"] == "ann"
    assert done["fields"]["intended_use"] == "rank customers"
    done = cards.edit_card(store, "churn", "v2", limitations="", training_procedure="5-fold CV")
    assert done["changed"] == ["limitations", "training_procedure"]
    fields = cards.card(store, "churn", 2)["written"]
    assert fields == {
        "intended_use": "rank customers",
        "limitations": None,
        "ethical_considerations": None,
        "training_procedure": "5-fold CV",
    }
    first, second = card_events(store)
    assert (first.actor, first.subject) == ("ann", "churn:2")
    assert json.loads(second.payload)["_changes"] == {
        "limitations": {"from": "not B2B", "to": None},
        "training_procedure": {"from": None, "to": "5-fold CV"},
    }
    # the same text again writes nothing, and neither does an edit of nothing
    before = store.raw_events()
    assert cards.edit_card(store, "churn", 2, intended_use="rank customers")["changed"] == []
    assert cards.edit_card(store, "churn", 2)["changed"] == []
    assert store.raw_events() == before
    assert cards.card(store, "churn", 1)["written"]["intended_use"] is None  # per version
    assert mlops_nb.verify(store=store).ok


def test_a_field_changed_behind_the_registrys_back_is_caught(churn_versions, raw_sql):
    store = churn_versions
    cards.edit_card(store, "churn", 2, intended_use="rank customers")
    assert mlops_nb.verify(store=store).ok
    raw_sql("update model_cards set intended_use = 'anything' where version = 2")
    result = mlops_nb.verify(store=store)
    assert not result.ok and "model_cards row churn/2" in result.problem
    raw_sql("update model_cards set intended_use = 'rank customers' where version = 2")
    assert mlops_nb.verify(store=store).ok
    raw_sql("delete from model_cards")
    assert "missing" in mlops_nb.verify(store=store).problem


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"intended_use": "x" * (FIELD_LIMIT + 1)}, "intended use is 10001 characters long"),
        ({"limitations": 7}, "limitations must be text"),
        ({"training_procedure": "a\x00b"}, "NUL"),
        ({"ethical_considerations": ["x"]}, "must be text"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(churn_versions, kwargs, message):
    store = churn_versions
    before = store.raw_events()
    with pytest.raises(InvalidInputError, match=message):
        cards.edit_card(store, "churn", 1, **kwargs)
    assert store.raw_events() == before


def test_unknown_model_or_version_is_not_found(churn_versions):
    with pytest.raises(NotFoundError, match="no version 9"):
        cards.edit_card(churn_versions, "churn", 9, intended_use="x")
    with pytest.raises(NotFoundError, match="no model named"):
        cards.card(churn_versions, "nope", 1)
    with pytest.raises(InvalidInputError, match="whole number"):
        cards.card(churn_versions, "churn", 0)


def test_the_python_api_uses_the_default_store(churn_versions):
    done = mlops_nb.edit_card("churn", 1, intended_use="a baseline")
    assert done["changed"] == ["intended_use"]
    assert mlops_nb.card("churn", 1)["written"]["intended_use"] == "a baseline"
    assert mlops_nb.card("churn", 1, markdown=True).startswith("---\n")


def test_a_store_made_before_cards_gets_them_and_still_verifies(home, fitted, raw_sql):
    from mlops_nb import tracking

    with Store(home) as store, tracking.track(store, "churn", model=fitted[0]):
        pass
    raw_sql("drop table model_cards")
    raw_sql("delete from schema_version where version >= 17")
    with Store(home) as store:
        assert store.schema_version == t.LATEST
        assert mlops_nb.verify(store=store).ok
        cards.edit_card(store, "churn", 1, limitations="kept")
        assert cards.card(store, "churn", 1)["written"]["limitations"] == "kept"
        assert mlops_nb.verify(store=store).ok


# -- Markdown -------------------------------------------------------------------------


def front_matter(markdown: str) -> tuple[dict, str]:
    assert markdown.startswith("---\n")
    head, body = markdown[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def headings(body: str) -> list[tuple[int, str]]:
    found, fenced = [], False
    for line in body.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"(#{1,6}) (.*)", line)):
            found.append((len(m.group(1)), m.group(2)))
    return found


def test_markdown_has_skops_metadata_and_every_section_of_skops_template(lived):
    from skops.card._templates import SKOPS_TEMPLATE

    store = lived
    cards.edit_card(store, "churn", 2, intended_use="rank customers", limitations="not B2B")
    markdown = cards.to_markdown(cards.card(store, "churn", 2))
    meta, body = front_matter(markdown)
    version = store.get_version("churn", 2)
    assert meta["library_name"] == "sklearn" and "skops" in meta["tags"]
    assert meta["model_format"] == version.format and meta["model_file"].endswith(version.format)
    assert (meta["artifact_sha256"], meta["data_sha256"]) == (
        version.artifact_sha256,
        version.data_sha256,
    )
    shown = headings(body)
    # skops' own template names its sections as "Parent/Child": each one is here, nested so
    skops_sections = [k for k in SKOPS_TEMPLATE if not k.endswith("Model Plot")]
    paths, stack = set(), []
    for level, title in shown:
        stack = [*stack[: level - 1], title]
        paths.add("/".join(stack))
    missing = [s for s in skops_sections if s not in paths]
    assert missing == [], (missing, shown)
    assert shown[0] == (1, "Model description") and "Version 2 of the model churn." in body
    for fact in ("rank customers", "not B2B", "accuracy&gt;=production", "0\\.86"):
        assert fact in body, fact
    assert "0 of 1 test runs passed" in body and "| accuracy &gt;= 0\\.999 |" in body
    assert 'mlops_nb.load_model("churn:2")' in body


def test_skops_reads_the_card_back_section_by_section(lived, tmp_path, monkeypatch):
    """``skops.card.parse_modelcard`` (through pandoc, from the test extra's
    pypandoc-binary) finds each section where skops' own cards keep it."""
    import pypandoc
    from skops.card import parse_modelcard

    monkeypatch.setenv(
        "PATH", f"{Path(pypandoc.get_pandoc_path()).parent}{os.pathsep}{os.environ['PATH']}"
    )
    store = lived
    cards.edit_card(store, "churn", 2, intended_use=f"rank customers {EVIL}", limitations="not B2B")
    path = tmp_path / "README.md"
    path.write_text(cards.to_markdown(cards.card(store, "churn", 2)), encoding="utf-8")
    parsed = parse_modelcard(path)

    def section(name):
        return parsed.select(name).content

    intended = section("Model description/Intended uses & limitations/Intended use")
    assert intended.startswith("rank customers") and "onerror" in intended
    assert section("Model description/Intended uses & limitations/Limitations") == "not B2B"
    assert "accuracy" in section("Model description/Evaluation Results")
    assert "churn:2" in section("How to Get Started with the Model")
    hyper = section("Model description/Training Procedure/Hyperparameters")
    assert "Hyperparameter" in hyper or "No hyperparameters" in hyper
    # and what skops writes back out keeps the sections, in skops' order
    rendered = headings(parsed.render())
    assert [t for level, t in rendered if level == 1] == [
        "Model description",
        "How to Get Started with the Model",
        "Model Card Authors",
        "Model Card Contact",
        "Citation",
    ]


def test_user_text_is_never_read_as_markup(churn_versions):
    store = churn_versions
    registry.annotate(store, "churn", 1, description=EVIL)
    cards.edit_card(store, "churn", 1, intended_use=EVIL, limitations="```\n# x\n```")
    markdown = cards.to_markdown(cards.card(store, "churn", 1))
    _, body = front_matter(markdown)
    assert "<img" not in body and "&lt;img src=x onerror=alert\\(1\\)&gt;" in body
    assert "[link](" not in body and "\\[link\\]\\(http\\:" in body
    # no line of user text starts a heading, a list, a code block or a fence
    titles = [title for _, title in headings(body)]
    assert not any("heading" in title or title == "x" for title in titles), titles
    assert "\n- item" not in body and "\n    indented" not in body
    assert body.count("```") == 2  # only the getting-started fence


def test_the_card_of_a_model_with_odd_names_keeps_valid_yaml(store, fitted):
    from mlops_nb import tracking

    with tracking.track(store, "churn \"eu\" #1 - 'x'", model=fitted[0]):
        pass
    meta, _ = front_matter(cards.to_markdown(cards.card(store, "churn \"eu\" #1 - 'x'", 1)))
    assert meta["model_name"] == "churn \"eu\" #1 - 'x'" and meta["model_version"] == 1


# -- command line ------------------------------------------------------------------------


def test_on_the_command_line(lived, cli, tmp_path):
    done = cli("card", "edit", "churn:2", "--intended-use", "rank", "--limitations", "not B2B")
    assert done.code == 0, done.err
    assert "intended_use, limitations" in done.out
    shown = cli("card", "churn:2", "--json").json()
    assert shown["written"]["intended_use"] == "rank" and shown["drift"]["checks"] == 2
    text = cli("card", "churn:2").out
    assert "intended-use: rank" in text and "2 of 2 checks found drift" in text
    again = cli("card", "edit", "churn:2", "--intended-use", "rank", "--json")
    assert again.code == 0 and again.json()["changed"] == []
    out = tmp_path / "card.md"
    done = cli("card", "churn:2", "--markdown", str(out))
    assert done.code == 0 and out.read_text().startswith("---\nlibrary_name:")
    refused = cli("card", "churn:2", "--markdown", str(out))
    assert refused.code == 4 and "--force" in refused.err
    assert cli("card", "churn:2", "--markdown", str(out), "--force").code == 0
    assert cli("card", "churn:2", "--markdown", "-").out == out.read_text()
    for args, code, message in [
        (["churn:9"], 3, "no version 9"),
        (["nope:1"], 3, "no model named"),
        (["edit", "churn:9", "--limitations", "x"], 3, "no version 9"),
        (["churn"], 2, "NAME:VERSION"),
        (["churn@production"], 2, "NAME:VERSION"),
        (["edit", "churn:1"], 2, "nothing to edit"),
        (["churn:1", "--limitations", "x"], 2, "card edit"),
        (["edit", "churn:1", "churn:2"], 2, "card edit NAME:VERSION"),
        (["edit", "churn:1", "--limitations", "x" * 10_001], 2, "at most 10000"),
    ]:
        refused = cli("card", *args)
        assert (refused.code, refused.out) == (code, ""), (args, refused)
        assert message in refused.err and refused.err.count("\n") == 1
    assert cli("audit", "verify").code == 0
