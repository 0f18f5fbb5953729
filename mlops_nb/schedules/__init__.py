"""Scheduled notebooks and pipelines.

- :mod:`~mlops_nb.schedules.schedule`: schedules, their cron and catch-up rules;
- :mod:`~mlops_nb.schedules.scheduler`: the tick that claims due slots exactly once.
"""
