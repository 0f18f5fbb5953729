"""Recording training runs and what they were made from.

- :mod:`~mlops_nb.tracking.recorder`: :func:`track` and the run it opens;
- :mod:`~mlops_nb.tracking.fingerprint`: full-content hashes and schemas of data;
- :mod:`~mlops_nb.tracking.context`: what a kernel knows about the notebook it runs.
"""

from __future__ import annotations

from .recorder import (
    ActiveRun,
    as_number,
    check_data,
    check_estimator,
    current_run,
    finite_metrics,
    record_value,
    recover_orphans,
    track,
)

__all__ = [
    "ActiveRun",
    "as_number",
    "check_data",
    "check_estimator",
    "current_run",
    "finite_metrics",
    "record_value",
    "recover_orphans",
    "track",
]
