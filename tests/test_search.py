"""Searching runs: the filter language read (tracking/search.py) and run in SQL on both backends."""

from __future__ import annotations

import pytest

from mlops_nb.errors import InvalidInputError
from mlops_nb.tracking.search import And, Compare, Field, Not, Or, parse_query, parse_sort

pytestmark = pytest.mark.backends


# -- reading ------------------------------------------------------------------------------


def test_reads_the_issue_example():
    assert parse_query("auc > 0.8 and C = 1") == And(
        (
            Compare(Field("value", "auc"), ">", 0.8),
            Compare(Field("value", "C"), "=", 1.0),
        )
    )


def test_and_binds_tighter_than_or_and_not_and_parentheses_work():
    query = parse_query("status = failed or not (kind = notebook and metrics.acc >= .5)")
    assert query == Or(
        (
            Compare(Field("run", "status"), "=", "failed"),
            Not(
                And(
                    (
                        Compare(Field("run", "kind"), "=", "notebook"),
                        Compare(Field("metrics", "acc"), ">=", 0.5),
                    )
                )
            ),
        )
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("params.solver = 'lbfgs'", Compare(Field("params", "solver"), "=", "lbfgs")),
        ('tag.team = "data science"', Compare(Field("tags", "team"), "=", "data science")),
        ("`my metric` <= -1e-3", Compare(Field("value", "my metric"), "<=", -0.001)),
        ("model ~ chu", Compare(Field("model", "model"), "~", "chu")),
        ("name = 3", Compare(Field("run", "name"), "=", "3")),
        ("started >= 2026-11-01", Compare(Field("time", "started"), ">=", "2026-11-01")),
        (
            "ended < 2026-11-01T10:00Z",
            Compare(Field("time", "ended"), "<", "2026-11-01T10:00:00.000000+00:00"),
        ),
        ("learning-rate == 0.1", Compare(Field("value", "learning-rate"), "=", 0.1)),
        ("  ", None),
        ("", None),
    ],
)
def test_reads_fields_operators_and_values(text, expected):
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("auc >", "at the end: the filter stops short"),
        ("auc 0.8", "at character 5 ('0.8'): expected an operator"),
        ("and auc > 1", "at character 1 ('and'): expected a field name"),
        ("auc > 1 auc < 2", "at character 9 ('auc'): expected 'and', 'or' or the end"),
        ("(auc > 1", "at the end: expected ')'"),
        ("auc > 1)", "expected 'and', 'or' or the end"),
        ("auc = 'open", "cannot read the filter at character 7"),
        ("status > 3", "status compares with = != or ~, not >"),
        ("started ~ 2026", "started compares with = != < <= > >=, not ~"),
        ("started > yesterday", "not a date or time: 'yesterday'"),
        ("started > 2026-02-30", "not a date: '2026-02-30'"),
        ('`a"b` = 1', "cannot read the filter at character 1"),
        ("auc > 1; drop table runs", "cannot read the filter at character 8"),
    ],
)
def test_bad_filters_say_where_they_stopped(text, message):
    with pytest.raises(InvalidInputError) as caught:
        parse_query(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sort_keys():
    assert parse_sort(None) == parse_sort("started") == parse_sort("started", "desc")
    assert parse_sort("started").descending
    assert not parse_sort("name").descending  # names A to Z
    assert parse_sort("metrics.auc").field == Field("metrics", "auc")
    assert parse_sort("params.C", "asc").descending is False
    with pytest.raises(InvalidInputError, match="cannot sort by 'auc'"):
        parse_sort("auc")
    assert parse_sort("metrics.my metric").field == Field("metrics", "my metric")
    for name in ('metrics.a"b', "params.a\\b", "metrics.a`b"):
        with pytest.raises(InvalidInputError, match="a name cannot hold"):
            parse_sort(name)
    with pytest.raises(InvalidInputError, match="order must be asc or desc"):
        parse_sort("name", "up")


# -- in the store ---------------------------------------------------------------------------

RUNS = [
    # run_id, kind, name, status, started, params, metrics
    ("a" * 32, "track", "churn", "finished", "2026-10-31T23:59:59.000000+00:00",
     {"C": 1, "solver": "lbfgs"}, {"auc": 0.91, "accuracy": 0.8}),
    ("b" * 32, "track", "churn", "finished", "2026-11-01T00:00:00.000000+00:00",
     {"C": 10, "solver": "saga"}, {"auc": 0.79}),
    ("c" * 32, "track", "fraud", "failed", "2026-11-01T12:00:00.000000+00:00",
     {"C": "1", "auc": 0.99}, {}),
    ("d" * 32, "notebook", "train_churn.ipynb", "finished", "2026-11-02T08:00:00.000000+00:00",
     {"auc": 0.85}, {"auc": 0.7}),
]  # fmt: skip


@pytest.fixture
def runs(store):
    for run_id, kind, name, status, started, params, metrics in RUNS:
        store.insert_run(
            {
                "run_id": run_id,
                "kind": kind,
                "name": name,
                "status": status,
                "started_at": started,
                "ended_at": started,
                "params": params,
                "metrics": metrics,
            },
            "tester",
        )
    return store


def ids(store, text, sort=None, **page):
    found, total = store.search_runs(parse_query(text), parse_sort(*(sort or (None,))), **page)
    return "".join(r.run_id[0] for r in found), total


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, "dcba"),
        ("auc > 0.8 and C = 1", "a"),  # c's C is the text "1", not the number
        ("C = '1'", "c"),
        ("auc > 0.8", "ca"),  # d's metric auc (0.7) wins over its parameter; c has only a parameter
        ("metrics.auc > 0.8", "a"),
        ("params.auc > 0.8", "dc"),
        ("not auc > 0.8", "db"),
        ("auc != 0.79", "dca"),
        ("accuracy >= 0.8 or status = failed", "ca"),
        ("solver ~ LB", "a"),
        ("model = churn", "ba"),
        ("model != churn", "dc"),
        ("model ~ FRA", "c"),
        ("kind = notebook", "d"),
        ("name ~ churn", "dba"),
        ("status != finished", "c"),
        ("started = 2026-11-01", "cb"),
        ("started > 2026-11-01", "d"),
        ("started <= 2026-11-01", "cba"),
        ("started < 2026-11-01", "a"),
        ("started >= 2026-11-01T12:00Z", "dc"),
        ("ended != 2026-11-01", "da"),
        ("nothing = 1", ""),
        ("name ~ '%'", ""),  # LIKE's wildcards are plain characters here
    ],
)
def test_filters_run_in_the_store(runs, text, expected):
    assert ids(runs, text) == (expected, len(expected))


