"""A pool-service company's visits: how long each stop on a route takes.

Each row of :func:`make_pool_visits` is one scheduled visit to a customer's
pool: its volume, how many days since the last service, the water
temperature, how many people swam that week, whether the pool has a salt
system, and the drive from the previous stop. ``minutes`` is how long the
visit took (drive included). A route model predicts it, and the scheduler
packs each technician's day with it.

``heat`` (0 in spring, up to 1 in a heat wave) warms the water and brings
more swimmers: chlorine is used up faster and algae grow, so visits run
longer than a spring-trained model expects; this is the drift a summer
brings.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from mlops_nb.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

#: Name of the target column of :func:`make_pool_visits` (visit length, minutes).
ROUTE_TARGET = "minutes"

_FEATURES = (
    "pool_volume_m3",
    "days_since_service",
    "water_temp_c",
    "swimmers_per_week",
    "salt_system",
    "drive_km",
)


def route_feature_columns() -> list[str]:
    """The model input columns of :func:`make_pool_visits` (a new list on each call)."""
    return list(_FEATURES)


def make_pool_visits(visits: int = 500, *, seed: int = 0, heat: float = 0.0) -> pd.DataFrame:
    """Generate a deterministic week of pool visits and their length in minutes.

    Parameters
    ----------
    visits : int, default 500
        Number of rows, at least 10.
    seed : int, default 0
        Non-negative seed; the same arguments give the same frame in any process.
    heat : float, default 0.0
        From 0 (spring) to 1 (a heat wave): warmer water, more swimmers, longer visits.

    Raises
    ------
    InvalidInputError
        ``visits`` or ``seed`` is not a whole number in range, ``heat`` not in [0, 1].
    """
    import numpy as np
    import pandas as pd

    n = _whole("visits", visits, 10)
    if isinstance(heat, bool) or not isinstance(heat, numbers.Real) or not 0 <= heat <= 1:
        raise InvalidInputError(f"heat must be a number from 0 to 1, got {heat!r}")
    rng = np.random.default_rng([_whole("seed", seed, 0), 5519])
    volume = np.round(rng.uniform(25, 110, n), 1)
    days = rng.integers(5, 15, n)
    temp = np.round(rng.normal(21 + 9 * heat, 2.0, n), 1)
    swimmers = rng.poisson(8 + 22 * heat, n)
    salt = rng.random(n) < 0.3
    drive = np.round(rng.gamma(2.0, 3.0, n), 1)
    chemistry = 0.04 * volume * (1 + 0.06 * np.maximum(temp - 24, 0)) + 0.35 * swimmers
    algae = 1.2 * np.maximum(temp - 27, 0) * days / 7
    minutes = 12 + chemistry * np.where(salt, 0.6, 1.0) + algae + 1.6 * drive + 0.5 * days
    minutes = np.round(minutes + rng.normal(0, 3.0, n), 1)
    return pd.DataFrame(
        {
            "pool_volume_m3": volume,
            "days_since_service": days,
            "water_temp_c": temp,
            "swimmers_per_week": swimmers,
            "salt_system": salt,
            "drive_km": drive,
            ROUTE_TARGET: minutes,
        }
    )


def _whole(label: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise InvalidInputError(f"{label} must be an int >= {least}, got {value!r}")
    return int(value)
