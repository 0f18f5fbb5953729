"""Synthetic data sets for examples, tests and benchmarks.

:func:`make_churn` builds a monthly customer extract of a small subscription
business (an ISP, a law firm's retainer clients) with a learnable churn signal.
:func:`make_repair_jobs` builds one week of an auto repair shop's jobs with the
price charged, for a pricing model whose inputs drift as parts get dearer.
Both are deterministic: the same arguments give a byte-identical frame in any
process, so notebooks, tests and benchmarks can regenerate "the November data"
instead of shipping files. :func:`split` cuts a churn extract into a stratified
holdout.

numpy, pandas and scikit-learn are imported inside the functions so that
importing this module costs nothing.

Examples
--------
>>> from mlops_nb.datasets import make_churn, split
>>> df = make_churn(1000, seed=7, month="2026-11")
>>> X_train, X_test, y_train, y_test = split(df, seed=7)
>>> jobs = make_repair_jobs(500, seed=7, week=3, parts_inflation=0.15)
>>> X, y = jobs[pricing_feature_columns()], jobs[PRICING_TARGET]
"""

from __future__ import annotations

import math
import numbers
import re
from typing import TYPE_CHECKING, Any

from mlops_nb.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PRICING_TARGET",
    "TARGET",
    "feature_columns",
    "make_churn",
    "make_repair_jobs",
    "pricing_feature_columns",
    "split",
]

#: Name of the target column produced by :func:`make_churn` (1 = the customer left).
TARGET = "churned"

_CONTRACTS = ("month-to-month", "one-year", "two-year")
_SERVICES = ("fiber", "dsl", "none")
_PAYMENTS = ("electronic check", "mailed check", "bank transfer", "credit card")

_FEATURES = (
    "tenure_months",
    "contract",
    "internet_service",
    "payment_method",
    "paperless_billing",
    "senior",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "late_payments",
)

_MONTH_RE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_MAX_TENURE = 72  # months; older accounts are reported as 72, as billing systems often do


def feature_columns() -> list[str]:
    """Return the model input columns of :func:`make_churn`.

    Returns
    -------
    list of str
        Every column except ``customer_id``, ``signup_date`` and the target
        ``churned``, in frame order. A new list on each call, so callers may
        modify it.
    """
    return list(_FEATURES)


