"""The mSPRT of the canary's business guard, against properties it must have."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_nb.serving import sequential as s


def test_false_alarms_on_equal_arms_stay_below_alpha_over_every_look():
    # 300 null streams of normal values, looked at after every value: an ordinary
    # z-test looked at this often alarms in far more than 5 % of them.
    rng = np.random.default_rng(2026)
    stops = 0
    for _ in range(300):
        arm = rng.random(5000) < 0.3
        index, _ = s.first_stop(arm, rng.normal(10.0, 3.0, 5000))
        stops += index is not None
    assert stops / 300 <= 0.07  # alpha 0.05 plus three standard errors of 300 runs


def test_repeated_z_test_would_alarm_far_more_often_on_the_same_streams():
    # The property the mSPRT exists for, shown on the same kind of data: a fixed
    # 1.96 threshold checked after every value stops most null streams.
    rng = np.random.default_rng(2026)
    stops = 0
    for _ in range(100):
        arm = rng.random(5000) < 0.3
        x = rng.normal(10.0, 3.0, 5000)
        n_b, n_a = np.cumsum(arm), np.cumsum(~arm)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.cumsum(x * arm) / n_b - np.cumsum(x * ~arm) / n_a
            z = d / (3.0 * np.sqrt(1 / n_a + 1 / n_b))
        stops += bool(np.any(np.abs(z[200:]) > 1.96))
    assert stops / 100 > 0.2


def test_a_halved_conversion_rate_is_stopped_as_worse():
    rng = np.random.default_rng(5)
    arm = rng.random(60000) < 0.1
    x = (rng.random(60000) < np.where(arm, 0.025, 0.05)).astype(float)
    index, verdict = s.first_stop(arm, x)
    assert verdict == "worse"
    assert index is not None and index < 30000


def test_a_better_canary_is_stopped_as_better():
    rng = np.random.default_rng(6)
    arm = rng.random(20000) < 0.5
    index, verdict = s.first_stop(arm, rng.normal(np.where(arm, 11.0, 10.0), 3.0))
    assert verdict == "better" and index is not None


def test_evaluate_agrees_with_the_vectorized_stream_and_waits_for_min_samples():
    rng = np.random.default_rng(7)
    x = rng.normal(np.r_[np.full(300, 10.0), np.full(300, 5.0)], 1.0)
    arm = np.r_[np.zeros(300, bool), np.ones(300, bool)]
    decision = s.evaluate(s.Arm.of(x[:300]), s.Arm.of(x[300:]))
    assert decision.verdict == "worse" and decision.p_value < 0.05
    assert decision.difference == pytest.approx(x[300:].mean() - x[:300].mean())
    few = s.evaluate(s.Arm.of(x[:300]), s.Arm.of(x[300:350]))
    assert few.verdict == "continue"  # 50 canary values: under MIN_SAMPLES
    assert s.first_stop(arm, x)[1] == "worse"


def test_arm_statistics_add_up_across_processes():
    a, b = s.Arm.of([1.0, 2.0]), s.Arm.of([3.0])
    assert a.merge(b) == s.Arm.of([1.0, 2.0, 3.0]) == s.Arm().add(1.0).add(2.0).add(3.0)


def test_expected_samples_grow_for_smaller_effects_and_shares():
    big, small = s.expected_samples(0.5, 0.5), s.expected_samples(0.05, 0.5)
    assert big is not None and small is not None and big < small
    assert s.expected_samples(0.05, 0.1) > small
    assert s.expected_samples(0.0, 0.5) is None
    with pytest.raises(ValueError):
        s.expected_samples(0.1, 1.0)
    with pytest.raises(ValueError):
        s.evaluate(s.Arm(), s.Arm(), alpha=1.5)
