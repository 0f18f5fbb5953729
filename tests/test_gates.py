import pytest

from mlops_nb import registry, tracking
from mlops_nb.errors import GateExpressionError, GateFailedError, InvalidInputError
from mlops_nb.records import CheckResult, ModelTest
from mlops_nb.registry.gates import Condition, PassedTests, evaluate, parse
from mlops_nb.registry.names import check_alias
from mlops_nb.store import audit


def test_parse_forms():
    assert parse("accuracy>=production") == [Condition("accuracy", ">=", alias="production")]
    assert parse("auc > 0.8") == [Condition("auc", ">", number=0.8)]
    assert parse("auc>0.8, rmse<=staging-0.5") == [
        Condition("auc", ">", number=0.8),
        Condition("rmse", "<=", alias="staging", margin=-0.5),
    ]
    assert parse("a>=@production+1e-3 and b!=2") == [
        Condition("a", ">=", alias="production", margin=0.001),
        Condition("b", "!=", number=2.0),
    ]
    # metric names are kept as written, whatever letter they start with
    assert parse("MAE<=2, XEntropy<0.3") == [
        Condition("MAE", "<=", number=2.0),
        Condition("XEntropy", "<", number=0.3),
    ]


@pytest.mark.parametrize(
    "bad, named",
    [
        ("", "empty gate expression"),
        ("   ", "empty gate expression"),
        ("accuracy", "condition 'accuracy'"),
        ("accuracy>>0.5", "condition 'accuracy>>0.5'"),
        (">=0.5", "condition '>=0.5'"),
        ("auc>", "condition 'auc>'"),
        ("auc>0.5,", "gate 'auc>0.5,' ends with ','"),
        ("auc =< 3", "condition 'auc =< 3'"),
        ("auc>nan!", "condition 'auc>nan!'"),
        ("1auc>0", "condition '1auc>0'"),
        ("auc>0.5 and rmse<1e999", "threshold in 'rmse<1e999' is not a finite number"),
        # an alias that cannot exist is a typo, not an alias nobody holds yet
        ("auc>Production", "alias 'Production' is not valid"),
        ("auc>@Staging-0.1", "alias 'Staging' is not valid"),
        ("auc>production_", "alias 'production_' is not valid"),
        ("auc>prod__eu", "alias 'prod__eu' is not valid"),
        ("auc>production.5", "alias 'production.5' is not valid"),
        # numbers that are not finite
        ("auc>nan", "threshold in 'auc>nan' is not a finite number"),
        ("auc>NaN", "threshold in 'auc>NaN' is not a finite number"),
        ("auc>inf", "threshold in 'auc>inf' is not a finite number"),
        ("auc>-Infinity", "threshold in 'auc>-Infinity' is not a finite number"),
        ("auc>1e309", "threshold in 'auc>1e309' is not a finite number"),
        ("auc>-1e309", "threshold in 'auc>-1e309' is not a finite number"),
        ("auc>production-1e309", "margin in 'auc>production-1e309' is not a finite number"),
        ("auc>production+nan", "margin in 'auc>production+nan' is not a finite number"),
        # signs without numbers, numbers without room
        ("auc>production-", "a number must follow '-'"),
        ("auc>production--1", "a number must follow '-'"),
        ("auc>-production", "a number must follow '-'"),
        ("auc>0.5x", "'0.5x'"),
        ("auc>1_000", "'1_000'"),
        ("auc>0.5 0.6", "expected ',' or 'and'"),
        # separators in the wrong places
        ("auc>0.5 and", "gate 'auc>0.5 and' ends with 'and'"),
        ("auc>0.5&&", "ends with '&&'"),
        (",auc>0.5", "empty condition"),
        ("auc>0.5,,rmse<1", "empty condition"),
        ("auc>0.5 and and rmse<1", "empty condition"),
        ("auc>0.5 or rmse<1", "a gate has no 'or'"),
        # @ needs an alias
        ("auc>@", "an alias must follow '@'"),
        ("auc>@0.5", "an alias must follow '@'"),
        ("auc>@@production", "an alias must follow '@'"),
        # look-alike characters
        ("auc>\u20130.5", "EN DASH"),
        ("auc>production\uff0d0.5", "FULLWIDTH HYPHEN-MINUS"),
        ("auc>\u0660.5", "ARABIC-INDIC DIGIT ZERO"),
        ("auc\uff1e0.5", "FULLWIDTH GREATER-THAN SIGN"),
        ("auc>0.5\x1b[2K", "(U+001B) cannot appear in a gate"),
        ("auc = 0.5", "'=' is not an operator"),
        ("auc ! 0.5", "'!' is not an operator"),
        # in a gate of several conditions the message quotes the bad one, all of it
        ("auc>0.5, >=0.5", "condition '>=0.5': it must start with a metric name"),
        ("auc>0.5, >0.5", "condition '>0.5': it must start with a metric name"),
        ("auc>0.5, -1>x", "condition '-1>x': it must start with a metric name"),
        ("auc>0.5, @x>1", "condition '@x>1': it must start with a metric name"),
        ("auc>0.5, !x>1", "condition '!x>1': '!' is not an operator"),
        ("accuracy, auc>0.5", "condition 'accuracy': expected an operator (>=, <=, =="),
        ("auc>=, rmse<1", "condition 'auc>=': expected a number or an alias after '>='"),
        ("auc>, rmse<1", "condition 'auc>': expected a number or an alias after '>'"),
        ("auc>0.5!, x>1", "condition 'auc>0.5!': '!' is not an operator"),
        ("auc>production-, x>1", "condition 'auc>production-': a number must follow '-'"),
        ("auc>production- x", "condition 'auc>production- x': a number must follow '-'"),
        ("auc>@, x>1", "condition 'auc>@': an alias must follow '@';"),
        ("auc>0.5, rmse", "condition 'rmse': expected an operator"),
        ("rmse", "after 'rmse' ('tests' is the only term without one)"),
        ("Tests, auc>0", "condition 'Tests': expected an operator"),
        ("tests 0.5", "condition 'tests 0.5': expected an operator (>=, <=, ==, !=, >, <) after"),
        ("auc>0.5, 1>auc", "condition '1>auc': it must start with a metric name"),
        ("auc>0.5, 1auc>0", "condition '1auc>0': '1auc' is neither a number nor a name"),
        ("auc>0.5x, rmse<1", "condition 'auc>0.5x': '0.5x' is neither a number nor a name"),
        ("auc>1_00, rmse<1", "condition 'auc>1_00': '1_00' is neither a number nor a name"),
        ("auc>1e999, x>1", "threshold in 'auc>1e999' is not a finite number"),
        ("auc>\u20130.5", "(EN DASH) cannot appear in a gate; write '-' for minus;"),
        ("auc\uff1e0.5", "(FULLWIDTH GREATER-THAN SIGN) cannot appear in a gate; write METRIC"),
        # and says what is wrong, and where
        ("auc>0.5 0.6", "expected ',' or 'and' after it, found '0.6'; write"),
        ("auc>0.5 @production", "expected ',' or 'and' after it, found '@'; write"),
        ("auc>0.5 or rmse<1", "found 'or' (a gate has no 'or': every condition must hold);"),
        ("auc>0.5,", "ends with ',': a condition must follow it"),
        (",auc>0.5", "has an empty condition at its start;"),
        ("auc>0.5,,rmse<1", "has an empty condition before ',';"),
    ],
)
def test_malformed_expressions_are_refused_with_the_bad_part(bad, named):
    with pytest.raises(GateExpressionError) as refused:
        parse(bad)
    message = str(refused.value)
    assert named in message
    assert "\x1b" not in message and "\n" not in message  # one safe line


