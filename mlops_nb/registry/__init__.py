"""The model registry: versions, aliases with their full history, gates, model files.

- :mod:`~mlops_nb.registry.names`: model names, aliases and ``NAME@ALIAS`` references;
- :mod:`~mlops_nb.registry.versions`: resolve, promote, roll back, lineage, load;
- :mod:`~mlops_nb.registry.requests`: protected aliases, promotion requests and their approvals;
- :mod:`~mlops_nb.registry.annotations`: a version's description and tags, edited and audited;
- :mod:`~mlops_nb.registry.gates`: promotion conditions such as ``auc>=production``;
- :mod:`~mlops_nb.registry.serialization`: model files, saved and loaded;
- :mod:`~mlops_nb.registry.trust`: which exact types and functions a model file may use.
"""

from __future__ import annotations

from .annotations import annotate
from .names import DEFAULT_ALIAS, check_alias, check_model_name, parse_ref, parse_version
from .versions import (
    alias_histories,
    alias_history,
    holder_stack,
    load_model,
    promote,
    resolve,
    rollback,
    rollback_target,
    which,
)

__all__ = [
    "DEFAULT_ALIAS",
    "alias_histories",
    "alias_history",
    "annotate",
    "check_alias",
    "check_model_name",
    "holder_stack",
    "load_model",
    "parse_ref",
    "parse_version",
    "promote",
    "resolve",
    "rollback",
    "rollback_target",
    "which",
]
