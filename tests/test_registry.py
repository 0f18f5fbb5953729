import io
import pickle
import zipfile

import pytest

from mlops_nb import registry, tracking
from mlops_nb.errors import (
    ConflictError,
    GateExpressionError,
    GateFailedError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    UntrustedModelError,
)
from mlops_nb.records import AliasChange, AliasRefusal
from mlops_nb.registry import names, serialization, trust

pytestmark = pytest.mark.backends


def add_version(store, model, metrics, name="churn", **opts):
    with tracking.track(store, name, model=model, metrics=metrics, **opts) as run:
        pass
    return run.version


@pytest.fixture
def three(store, fitted):
    model, _ = fitted
    for acc in (0.80, 0.85, 0.78):
        add_version(store, model, {"accuracy": acc})
    return store


def test_versions_are_numbered_per_model(three, fitted):
    assert [v.version for v in three.list_versions("churn")] == [1, 2, 3]
    other = add_version(three, fitted[0], {}, name="pricing")
    assert other.version == 1


def test_gate_refusal_leaves_alias_untouched(three):
    registry.promote(three, "churn", 2, require="accuracy>=production")
    with pytest.raises(GateFailedError) as info:
        registry.promote(three, "churn", 3, require="accuracy>=production")
    assert "0.78 is not >= production v2 0.85" in str(info.value)
    assert info.value.failures == ["accuracy>=production: 0.78 is not >= production v2 0.85"]
    assert three.alias_holder("churn", "production").version == 2
    assert len(three.alias_changes("churn", "production")) == 1


def test_a_refused_promotion_is_kept_without_moving_the_alias(three):
    from mlops_nb.store import audit

    registry.promote(three, "churn", 2)
    with pytest.raises(GateFailedError):
        registry.promote(
            three, "churn", 3, require="accuracy>=production", reason="try", actor="erin"
        )
    (refusal,) = three.alias_refusals("churn", "production")
    assert (refusal.from_version, refusal.to_version, refusal.actor) == (2, 3, "erin")
    assert refusal.gate == "accuracy>=production" and refusal.reason == "try"
    assert refusal.failures == ["accuracy>=production: 0.78 is not >= production v2 0.85"]
    assert three.alias_holder("churn", "production").version == 2
    # one audited event, and the chain with every table still verifies
    events = [e for e in three.raw_events() if e.kind == "alias.refused"]
    assert len(events) == 1 and events[0].actor == "erin"
    assert audit.verify(three).ok
    # the history shows it in its place; only the moves decide the holder
    history = registry.alias_history(three, "churn", "production")
    assert [h.action for h in history] == ["promote", "refused"]
    assert registry.holder_stack(history) == [2]


def test_rollback_ignores_refused_promotions(three):
    registry.promote(three, "churn", 1)
    registry.promote(three, "churn", 2)
    for version in (3, 3):
        with pytest.raises(GateFailedError):
            registry.promote(three, "churn", version, require="accuracy>=production")
    assert registry.rollback_target(three, "churn") == 1
    assert registry.rollback(three, "churn").to_version == 1
    assert registry.rollback_target(three, "churn") is None
    assert registry.rollback_target(three, "churn", "staging") is None


def test_which_names_the_promotions_refused_while_a_version_held_the_alias(three):
    registry.promote(three, "churn", 1)
    with pytest.raises(GateFailedError):
        registry.promote(three, "churn", 3, require="accuracy>=production", actor="erin")
    change = registry.promote(three, "churn", 2)
    before = registry.which(three, "churn@production", at=change.at)
    assert before.version == 2 and before.refused == []
    during = registry.which(three, "churn@production", at=three.alias_changes("churn")[0].at)
    assert during.refused == []  # asked at the moment v1 came in: nothing refused yet
    held_v1 = [r for r in three.alias_refusals("churn") if r.from_version == 1]
    late = registry.which(three, "churn@production", at=held_v1[0].at)
    assert late.version == 1 and [r["actor"] for r in late.refused] == ["erin"]
    assert registry.which(three, "churn@production").refused == []  # v2 was never challenged


def test_gate_result_is_recorded_with_the_change(three):
    change = registry.promote(three, "churn", 2, require="accuracy>0.8", reason="better")
    assert change.gate.startswith("accuracy>0.8 [") and "0.85 > 0.8" in change.gate
    assert change.reason == "better" and change.action == "promote"