def test_evaluate_numbers_and_aliases():
    holders = {"production": (3, {"accuracy": 0.80})}
    passed, failed = evaluate(
        parse("accuracy>=production, accuracy>0.9"), {"accuracy": 0.85}, holders.get
    )
    assert len(passed) == 1 and "0.85 >= production v3 0.8" in passed[0]
    assert failed == ["accuracy>0.9: 0.85 is not > 0.9"]


def test_nobody_holding_the_alias_passes_and_missing_metrics_fail():
    passed, failed = evaluate(parse("auc>=production"), {"auc": 0.7}, lambda a: None)
    assert failed == [] and "nobody holds" in passed[0]
    passed, failed = evaluate(parse("auc>=production"), {"accuracy": 0.7}, lambda a: None)
    assert "has no metric 'auc'" in failed[0]
    passed, failed = evaluate(
        parse("auc>=production"), {"auc": 0.7}, lambda a: (1, {"accuracy": 0.1})
    )
    assert "production (version 1) has no metric 'auc'" in failed[0]


def test_every_condition_is_judged_and_each_sentence_says_how():
    # a condition that cannot be judged does not stop the ones after it: the
    # refusal names every failed condition, with the margin it was read with
    holders = {"production": (1, {"auc": 0.9}), "staging": (2, {"accuracy": 0.8})}
    passed, failed = evaluate(
        parse("f1>0.5, auc>=canary, auc>staging, auc>=production-0.01, loss>=0"),
        {"auc": 0.5, "loss": 0.2},
        holders.get,
    )
    assert failed == [
        "f1>0.5: candidate has no metric 'f1'",
        "auc>staging: staging (version 2) has no metric 'auc' to compare with",
        "auc>=production-0.01: 0.5 is not >= production v1 0.89",
    ]
    assert passed == [
        "auc>=canary: nobody holds 'canary' yet, nothing to beat",
        "loss>=0: 0.2 >= 0",
    ]


