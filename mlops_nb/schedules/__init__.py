"""Scheduled notebooks and pipelines.

- :mod:`~mlops_nb.schedules.cron`: cron expressions, their time zone, words and slots;
- :mod:`~mlops_nb.schedules.schedule`: schedules and their catch-up, retry and alert rules;
- :mod:`~mlops_nb.schedules.scheduler`: the tick that claims due slots exactly once.
"""