def test_malformed_gate_changes_nothing(three):
    with pytest.raises(GateExpressionError):
        registry.promote(three, "churn", 2, require="accuracy=>production")
    assert three.alias_holder("churn", "production") is None


def test_a_gate_compares_with_the_alias_it_names_and_its_verdict_is_kept(three):
    registry.promote(three, "churn", 2)  # production: accuracy 0.85
    registry.promote(three, "churn", 3, "staging")  # staging: accuracy 0.78
    with pytest.raises(GateFailedError) as refused:
        registry.promote(three, "churn", 1, "staging", require="accuracy>=production, f1>0.5")
    assert str(refused.value) == (
        "gate refused churn:1 for staging: accuracy>=production: 0.8 is not >= production v2 "
        "0.85; f1>0.5: version 1 has no metric 'f1'"
    )
    change = registry.promote(
        three,
        "churn",
        "latest",
        "canary",
        require="accuracy<staging+0.01, accuracy<production",
        run_id="r-42",
        actor="carol",
    )
    assert (change.alias, change.to_version, change.action) == ("canary", 3, "promote")
    assert (change.run_id, change.actor) == ("r-42", "carol")
    assert change.gate == (
        "accuracy<staging+0.01, accuracy<production [accuracy<staging+0.01: 0.78 < staging v3 "
        "0.79; accuracy<production: 0.78 < production v2 0.85]"
    )
    registry.promote(three, "churn", 1, "staging")
    back = registry.rollback(three, "churn", "staging", reason="too early", actor="dave")
    assert (back.to_version, back.action) == (3, "rollback")
    assert (back.reason, back.actor) == ("too early", "dave")


def test_promoting_the_holder_again_returns_the_change_that_put_it_there(three):
    first = registry.promote(three, "churn", 1)
    registry.promote(three, "churn", 2, "staging")
    assert registry.promote(three, "churn", "1") == first
    assert registry.promote(three, "churn", 2, "staging").alias == "staging"


def test_promoting_the_holder_again_is_a_no_op(three):
    first = registry.promote(three, "churn", 1)
    again = registry.promote(three, "churn", 1)
    assert again == first
    assert len(three.alias_changes("churn")) == 1


def test_rollback_walks_back_like_a_stack(three):
    for v in (1, 2, 3):
        registry.promote(three, "churn", v)
    assert registry.rollback(three, "churn").to_version == 2
    assert registry.rollback(three, "churn").to_version == 1
    with pytest.raises(ConflictError, match="nothing to roll back to"):
        registry.rollback(three, "churn")
    assert three.alias_holder("churn", "production").version == 1
    registry.promote(three, "churn", 3)
    assert registry.rollback(three, "churn").to_version == 1


def test_rollback_of_unheld_alias(three):
    with pytest.raises(NotFoundError, match="nobody holds"):
        registry.rollback(three, "churn", "staging")


def test_history_is_complete_and_which_answers_the_past(three):
    c1 = registry.promote(three, "churn", 1, reason="first")
    c2 = registry.promote(three, "churn", 2)
    c3 = registry.rollback(three, "churn", reason="hurt sales")
    history = three.alias_changes("churn", "production")
    assert [(h.from_version, h.to_version, h.action) for h in history] == [
        (None, 1, "promote"),
        (1, 2, "promote"),
        (2, 1, "rollback"),
    ]
    assert registry.which(three, "churn@production", at=c1.at).version == 1
    assert registry.which(three, "churn@production", at=c2.at).version == 2
    past = registry.which(three, "churn@production", at=c2.at)
    assert past.set_at == c2.at and past.set_by == c2.actor
    now = registry.which(three, "churn@production")
    assert now.version == 1 and now.reason == "hurt sales" and now.set_at == c3.at
    with pytest.raises(NotFoundError, match="nobody held"):
        registry.which(three, "churn@production", at="2000-01-01")


def test_which_at_reads_every_date_spelling_alike(three):
    registry.promote(three, "churn", 2)
    day = three.alias_changes("churn", "production")[-1].at[:10]  # today, in UTC
    extended, compact = day, day.replace("-", "")
    # A bare date is the end of that day, UTC, in either spelling.
    assert registry.which(three, "churn@production", at=extended).version == 2
    assert registry.which(three, "churn@production", at=compact).version == 2
    assert registry.which(three, "churn", at=compact).version == 3
    assert registry.which(three, "churn", at=compact) == registry.which(three, "churn", at=day)