# -- the grammar: ALIAS±NUMBER is an alias and a margin, never a longer alias --


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("auc>production-0", [Condition("auc", ">", alias="production", margin=-0.0)]),
        ("auc>production-1", [Condition("auc", ">", alias="production", margin=-1.0)]),
        ("auc>production-1e-9", [Condition("auc", ">", alias="production", margin=-1e-9)]),
        ("auc>production+.5", [Condition("auc", ">", alias="production", margin=0.5)]),
        ("auc > production - 1", [Condition("auc", ">", alias="production", margin=-1.0)]),
        ("auc>@production-1", [Condition("auc", ">", alias="production", margin=-1.0)]),
        ("auc >= @ production", [Condition("auc", ">=", alias="production")]),
        ("auc>production\u22120.5", [Condition("auc", ">", alias="production", margin=-0.5)]),
        ("auc>\u22120.5", [Condition("auc", ">", number=-0.5)]),
        ("auc>-1", [Condition("auc", ">", number=-1.0)]),
        ("auc>- 1E+2", [Condition("auc", ">", number=-100.0)]),
        ("auc>prod-eu", [Condition("auc", ">", alias="prod-eu")]),
        ("auc>prod-eu-0.01", [Condition("auc", ">", alias="prod-eu", margin=-0.01)]),
        ("auc>prod-e1", [Condition("auc", ">", alias="prod-e1")]),
        ("auc>.5, f1>0", [Condition("auc", ">", number=0.5), Condition("f1", ">", number=0.0)]),
        ("auc>canary-2", [Condition("auc", ">", alias="canary", margin=-2.0)]),
        ("roc_auc.macro>=staging_2", [Condition("roc_auc.macro", ">=", alias="staging_2")]),
        ("and>1", None),  # 'and' separates conditions; it is no metric name
    ],
)
def test_margins_are_read_as_margins(expression, expected):
    if expected is None:
        with pytest.raises(GateExpressionError):
            parse(expression)
        return
    parsed = parse(expression)
    assert parsed == expected
    assert [c.alias for c in parsed] == [c.alias for c in expected]


@pytest.mark.parametrize(
    "expression",
    [
        "auc>0.5,rmse<1",
        "auc>0.5 , rmse<1",
        "auc>0.5 and rmse<1",
        "auc>0.5 AND rmse<1",
        "auc>0.5&&rmse<1",
        "auc>0.5\tand\nrmse<1",
        "  auc>0.5\u00a0and\u3000rmse<1  ",
    ],
)
def test_separators_and_whitespace(expression):
    assert parse(expression) == [
        Condition("auc", ">", number=0.5),
        Condition("rmse", "<", number=1),
    ]


