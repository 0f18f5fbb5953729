"""Drift checks of what a model served: its prediction log against the version's profile.

:func:`check_log` reads the rows a version answered (the prediction log,
served requests and scored batches alike) and checks them as
:func:`~mlops_nb.monitoring.monitor.check_drift` checks a file: the logged
inputs against the version's reference profile, the logged outputs
against its outputs on the training data, and, where feedback gave a
label, realised performance against the training-time metrics. The check
is recorded, alerts and fires the retrain trigger like any other.

A *monitor* is a schedule of kind ``monitor``: on each slot of its cron it
runs :func:`check_log` over the window before the slot, through the same
scheduler (catch-up, overlap, alerts on failure) as notebooks and
pipelines. What it checks (model, alias, window) is stored with the
schedule as an immutable snapshot, like a notebook's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import InvalidInputError, NotFoundError
from ..jsonutil import format_time, parse_time
from ..text import LABEL_LIMIT

if TYPE_CHECKING:
    from ..store import Store
    from .drift.report import DriftReport

#: The schedule kind of a monitor.
KIND = "monitor"
#: The artifact kind of a monitor's snapshot.
SPEC_KIND = "monitor-spec"


def check_log(
    store: Store,
    ref: str,
    *,
    since: str | dt.datetime | None = None,
    until: str | dt.datetime | None = None,
    batch: str | None = None,
    record: bool = True,
    alert: bool = True,
    trigger: bool = True,
    trusted: list[str] | tuple[str, ...] = (),
    allow_pickle: bool = False,
) -> DriftReport:
    """Check what version ``ref`` (``NAME[@ALIAS|:VERSION]``) answered, from its prediction log.

    Parameters
    ----------
    since, until
        The window of the log (``since`` also takes ``7d``, ``12h``...;
        see :func:`~mlops_nb.serving.reader.since_time`). Default: all of it.
    batch
        The label of the check; default: the window it covers.
    record, alert, trigger, trusted, allow_pickle
        As for :func:`~mlops_nb.monitoring.monitor.check_drift`.

    Raises
    ------
    NotFoundError
        No such model or alias, or no prediction of that version is logged
        in the window (nothing is recorded then).
    """
    import pandas as pd

    from .. import registry
    from ..serving.reader import META_COLUMNS, predictions, since_time
    from .monitor import check_drift, load_profile

    version = registry.resolve(store, ref)
    profile = load_profile(store, version)
    start = since_time(since)
    frame = predictions(store, version.model, since=start, until=until, version=version.version)
    where = f"{version.model}:{version.version}"
    if frame.empty:
        window = f" since {start}" if start else ""
        window += f" up to {parse_time(until)}" if until is not None else ""
        raise NotFoundError(f"no prediction of {where} is logged{window}: nothing to check")
    policy = store.log_policy(version.model) or {}
    hidden = {*policy.get("mask_columns", []), *policy.get("hash_columns", [])}
    data = pd.DataFrame(index=frame.index)
    for column in profile.features():
        logged = column.name if column.name not in META_COLUMNS else f"input.{column.name}"
        if logged in frame.columns and column.name not in hidden:
            data[column.name] = frame[logged]
    labels, ignored = _labels(frame)
    requests = frame["request_id"].nunique()
    notes = [f"from the prediction log: {len(frame)} rows of {requests} requests"]
    skipped = sorted(hidden & {c.name for c in profile.features()})
    if skipped:
        notes.append(f"not checked, masked or hashed in the log: {', '.join(skipped)}")
    if ignored:
        notes.append(
            f"{ignored} labels of requests with several rows not used for performance "
            "(a label is given per request)"
        )
    first, last = format_time(frame["at"].iloc[0]), format_time(frame["at"].iloc[-1])
    return check_drift(
        store,
        where,
        data,
        predictions=_outputs(frame),
        target=labels,
        batch=batch or f"log {first} to {last}"[:LABEL_LIMIT],
        record=record,
        alert=alert,
        trigger=trigger,
        trusted=trusted,
        allow_pickle=allow_pickle,
        notes=notes,
        skip=skipped,
    )


def _outputs(frame: Any) -> Any:
    """The logged outputs as the profile has them (see ``drift.profile.model_outputs``)."""
    import numpy as np

    if "probabilities" in frame.columns:
        widths = frame["probabilities"].map(len)
        if len(widths) and (widths == 2).all():
            return np.asarray([p[1] for p in frame["probabilities"]], dtype=float)
        return frame["prediction"].astype(str).to_numpy()
    values = frame["prediction"]
    if values.dtype.kind in "fiu":
        return values.astype(float).to_numpy()
    return values.astype(str).to_numpy()


def _labels(frame: Any) -> tuple[Any, int]:
    """Feedback labels of single-row requests (``None`` when there are none) and how many
    labels were left out because their request held several rows."""
    import pandas as pd

    if "label" not in frame.columns or frame["label"].isna().all():
        return None, 0
    rows = frame.groupby("request_id")["row"].transform("size")
    given = frame["label"].notna()
    labels = frame["label"].where(rows == 1)
    ignored = int(frame.loc[given & (rows > 1), "request_id"].nunique())
    if labels.isna().all():
        return None, ignored
    return pd.Series(labels.to_numpy(), name="label"), ignored


# -- monitors: a check of the log on a cron ------------------------------------------------


def add_monitor(
    store: Store,
    model: str,
    cron: str,
    *,
    alias: str = "production",
    window: str | float = "7d",
    name: str | None = None,
    tz: str = "UTC",
    catchup: str = "latest",
    alert_on: str = "failure",
    now: dt.datetime | str | None = None,
) -> dict[str, Any]:
    """Schedule a check of ``model@alias``'s log over the ``window`` before each slot.

    The schedule is named ``name`` (default ``monitor-MODEL``) and listed
    with every other; its failure (no predictions logged in the window, a
    model that cannot be loaded) alerts on ``model``'s channels, and the
    check's own alarm alerts as every drift check does.
    """
    from ..registry.names import check_model_name
    from ..schedules import schedule as schedules
    from .retrain import parse_duration

    model = check_model_name(model)
    store.latest_version(model)  # NotFoundError for an unknown model
    if not isinstance(alias, str) or not alias or "@" in alias or ":" in alias:
        raise InvalidInputError(f"alias must be a plain name such as production, not {alias!r}")
    window_s = parse_duration(window, "window")
    if window_s <= 0:
        raise InvalidInputError("window must be longer than zero, e.g. 7d")
    name = name or f"monitor-{model}"[:64]
    fields = schedules.validated(name, cron, tz, catchup, {}, None, 0, 60.0, 1, "skip", alert_on)
    spec = {"model": model, "alias": alias, "window_s": window_s}
    sha = store.put_artifact(
        json.dumps(spec, sort_keys=True).encode(), SPEC_KIND, environment.actor()
    )
    moment = format_time(schedules.to_utc(now))
    return store.add_schedule(
        {
            **fields,
            "name": name,
            "kind": KIND,
            "target": f"{model}@{alias}",
            "snapshot_sha256": sha,
            "alert_model": model,
            "enabled": 1,
            "created_at": moment,
            "updated_at": moment,
            "cursor": moment,
        },
        environment.actor(),
    )


def spec_of(store: Store, schedule: dict[str, Any]) -> dict[str, Any]:
    """What a monitor schedule checks: ``model``, ``alias``, ``window_s``."""
    return dict(json.loads(store.get_artifact(schedule["snapshot_sha256"]).decode()))


def run_monitor(store: Store, schedule: dict[str, Any], slot: dict[str, Any]) -> DriftReport:
    """One slot of a monitor: check the window of the log that ends at the slot's time."""
    from ..schedules.schedule import to_utc
    from ..store import faults

    faults.point("monitor", 1)
    spec = spec_of(store, schedule)
    # A cron slot is its own time, so a caught-up slot checks its own week;
    # a run-now slot ("now:<time>:<id>") checks the window before it ran.
    when = slot["slot"]
    if when.startswith("now:"):
        when = when.split(":", 1)[1].rsplit(":", 1)[0]
    end = to_utc(when)
    start = end - dt.timedelta(seconds=spec["window_s"])
    report = check_log(
        store,
        f"{spec['model']}@{spec['alias']}",
        since=format_time(start),
        until=format_time(end),
        batch=f"monitor {schedule['name']} {format_time(start)} to {format_time(end)}",
    )
    faults.point("monitor", 2)
    return report