@pytest.mark.parametrize("at", ["0999-12-31", "09991231", "0001-01-01", "0999-12-31T23:59Z"])
def test_which_at_a_year_before_1000_finds_nothing_yet(three, at):
    registry.promote(three, "churn", 1)
    with pytest.raises(NotFoundError, match="nobody held churn@production at 0"):
        registry.which(three, "churn@production", at=at)
    with pytest.raises(NotFoundError, match="had no versions at 0"):
        registry.which(three, "churn", at=at)
    with pytest.raises(NotFoundError, match="did not exist yet"):
        registry.which(three, "churn:1", at=at)


@pytest.mark.parametrize(
    "at, message",
    [
        ("2026-W27-3", "not an ISO date"),
        ("2026-07-15T12", "not an ISO date"),
        ("2026-02-30", "not a valid date"),
        ("0001-01-01T00:00+05:00", "out of range"),
        ("9999-12-31T23:59-00:01", "out of range"),
    ],
)
def test_which_refuses_bad_or_unrepresentable_times(three, at, message):
    with pytest.raises(InvalidInputError, match=message):
        registry.which(three, "churn@production", at=at)


def test_which_lineage_of_version(three, churn_data, fitted):
    X, _, y, _ = churn_data
    v = add_version(three, fitted[0], {"accuracy": 0.9}, data=X, target=y, params={"C": 2})
    lineage = registry.which(three, f"churn:{v.version}")
    assert lineage.version == v.version and lineage.alias is None
    assert lineage.data_sha256 == v.data_sha256 and len(lineage.data_sha256) == 64
    assert lineage.params == {"C": 2}
    assert lineage.environment["python"], lineage.environment


@pytest.mark.parametrize(
    "ref", ["", "churn@", "churn@Prod!", "churn:0", "churn:x", "a/b", "bad\nname"]
)
def test_bad_references(three, ref):
    with pytest.raises(InvalidInputError):
        registry.resolve(three, ref)


@pytest.mark.parametrize(
    "ref, parts",
    [
        ("churn", ("churn", None, None)),
        ("  churn@prod-eu ", ("churn", "prod-eu", None)),
        ("churn:1", ("churn", None, 1)),
        ("churn:v3", ("churn", None, 3)),
        ("churn:V3", ("churn", None, 3)),
        ("churn: 3", ("churn", None, 3)),
        ("XGBoost churn:2", ("XGBoost churn", None, 2)),
    ],
)
def test_a_reference_names_a_model_and_an_alias_or_a_version(ref, parts):
    assert names.parse_ref(ref) == parts


@pytest.mark.parametrize(
    "ref, message",
    [
        ("", "empty model reference; write NAME, NAME@ALIAS or NAME:VERSION"),
        (None, "empty model reference; write NAME, NAME@ALIAS or NAME:VERSION"),
        # the last separator splits, so the name is the part that is refused
        ("a@b@production", "model name 'a@b' may not contain '@'"),
        ("a:b:1", "model name 'a:b' may not contain ':'"),
        ("a/b\\c:1", "may not contain '/\\\\'"),
        (".", "'.' is not a usable model name"),
        ("..:1", "'..' is not a usable model name"),
        (
            "p\u0430yments",
            "model name 'p\u0430yments' mixes Cyrillic and Latin letters; use one script "
            "(look-alike letters from different scripts would make two names look the same)",
        ),
        ("churn@and", "'and' cannot be an alias: a gate reads it as a separator"),
        ("churn@nan", "'nan' cannot be an alias: a gate reads it as a number"),
        (
            "churn@Prod",
            "alias 'Prod' is not valid: use at most 64 lowercase letters and digits, starting "
            "with a letter, in words joined by one '_' or '-', with a letter after each '-' "
            "(e.g. production, staging, prod-eu, canary_2)",
        ),
        ("churn:0", "version must be a whole number from 1 to"),
        ("churn:\u00b2", "version must be a positive whole number, not '\u00b2'"),
        ("churn:x", "version must be a positive whole number, not 'x'"),
    ],
)
def test_a_reference_that_names_nothing_is_refused_with_the_reason(ref, message):
    with pytest.raises(InvalidInputError) as refused:
        names.parse_ref(ref)
    assert message in str(refused.value)


