"""Executing notebooks and pipelines, and keeping what they did.

- :mod:`~mlops_nb.execution.runner`: one notebook through papermill, kept as an audit artifact;
- :mod:`~mlops_nb.execution.pipeline`: steps that pass values along, with gates and retries;
- :mod:`~mlops_nb.execution.executor`: where a run executes (this machine, or a cluster
  through :mod:`~mlops_nb.execution.dask_executor`);
- :mod:`~mlops_nb.execution.report`: an executed notebook as a self-contained HTML report.
"""
