"""Tests for mlops_nb.datasets: the churn extract, its split, and the repair jobs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_nb.datasets import (
    PRICING_TARGET,
    TARGET,
    feature_columns,
    make_churn,
    make_repair_jobs,
    pricing_feature_columns,
    split,
)

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


def frame_digest(df: pd.DataFrame) -> str:
    """SHA-256 over pandas' row hashes (values, dtypes' semantics and index)."""
    row_hashes = pd.util.hash_pandas_object(df, index=True).to_numpy()
    return hashlib.sha256(row_hashes.tobytes()).hexdigest()


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


def test_same_arguments_give_identical_frames() -> None:
    a = make_churn(2000, seed=3, month="2026-05", drift=0.4)
    b = make_churn(2000, seed=3, month="2026-05", drift=0.4)
    assert frame_digest(a) == frame_digest(b)
    pd.testing.assert_frame_equal(a, b)


def test_same_arguments_give_identical_frames_in_another_process() -> None:
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


def test_different_seed_gives_different_frame() -> None:
    a = make_churn(1000, seed=1)
    b = make_churn(1000, seed=2)
    assert frame_digest(a) != frame_digest(b)
    assert not np.array_equal(a["monthly_charges"], b["monthly_charges"])


def test_different_month_gives_different_frame_and_later_dates() -> None:
    october = make_churn(1000, seed=1, month="2026-10")
    november = make_churn(1000, seed=1, month="2026-11")
    assert frame_digest(october) != frame_digest(november)
    assert not np.array_equal(october["monthly_charges"], november["monthly_charges"])
    assert october["signup_date"].max() < pd.Timestamp("2026-10-01")
    assert november["signup_date"].max() < pd.Timestamp("2026-11-01")
    assert november["signup_date"].max() >= pd.Timestamp("2026-10-01")


def test_default_drift_is_zero() -> None:
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
    assert TARGET == "churned"


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


def test_numpy_scalars_are_accepted() -> None:
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


# --- repair jobs -------------------------------------------------------------

EXPECTED_PRICING_DTYPES = {
    "job_id": "str",
    "week_start": "datetime64[ns]",
    "job_type": "category",
    "vehicle_make": "str",
    "vehicle_age_years": "int64",
    "mileage": "int64",
    "labor_hours": "float64",
    "parts_cost": "float64",
    "rush": "bool",
    "price": "float64",
}


def fit_pricing_model(jobs: pd.DataFrame, seed: int = 0) -> tuple[object, float]:
    """Fit the pricing pipeline of the notebooks on ``jobs``; return it and its holdout MAE."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    x_train, x_test, y_train, y_test = train_test_split(
        jobs[pricing_feature_columns()], jobs[PRICING_TARGET], test_size=0.25, random_state=seed
    )
    numeric = x_train.select_dtypes("number").columns.tolist()
    categorical = [c for c in x_train.columns if c not in numeric]
    model = Pipeline(
        [
            (
                "preprocess",
                ColumnTransformer(
                    [
                        (
                            "categorical",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                            categorical,
                        ),
                        ("numeric", "passthrough", numeric),
                    ]
                ),
            ),
            ("regressor", HistGradientBoostingRegressor(random_state=seed)),
        ]
    )
    model.fit(x_train, y_train)
    return model, float(mean_absolute_error(y_test, model.predict(x_test)))


def batch_mae(model: object, jobs: pd.DataFrame) -> float:
    from sklearn.metrics import mean_absolute_error

    predictions = model.predict(jobs[pricing_feature_columns()])  # type: ignore[attr-defined]
    return float(mean_absolute_error(jobs[PRICING_TARGET], predictions))


@pytest.fixture(scope="module")
def jobs() -> pd.DataFrame:
    return make_repair_jobs(3000, seed=11, week=0)


@pytest.fixture(scope="module")
def pricing_model(jobs: pd.DataFrame) -> tuple[object, float]:
    return fit_pricing_model(jobs, seed=11)


def test_repair_jobs_same_arguments_give_identical_frames() -> None:
    a = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)
    b = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)
    assert frame_digest(a) == frame_digest(b)
    pd.testing.assert_frame_equal(a, b)