def _check_args(n_customers: Any, seed: Any, month: Any, drift: Any) -> tuple[int, int]:
    """Validate :func:`make_churn` arguments; return ``(year, month_number)``."""
    # numpy integers and floats are accepted (numbers.Integral / numbers.Real); bools are not.
    if isinstance(n_customers, bool) or not isinstance(n_customers, numbers.Integral):
        raise InvalidInputError(
            f"n_customers must be an int, got {type(n_customers).__name__} {n_customers!r}"
        )
    if n_customers < 10:
        raise InvalidInputError(f"n_customers must be >= 10, got {n_customers}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInputError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise InvalidInputError(f"seed must be >= 0, got {seed}")
    if not isinstance(month, str):
        raise InvalidInputError(
            f'month must be a string "YYYY-MM", got {type(month).__name__} {month!r}'
        )
    match = _MONTH_RE.fullmatch(month)
    if match is None:
        raise InvalidInputError(
            f'month must be "YYYY-MM" with MM in 01..12 (e.g. "2026-11"), got {month!r}'
        )
    if isinstance(drift, bool) or not isinstance(drift, numbers.Real):
        raise InvalidInputError(f"drift must be a number, got {type(drift).__name__} {drift!r}")
    if not math.isfinite(float(drift)) or not 0.0 <= float(drift) <= 1.0:
        raise InvalidInputError(f"drift must be between 0 and 1 inclusive, got {drift!r}")
    year, month_number = int(match.group(1)), int(match.group(2))
    if year < 1900:
        # signup dates reach six years back; keep them well inside datetime64 range
        raise InvalidInputError(f"month must be in year 1900 or later, got {month!r}")
    return year, month_number


def make_churn(
    n_customers: int = 5000,
    *,
    seed: int = 0,
    month: str = "2026-11",
    drift: float = 0.0,
) -> pd.DataFrame:
    """Generate a deterministic synthetic customer-churn extract.

    Each row is a customer active at the start of ``month``; ``churned`` says
    whether they cancelled during that month. Churn is more likely with a
    month-to-month contract, short tenure, high monthly charges, many support
    calls, late payments, fiber internet and payment by electronic check; the
    base rate is about 25 % when ``drift`` is 0.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of rows, at least 10.
    seed : int, default 0
        Non-negative seed. Together with ``month`` it selects the random stream
        (``numpy.random.default_rng``), so each month's extract holds different
        customers drawn from the same distribution.
    month : str, default "2026-11"
        Extract month as ``"YYYY-MM"``. Signup dates end just before the first
        day of this month.
    drift : float, default 0.0
        Covariate shift in ``[0, 1]``: higher values raise monthly charges (up
        to +20 %), support calls (up to about twice as many) and the share of
        month-to-month contracts (up to +20 points). The churn mechanism itself
        is unchanged, so the churn rate rises with the riskier mix.

    Returns
    -------
    pandas.DataFrame
        ``n_customers`` rows and the columns ``customer_id`` (str, ``"C000001"``
        …; seven digits past 999999), ``signup_date`` (datetime64[ns]),
        ``tenure_months`` (int64, 1-72),
        ``contract`` (categorical: month-to-month, one-year, two-year),
        ``internet_service`` (str: fiber, dsl, none), ``payment_method`` (str:
        electronic check, mailed check, bank transfer, credit card),
        ``paperless_billing`` (bool), ``senior`` (bool), ``monthly_charges``
        (float64, dollars), ``total_charges`` (float64, dollars),
        ``support_calls`` (int64), ``late_payments`` (int64) and ``churned``
        (int64, 0 or 1). No missing values.

    Raises
    ------
    mlops_nb.errors.InvalidInputError
        A subclass of :class:`ValueError`, if an argument is out of range or
        of the wrong type.

    Examples
    --------
    >>> df = make_churn(500, seed=1, month="2026-12", drift=0.3)
    >>> df.shape
    (500, 13)
    """
    year, month_number = _check_args(n_customers, seed, month, drift)
    import numpy as np
    import pandas as pd

    n = int(n_customers)
    seed = int(seed)
    drift = float(drift)
    month_index = year * 12 + (month_number - 1)
    # One stream per (seed, month): a new month is a new sample, not a relabelled copy.
    rng = np.random.default_rng(np.random.SeedSequence([seed, month_index]))

    # Every draw below happens in a fixed order and size; reordering them changes the data.
    senior = rng.random(n) < 0.16

    mtm_share = 0.52 + 0.20 * drift
    rest = (1.0 - mtm_share) / (1.0 - 0.52)
    contract_p = np.array([mtm_share, 0.26 * rest, 0.22 * rest])
    contract_code = rng.choice(3, size=n, p=contract_p / contract_p.sum())

    # Longer contracts go with longer relationships.
    mean_tenure = np.array([14.0, 32.0, 48.0])[contract_code]
    tenure = np.ceil(rng.gamma(shape=1.6, scale=mean_tenure / 1.6))
    tenure = np.clip(tenure, 1, _MAX_TENURE).astype(np.int64)

    service_code = rng.choice(3, size=n, p=[0.44, 0.34, 0.22])
    is_fiber = service_code == 0

    # Older customers pay by mailed check more often.
    payment_p = np.where(
        senior[:, None],
        [0.30, 0.36, 0.18, 0.16],
        [0.34, 0.20, 0.23, 0.23],
    )
    payment_code = (rng.random(n)[:, None] > np.cumsum(payment_p, axis=1)).sum(axis=1)
    payment_code = np.minimum(payment_code, 3)
    is_echeck = payment_code == 0

    paperless = rng.random(n) < np.where(is_fiber, 0.72, 0.50) - 0.15 * senior

    base_charge = np.array([84.0, 56.0, 21.0])[service_code]
    spread = np.array([12.0, 9.0, 2.5])[service_code]
    monthly = base_charge + spread * rng.standard_normal(n) + 4.0 * senior
    monthly = monthly * (1.0 + 0.20 * drift)
    monthly = np.round(np.clip(monthly, 18.25, None), 2)

    # Past bills vary around today's price (promotions, price rises).
    history = rng.uniform(0.92, 1.04, size=n)
    total = np.round(monthly * tenure * history, 2)

    support_rate = (0.9 + 0.8 * is_fiber + 0.4 * senior) * (1.0 + drift)
    support_calls = rng.poisson(support_rate).astype(np.int64)

    late_rate = 0.25 + 0.45 * is_echeck + 0.20 * (payment_code == 1)
    late_payments = np.minimum(rng.poisson(late_rate), tenure).astype(np.int64)

    is_mtm = contract_code == 0
    is_two_year = contract_code == 2
    logit = (
        -2.45
        + 1.30 * is_mtm
        - 0.90 * is_two_year
        - 0.55 * (np.log(tenure) - 2.5)
        + 0.025 * (monthly - 65.0)
        + 0.38 * (support_calls - 1.3)
        + 0.50 * is_fiber
        + 0.55 * is_echeck
        + 0.30 * late_payments
        + 0.25 * senior
        + 0.15 * paperless
    )
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    # Signup: `tenure` whole months before the extract month, on a random day 1-28.
    signup_month = np.datetime64(f"{year:04d}-{month_number:02d}", "M") - tenure
    signup_day = rng.integers(0, 28, size=n)
    signup_date = signup_month.astype("datetime64[D]") + signup_day

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(1, n + 1)],
            "signup_date": signup_date.astype("datetime64[ns]"),
            "tenure_months": tenure,
            "contract": pd.Categorical.from_codes(contract_code, categories=list(_CONTRACTS)),
            "internet_service": np.array(_SERVICES)[service_code],
            "payment_method": np.array(_PAYMENTS)[payment_code],
            "paperless_billing": paperless,
            "senior": senior,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support_calls,
            "late_payments": late_payments,
            TARGET: churned,
        }
    )
    return frame