def test_sorts_by_metrics_and_parameters_missing_last(runs):
    assert ids(runs, None, ("metrics.auc", "desc"))[0] == "abdc"
    assert ids(runs, None, ("metrics.auc", "asc"))[0] == "dbac"
    # numbers by value, then text; runs without the parameter last
    assert ids(runs, None, ("params.C", "asc"))[0] == "abcd"
    assert ids(runs, None, ("name", None))[0] == "bacd"
    assert ids(runs, None, ("started", "asc"))[0] == "abcd"


def test_pages_with_the_total(runs):
    assert ids(runs, None, limit=2) == ("dc", 4)
    assert ids(runs, None, limit=2, offset=2) == ("ba", 4)
    assert ids(runs, None, limit=2, offset=4) == ("", 4)
    assert ids(runs, "model = churn", ("metrics.auc", "desc"), limit=1, offset=1) == ("b", 2)


@pytest.mark.parametrize(
    "page, message",
    [
        ({"limit": 0}, "limit must be a whole number from 1 to 1000"),
        ({"limit": 1001}, "limit must be"),
        ({"offset": -1}, "offset must be a whole number from 0"),
    ],
)
def test_bad_pages_are_refused(runs, page, message):
    with pytest.raises(InvalidInputError, match=message):
        runs.search_runs(None, None, **page)


def test_a_page_carries_whole_runs(runs):
    (run,), _ = runs.search_runs(parse_query("solver = saga"), None)
    assert run.params == {"C": 10, "solver": "saga"} and run.metrics == {"auc": 0.79}
