"""Tests for mlops_nb.datasets.pricing: one week of an auto repair shop's jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_nb.datasets import PRICING_TARGET, make_repair_jobs, pricing_feature_columns

REPO = Path(__file__).resolve().parents[1]


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


def test_repair_jobs_same_arguments_give_identical_frames(frame_digest) -> None:
    a = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)
    b = make_repair_jobs(1500, seed=3, week=5, parts_inflation=0.3)
    assert frame_digest(a) == frame_digest(b)
    pd.testing.assert_frame_equal(a, b)


def test_repair_jobs_are_identical_in_another_process(frame_digest) -> None:
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


def test_repair_jobs_stream_depends_on_seed_and_week(frame_digest) -> None:
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
    # PRICING_TARGET names what the customer paid: dollars and cents, never a feature
    paid = jobs[PRICING_TARGET]
    assert PRICING_TARGET not in features and paid.dtype == np.float64
    assert (paid > 0).all() and np.allclose(paid, paid.round(2), rtol=0, atol=1e-9)
    assert paid.mean() > jobs["parts_cost"].mean()  # labor on top of the parts


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


def test_repair_jobs_accept_numpy_scalars_and_extremes(frame_digest) -> None:
    a = make_repair_jobs(np.int64(40), seed=np.int64(2), week=np.int64(3), parts_inflation=0.5)
    b = make_repair_jobs(40, seed=2, week=3, parts_inflation=np.float64(0.5))
    assert frame_digest(a) == frame_digest(b)
    small = make_repair_jobs(10, week=10_000, parts_inflation=2)
    assert len(small) == 10
    assert list(small.columns) == list(EXPECTED_PRICING_DTYPES)
    assert not small.isna().any().any()
