"""Synthetic data sets for examples, tests and benchmarks.

:func:`make_churn` builds a monthly customer extract of a small subscription
business (an ISP, a law firm's retainer clients) with a learnable churn signal.
:func:`make_repair_jobs` builds one week of an auto repair shop's jobs with the
price charged, for a pricing model whose inputs drift as parts get dearer.
:func:`make_dish_orders` builds a month of a restaurant app's visits (a customer
shown a dish, ordered or not), and :func:`order_probability` the true chance of
an order, for simulating live traffic in a canary. :func:`make_pool_visits`
builds a week of a pool-service company's visits and how long each took, for
the route model that schedules technicians.
All are deterministic: the same arguments give a byte-identical frame in any
process, so notebooks, tests and benchmarks can regenerate "the November data"
instead of shipping files. :func:`split` cuts a churn extract into a stratified
holdout.

numpy, pandas and scikit-learn are imported inside the functions so that
importing this package costs nothing.

Examples
--------
>>> from mlops_nb.datasets import make_churn, split
>>> df = make_churn(1000, seed=7, month="2026-11")
>>> X_train, X_test, y_train, y_test = split(df, seed=7)
>>> jobs = make_repair_jobs(500, seed=7, week=3, parts_inflation=0.15)
>>> X, y = jobs[pricing_feature_columns()], jobs[PRICING_TARGET]
"""

from .churn import TARGET, feature_columns, make_churn, split
from .dishes import (
    DISH_TARGET,
    DISHES,
    dish_feature_columns,
    make_customers,
    make_dish_orders,
    order_probability,
    with_dishes,
)
from .pricing import PRICING_TARGET, make_repair_jobs, pricing_feature_columns
from .routes import ROUTE_TARGET, make_pool_visits, route_feature_columns

__all__ = [
    "DISHES",
    "DISH_TARGET",
    "PRICING_TARGET",
    "ROUTE_TARGET",
    "TARGET",
    "dish_feature_columns",
    "feature_columns",
    "make_churn",
    "make_customers",
    "make_dish_orders",
    "make_pool_visits",
    "make_repair_jobs",
    "order_probability",
    "pricing_feature_columns",
    "route_feature_columns",
    "split",
    "with_dishes",
]