@pytest.mark.parametrize("bad", [42, 0.5, None, ["auc>0.5"], b"auc>0.5"])
def test_a_gate_must_be_text(bad):
    with pytest.raises(
        GateExpressionError, match=f"^a gate must be text, not {type(bad).__name__}$"
    ):
        parse(bad)
    with pytest.raises(GateExpressionError, match="^empty gate expression; write e.g. 'accuracy"):
        parse(" \t")


def test_a_gate_has_a_length_limit():
    with pytest.raises(GateExpressionError, match="at most 1000"):
        parse(",".join(["auc>0.5"] * 200))
    assert len(parse(",".join(["auc>0.5"] * 100))) == 100
    # the limit itself is allowed
    assert parse("auc>0." + "0" * 994) == [Condition("auc", ">", number=0.0)]
    with pytest.raises(
        GateExpressionError, match="^the gate is 1001 characters long; at most 1000"
    ):
        parse("auc>0." + "0" * 995)


@pytest.mark.parametrize(
    "alias", ["production", "staging", "prod-eu", "canary_2", "canary2", "a", "x" * 64]
)
def test_alias_rules_accept(alias):
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias",
    [
        "Production",
        "production_",
        "production-",
        "prod__eu",
        "prod-_eu",
        "canary-2",  # in a gate this reads as canary minus 2
        "production-0",
        "nan",
        "inf",
        "infinity",
        "and",
        "2nd",
        "x" * 65,
        "",
        42,
    ],
)
def test_alias_rules_refuse_names_a_gate_could_not_name(alias):
    with pytest.raises(InvalidInputError, match="alias"):
        check_alias(alias)


# -- the gate in a promotion: a worse model is never promoted by a misread margin --


@pytest.fixture
def held(store, fitted):
    """production holds version 1 (auc 0.9); version 2 is worse (auc 0.5)."""
    for auc in (0.9, 0.5):
        with tracking.track(store, "churn", model=fitted[0], metrics={"auc": auc}):
            pass
    registry.promote(store, "churn", 1)
    return store


@pytest.mark.backends
@pytest.mark.parametrize(
    "gate",
    [
        "auc>production-0",
        "auc>production-1e-9",
        "auc>@production-0",
        "auc > production - 0",
        "auc>production\u22120",
        "auc>=production-0.01",
        "auc>0.1, auc>production-0",
        "auc>0.1 AND auc >= @production - 1e-9",
    ],
)
def test_a_margin_never_promotes_a_worse_model(held, gate):
    with pytest.raises(GateFailedError, match="is not"):
        registry.promote(held, "churn", 2, require=gate)
    assert held.alias_holder("churn", "production").version == 1
    assert len(held.alias_changes("churn")) == 1
    assert audit.verify(held).ok


def test_a_margin_that_is_met_promotes(held):
    change = registry.promote(held, "churn", 2, require="auc>production-0.5")
    assert change.to_version == 2 and "production v1 0.4" in change.gate
    assert audit.verify(held).ok


@pytest.mark.parametrize("gate", ["auc>Production", "auc>production_", "auc>nan", "auc>0.5,"])
def test_a_gate_naming_an_impossible_alias_is_bad_input(held, cli, gate):
    with pytest.raises(GateExpressionError):
        registry.promote(held, "churn", 2, require=gate)
    result = cli("promote", "churn", "2", "--require", gate)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert held.alias_holder("churn", "production").version == 1
    assert audit.verify(held).ok


def test_an_alias_nobody_holds_still_passes_when_well_formed(held):
    change = registry.promote(held, "churn", 2, "staging", require="auc>=canary-0.1")
    assert change.to_version == 2 and "nobody holds 'canary' yet" in change.gate


# -- the term ``tests``: the candidate's latest suite must have passed --


def test_tests_is_a_term_of_its_own_and_a_metric_named_tests_still_compares():
    assert parse("tests") == [PassedTests()]
    assert parse("tests, auc>=production") == [
        PassedTests(),
        Condition("auc", ">=", alias="production"),
    ]
    assert parse("auc>0.5 and tests && f1>0") == [
        Condition("auc", ">", number=0.5),
        PassedTests(),
        Condition("f1", ">", number=0.0),
    ]
    assert parse("tests>=0.9") == [Condition("tests", ">=", number=0.9)]
    assert str(parse("tests")[0]) == "tests"


