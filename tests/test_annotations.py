"""A version's description and tags: edited after registration, every edit audited."""

from __future__ import annotations

import json

import pytest

import mlops_nb
from mlops_nb import registry
from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.registry.annotations import (
    DESCRIPTION_LIMIT,
    MAX_TAGS,
    TAG_KEY_LIMIT,
    TAG_VALUE_LIMIT,
)
from mlops_nb.store import Store
from mlops_nb.store import schema as t

pytestmark = pytest.mark.backends


def annotated_events(store):
    return [e for e in store.raw_events() if e.kind == "version.annotated"]


def test_description_and_tags_are_set_changed_and_removed(churn_versions):
    store = churn_versions
    v = registry.annotate(
        store, "churn", 2, description="March retrain", tags={"ticket": "ML-1"}, actor="ann"
    )
    assert (v.description, v.tags) == ("March retrain", {"ticket": "ML-1"})
    v = registry.annotate(store, "churn", "v2", tags={"reviewed": "yes", "ticket": "ML-2"})
    assert v.tags == {"reviewed": "yes", "ticket": "ML-2"} and v.description == "March retrain"
    v = registry.annotate(store, "churn", 2, description="", untag=["ticket", "absent"])
    assert (v.description, v.tags) == (None, {"reviewed": "yes"})
    # read back as every reader sees a version
    assert store.get_version("churn", 2) == v
    assert store.versions_by_model()["churn"][1] == v
    assert (
        store.list_versions("churn")[0].tags == {}
        and store.get_version("churn", 1).description is None
    )
    assert mlops_nb.verify(store=store).ok


def test_each_edit_is_an_audit_event_naming_who_and_old_and_new(churn_versions):
    store = churn_versions
    registry.annotate(store, "churn", 1, description="first", tags={"a": "1"}, actor="ann")
    registry.annotate(
        store, "churn", 1, description="second", untag=["a"], tags={"b": "2"}, actor="bob"
    )
    first, second = annotated_events(store)
    assert (first.actor, first.subject, second.actor) == ("ann", "churn:1", "bob")
    changes = json.loads(second.payload)["_changes"]
    assert changes == {
        "description": {"from": "first", "to": "second"},
        "tags": {"a": {"from": "1", "to": None}, "b": {"from": None, "to": "2"}},
    }
    assert json.loads(second.payload)["tags"] == {"b": "2"}  # the row as it now is
    # the same values again change nothing and write nothing
    before = store.raw_events()
    registry.annotate(store, "churn", 1, description="second", tags={"b": "2"}, actor="carl")
    assert store.raw_events() == before
    assert mlops_nb.verify(store=store).ok


