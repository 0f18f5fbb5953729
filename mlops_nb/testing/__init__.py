"""Model tests: a suite run against one model version, recorded, usable in gates.

- :mod:`~mlops_nb.testing.suite`: YAML suites of built-in checks, and their data;
- :mod:`~mlops_nb.testing.checks`: the built-in checks (metrics, slices,
  invariance, direction, latency, size, schema);
- :mod:`~mlops_nb.testing.metrics`: the metrics they compute;
- :mod:`~mlops_nb.testing.notebook`: test notebooks run by papermill;
- :mod:`~mlops_nb.testing.runner`: :func:`run_suite`, which runs either kind
  and records a :class:`~mlops_nb.records.ModelTest` against the version.

The gate term ``tests`` (:mod:`mlops_nb.registry.gates`) reads the newest
recorded test of the candidate version.
"""

from __future__ import annotations

from .runner import run_suite

__all__ = ["run_suite"]
