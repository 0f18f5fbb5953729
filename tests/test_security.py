"""Security regressions, one section per concern; each section imports what it needs."""

import pytest

# -- input at the boundary --------------------------------------------------------
#
# User-supplied text reaches the store through the Python API, the magics, the
# CLI, the REST API and the widgets; all of them go through the core, which
# checks it once. Whatever is refused changes nothing; whatever is accepted
# keeps `audit verify` green and is never printed raw to a terminal.

ESC_LINE = "\x1b[2K\raudit log intact"  # would redraw the line as a fake verdict
NOT_TEXT = [42, 4.2, True, ["x"], {"a": 1}, b"bytes"]
STORABLE_ODDITIES = [
    "line one\nline two",
    ESC_LINE,
    "bell\x07 delete\x7f csi\x9b",
    "right-to-left \u202eevil",
    "line\u2028separator",
    "emoji 🚀 and combining e\u0301",
]


def _verified(store):
    from mlops_nb.store import audit

    result = audit.verify(store)
    assert result.ok, result.problem
    return result


def _raw_control(text):
    """Control characters a terminal would act on (newlines excluded)."""
    import unicodedata

    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


@pytest.fixture
def two_versions(store, fitted):
    from mlops_nb import tracking

    for auc in (0.9, 0.5):
        with tracking.track(store, "churn", model=fitted[0], metrics={"auc": auc}):
            pass
    _verified(store)
    return store


@pytest.mark.backends
@pytest.mark.parametrize("reason", NOT_TEXT, ids=lambda v: type(v).__name__)
def test_a_reason_that_is_not_text_is_refused_and_verify_stays_green(two_versions, reason):
    import mlops_nb
    from mlops_nb import registry
    from mlops_nb.errors import InvalidInputError

    store = two_versions
    with pytest.raises(InvalidInputError, match="reason must be text"):
        registry.promote(store, "churn", 1, reason=reason)
    with pytest.raises(InvalidInputError, match="reason must be text"):
        mlops_nb.promote("churn", 1, reason=reason, store=store)
    assert store.alias_holder("churn", "production") is None
    registry.promote(store, "churn", 1)
    registry.promote(store, "churn", 2)
    with pytest.raises(InvalidInputError, match="reason must be text"):
        registry.rollback(store, "churn", reason=reason)
    assert store.alias_holder("churn", "production").version == 2
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize(
    "column, value",
    [("reason", 42), ("reason", 1.5), ("reason", True), ("gate", 7), ("actor", 3)],
)
def test_the_store_refuses_a_value_it_would_keep_differently_from_its_event(
    two_versions, column, value
):
    """The root of the poisoning: SQLite keeps 42 in a text column as '42' while the
    event hashed 42, so verify saw a row "changed outside mlops-nb" (PostgreSQL
    refused the value with a driver error). The store now refuses such a value."""
    from mlops_nb.errors import InvalidInputError

    store = two_versions
    options = {"action": "promote", "actor": "alice", column: value}
    with pytest.raises(InvalidInputError, match=f"{column} must be text"):
        store.change_alias("churn", "production", 1, **options)
    assert store.alias_holder("churn", "production") is None
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("pid", "123", "pid must be a whole number"),
        ("pid", 2**70, "pid must be a whole number"),
        ("notebook_path", 5, "notebook_path must be text"),
        ("error", "nul \x00 inside", "NUL"),
        ("error", "half a pair \ud800", "not valid Unicode"),
    ],
)
def test_the_store_refuses_every_column_type_mismatch(store, field, value, message):
    from mlops_nb.errors import InvalidInputError

    fields = {
        "run_id": "f" * 32,
        "kind": "track",
        "name": "churn",
        "status": "running",
        "started_at": "2026-01-01T00:00:00.000000+00:00",
        field: value,
    }
    with pytest.raises(InvalidInputError, match=message):
        store.insert_run(fields, "alice")
    assert store.list_runs() == []
    _verified(store)


@pytest.mark.backends
@pytest.mark.parametrize("reason", STORABLE_ODDITIES)
def test_any_text_the_store_accepts_verifies(two_versions, reason):
    from mlops_nb import registry

    store = two_versions
    change = registry.promote(store, "churn", 1, reason=reason)
    assert change.reason == reason  # kept exactly as given
    assert store.alias_changes("churn")[-1].reason == reason
    _verified(store)
