"""Every check, built-in or plugged in, honours the same small contract."""

import copy
import inspect
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from mlops_nb.monitoring.drift import BUILTIN_CHECKS, CheckResult, DriftCheck, check_frame, profile
from mlops_nb.monitoring.drift.checks import discover
from mlops_nb.monitoring.drift.current import summarize


@pytest.fixture(scope="module")
def columns():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"num": rng.normal(size=5000), "cat": rng.choice(["a", "b", "c"], 5000)})
    cur = pd.DataFrame({"num": rng.normal(0.5, 1, 3000), "cat": rng.choice(["a", "b", "d"], 3000)})
    prof = profile(ref)
    return {
        kind: (prof.columns[name], summarize(prof.columns[name], cur[name]))
        for kind, name in (("numeric", "num"), ("categorical", "cat"))
    }


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_init_only_stores_parameters(cls):
    check = cls()
    params = check.get_params()
    signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert list(params) == signature
    assert not [k for k in vars(check) if k.endswith("_")]  # nothing learned yet
    clone = cls(**params)
    assert clone.get_params() == params
    assert repr(check).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_fit_returns_self_learns_with_underscores_and_keeps_the_reference(cls, columns):
    for kind in cls.kinds:
        if kind not in columns:
            continue
        reference, current = columns[kind]
        before = copy.deepcopy(reference)
        check = cls()
        assert check.fit(reference) is check
        assert any(k.endswith("_") for k in vars(check))
        result = check.score(current)
        assert isinstance(result, CheckResult)
        assert result.check == cls.name
        assert result.decides == cls.decides
        assert (
            result.statistic is None or np.isfinite(result.statistic) or result.statistic == np.inf
        )
        assert isinstance(result.drift, bool)
        assert reference == before


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_scoring_is_deterministic(cls, columns):
    for kind in cls.kinds:
        if kind in columns:
            reference, current = columns[kind]
            assert cls().fit(reference).score(current) == cls().fit(reference).score(current)


def test_deciding_checks_see_real_drift(columns):
    from mlops_nb.monitoring.drift import JensenShannon, KolmogorovSmirnov

    ref, cur = columns["numeric"]
    assert KolmogorovSmirnov().fit(ref).score(cur).drift
    ref, cur = columns["categorical"]
    assert JensenShannon().fit(ref).score(cur).drift


class AlwaysDrifts(DriftCheck):
    """A user check: decides drift on numeric columns whenever the mean moved at all."""

    name = "mean_moved"
    kinds = ("numeric",)

    def __init__(self, tolerance: float = 0.0) -> None:
        self.tolerance = tolerance

    def fit(self, reference):
        self.mean_ = reference.mean
        return self

    def score(self, current):
        moved = abs((current.mean or 0) - self.mean_)
        return CheckResult(self.name, moved, moved > self.tolerance, self.tolerance)


def test_user_checks_take_part_in_verdicts():
    ref = pd.DataFrame({"x": np.arange(1000.0)})
    report = check_frame(profile(ref), ref + 0.001, checks=[AlwaysDrifts()])
    assert report.columns[0].method == "mean_moved" and report.columns[0].drift


def test_entry_point_group_is_discovered(tmp_path, monkeypatch):
    pkg = tmp_path / "my_checks.py"
    pkg.write_text(
        textwrap.dedent("""
        from mlops_nb.monitoring.drift import DriftCheck, CheckResult
        class Plugged(DriftCheck):
            name = "plugged"
            kinds = ("numeric",)
            decides = False
            def __init__(self, level: float = 1.0):
                self.level = level
            def score(self, current):
                return CheckResult(self.name, 0.0, False, decides=False)
    """)
    )
    dist = tmp_path / "my_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mlops_nb.drift_checks]\nplugged = my_checks:Plugged\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover()
    assert [c.__name__ for c in found] == ["Plugged"]
    ref = pd.DataFrame({"x": np.arange(100.0)})
    report = check_frame(profile(ref), ref)
    assert "plugged" in report.columns[0].checks
    sys.modules.pop("my_checks", None)
