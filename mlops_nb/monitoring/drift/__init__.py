"""Drift monitoring: reference profiles, checks, reports.

The statistics live here and import nothing from the store; recording,
alerting and retraining live in :mod:`mlops_nb.monitoring.monitor`.
"""

from .checks import (
    BUILTIN_CHECKS,
    CheckResult,
    ChiSquare,
    DriftCheck,
    JensenShannon,
    KolmogorovSmirnov,
    MissingShare,
    OutOfRange,
    PopulationStability,
    UnseenCategories,
    Wasserstein,
    default_checks,
)
from .engine import check_frame
from .profile import ColumnProfile, Profile, profile
from .report import ColumnResult, DataQuality, DriftReport, QualityIssue

__all__ = [
    "BUILTIN_CHECKS",
    "CheckResult",
    "ChiSquare",
    "ColumnProfile",
    "ColumnResult",
    "DataQuality",
    "DriftCheck",
    "DriftReport",
    "JensenShannon",
    "KolmogorovSmirnov",
    "MissingShare",
    "OutOfRange",
    "PopulationStability",
    "Profile",
    "QualityIssue",
    "UnseenCategories",
    "Wasserstein",
    "check_frame",
    "default_checks",
    "profile",
]
