import pytest

from mlops_nb.errors import GateExpressionError
from mlops_nb.registry.gates import Condition, evaluate, parse


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


@pytest.mark.parametrize(
    "bad, named",
    [
        ("", "empty gate expression"),
        ("   ", "empty gate expression"),
        ("accuracy", "condition 'accuracy'"),
        ("accuracy>>0.5", "condition 'accuracy>>0.5'"),
        (">=0.5", "condition '>=0.5'"),
        ("auc>", "condition 'auc>'"),
        ("auc>0.5,", "condition ''"),  # the empty condition after the comma
        ("auc =< 3", "condition 'auc =< 3'"),
        ("auc>nan!", "condition 'auc>nan!'"),
        ("1auc>0", "condition '1auc>0'"),
        ("auc>0.5 and rmse<1e999", "threshold in 'rmse<1e999' is not a finite number"),
    ],
)
def test_malformed_expressions_are_refused_with_the_bad_part(bad, named):
    with pytest.raises(GateExpressionError) as refused:
        parse(bad)
    assert named in str(refused.value)


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
