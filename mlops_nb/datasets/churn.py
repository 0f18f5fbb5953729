"""A monthly customer-churn extract with a learnable signal (see :mod:`mlops_nb.datasets`)."""

from __future__ import annotations

import math
import numbers
import re
from typing import TYPE_CHECKING, Any

from mlops_nb.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd


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
