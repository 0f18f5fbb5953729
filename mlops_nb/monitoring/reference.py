"""Which profile a drift check compares a batch with, and the batch's own profile.

A version is checked against the profile stored when it was tracked, until a
person accepts a checked batch as the new normal (an alert resolved with
``rebaseline``, see :mod:`mlops_nb.monitoring.inbox`): from then on against
that batch's profile, kept as an artifact of its own beside the training
profile, which is never overwritten. Each report names the reference it used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..jsonutil import loads, utcnow
from .drift.profile import ColumnProfile, Profile, profile_column

if TYPE_CHECKING:
    from ..records import ModelVersion
    from ..store import Store


def reference_profile(store: Store, version: ModelVersion) -> tuple[Profile, dict[str, Any]]:
    """The profile later checks of ``version`` compare with, and what it is.

    The training profile, unless a person accepted a checked batch as the new
    normal (an alert resolved with ``rebaseline``): then that batch's profile,
    kept beside the training one, which is never overwritten.
    """
    accepted = store.get_drift_reference(version.model, version.version)
    from .monitor import _PROFILES, load_profile

    if accepted is None:
        return load_profile(store, version), {
            "kind": "training",
            "profile_sha256": version.profile_sha256,
        }
    key = (str(store.home), store.artifacts_url, accepted["profile_sha256"])
    found = _PROFILES.get(key)
    if found is None:
        raw = store.get_artifact(accepted["profile_sha256"])
        found = _PROFILES.put(key, Profile.from_json(loads(raw.decode())))
    return found, {
        "kind": "accepted",
        "profile_sha256": accepted["profile_sha256"],
        "check_id": accepted["check_id"],
        "alert_id": accepted["alert_id"],
        "accepted_at": accepted["at"],
        "accepted_by": accepted["actor"],
        "training_profile_sha256": version.profile_sha256,
    }


#: Rows of a batch profiled for a possible ``rebaseline`` when the check's own
#: sketches are not at hand. Profiling sorts each column; a uniform sample of this
#: many rows gives the 256-point sketch to within about a third of a percentile.
BATCH_PROFILE_ROWS = 20_000


def batch_profile(
    reference: Profile,
    inputs: Any,
    predictions: Any,
    target: Any,
    max_rows: int = BATCH_PROFILE_ROWS,
    sketches: dict[str, ColumnProfile] | None = None,
) -> Profile:
    """The checked batch profiled as the reference is (same columns, kinds and
    weights), so it can become the reference itself. A column the batch lacks
    (labels not given yet) keeps its reference sketch.

    ``sketches`` are the batch's own column sketches a drift check made from
    its sorts and counts (:func:`~mlops_nb.monitoring.drift.engine.check_frame`):
    then the whole batch is described, at the cost of profiling only the
    columns the check left without one (datetimes, a reference column with
    no values). Without them, a batch of more than ``max_rows`` rows is
    profiled from a uniform sample of that many (a fixed seed, rows kept in
    order). The profile counts the rows it was made from."""
    import pandas as pd

    if sketches is None and len(inputs) > max_rows:
        keep = np.sort(np.random.default_rng(0).choice(len(inputs), max_rows, replace=False))
        inputs = inputs.iloc[keep]
        predictions = None if predictions is None else np.asarray(predictions)[keep]
        target = None if target is None else np.asarray(target)[keep]
    sketches = sketches or {}
    columns = {}
    for name, ref in reference.columns.items():
        values: Any = None
        if ref.role == "feature" and name in inputs.columns:
            values = inputs[name]
        elif ref.role == "prediction" and predictions is not None:
            values = pd.Series(np.asarray(predictions))
        elif ref.role == "target" and target is not None:
            values = pd.Series(np.asarray(target))
        if values is None or len(values) == 0:
            columns[name] = ref
        elif name in sketches:
            columns[name] = sketches[name]
        else:
            columns[name] = profile_column(values.reset_index(drop=True), name, ref.role, ref.kind)
    return Profile(
        rows=len(inputs),
        columns=columns,
        created_at=utcnow(),
        importance=dict(reference.importance),
        task=reference.task,
    )
