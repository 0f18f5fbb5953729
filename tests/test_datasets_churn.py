"""Tests for mlops_nb.datasets.churn: the churn extract and its split."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_nb.datasets import TARGET, feature_columns, make_churn, split

REPO = Path(__file__).resolve().parents[1]

EXPECTED_DTYPES = {
    "customer_id": "str",
    "signup_date": "datetime64[ns]",
    "tenure_months": "int64",
    "contract": "category",
    "internet_service": "str",
    "payment_method": "str",
    "paperless_billing": "bool",
    "senior": "bool",
    "monthly_charges": "float64",
    "total_charges": "float64",
    "support_calls": "int64",
    "late_payments": "int64",
    "churned": "int64",
}


def holdout_auc(df: pd.DataFrame, seed: int = 0) -> float:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x_train, x_test, y_train, y_test = split(df, seed=seed)
    numeric = x_train.select_dtypes("number").columns.tolist()
    categorical = [c for c in x_train.columns if c not in numeric]
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                        ("num", StandardScaler(), numeric),
                    ]
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    model.fit(x_train, y_train)
    return float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return make_churn(5000, seed=7, month="2026-11")


# --- determinism -------------------------------------------------------------


def test_same_arguments_give_identical_frames(frame_digest) -> None:
    a = make_churn(2000, seed=3, month="2026-05", drift=0.4)
    b = make_churn(2000, seed=3, month="2026-05", drift=0.4)
    assert frame_digest(a) == frame_digest(b)
    pd.testing.assert_frame_equal(a, b)


def test_same_arguments_give_identical_frames_in_another_process(frame_digest) -> None:
    code = (
        "import hashlib, pandas as pd\n"
        "from mlops_nb.datasets import make_churn\n"
        "df = make_churn(2000, seed=3, month='2026-05', drift=0.4)\n"
        "h = pd.util.hash_pandas_object(df, index=True).to_numpy()\n"
        "print(hashlib.sha256(h.tobytes()).hexdigest())\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONHASHSEED"] = "12345"  # str hashing must not leak into the data
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    here = make_churn(2000, seed=3, month="2026-05", drift=0.4)
    assert result.stdout.strip() == frame_digest(here)


def test_different_seed_gives_different_frame(frame_digest) -> None:
    a = make_churn(1000, seed=1)
    b = make_churn(1000, seed=2)
    assert frame_digest(a) != frame_digest(b)
    assert not np.array_equal(a["monthly_charges"], b["monthly_charges"])


def test_different_month_gives_different_frame_and_later_dates(frame_digest) -> None:
    october = make_churn(1000, seed=1, month="2026-10")
    november = make_churn(1000, seed=1, month="2026-11")
    assert frame_digest(october) != frame_digest(november)
    assert not np.array_equal(october["monthly_charges"], november["monthly_charges"])
    assert october["signup_date"].max() < pd.Timestamp("2026-10-01")
    assert november["signup_date"].max() < pd.Timestamp("2026-11-01")
    assert november["signup_date"].max() >= pd.Timestamp("2026-10-01")


def test_default_drift_is_zero(frame_digest) -> None:
    assert frame_digest(make_churn(500, seed=4)) == frame_digest(make_churn(500, seed=4, drift=0))


# --- shape and content -------------------------------------------------------


def test_columns_and_dtypes(churn: pd.DataFrame) -> None:
    assert list(churn.columns) == list(EXPECTED_DTYPES)
    assert {c: str(t) for c, t in churn.dtypes.items()} == EXPECTED_DTYPES
    assert len(churn) == 5000
    assert churn.index.equals(pd.RangeIndex(5000))
    assert not churn.isna().any().any()


def test_value_domains(churn: pd.DataFrame) -> None:
    assert churn["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert churn["customer_id"].is_unique
    assert churn["customer_id"].iloc[0] == "C000001"
    assert list(churn["contract"].cat.categories) == ["month-to-month", "one-year", "two-year"]
    assert set(churn["internet_service"]) == {"fiber", "dsl", "none"}
    assert set(churn["payment_method"]) == {
        "electronic check",
        "mailed check",
        "bank transfer",
        "credit card",
    }
    assert set(churn[TARGET]) == {0, 1}
    assert churn["tenure_months"].between(1, 72).all()
    assert (churn["monthly_charges"] > 0).all()
    # dollars and cents: two decimals at most
    cents = churn["monthly_charges"] * 100
    assert np.allclose(cents, cents.round())
    assert (churn["total_charges"] >= churn["monthly_charges"] * 0.9).all()
    assert (churn["support_calls"] >= 0).all()
    assert (churn["late_payments"] >= 0).all()
    assert (churn["late_payments"] <= churn["tenure_months"]).all()


def test_signup_date_matches_tenure(churn: pd.DataFrame) -> None:
    signup = churn["signup_date"]
    months_before = (2026 - signup.dt.year) * 12 + (11 - signup.dt.month)
    assert (months_before == churn["tenure_months"]).all()


def test_customer_ids_do_not_depend_on_size() -> None:
    small = make_churn(10, seed=0)["customer_id"].tolist()
    large = make_churn(25, seed=0)["customer_id"].tolist()
    assert small == [f"C{i:06d}" for i in range(1, 11)]
    assert large[:10] == small


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_churn_rate_is_plausible(seed: int) -> None:
    rate = make_churn(5000, seed=seed)[TARGET].mean()
    assert 0.20 <= rate <= 0.30


def test_churn_follows_the_documented_drivers(churn: pd.DataFrame) -> None:
    by_contract = churn.groupby("contract", observed=True)[TARGET].mean()
    assert by_contract["month-to-month"] > by_contract["one-year"] > by_contract["two-year"]
    by_service = churn.groupby("internet_service")[TARGET].mean()
    assert by_service["fiber"] > by_service["dsl"]
    by_payment = churn.groupby("payment_method")[TARGET].mean()
    assert by_payment["electronic check"] == by_payment.max()
    churners, stayers = churn[churn[TARGET] == 1], churn[churn[TARGET] == 0]
    assert churners["tenure_months"].mean() < stayers["tenure_months"].mean()
    assert churners["support_calls"].mean() > stayers["support_calls"].mean()
    assert churners["monthly_charges"].mean() > stayers["monthly_charges"].mean()


def test_signal_is_learnable(churn: pd.DataFrame) -> None:
    assert holdout_auc(churn, seed=7) > 0.7


# --- drift -------------------------------------------------------------------


def test_drift_shifts_charges_calls_and_contracts() -> None:
    base = make_churn(5000, seed=5, drift=0.0)
    half = make_churn(5000, seed=5, drift=0.5)
    full = make_churn(5000, seed=5, drift=1.0)
    charges = [df["monthly_charges"].mean() for df in (base, half, full)]
    assert charges[0] < charges[1] < charges[2]
    assert charges[2] > charges[0] * 1.1
    assert full["support_calls"].mean() > base["support_calls"].mean() * 1.5
    mtm = [(df["contract"] == "month-to-month").mean() for df in (base, full)]
    assert mtm[1] > mtm[0] + 0.1
    # same columns and dtypes, so a drifted extract can be scored by the same model
    assert (full.dtypes == base.dtypes).all()


# --- feature_columns and split -----------------------------------------------


def test_feature_columns(churn: pd.DataFrame) -> None:
    features = feature_columns()
    assert features == [c for c in churn.columns if c not in ("customer_id", "signup_date", TARGET)]
    features.append("oops")
    assert "oops" not in feature_columns()
    # TARGET names the label: a 0/1 column with both classes, never a feature
    assert TARGET not in features
    assert churn[TARGET].dtype == np.int64 and set(churn[TARGET].unique()) == {0, 1}


def test_split_is_stratified_and_disjoint(churn: pd.DataFrame) -> None:
    x_train, x_test, y_train, y_test = split(churn, test_size=0.2, seed=1)
    assert len(x_test) == 1000
    assert len(x_train) == 4000
    assert list(x_train.columns) == feature_columns()
    assert x_train.index.equals(y_train.index)
    assert x_test.index.equals(y_test.index)
    assert x_train.index.intersection(x_test.index).empty
    overall = churn[TARGET].mean()
    assert abs(y_train.mean() - overall) < 0.005
    assert abs(y_test.mean() - overall) < 0.005


def test_split_is_deterministic(churn: pd.DataFrame) -> None:
    first = split(churn, seed=3)
    second = split(churn, seed=3)
    other = split(churn, seed=4)
    assert first[1].index.equals(second[1].index)
    assert not first[1].index.equals(other[1].index)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_size": 0}, "test_size must be a fraction between 0 and 1, got 0"),
        ({"test_size": 1.0}, "test_size must be a fraction between 0 and 1, got 1.0"),
        ({"test_size": "0.2"}, "test_size must be a fraction"),
    ],
)
def test_split_rejects_bad_test_size(
    churn: pd.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        split(churn, **kwargs)  # type: ignore[arg-type]


def test_split_rejects_frames_it_cannot_use(churn: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="df lacks column"):
        split(churn.drop(columns=["senior"]))
    with pytest.raises(ValueError, match="df must be a pandas DataFrame"):
        split(churn.to_numpy())
    one_class = churn.assign(churned=0)
    with pytest.raises(ValueError, match="needs at least 2 rows of each class"):
        split(one_class)


# --- argument validation -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 9}, r"n_customers must be >= 10, got 9"),
        ({"n_customers": 0}, r"n_customers must be >= 10, got 0"),
        ({"n_customers": 100.0}, r"n_customers must be an int, got float 100\.0"),
        ({"n_customers": True}, r"n_customers must be an int, got bool"),
        ({"seed": -1}, r"seed must be >= 0, got -1"),
        ({"seed": "7"}, r"seed must be an int, got str"),
        ({"month": "2026-13"}, r"month must be \"YYYY-MM\".*got '2026-13'"),
        ({"month": "2026-1"}, r"month must be \"YYYY-MM\".*got '2026-1'"),
        ({"month": "Nov 2026"}, r"month must be \"YYYY-MM\""),
        ({"month": "2026-11-01"}, r"month must be \"YYYY-MM\""),
        ({"month": 202611}, r"month must be a string \"YYYY-MM\", got int"),
        ({"drift": -0.1}, r"drift must be between 0 and 1 inclusive, got -0\.1"),
        ({"drift": 1.5}, r"drift must be between 0 and 1 inclusive, got 1\.5"),
        ({"drift": float("nan")}, r"drift must be between 0 and 1 inclusive, got nan"),
        ({"drift": "0.2"}, r"drift must be a number, got str"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_churn(**kwargs)  # type: ignore[arg-type]


def test_numpy_scalars_are_accepted(frame_digest) -> None:
    a = make_churn(np.int64(50), seed=np.int64(2), drift=np.float64(0.25))
    b = make_churn(50, seed=2, drift=0.25)
    assert frame_digest(a) == frame_digest(b)


def test_minimum_size_still_works() -> None:
    df = make_churn(10, seed=0)
    assert len(df) == 10
    assert list(df.columns) == list(EXPECTED_DTYPES)


def test_import_is_cheap() -> None:
    code = (
        "import sys, mlops_nb.datasets\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn') if m in sys.modules))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