def _outcome(*checks: tuple[str, bool]) -> ModelTest:
    return ModelTest(
        model="churn",
        version=2,
        passed=all(ok for _, ok in checks),
        checks=[CheckResult(name, ok, "why") for name, ok in checks],
        run_id="ab" * 16,
        suite="churn.yaml",
        suite_kind="yaml",
        suite_sha256="0" * 64,
        at="t",
        actor="erin",
    )


def test_evaluate_tests_reads_the_latest_outcome():
    never = evaluate(parse("tests"), {}, lambda a: None, "version 2", lambda: None)
    assert never == ([], ["tests: version 2 has no recorded test run (run mlops-nb test)"])
    # no way to look tests up is no evidence they passed
    assert evaluate(parse("tests"), {}, lambda a: None)[1] != []
    good = _outcome(("auc", True), ("size", True))
    assert evaluate(parse("tests"), {}, lambda a: None, "v2", lambda: good) == (
        ["tests: churn.yaml passed 2 checks (run abababababab)"],
        [],
    )
    bad = _outcome(("auc", True), ("latency", False), ("size", False))
    passed, failed = evaluate(parse("tests, x>0"), {"x": 1.0}, lambda a: None, "v2", lambda: bad)
    assert passed == ["x>0: 1 > 0"]
    assert failed == [
        "tests: the latest suite churn.yaml failed 2 of 3 checks: 'latency', 'size' "
        "(run abababababab)"
    ]


def _record_test(store, version: int, passed: bool) -> None:
    suite = store.put_artifact(b"checks: [{size_mb: 5}]", "test-suite", "erin")
    store.record_model_test(
        {
            "model": "churn",
            "version": version,
            "suite": "churn.yaml",
            "suite_kind": "yaml",
            "suite_sha256": suite,
            "passed": int(passed),
            "checks": [{"name": "model size <= 5 MB", "passed": passed, "detail": "d"}],
            "run_id": "e" * 32,
        },
        "erin",
    )


def test_promote_requires_the_latest_suite_of_that_version_to_have_passed(held):
    with pytest.raises(GateFailedError, match="version 2 has no recorded test run"):
        registry.promote(held, "churn", 2, "staging", require="tests")
    _record_test(held, 1, passed=True)  # another version's pass does not count
    with pytest.raises(GateFailedError, match="version 2 has no recorded test run"):
        registry.promote(held, "churn", 2, "staging", require="tests")
    _record_test(held, 2, passed=True)
    _record_test(held, 2, passed=False)  # the latest one decides
    with pytest.raises(GateFailedError, match="failed 1 of 1 checks: 'model size <= 5 MB'"):
        registry.promote(held, "churn", 2, "staging", require="tests, auc>0")
    assert held.alias_holder("churn", "staging") is None
    _record_test(held, 2, passed=True)
    change = registry.promote(held, "churn", 2, "staging", require="tests, auc>0")
    assert change.to_version == 2 and "tests: churn.yaml passed 1 checks" in change.gate
    assert audit.verify(held).ok


def test_a_pipeline_step_gate_reads_tests_of_the_version_it_registered(held, tmp_path):
    from mlops_nb.execution.pipeline import Step, check_gate

    step = Step(name="train", notebook=tmp_path / "train.ipynb", gate="tests")
    values = {"model": "churn", "model_version": 2, "auc": 0.5}
    ok, note = check_gate(held, step, values, None)
    assert not ok and "step train has no recorded test run" in note
    _record_test(held, 2, passed=True)
    assert check_gate(held, step, values, None) == (
        True,
        "gate passed: tests: churn.yaml passed 1 checks (run eeeeeeeeeeee)",
    )
    # the pipeline's model, when the step recorded only the version
    assert check_gate(held, step, {"model_version": 2}, "churn")[0]
    assert not check_gate(held, step, {"model_version": 1}, "churn")[0]