def split(
    df: pd.DataFrame, test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split a :func:`make_churn` frame into a stratified train set and holdout.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame with every column of :func:`feature_columns` and ``churned``.
    test_size : float, default 0.25
        Fraction of rows held out, strictly between 0 and 1.
    seed : int, default 0
        ``random_state`` of :func:`sklearn.model_selection.train_test_split`.

    Returns
    -------
    X_train, X_test : pandas.DataFrame
        The :func:`feature_columns` of each part.
    y_train, y_test : pandas.Series
        The ``churned`` target of each part; both keep the overall churn rate.

    Raises
    ------
    mlops_nb.errors.InvalidInputError
        A subclass of :class:`ValueError`, if ``df`` is not a DataFrame, lacks
        a column, ``test_size`` is not a fraction in (0, 1), or either class has
        too few rows to stratify.
    """
    import pandas as pd
    from sklearn.model_selection import train_test_split

    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in [*_FEATURES, TARGET] if c not in df.columns]
    if missing:
        raise InvalidInputError(f"df lacks column(s) {', '.join(missing)}; expected make_churn()")
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, numbers.Real)
        or not 0.0 < test_size < 1.0
    ):
        raise InvalidInputError(f"test_size must be a fraction between 0 and 1, got {test_size!r}")
    counts = df[TARGET].value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise InvalidInputError(
            f"cannot stratify: {TARGET} needs at least 2 rows of each class, "
            f"got {dict(sorted(counts.items()))}"
        )
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            df[feature_columns()],
            df[TARGET],
            test_size=test_size,
            random_state=seed,
            stratify=df[TARGET],
        )
    except ValueError as exc:  # e.g. a holdout too small to hold both classes
        raise InvalidInputError(
            f"cannot split {len(df)} rows with test_size={test_size}: {exc}"
        ) from exc
    return x_train, x_test, y_train, y_test


# --- repair jobs -------------------------------------------------------------

#: Name of the target column produced by :func:`make_repair_jobs` (dollars charged).
PRICING_TARGET = "price"

# job type: (share of jobs, typical billed labor hours, typical parts cost in dollars)
_JOB_TYPES = {
    "oil change": (0.24, 0.5, 42.0),
    "brakes": (0.18, 1.8, 190.0),
    "tires": (0.15, 1.0, 520.0),
    "diagnostics": (0.14, 1.2, 12.0),
    "electrical": (0.11, 2.4, 160.0),
    "suspension": (0.11, 3.2, 410.0),
    "transmission": (0.07, 5.5, 1250.0),
}
# make: (share of jobs, parts price factor, labor time factor)
_MAKES = {
    "Toyota": (0.19, 1.00, 1.00),
    "Ford": (0.17, 0.95, 1.05),
    "Honda": (0.15, 1.00, 0.95),
    "Chevrolet": (0.14, 0.92, 1.05),
    "Nissan": (0.11, 0.98, 1.00),
    "Hyundai": (0.10, 0.90, 0.95),
    "Subaru": (0.08, 1.08, 1.10),
    "BMW": (0.06, 1.45, 1.25),
}

_PRICING_FEATURES = (
    "job_type",
    "vehicle_make",
    "vehicle_age_years",
    "mileage",
    "labor_hours",
    "parts_cost",
    "rush",
)

_FIRST_WEEK = "2026-06-01"  # a Monday
_MAX_WEEK = 10_000  # about 190 years: week_start stays inside datetime64[ns]
_MAX_INFLATION = 2.0
_LABOR_RATE = 128.0  # dollars per billed hour
_RUSH_PREMIUM = 0.25  # same-day jobs bill labor at +25 %
_SURCHARGE_PER_INFLATION = 0.30  # suppliers' freight and fuel surcharge, share of parts cost


def pricing_feature_columns() -> list[str]:
    """Return the model input columns of :func:`make_repair_jobs`.

    Returns
    -------
    list of str
        Every column except ``job_id``, ``week_start`` and the target
        ``price``, in frame order. A new list on each call, so callers may
        modify it.
    """
    return list(_PRICING_FEATURES)


def _check_repair_args(n_jobs: Any, seed: Any, week: Any, parts_inflation: Any) -> None:
    """Validate :func:`make_repair_jobs` arguments."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise InvalidInputError(f"n_jobs must be an int, got {type(n_jobs).__name__} {n_jobs!r}")
    if n_jobs < 10:
        raise InvalidInputError(f"n_jobs must be >= 10, got {n_jobs}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInputError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise InvalidInputError(f"seed must be >= 0, got {seed}")
    if isinstance(week, bool) or not isinstance(week, numbers.Integral):
        raise InvalidInputError(f"week must be an int, got {type(week).__name__} {week!r}")
    if not 0 <= int(week) <= _MAX_WEEK:
        raise InvalidInputError(f"week must be between 0 and {_MAX_WEEK} inclusive, got {week}")
    if isinstance(parts_inflation, bool) or not isinstance(parts_inflation, numbers.Real):
        raise InvalidInputError(
            f"parts_inflation must be a number, got "
            f"{type(parts_inflation).__name__} {parts_inflation!r}"
        )
    inflation = float(parts_inflation)
    if not math.isfinite(inflation) or not 0.0 <= inflation <= _MAX_INFLATION:
        raise InvalidInputError(
            f"parts_inflation must be between 0 and {_MAX_INFLATION:g} inclusive, "
            f"got {parts_inflation!r}"
        )


def make_repair_jobs(
    n_jobs: int = 3000,
    *,
    seed: int = 0,
    week: int = 0,
    parts_inflation: float = 0.0,
) -> pd.DataFrame:
    """Generate one week of deterministic synthetic auto repair jobs.

    Each row is a job finished by an independent repair shop during one week,
    with the price the customer paid. The price is billed labor (a flat hourly
    rate, +25 % for rush jobs) plus parts at a markup that falls as parts get
    dearer (a "parts matrix"), a shop-supplies fee and some noise from
    discounts and judgement calls. ``parts_inflation`` makes parts dearer and
    adds a supplier surcharge that is passed on to the customer, so a model
    trained on cheaper weeks under-prices.

    Parameters
    ----------
    n_jobs : int, default 3000
        Number of rows, at least 10.
    seed : int, default 0
        Non-negative seed. Together with ``week`` it selects the random stream
        (``numpy.random.default_rng``), so each week holds different jobs drawn
        from the same distribution. ``parts_inflation`` is not part of the
        stream: the same seed and week with more inflation are the same jobs
        with dearer parts, older cars and higher prices.
    week : int, default 0
        Week number, 0 to 10000, counted from Monday 2026-06-01.
    parts_inflation : float, default 0.0
        Rise in parts prices since week 0, in ``[0, 2]`` (0.3 = parts cost
        30 % more). Besides multiplying ``parts_cost`` by
        ``1 + parts_inflation``, it adds a supplier surcharge of
        ``0.3 * parts_inflation`` of the parts cost to the price (not visible
        in ``parts_cost``), and people keep their cars longer, so
        ``vehicle_age_years`` and ``mileage`` grow by about
        ``25 * parts_inflation`` %.

    Returns
    -------
    pandas.DataFrame
        ``n_jobs`` rows and the columns ``job_id`` (str, ``"J0003-00001"`` for
        week 3; more digits past 99999 jobs), ``week_start`` (datetime64[ns],
        the Monday of the week), ``job_type`` (categorical: oil change, brakes,
        tires, diagnostics, electrical, suspension, transmission),
        ``vehicle_make`` (str: Toyota, Ford, Honda, Chevrolet, Nissan, Hyundai,
        Subaru, BMW), ``vehicle_age_years`` (int64, 0-30), ``mileage`` (int64,
        miles), ``labor_hours`` (float64, billed hours in tenths),
        ``parts_cost`` (float64, dollars and cents), ``rush`` (bool) and
        ``price`` (float64, dollars and cents). No missing values.

    Raises
    ------
    mlops_nb.errors.InvalidInputError
        A subclass of :class:`ValueError`, if an argument is out of range or
        of the wrong type.

    Examples
    --------
    >>> jobs = make_repair_jobs(200, seed=1, week=4, parts_inflation=0.2)
    >>> jobs.shape
    (200, 10)
    >>> str(jobs["week_start"].iloc[0].date())
    '2026-06-29'
    """
    _check_repair_args(n_jobs, seed, week, parts_inflation)
    import numpy as np
    import pandas as pd

    n = int(n_jobs)
    seed = int(seed)
    week = int(week)
    inflation = float(parts_inflation)
    # One stream per (seed, week): a new week is a new sample, not a relabelled copy.
    rng = np.random.default_rng(np.random.SeedSequence([seed, week]))

    # Every draw below happens in a fixed order and size; reordering them changes the data.
    job_share, job_hours, job_parts = (np.array(v) for v in zip(*_JOB_TYPES.values()))
    job_code = rng.choice(len(_JOB_TYPES), size=n, p=job_share / job_share.sum())

    make_share, make_parts, make_labor = (np.array(v) for v in zip(*_MAKES.values()))
    make_code = rng.choice(len(_MAKES), size=n, p=make_share / make_share.sum())

    # Dearer repairs keep older cars on the road: ages stretch by 25 % per unit of inflation.
    age = rng.gamma(shape=2.2, scale=4.0, size=n) * (1.0 + 0.25 * inflation)
    age = np.clip(np.floor(age), 0, 30).astype(np.int64)
    miles_per_year = rng.normal(11_500.0, 3_000.0, size=n).clip(3_000.0, 25_000.0)
    mileage = np.round((age + rng.random(n)) * miles_per_year, -1).astype(np.int64)

    # Older, high-mileage cars take longer (seized bolts, rust).
    hours = (
        job_hours[job_code]
        * make_labor[make_code]
        * (1.0 + 0.015 * age)
        * rng.lognormal(0.0, 0.25, size=n)
    )
    hours = np.maximum(np.round(hours, 1), 0.2)

    parts = job_parts[job_code] * make_parts[make_code] * rng.lognormal(0.0, 0.25, size=n)
    parts = np.round(parts * (1.0 + inflation), 2)

    rush = rng.random(n) < 0.12

    labor_charge = _LABOR_RATE * hours * (1.0 + _RUSH_PREMIUM * rush)
    # Parts matrix: cheap parts carry a big markup, expensive ones a small one.
    markup = 1.30 + 0.50 * np.exp(-parts / 250.0)
    surcharge = _SURCHARGE_PER_INFLATION * inflation * parts
    supplies = np.minimum(0.08 * labor_charge, 45.0)
    # Discounts, goodwill and judgement calls: about 4-5 % either way.
    noise = rng.lognormal(0.0, 0.045, size=n)
    price = (labor_charge + parts * markup + surcharge + supplies) * noise
    price = np.round(np.maximum(price, 25.0), 2)

    week_start = np.datetime64(_FIRST_WEEK, "D") + 7 * week
    frame = pd.DataFrame(
        {
            "job_id": [f"J{week:04d}-{i:05d}" for i in range(1, n + 1)],
            "week_start": np.full(n, week_start).astype("datetime64[ns]"),
            "job_type": pd.Categorical.from_codes(job_code, categories=list(_JOB_TYPES)),
            "vehicle_make": np.array(list(_MAKES))[make_code],
            "vehicle_age_years": age,
            "mileage": mileage,
            "labor_hours": hours,
            "parts_cost": parts,
            "rush": rush,
            PRICING_TARGET: price,
        }
    )
    return frame
