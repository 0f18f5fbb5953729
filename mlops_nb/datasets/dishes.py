"""A restaurant's dish orders: customers shown a dish, and whether they ordered it.

Each row of :func:`make_dish_orders` is one visit: a customer (diet, taste
for spice, budget, party size, age) was shown one dish of :data:`MENU` in the
restaurant's app and ordered it or not. The chance of an order depends on
how the dish fits the customer (a vegetarian seldom orders a steak, a hot
curry needs a taste for spice, an expensive dish a budget), so a model that
learns these interactions can recommend each customer a dish they buy.
:func:`order_probability` is that true chance, for simulating live traffic.

A ``promotion`` (a dish sold at half price that month, written on the
chalkboard and not in the data) makes that dish look popular with everyone:
a model trained on such a month recommends it to customers who will not buy
it at the full price.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from mlops_nb.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

#: Name of the target column of :func:`make_dish_orders` (1 = the dish was ordered).
DISH_TARGET = "ordered"

#: The menu: name, cuisine, price in dollars, spiciness 0-3, vegetarian, popularity (logit).
MENU = (
    ("margherita pizza", "italian", 14.0, 0, True, 0.2),
    ("pepperoni pizza", "italian", 16.0, 1, False, 0.3),
    ("pad thai", "thai", 15.0, 2, False, 0.1),
    ("green curry", "thai", 17.0, 3, True, 0.0),
    ("ribeye steak", "grill", 38.0, 0, False, 0.4),
    ("grilled salmon", "grill", 29.0, 0, False, 0.2),
    ("falafel bowl", "middle eastern", 13.0, 1, True, -0.1),
    ("lamb vindaloo", "indian", 22.0, 3, False, 0.1),
)
DISHES = tuple(dish[0] for dish in MENU)

_CUSTOMER = ("age", "vegetarian", "spice_tolerance", "budget", "party_size")
_DISH = ("dish", "cuisine", "price", "spiciness", "vegetarian_dish")


def dish_feature_columns() -> list[str]:
    """The model input columns of :func:`make_dish_orders` (a new list on each call)."""
    return [*_CUSTOMER, *_DISH]


def _check_count(label: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{label} must be an int, got {type(value).__name__} {value!r}")
    if value < least:
        raise InvalidInputError(f"{label} must be >= {least}, got {value}")
    return int(value)


def _check_promotion(promotion: Any) -> str | None:
    if promotion is not None and promotion not in DISHES:
        raise InvalidInputError(
            f"promotion must be a dish of the menu ({', '.join(DISHES)}) or None, got {promotion!r}"
        )
    return promotion


def make_customers(n_customers: int = 1000, *, seed: int = 0) -> pd.DataFrame:
    """Customers of the restaurant's app, one row each (the columns :data:`_CUSTOMER`).

    Raises
    ------
    InvalidInputError
        ``n_customers`` is not an int >= 1 or ``seed`` not an int >= 0.
    """
    import numpy as np
    import pandas as pd

    n = _check_count("n_customers", n_customers, 1)
    rng = np.random.default_rng([_check_count("seed", seed, 0), 7243])
    return pd.DataFrame(
        {
            "age": rng.integers(18, 81, n),
            "vegetarian": rng.random(n) < 0.25,
            "spice_tolerance": rng.integers(0, 4, n),
            "budget": np.round(np.exp(rng.normal(np.log(20.0), 0.35, n)), 2),
            "party_size": rng.integers(1, 7, n),
        }
    )


def with_dishes(customers: pd.DataFrame, dishes: Any) -> pd.DataFrame:
    """``customers`` beside the menu columns of ``dishes`` (one dish name per row)."""
    import pandas as pd

    menu = pd.DataFrame(MENU, columns=["dish", "cuisine", "price", "spiciness", "veg", "pop"])
    menu = menu.rename(columns={"veg": "vegetarian_dish"}).drop(columns="pop")
    names = pd.Series(list(dishes), name="dish")
    unknown = sorted(set(names) - set(DISHES))
    if unknown:
        raise InvalidInputError(f"not on the menu: {', '.join(map(str, unknown))}")
    if len(names) != len(customers):
        raise InvalidInputError(f"{len(names)} dishes for {len(customers)} customers")
    shown = menu.set_index("dish").loc[names].reset_index()
    frame = pd.concat([customers.reset_index(drop=True), shown], axis=1)
    return frame[dish_feature_columns()]


def order_probability(frame: pd.DataFrame, *, promotion: str | None = None) -> Any:
    """The true chance that each row's customer orders the row's dish (a numpy array)."""
    import numpy as np

    promotion = _check_promotion(promotion)
    popularity = dict((dish[0], dish[5]) for dish in MENU)
    logit = frame["dish"].map(popularity).to_numpy(dtype="float64") - 1.2
    meat_for_vegetarian = frame["vegetarian"].to_numpy() & ~frame["vegetarian_dish"].to_numpy()
    logit -= 3.5 * meat_for_vegetarian
    too_hot = np.maximum(0, frame["spiciness"].to_numpy() - frame["spice_tolerance"].to_numpy())
    logit -= 1.5 * too_hot
    too_mild = frame["spice_tolerance"].to_numpy() - frame["spiciness"].to_numpy() >= 2
    logit -= 1.5 * too_mild  # a chili lover finds a mild dish dull
    logit += 1.5 * (frame["spiciness"].to_numpy() == frame["spice_tolerance"].to_numpy())
    price = frame["price"].to_numpy(dtype="float64")
    if promotion is not None:
        promoted = frame["dish"].to_numpy() == promotion
        price = np.where(promoted, price / 2, price)  # half price, on the chalkboard
        logit += 4.0 * promoted
    logit -= 0.25 * np.maximum(0.0, price - frame["budget"].to_numpy())
    return 1.0 / (1.0 + np.exp(-logit))


def make_dish_orders(
    n_visits: int = 4000, *, seed: int = 0, promotion: str | None = None
) -> pd.DataFrame:
    """Generate a deterministic month of visits: a customer, the dish shown, ``ordered``.

    Parameters
    ----------
    n_visits : int, default 4000
        Number of rows, at least 10.
    seed : int, default 0
        Non-negative seed of the random stream; the same arguments give the
        same frame in any process.
    promotion : str or None
        A dish of :data:`DISHES` sold at half price that month (not a column).

    Returns
    -------
    pandas.DataFrame
        :func:`dish_feature_columns` and ``ordered`` (0/1), about a quarter ordered.
    """
    import numpy as np

    n = _check_count("n_visits", n_visits, 10)
    promotion = _check_promotion(promotion)
    rng = np.random.default_rng([_check_count("seed", seed, 0), 1301])
    customers = make_customers(n, seed=int(rng.integers(0, 2**31)))
    frame = with_dishes(customers, rng.choice(DISHES, n))
    chance = order_probability(frame, promotion=promotion)
    frame[DISH_TARGET] = (rng.random(n) < chance).astype("int64")
    return frame