def test_repair_jobs_are_identical_in_another_process() -> None:
    code = (
        "import hashlib, pandas as pd\n"
        "from mlops_nb.datasets import make_repair_jobs\n"
        "df = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)\n"
        "h = pd.util.hash_pandas_object(df, index=True).to_numpy()\n"
        "print(hashlib.sha256(h.tobytes()).hexdigest())\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONHASHSEED"] = "54321"  # str hashing must not leak into the data
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    here = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)
    assert result.stdout.strip() == frame_digest(here)


def test_repair_jobs_stream_depends_on_seed_and_week() -> None:
    base = make_repair_jobs(500, seed=1, week=2)
    other_seed = make_repair_jobs(500, seed=2, week=2)
    other_week = make_repair_jobs(500, seed=1, week=3)
    for other in (other_seed, other_week):
        assert frame_digest(base) != frame_digest(other)
        assert not np.array_equal(base["parts_cost"], other["parts_cost"])
    assert frame_digest(make_repair_jobs(500, seed=1)) == frame_digest(
        make_repair_jobs(500, seed=1, week=0, parts_inflation=0)
    )


def test_repair_jobs_columns_and_dtypes(jobs: pd.DataFrame) -> None:
    assert list(jobs.columns) == list(EXPECTED_PRICING_DTYPES)
    assert {c: str(t) for c, t in jobs.dtypes.items()} == EXPECTED_PRICING_DTYPES
    assert len(jobs) == 3000
    assert jobs.index.equals(pd.RangeIndex(3000))
    assert not jobs.isna().any().any()


def test_repair_jobs_value_domains(jobs: pd.DataFrame) -> None:
    assert jobs["job_id"].str.fullmatch(r"J0000-\d{5}").all()
    assert jobs["job_id"].is_unique
    assert jobs["job_id"].iloc[0] == "J0000-00001"
    assert list(jobs["job_type"].cat.categories) == [
        "oil change",
        "brakes",
        "tires",
        "diagnostics",
        "electrical",
        "suspension",
        "transmission",
    ]
    assert set(jobs["job_type"]) == set(jobs["job_type"].cat.categories)
    makes = {"Toyota", "Ford", "Honda", "Chevrolet", "Nissan", "Hyundai", "Subaru", "BMW"}
    assert set(jobs["vehicle_make"]) == makes
    assert jobs["vehicle_age_years"].between(0, 30).all()
    assert (jobs["mileage"] >= 0).all()
    assert (jobs["labor_hours"] >= 0.2).all()
    tenths = jobs["labor_hours"] * 10
    assert np.allclose(tenths, tenths.round())
    for column in ("parts_cost", "price"):
        assert (jobs[column] > 0).all()
        cents = jobs[column] * 100
        assert np.allclose(cents, cents.round())
    assert 0.05 < jobs["rush"].mean() < 0.2
    # a customer pays more than the parts cost the shop
    assert (jobs["price"] > jobs["parts_cost"]).all()


def test_repair_jobs_week_start_is_the_monday_of_the_week() -> None:
    first = make_repair_jobs(10, week=0)["week_start"]
    ninth = make_repair_jobs(10, week=8)["week_start"]
    assert (first == pd.Timestamp("2026-06-01")).all()
    assert (ninth == pd.Timestamp("2026-07-27")).all()
    assert ninth.dt.day_of_week.eq(0).all()
    assert make_repair_jobs(10, week=8)["job_id"].iloc[0] == "J0008-00001"


def test_repair_prices_follow_the_documented_drivers(jobs: pd.DataFrame) -> None:
    by_type = jobs.groupby("job_type", observed=True)["price"].mean()
    assert by_type["transmission"] == by_type.max()
    assert by_type["oil change"] == by_type.min()
    by_make = jobs.groupby("vehicle_make")["parts_cost"].mean()
    assert by_make["BMW"] == by_make.max()
    # rush jobs bill labor at a premium
    per_hour = (jobs["price"] - jobs["parts_cost"]) / jobs["labor_hours"]
    assert per_hour[jobs["rush"]].median() > per_hour[~jobs["rush"]].median()


