"""One week of an auto repair shop's jobs and prices (see :mod:`mlops_nb.datasets`)."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from mlops_nb.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

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
