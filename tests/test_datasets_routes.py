"""Tests for mlops_nb.datasets.routes: a pool-service company's visits and their length."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlops_nb.datasets import ROUTE_TARGET, make_pool_visits, route_feature_columns
from mlops_nb.errors import InvalidInputError


def test_the_same_arguments_give_the_same_frame_in_another_process(frame_digest):
    here = frame_digest(make_pool_visits(300, seed=4, heat=0.5))
    code = (
        "import sys; sys.path.insert(0, 'tests'); from conftest import _frame_digest; "
        "from mlops_nb.datasets import make_pool_visits; "
        "print(_frame_digest(make_pool_visits(300, seed=4, heat=0.5)))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there
    assert frame_digest(make_pool_visits(300, seed=5, heat=0.5)) != here


def test_columns_types_and_the_summer_that_lengthens_visits():
    spring, summer = make_pool_visits(2000, seed=1), make_pool_visits(2000, seed=1, heat=1.0)
    assert list(spring.columns) == [*route_feature_columns(), ROUTE_TARGET]
    assert spring["salt_system"].dtype == bool and spring["days_since_service"].dtype.kind == "i"
    assert summer["water_temp_c"].mean() > spring["water_temp_c"].mean() + 7
    assert summer["swimmers_per_week"].mean() > 2 * spring["swimmers_per_week"].mean()
    assert summer[ROUTE_TARGET].mean() > spring[ROUTE_TARGET].mean() + 5
    assert spring[ROUTE_TARGET].min() > 0
    # the length is learnable from the columns
    from sklearn.linear_model import LinearRegression

    fitted = LinearRegression().fit(spring[route_feature_columns()], spring[ROUTE_TARGET])
    assert fitted.score(spring[route_feature_columns()], spring[ROUTE_TARGET]) > 0.8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"visits": 5}, "visits must be an int >= 10"),
        ({"visits": True}, "visits must be an int"),
        ({"seed": -1}, "seed must be an int >= 0"),
        ({"heat": 1.5}, "heat must be a number from 0 to 1"),
        ({"heat": "hot"}, "heat must be a number"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        make_pool_visits(**kwargs)
