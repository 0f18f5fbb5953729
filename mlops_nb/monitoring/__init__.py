"""Watching models after training: drift checks, alerts and retraining.

- :mod:`~mlops_nb.monitoring.drift`: reference profiles and the statistics that compare
  a batch with them (no store needed);
- :mod:`~mlops_nb.monitoring.monitor`: a check against a registered version, recorded;
- :mod:`~mlops_nb.monitoring.alerting`: channels and delivered alerts;
- :mod:`~mlops_nb.monitoring.retrain`: a retrain notebook started by an alarming check.
"""
