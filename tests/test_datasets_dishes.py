"""The restaurant's dish orders: deterministic, with the documented drivers and a promotion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_nb.datasets import (
    DISH_TARGET,
    DISHES,
    dish_feature_columns,
    make_customers,
    make_dish_orders,
    order_probability,
    with_dishes,
)
from mlops_nb.errors import InvalidInputError


def test_same_arguments_give_identical_frames_and_seeds_differ() -> None:
    a = make_dish_orders(500, seed=4, promotion="ribeye steak")
    pd.testing.assert_frame_equal(a, make_dish_orders(500, seed=4, promotion="ribeye steak"))
    assert not a.equals(make_dish_orders(500, seed=5, promotion="ribeye steak"))
    assert list(a.columns) == [*dish_feature_columns(), DISH_TARGET]
    assert set(a["dish"]) <= set(DISHES) and set(a[DISH_TARGET]) == {0, 1}


def test_orders_follow_the_documented_drivers() -> None:
    customers = make_customers(4000, seed=1)
    steak = order_probability(with_dishes(customers, ["ribeye steak"] * len(customers)))
    vegetarian = customers["vegetarian"].to_numpy()
    assert steak[vegetarian].mean() < steak[~vegetarian].mean() / 3
    curry = order_probability(with_dishes(customers, ["lamb vindaloo"] * len(customers)))
    tolerance = customers["spice_tolerance"].to_numpy()
    assert (
        curry[(tolerance == 3) & ~vegetarian].mean()
        > 3 * curry[(tolerance == 0) & ~vegetarian].mean()
    )
    rate = make_dish_orders(4000, seed=2)[DISH_TARGET].mean()
    assert 0.08 < rate < 0.3, rate


def test_a_promotion_makes_its_dish_look_popular() -> None:
    plain = make_dish_orders(8000, seed=3)
    promoted = make_dish_orders(8000, seed=3, promotion="ribeye steak")
    share = lambda f: f.loc[f["dish"] == "ribeye steak", DISH_TARGET].mean()  # noqa: E731
    assert share(promoted) > 3 * share(plain)
    customers = make_customers(100, seed=0)
    frame = with_dishes(customers, ["margherita pizza"] * 100)
    assert np.allclose(order_probability(frame), order_probability(frame, promotion="ribeye steak"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_dish_orders(5), "n_visits must be >= 10"),
        (lambda: make_dish_orders(100, seed=-1), "seed must be >= 0"),
        (lambda: make_dish_orders(100, promotion="soup"), "promotion must be a dish"),
        (lambda: make_customers(True), "n_customers must be an int"),
        (lambda: with_dishes(make_customers(2), ["soup", "pad thai"]), "not on the menu: soup"),
        (lambda: with_dishes(make_customers(2), ["pad thai"]), "1 dishes for 2 customers"),
    ],
)
def test_bad_arguments_are_refused_clearly(call, message) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()
