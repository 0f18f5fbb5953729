"""An always-valid test of a canary's business metric: the mixture SPRT (mSPRT).

A canary's feedback (a sale, a click, revenue) arrives one value at a time,
and people look at the comparison after every one of them. A fixed-sample
test looked at that often raises false alarms far above its nominal level;
the mixture sequential probability ratio test of Robbins, as used for A/B
tests by Johari, Pekelis and Walsh ("Always valid inference", 2017), does
not: its false-alarm probability over *all* looks, however many, stays
below ``alpha``.

The quantity tested is the difference of means ``theta = mean(canary) -
mean(production)``. With ``n_a`` production and ``n_b`` canary values, the
observed difference ``d`` is approximately normal with variance ``V =
sigma^2 (1/n_a + 1/n_b)``. Mixing the likelihood ratio of ``theta`` against
0 over a normal prior ``theta ~ N(0, tau^2)`` gives, in closed form::

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))

which is a nonnegative martingale under the null (in "information time"
``1/V``), so by Ville's inequality ``P(sup Lambda >= 1/alpha) <= alpha``.
The test stops at the first look with ``Lambda >= 1/alpha``; the sign of
``d`` says whether the canary is worse or better. ``1/Lambda`` (its running
minimum) is the always-valid p-value.

``sigma^2`` is unknown: it is estimated from both arms pooled (the null
says they are the same), and no decision is taken before each arm has
``min_samples`` values, so the estimate has settled. ``tau`` is given in
units of ``sigma`` (a standardized effect); the test is most efficient for
effects of about that size and valid for any.

Only numpy is used; every function takes and returns sufficient statistics
(count, sum, sum of squares per arm), so serving processes can add them up
across replicas, and the simulation in ``bench/canary.py`` can evaluate a
whole stream of looks at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Default false-alarm level over all looks.
ALPHA = 0.05
#: Default mixing standard deviation, in units of the metric's standard deviation.
TAU = 0.1
#: No decision before each arm has this many values.
MIN_SAMPLES = 100


@dataclass(frozen=True)
class Arm:
    """Sufficient statistics of one arm's metric: count, sum, sum of squares."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def add(self, value: float) -> Arm:
        return Arm(self.n + 1, self.total + value, self.total_sq + value * value)

    def merge(self, other: Arm) -> Arm:
        return Arm(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @classmethod
    def of(cls, values: Any) -> Arm:
        import numpy as np

        data = np.asarray(values, dtype=float)
        return cls(int(data.size), float(data.sum()), float((data * data).sum()))


@dataclass(frozen=True)
class Decision:
    """What the test says at one look.

    ``verdict`` is ``"worse"`` or ``"better"`` (the canary's mean against
    production's, once ``likelihood_ratio >= 1/alpha``) or ``"continue"``.
    """

    verdict: str
    difference: float | None  # mean(canary) - mean(production)
    relative: float | None  # difference / mean(production)
    likelihood_ratio: float
    p_value: float  # 1 / likelihood ratio, at most 1 (always valid)
    sigma: float | None
    n_production: int
    n_canary: int
    alpha: float
    tau: float

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("difference", "relative", "sigma"):
            if out[key] is not None:
                out[key] = round(out[key], 8)
        out["likelihood_ratio"] = (
            round(self.likelihood_ratio, 6) if math.isfinite(self.likelihood_ratio) else 1e300
        )
        return out


def log_likelihood_ratio(
    n_a: Any, s_a: Any, ss_a: Any, n_b: Any, s_b: Any, ss_b: Any, tau: float = TAU
) -> Any:
    """log Lambda of the mSPRT for ``mean(b) - mean(a)`` from each arm's
    count, sum and sum of squares (numpy arrays or numbers; evaluated
    element-wise, so a whole sequence of looks at once). ``nan`` where an
    arm has fewer than 2 values or the pooled variance is 0."""
    import numpy as np

    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    s_a, s_b = np.asarray(s_a, dtype=float), np.asarray(s_b, dtype=float)
    ss_a, ss_b = np.asarray(ss_a, dtype=float), np.asarray(ss_b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_a, mean_b = s_a / n_a, s_b / n_b
        dev = (ss_a - s_a * mean_a) + (ss_b - s_b * mean_b)
        var = np.maximum(dev, 0.0) / (n_a + n_b - 2.0)
        v = 1.0 / n_a + 1.0 / n_b  # in units of sigma^2
        z2 = (mean_b - mean_a) ** 2 / var
        t2 = tau * tau
        out = 0.5 * np.log(v / (v + t2)) + t2 * z2 / (2.0 * v * (v + t2))
        bad = (n_a < 2) | (n_b < 2) | ~(var > 0)
    return np.where(bad, np.nan, out)


def evaluate(
    production: Arm,
    canary: Arm,
    *,
    alpha: float = ALPHA,
    tau: float = TAU,
    min_samples: int = MIN_SAMPLES,
) -> Decision:
    """The test's verdict at this look (see the module docstring)."""
    check_alpha(alpha)
    if not tau > 0:
        raise ValueError(f"tau must be positive, not {tau}")
    a, b = production, canary
    log_lr = float(log_likelihood_ratio(a.n, a.total, a.total_sq, b.n, b.total, b.total_sq, tau))
    sigma = None
    if a.n >= 2 and b.n >= 2:
        dev = (a.total_sq - a.total * a.total / a.n) + (b.total_sq - b.total * b.total / b.n)
        sigma = math.sqrt(max(dev, 0.0) / (a.n + b.n - 2))
    difference = None if a.mean is None or b.mean is None else b.mean - a.mean
    relative = None if difference is None or not a.mean else difference / a.mean
    ratio = math.exp(min(log_lr, 700.0)) if math.isfinite(log_lr) else 1.0
    verdict = "continue"
    enough = a.n >= min_samples and b.n >= min_samples
    if enough and math.isfinite(log_lr) and log_lr >= math.log(1.0 / alpha):
        verdict = "worse" if difference is not None and difference < 0 else "better"
    return Decision(
        verdict=verdict,
        difference=difference,
        relative=relative,
        likelihood_ratio=ratio,
        p_value=min(1.0, 1.0 / ratio),
        sigma=sigma,
        n_production=a.n,
        n_canary=b.n,
        alpha=alpha,
        tau=tau,
    )


def check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")


def expected_samples(
    effect: float, share: float, *, alpha: float = ALPHA, tau: float = TAU
) -> int | None:
    """About how many metric values (both arms together) the test needs to stop
    when the true standardized effect is ``effect`` (difference / sigma) and
    the canary gets ``share`` of them: the smallest ``n`` at which the
    likelihood ratio at the expected difference reaches ``1/alpha`` (the
    median stopping time, roughly). ``None`` for no effect (it never stops)."""
    check_alpha(alpha)
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    if not effect or not math.isfinite(effect):
        return None
    goal = math.log(1.0 / alpha)
    t2, d2 = tau * tau, effect * effect

    def log_lr(n: float) -> float:
        v = 1.0 / (n * share * (1.0 - share))
        return 0.5 * math.log(v / (v + t2)) + t2 * d2 / (2.0 * v * (v + t2))

    low, high = 2.0, 4.0
    while log_lr(high) < goal:
        low, high = high, high * 2
        if high > 1e15:
            return None
    while high - low > 1:
        mid = (low + high) / 2
        if log_lr(mid) >= goal:
            high = mid
        else:
            low = mid
    return math.ceil(high)


def first_stop(
    arms: Any,
    values: Any,
    *,
    alpha: float = ALPHA,
    tau: float = TAU,
    min_samples: int = MIN_SAMPLES,
) -> tuple[int | None, str | None]:
    """Look after every value of a stream and return ``(index, verdict)`` of the
    first stop (``(None, None)`` when the stream ends first).

    ``arms`` is a boolean array (True: the value is the canary's), ``values``
    the metric values in arrival order. Vectorized: one pass of cumulative sums.
    """
    import numpy as np

    check_alpha(alpha)
    arm = np.asarray(arms, dtype=bool)
    x = np.asarray(values, dtype=float)
    b = arm.astype(float)
    a = 1.0 - b
    n_a, n_b = np.cumsum(a), np.cumsum(b)
    s_a, s_b = np.cumsum(a * x), np.cumsum(b * x)
    ss_a, ss_b = np.cumsum(a * x * x), np.cumsum(b * x * x)
    log_lr = log_likelihood_ratio(n_a, s_a, ss_a, n_b, s_b, ss_b, tau)
    hit = (n_a >= min_samples) & (n_b >= min_samples) & (log_lr >= math.log(1.0 / alpha))
    where = np.flatnonzero(np.nan_to_num(hit, nan=False))
    if where.size == 0:
        return None, None
    i = int(where[0])
    worse = s_b[i] / n_b[i] < s_a[i] / n_a[i]
    return i, "worse" if worse else "better"