def test_names_aliases_and_versions_must_be_text_or_numbers():
    with pytest.raises(InvalidInputError, match="^an alias must be text, not int$"):
        names.check_alias(42)
    with pytest.raises(InvalidInputError, match="^model name must be text, not int$"):
        names.check_model_name(42)
    with pytest.raises(InvalidInputError, match="not True$"):
        names.parse_version(True)
    # JSON's one number type: 17.0 is the integer 17 (as JSON Schema says); 17.5 is not.
    assert names.parse_version(17.0) == 17
    with pytest.raises(InvalidInputError, match="not 17.5$"):
        names.parse_version(17.5)
    with pytest.raises(InvalidInputError, match="not '17.0'$"):
        names.parse_version("17.0")
    with pytest.raises(InvalidInputError, match="^empty model reference; write NAME, NAME@ALIAS"):
        names.parse_ref(42)


# -- model files: skops unless pickle is asked for, and every refusal says why --


def test_a_model_file_is_skops_by_default_and_pickle_only_when_asked(fitted, churn_data):
    model, X = fitted[0], churn_data[1]
    skops_file = serialization.dump(model)
    assert not skops_file.startswith(b"\x80")  # a zip, not a pickle stream
    expected = model.predict(X)
    assert (serialization.load(skops_file, "skops").predict(X) == expected).all()
    pickle_file = serialization.dump(model, "pickle")
    assert pickle.loads(pickle_file).predict(X).tolist() == expected.tolist()
    assert (
        serialization.load(pickle_file, "pickle", allow_pickle=True).predict(X) == expected
    ).all()
    with pytest.raises(UntrustedModelError) as refused:
        serialization.load(pickle_file, "pickle")
    assert str(refused.value) == (
        "this model version was saved with pickle, which runs code when loaded; "
        "pass allow_pickle=True only if you trust who trained it"
    )


def test_model_files_that_cannot_be_written_or_read_are_refused_with_the_reason(fitted):
    with pytest.raises(InvalidInputError, match=r"unknown model format 'joblib'; choose one of"):
        serialization.dump(fitted[0], "joblib")
    with pytest.raises(UntrustedModelError, match=r"^unknown model format 'joblib'$"):
        serialization.load(b"", "joblib")
    with pytest.raises(InvalidInputError) as refused:
        serialization.dump(i for i in range(3))
    assert str(refused.value).startswith("cannot save generator with skops (")
    assert str(refused.value).endswith("); if you trust it, save with serializer='pickle'")
    # a file that passes the name check but lost a part cannot be rebuilt
    whole = zipfile.ZipFile(io.BytesIO(serialization.dump(fitted[0])))
    cut = io.BytesIO()
    with zipfile.ZipFile(cut, "w") as part:
        arrays = [n for n in whole.namelist() if n.endswith(".npy")]
        for n in whole.namelist():
            if n != arrays[0]:
                part.writestr(n, whole.read(n))
    with pytest.raises(IntegrityError, match=r"^the model file could not be rebuilt: KeyError: "):
        serialization.load(cut.getvalue(), "skops")


def test_unknown_model_and_version(three):
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        registry.resolve(three, "nope")
    with pytest.raises(NotFoundError, match="no version 9"):
        registry.resolve(three, "churn:9")
    with pytest.raises(NotFoundError, match="no version 9"):
        registry.promote(three, "churn", 9)


def test_html_in_names_is_allowed_but_never_rendered(store, fitted):
    name = "<img src=x onerror=alert(1)>"
    add_version(store, fitted[0], {}, name=name)
    version = store.get_version(name, 1)
    assert "<img" not in version._repr_html_()
    assert "&lt;img" in version._repr_html_()