def test_a_description_or_tag_changed_behind_the_registrys_back_is_caught(churn_versions, raw_sql):
    store = churn_versions
    registry.annotate(store, "churn", 2, description="reviewed by ann", tags={"ok": "yes"})
    assert mlops_nb.verify(store=store).ok
    raw_sql("update model_versions set description = 'reviewed by nobody' where version = 2")
    result = mlops_nb.verify(store=store)
    assert not result.ok and "model_versions row churn/2" in result.problem
    raw_sql("update model_versions set description = 'reviewed by ann' where version = 2")
    assert mlops_nb.verify(store=store).ok
    raw_sql("""update model_versions set tags = '{"ok":"no"}' where version = 2""")
    assert not mlops_nb.verify(store=store).ok
    raw_sql("""update model_versions set tags = '{"ok":"yes"}' where version = 1""")
    assert "churn/1" in mlops_nb.verify(store=store).problem  # never annotated: must stay NULL


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"description": "x" * (DESCRIPTION_LIMIT + 1)}, "description is 5001 characters long"),
        ({"description": 7}, "description must be text"),
        ({"tags": {"a=b": "1"}}, "may not contain ="),
        ({"tags": {"a,b": "1"}}, "may not contain ,"),
        ({"tags": {" a": "1"}}, "surrounding spaces"),
        ({"tags": {"": "1"}}, "empty"),
        ({"tags": {"a\u202eb": "1"}}, "control or format characters"),
        ({"tags": {"k" * (TAG_KEY_LIMIT + 1): "1"}}, "at most 64"),
        ({"tags": {"k": "v" * (TAG_VALUE_LIMIT + 1)}}, "at most 500"),
        ({"tags": {"k": 1}}, "must be text"),
        ({"tags": {"k": "a\x00b"}}, "NUL"),
        ({"tags": ["k"]}, "mapping"),
        ({"untag": "k"}, "list of tag keys"),
        ({"tags": {"k": "1"}, "untag": ["k"]}, "both set and removed"),
        ({"tags": {f"k{i}": "v" for i in range(MAX_TAGS + 1)}}, "at most 50"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(churn_versions, kwargs, message):
    store = churn_versions
    before = store.raw_events()
    with pytest.raises(InvalidInputError, match=message):
        registry.annotate(store, "churn", 1, **kwargs)
    assert store.raw_events() == before and store.get_version("churn", 1).tags == {}


def test_more_than_the_most_tags_in_all_is_refused(churn_versions):
    store = churn_versions
    registry.annotate(store, "churn", 1, tags={f"k{i}": "v" for i in range(MAX_TAGS)})
    with pytest.raises(InvalidInputError, match="would have 51 tags"):
        registry.annotate(store, "churn", 1, tags={"one": "more"})
    registry.annotate(store, "churn", 1, tags={"one": "more"}, untag=["k0"])  # swapping is fine
    assert len(store.get_version("churn", 1).tags) == MAX_TAGS


def test_unknown_model_or_version_is_not_found(churn_versions):
    with pytest.raises(NotFoundError, match="no version 9"):
        registry.annotate(churn_versions, "churn", 9, description="x")
    with pytest.raises(NotFoundError, match="no model named"):
        registry.annotate(churn_versions, "nope", 1, description="x")
    with pytest.raises(InvalidInputError, match="whole number"):
        registry.annotate(churn_versions, "churn", 0, description="x")


def test_the_python_api_annotates_the_default_store(churn_versions):
    v = mlops_nb.annotate("churn", 2, description="best so far", tags={"team": "growth"})
    assert (v.description, v.tags) == ("best so far", {"team": "growth"})
    assert v.to_json()["tags"] == {"team": "growth"}
    assert mlops_nb.versions("churn")[1].description == "best so far"


def test_a_store_made_before_descriptions_gets_them_and_still_verifies(home, fitted, raw_sql):
    from mlops_nb import tracking

    with Store(home) as store, tracking.track(store, "churn", model=fitted[0]):
        pass
    # A store of schema 11, as every store was before: no columns, migration 12 not run.
    raw_sql("alter table model_versions drop column description")
    raw_sql("alter table model_versions drop column tags")
    raw_sql("delete from schema_version where version >= 12")
    with Store(home) as store:
        assert store.schema_version == t.LATEST
        assert mlops_nb.verify(store=store).ok
        registry.annotate(store, "churn", 1, description="kept", tags={"k": "v"})
        assert store.get_version("churn", 1).description == "kept"
        assert mlops_nb.verify(store=store).ok


def test_on_the_command_line(churn_versions, cli):
    done = cli("annotate", "churn:2", "--description", "good", "--tag", "a=1", "--tag", "b=x=y")
    assert done.code == 0, done.err
    shown = cli("versions", "churn", "--json").json()
    assert (shown[1]["description"], shown[1]["tags"]) == ("good", {"a": "1", "b": "x=y"})
    assert shown[0]["description"] is None and shown[0]["tags"] == {}
    assert "a=1" in cli("versions", "churn").out
    done = cli("annotate", "churn:2", "--untag", "a", "--json")
    assert done.code == 0 and done.json()["tags"] == {"b": "x=y"}
    for args, code, message in [
        (["churn:9", "--tag", "a=1"], 3, "no version 9"),
        (["nope:1", "--tag", "a=1"], 3, "no model named"),
        (["churn", "--tag", "a=1"], 2, "NAME:VERSION"),
        (["churn@production", "--tag", "a=1"], 2, "NAME:VERSION"),
        (["churn:1", "--tag", "a"], 2, "KEY=VALUE"),
        (["churn:1", "--tag", " a=1"], 2, "surrounding spaces"),
        (["churn:1", "--description", "x" * 5001], 2, "at most 5000"),
    ]:
        refused = cli("annotate", *args)
        assert (refused.code, refused.out) == (code, ""), (args, refused)
        assert message in refused.err and refused.err.count("\n") == 1
    assert cli("audit", "verify").code == 0