def test_parts_inflation_raises_parts_cost_and_price() -> None:
    base = make_repair_jobs(2000, seed=4, week=6, parts_inflation=0.0)
    dear = make_repair_jobs(2000, seed=4, week=6, parts_inflation=0.3)
    # the same jobs: inflation is not part of the random stream
    for column in ("job_id", "job_type", "vehicle_make", "rush"):
        assert base[column].equals(dear[column])
    # both are rounded to cents, so allow a cent of slack
    np.testing.assert_allclose(dear["parts_cost"], base["parts_cost"] * 1.3, atol=0.012)
    assert (dear["price"] >= base["price"]).all()
    assert dear["price"].mean() > base["price"].mean() * 1.15
    # the surcharge: price grows by more than the marked-up parts alone would explain
    assert (dear["price"] - base["price"]).sum() > (dear["parts_cost"] - base["parts_cost"]).sum()
    # people keep their cars longer
    assert (dear["vehicle_age_years"] >= base["vehicle_age_years"]).all()
    assert dear["mileage"].mean() > base["mileage"].mean()
    assert (dear.dtypes == base.dtypes).all()


def test_pricing_feature_columns(jobs: pd.DataFrame) -> None:
    features = pricing_feature_columns()
    excluded = ("job_id", "week_start", PRICING_TARGET)
    assert features == [c for c in jobs.columns if c not in excluded]
    features.append("oops")
    assert "oops" not in pricing_feature_columns()
    assert PRICING_TARGET == "price"


def test_pricing_signal_is_learnable(jobs: pd.DataFrame, pricing_model: tuple) -> None:
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split

    model, holdout_mae = pricing_model
    _, x_test, _, y_test = train_test_split(
        jobs[pricing_feature_columns()], jobs[PRICING_TARGET], test_size=0.25, random_state=11
    )
    assert r2_score(y_test, model.predict(x_test)) > 0.8
    assert holdout_mae < 0.1 * jobs[PRICING_TARGET].mean()


def test_mae_rises_on_an_inflated_week_only(pricing_model: tuple) -> None:
    model, holdout_mae = pricing_model
    steady = batch_mae(model, make_repair_jobs(3000, seed=11, week=7, parts_inflation=0.0))
    inflated = batch_mae(model, make_repair_jobs(3000, seed=11, week=7, parts_inflation=0.35))
    # a later week at week-0 prices scores about as well as the holdout ...
    assert 0.75 * holdout_mae < steady < 1.35 * holdout_mae
    # ... while dearer parts make the model under-price clearly
    assert inflated > 1.6 * steady
    assert inflated > 1.6 * holdout_mae


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_jobs": 9}, r"n_jobs must be >= 10, got 9"),
        ({"n_jobs": 100.0}, r"n_jobs must be an int, got float 100\.0"),
        ({"n_jobs": True}, r"n_jobs must be an int, got bool"),
        ({"seed": -1}, r"seed must be >= 0, got -1"),
        ({"seed": "7"}, r"seed must be an int, got str"),
        ({"week": -1}, r"week must be between 0 and 10000 inclusive, got -1"),
        ({"week": 10_001}, r"week must be between 0 and 10000 inclusive, got 10001"),
        ({"week": 2.0}, r"week must be an int, got float"),
        ({"week": "3"}, r"week must be an int, got str"),
        ({"parts_inflation": -0.01}, r"parts_inflation must be between 0 and 2 inclusive"),
        ({"parts_inflation": 2.5}, r"parts_inflation must be between 0 and 2 inclusive, got 2\.5"),
        ({"parts_inflation": float("inf")}, r"parts_inflation must be between 0 and 2"),
        ({"parts_inflation": float("nan")}, r"parts_inflation must be between 0 and 2.*nan"),
        ({"parts_inflation": "0.3"}, r"parts_inflation must be a number, got str"),
        ({"parts_inflation": False}, r"parts_inflation must be a number, got bool"),
    ],
)
def test_repair_jobs_bad_arguments_raise_value_error(
    kwargs: dict[str, object], message: str
) -> None:
    from mlops_nb.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        make_repair_jobs(**kwargs)  # type: ignore[arg-type]


def test_repair_jobs_accept_numpy_scalars_and_extremes() -> None:
    a = make_repair_jobs(np.int64(40), seed=np.int64(2), week=np.int64(3), parts_inflation=0.5)
    b = make_repair_jobs(40, seed=2, week=3, parts_inflation=np.float64(0.5))
    assert frame_digest(a) == frame_digest(b)
    small = make_repair_jobs(10, week=10_000, parts_inflation=2)
    assert len(small) == 10
    assert list(small.columns) == list(EXPECTED_PRICING_DTYPES)
    assert not small.isna().any().any()