def test_load_model_checks_hash_and_predicts(three, churn_data, fitted):
    registry.promote(three, "churn", 2)
    X_test = churn_data[1]
    loaded = registry.load_model("churn@production", three)
    assert (loaded.predict(X_test) == fitted[0].predict(X_test)).all()
    assert type(registry.load_model("churn:3", three)) is type(fitted[0])
    path = three.artifacts.path(three.get_version("churn", 2).artifact_sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(IntegrityError, match="altered"):
        registry.load_model("churn:2", three)


class Custom:
    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return [0] * len(X)


def test_untrusted_types_are_refused_until_trusted(store):
    from sklearn.preprocessing import FunctionTransformer

    est = FunctionTransformer(func=pickle.dumps).fit([[1]])
    add_version(store, est, {}, name="odd")
    with pytest.raises(UntrustedModelError, match="_pickle.dumps") as info:
        registry.load_model("odd", store)
    assert "_pickle.dumps" in info.value.types
    loaded = registry.load_model("odd", store, trusted=["_pickle.dumps"])
    assert isinstance(loaded, FunctionTransformer)


def test_custom_classes_need_explicit_trust(store):
    add_version(store, Custom().fit([[1]]), {}, name="custom")
    with pytest.raises(UntrustedModelError, match="Custom"):
        registry.load_model("custom", store)
    trusted = f"{Custom.__module__}.Custom"
    assert isinstance(registry.load_model("custom", store, trusted=[trusted]), Custom)


def test_pickle_is_opt_in_both_ways(store):
    version = add_version(store, Custom().fit([[1]]), {}, name="custom", serializer="pickle")
    assert version.format == "pickle"
    with pytest.raises(UntrustedModelError, match="allow_pickle=True"):
        registry.load_model("custom", store)
    assert isinstance(registry.load_model("custom", store, allow_pickle=True), Custom)
    with pytest.raises(InvalidInputError, match="serializer"):
        add_version(store, Custom().fit([[1]]), {}, name="custom", serializer="joblib")


def test_trust_validates_names():
    with pytest.raises(InvalidInputError):
        trust.trust("")


# -- each alias's history, the holder stack replayed from it, and what rollback reads --


def refuse(store, version, alias="production", model="churn"):
    with pytest.raises(GateFailedError):
        registry.promote(store, model, version, alias, require="accuracy>0.99")


def test_an_ungated_promotion_records_no_gate_and_a_refusal_keeps_its_run(three):
    assert registry.promote(three, "churn", 1).gate is None
    with pytest.raises(GateFailedError):
        registry.promote(three, "churn", 2, require="accuracy>0.99", run_id="r-7")
    (refusal,) = three.alias_refusals("churn")
    assert (refusal.run_id, refusal.reason, refusal.from_version) == ("r-7", None, 1)


def test_resolve_names_the_alias_nobody_holds(three):
    with pytest.raises(NotFoundError, match="nobody holds churn@staging"):
        registry.resolve(three, "churn@staging")
    registry.promote(three, "churn", 1, "staging")
    assert registry.resolve(three, "churn@staging").version == 1
    assert registry.resolve(three, "churn:2").version == 2
    assert registry.resolve(three, "churn").version == 3


def test_rollback_and_its_target_read_only_the_alias_named(three):
    registry.promote(three, "churn", 1)
    registry.promote(three, "churn", 2)
    registry.promote(three, "churn", 3, "staging")  # the newest move is another alias's
    assert registry.rollback_target(three, "churn") == 1
    assert registry.rollback_target(three, "churn", "staging") is None
    assert registry.rollback(three, "churn").to_version == 1
    assert three.alias_holder("churn", "staging").version == 3


def test_alias_history_of_one_alias_holds_only_its_moves_and_refusals(three):
    registry.promote(three, "churn", 1)
    registry.promote(three, "churn", 2, "staging")
    refuse(three, 3, "staging")
    refuse(three, 3)
    registry.promote(three, "churn", 3, "staging")
    production = registry.alias_history(three, "churn", "production")
    assert [(h.alias, h.action, h.to_version) for h in production] == [
        ("production", "promote", 1),
        ("production", "refused", 3),
    ]
    staging = registry.alias_history(three, "churn", "staging")
    assert [(h.action, h.to_version) for h in staging] == [
        ("promote", 2),
        ("refused", 3),
        ("promote", 3),
    ]
    every = registry.alias_history(three, "churn")
    assert [(h.alias, h.action) for h in every] == [
        ("production", "promote"),
        ("staging", "promote"),
        ("staging", "refused"),
        ("production", "refused"),
        ("staging", "promote"),
    ]
    with pytest.raises(InvalidInputError, match="alias"):
        registry.alias_history(three, "churn", "Prod")


def test_alias_histories_answer_for_every_model_as_alias_history_does(three, fitted):
    with tracking.track(three, "pricing", model=fitted[0], metrics={"accuracy": 0.9}):
        pass
    with tracking.track(three, "quiet", model=fitted[0], metrics={"accuracy": 0.9}):
        pass  # a model whose aliases never moved has no history
    registry.promote(three, "churn", 1)
    registry.promote(three, "pricing", 1, "staging")
    refuse(three, 3)
    refuse(three, 1, model="pricing")
    registry.promote(three, "churn", 2)
    histories = registry.alias_histories(three)
    assert histories == {
        "churn": registry.alias_history(three, "churn"),
        "pricing": registry.alias_history(three, "pricing"),
    }
    assert [(h.action, h.to_version) for h in histories["churn"]] == [
        ("promote", 1),
        ("refused", 3),
        ("promote", 2),
    ]
    assert [(h.alias, h.action) for h in histories["pricing"]] == [
        ("staging", "promote"),
        ("production", "refused"),
    ]


def test_at_the_same_instant_a_move_comes_before_a_refusal_as_which_reads_them(three, monkeypatch):
    # Two records can carry the same time (a coarse or stepped clock): the
    # history lists the move first, and `which` counts the refusal against
    # the version that move put in place, so the two agree.
    import mlops_nb.store.registry_sql as registry_sql

    monkeypatch.setattr(registry_sql, "utcnow", lambda: "2026-07-15T12:00:00.000000+00:00")
    registry.promote(three, "churn", 1)
    refuse(three, 3)
    history = registry.alias_history(three, "churn", "production")
    assert [(h.action, h.to_version) for h in history] == [("promote", 1), ("refused", 3)]
    assert registry.alias_histories(three)["churn"] == history
    assert [r["to_version"] for r in registry.which(three, "churn@production").refused] == [3]


def move(n, action, to_version):
    return AliasChange(n, "churn", "production", action, None, to_version, f"t{n}", "ann")


def refusal(n, to_version):
    return AliasRefusal(n, "churn", "production", None, to_version, f"t{n}", "ann", "auc>0.9")


@pytest.mark.parametrize(
    "history, stack",
    [
        # a refusal moves nothing, wherever it stands
        ([move(1, "promote", 1), refusal(2, 3), move(3, "promote", 2)], [1, 2]),
        ([refusal(1, 3), move(2, "promote", 1)], [1]),
        # a rollback pops the holder; the version it names is the holder after it,
        # also when a history (a copied or older store) names one not on the stack
        ([move(1, "promote", 1), move(2, "promote", 2), move(3, "rollback", 1)], [1]),
        (
            [
                move(1, "promote", 1),
                move(2, "promote", 2),
                move(3, "promote", 3),
                move(4, "rollback", 1),
            ],
            [1, 2, 1],
        ),
        ([move(1, "rollback", 4)], [4]),
        ([move(1, "promote", 1), move(2, "rollback", 1)], [1]),
    ],
)
def test_the_holder_stack_ends_with_the_version_the_last_move_put_in_place(history, stack):
    assert registry.holder_stack(history) == stack


# -- which: what made a version, read from its run and the notebook run above it --


def notebook_run(store, run_id, **fields):
    store.insert_run(
        {
            "run_id": run_id,
            "kind": "notebook",
            "name": "train_churn.ipynb",
            "status": "succeeded",
            "started_at": "2026-11-01T06:00:00.000000+00:00",
            "notebook_path": "/project/train_churn.ipynb",
            "input_sha256": "1" * 64,
            **fields,
        },
        "cron",
    )


@pytest.fixture
def in_git_repo(tmp_path, monkeypatch):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(
            ["git", "-c", "user.name=a", "-c", "user.email=a@b", *args], cwd=repo, check=True
        )
    monkeypatch.chdir(repo)
    return repo


def test_which_names_the_notebook_run_that_trained_a_version(
    three, fitted, monkeypatch, in_git_repo
):
    from mlops_nb.tracking import context

    notebook_run(three, "a" * 32, output_sha256="2" * 64)
    monkeypatch.setenv(context.ENV_RUN_ID, "a" * 32)
    with tracking.track(three, "churn", model=fitted[0], params={"C": 3}) as run:
        run.log_metric("accuracy", 0.9)
    monkeypatch.delenv(context.ENV_RUN_ID)
    made = three.get_run(run.run_id)
    assert made.git_commit and made.git_dirty is not None and made.environment
    lineage = registry.which(three, "churn:4")
    version = three.get_version("churn", 4)
    assert (lineage.model, lineage.alias, lineage.version, lineage.at) == ("churn", None, 4, None)
    assert (lineage.set_at, lineage.set_by, lineage.reason) == (
        version.created_at,
        version.created_by,
        None,
    )
    assert lineage.run_id == run.run_id and lineage.parent_run_id == "a" * 32
    # the notebook as executed (its output), the path and the input of the notebook run
    assert lineage.notebook_sha256 == "2" * 64
    assert lineage.notebook_path == "/project/train_churn.ipynb"
    assert lineage.input_sha256 == "1" * 64
    assert (lineage.git_commit, lineage.git_dirty) == (made.git_commit, made.git_dirty)
    assert lineage.params == {"C": 3} and lineage.metrics == {"accuracy": 0.9}
    assert lineage.environment == made.environment
    assert lineage.artifact_sha256 == version.artifact_sha256
    assert lineage.estimator == version.estimator
    assert lineage.refused == [] and lineage.servers == []


def test_which_falls_back_to_the_tracked_run_for_what_the_notebook_run_lacks(
    three, fitted, monkeypatch
):
    from mlops_nb.tracking import context

    # the notebook run has not finished (no executed copy yet) and names no path
    notebook_run(three, "b" * 32, notebook_path=None, input_sha256=None, status="running")
    monkeypatch.setenv(context.ENV_RUN_ID, "b" * 32)
    monkeypatch.setenv(context.ENV_NOTEBOOK, "/home/ann/train.ipynb")
    monkeypatch.setenv(context.ENV_NOTEBOOK_SHA, "3" * 64)
    with tracking.track(three, "churn", model=fitted[0]):
        pass
    lineage = registry.which(three, "churn:4")
    assert lineage.parent_run_id == "b" * 32
    assert (lineage.notebook_sha256, lineage.notebook_path, lineage.input_sha256) == (
        "3" * 64,
        "/home/ann/train.ipynb",
        "3" * 64,
    )
    # a parent run that is gone (a copied store that left it out) is no parent
    monkeypatch.setenv(context.ENV_RUN_ID, "c" * 32)
    with tracking.track(three, "churn", model=fitted[0]):
        pass
    orphan = registry.which(three, "churn:5")
    assert orphan.parent_run_id == "c" * 32
    assert (orphan.notebook_sha256, orphan.notebook_path) == ("3" * 64, "/home/ann/train.ipynb")


def test_which_answers_for_the_alias_named_and_for_the_newest_version(three):
    registry.promote(three, "churn", 1)
    with pytest.raises(NotFoundError, match="^nobody held churn@staging$"):
        registry.which(three, "churn@staging")
    refuse(three, 3, "staging")
    registry.promote(three, "churn", 2, "staging")  # the newest move is staging's
    refuse(three, 3, "staging")
    now = registry.which(three, "churn@production")
    assert (now.alias, now.version) == ("production", 1)
    assert now.refused == []  # staging's refusals are not production's
    assert [r["to_version"] for r in registry.which(three, "churn@staging").refused] == [3]
    # a model without an alias or a version: its newest version, now or as it was then
    assert registry.which(three, "churn").version == 3
    third = three.get_version("churn", 3)
    assert registry.which(three, "churn", at=third.created_at).version == 3
    # a version exists from the instant it was created; the answer says when it was asked about
    then = registry.which(three, "churn:3", at=third.created_at)
    assert (then.version, then.at) == (3, third.created_at)


def test_which_of_a_version_without_a_run_says_nothing_made_it(three):
    # The schema lets a version name no run (a store filled by other means may hold one).
    made = three.get_version("churn", 1)
    three.create_version(
        {
            "model": "churn",
            "run_id": None,
            "artifact_sha256": made.artifact_sha256,
            "format": made.format,
            "estimator": made.estimator,
        },
        "ann",
    )
    lineage = registry.which(three, "churn:4")
    assert (lineage.run_id, lineage.parent_run_id, lineage.set_by) == (None, None, "ann")
    assert (lineage.notebook_sha256, lineage.notebook_path, lineage.input_sha256) == (None,) * 3
    assert (lineage.git_commit, lineage.git_dirty) == (None, None)
    assert (lineage.params, lineage.environment) == ({}, {})
