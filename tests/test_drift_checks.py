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


def odd_columns():
    """Current columns every check must score without raising."""
    nan, inf = np.nan, np.inf
    return {
        "numeric": {
            "all missing": pd.Series([nan] * 50),
            "all infinite": pd.Series([inf] * 20 + [-inf] * 30),
            "one row": pd.Series([0.3]),
            "constant": pd.Series([2.0] * 50),
            "far outside": pd.Series([1e12] * 50),
            "text": pd.Series(["x"] * 50, dtype=object),
        },
        "categorical": {
            "all missing": pd.Series([None] * 50, dtype=object),
            "one row": pd.Series(["a"]),
            "all unseen": pd.Series(["zzz"] * 50),
            "numbers": pd.Series(np.arange(50.0)),
        },
    }


@pytest.mark.parametrize("cls", BUILTIN_CHECKS, ids=lambda c: c.__name__)
def test_every_check_scores_odd_columns_without_raising(cls, columns):
    """The engine runs a check on any column it summarised, so no summary may crash one."""
    for kind, cases in odd_columns().items():
        if kind not in cls.kinds:
            continue
        reference, _ = columns[kind]
        for case, series in cases.items():
            current = summarize(reference, series)
            if current.present == 0 and cls.requires_values:
                continue  # the engine does not run it there; see the next test
            result = cls().fit(reference).score(current)
            assert isinstance(result, CheckResult) and isinstance(result.drift, bool), case
            assert result.statistic is None or not np.isnan(result.statistic), case


def test_checks_that_need_values_say_so():
    needs = {cls.__name__: cls.requires_values for cls in BUILTIN_CHECKS}
    assert needs == {
        "KolmogorovSmirnov": True,
        "PopulationStability": True,
        "Wasserstein": True,
        "JensenShannon": True,
        "ChiSquare": True,
        "MissingShare": False,
        "OutOfRange": False,
        "UnseenCategories": True,
    }
    assert DriftCheck.requires_values is True  # a plugin's default: only on real values


def test_discovery_is_cached_until_the_environment_changes(tmp_path, monkeypatch):
    from importlib import metadata

    calls = []
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    discover()
    discover()
    assert len(calls) <= 1  # the second call is served from the cache
    monkeypatch.syspath_prepend(str(tmp_path))  # a new place to find plugins
    discover()
    assert len(calls) == (2 if calls[:1] else 1)
