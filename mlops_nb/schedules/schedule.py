"""Schedules: what to run, on which cron, in which time zone, with which policy.

A schedule keeps an immutable snapshot (by SHA-256) of its notebook, or of
its pipeline file and every notebook the pipeline names, taken when it is
added or updated: what runs is what was approved. Cron expressions are read
in the schedule's IANA time zone; on a DST change a slot in the skipped hour
runs once, right after the change, and a slot in the repeated hour runs once.
Firing the slots is :mod:`mlops_nb.schedules.scheduler`'s job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment, limits
from ..errors import InvalidInputError
from ..jsonutil import format_time, jsonable

if TYPE_CHECKING:
    from ..store import Store

CATCHUP = ("none", "latest", "all")
OVERLAP = ("queue", "skip")
#: A slot at most this old still counts as on time (catch-up "none" runs it).
GRACE_S = 300.0
#: At most this many slots are considered per schedule and tick.
MAX_SLOTS = 1000
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")


def to_utc(now: dt.datetime | str | None) -> dt.datetime:
    """An aware UTC datetime from ``None`` (now), an ISO string or a datetime."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(now, str):
        from ..jsonutil import parse_time

        try:
            now = dt.datetime.fromisoformat(parse_time(now))
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc)


def zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"unknown time zone {name!r} (use an IANA name such as "
            "Europe/Berlin or America/New_York)"
        ) from None


def check_cron(expr: str, tz: str = "UTC") -> str:
    """Validate a five-field cron expression; return it normalised."""
    from cronsim import CronSim, CronSimError

    text = " ".join(str(expr).split())
    try:
        CronSim(text, dt.datetime.now(zone(tz)))
    except CronSimError as exc:
        raise InvalidInputError(f"bad cron expression {expr!r}: {exc}") from None
    return text


def fire_times(
    cron: str, tz: str, after: dt.datetime, until: dt.datetime, limit: int = MAX_SLOTS
) -> list[dt.datetime]:
    """Slots in (after, until], in UTC, at most ``limit`` (the newest ones)."""
    from cronsim import CronSim

    times: list[dt.datetime] = []
    for moment in CronSim(cron, after.astimezone(zone(tz))):
        utc = moment.astimezone(dt.timezone.utc)
        if utc > until:
            break
        if utc > after:
            times.append(utc)
            if len(times) > limit:
                times.pop(0)
    return times


def next_run(schedule: dict[str, Any], now: dt.datetime | None = None) -> str | None:
    """The next slot after ``now`` (UTC ISO), ``None`` when paused."""
    if not schedule["enabled"]:
        return None
    from cronsim import CronSim

    moment = to_utc(now)
    after = max(moment, dt.datetime.fromisoformat(schedule["cursor"]))
    nxt = next(CronSim(schedule["cron"], after.astimezone(zone(schedule["tz"]))))
    return format_time(nxt)


# -- definitions ------------------------------------------------------------------


def snapshot(store: Store, target: str | Path) -> tuple[str, str, str]:
    """Store what a schedule will run; return (kind, resolved path, SHA-256)."""
    from ..execution.runner import read_notebook

    path = Path(target).expanduser()
    if path.suffix in (".yaml", ".yml"):
        from ..execution import pipeline as pipelines

        spec = pipelines.load(path)
        root = Path(os.path.commonpath([spec.path.parent, *(n.parent for n in spec.notebooks())]))
        files = {
            str(spec.path.relative_to(root)): store.put_artifact(
                spec.path.read_bytes(), "pipeline", environment.actor()
            )
        }
        for nb in spec.notebooks():
            files[str(nb.relative_to(root))] = store.put_artifact(
                read_notebook(nb)[1], "notebook-input", environment.actor()
            )
        bundle = {"pipeline": str(spec.path.relative_to(root)), "files": files}
        sha = store.put_artifact(
            json.dumps(bundle, sort_keys=True).encode(), "pipeline-bundle", environment.actor()
        )
        return "pipeline", str(spec.path), sha
    nb_path, raw, _ = read_notebook(path)
    return "notebook", str(nb_path), store.put_artifact(raw, "notebook-input", environment.actor())


def add(
    store: Store,
    name: str,
    target: str,
    cron: str,
    *,
    tz: str = "UTC",
    catchup: str = "latest",
    parameters: dict[str, Any] | None = None,
    timeout: float | None = None,
    retries: int = 0,
    backoff: float = 60.0,
    max_concurrent: int = 1,
    overlap: str = "skip",
    alert_on: str = "failure",
    alert_model: str = "*",
    now: dt.datetime | str | None = None,
) -> dict[str, Any]:
    """Define a schedule; its first slot is the first cron time after ``now``."""
    fields = _validated(
        name,
        cron,
        tz,
        catchup,
        parameters,
        timeout,
        retries,
        backoff,
        max_concurrent,
        overlap,
        alert_on,
    )
    kind, path, sha = snapshot(store, target)
    moment = format_time(to_utc(now))
    return store.add_schedule(
        {
            **fields,
            "name": name,
            "kind": kind,
            "target": path,
            "snapshot_sha256": sha,
            "alert_model": alert_model,
            "enabled": 1,
            "created_at": moment,
            "updated_at": moment,
            "cursor": moment,
        },
        environment.actor(),
    )


def update(
    store: Store,
    name: str,
    *,
    target: str | None = None,
    now: dt.datetime | str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Change a schedule and take a new snapshot of what it runs."""
    current = store.get_schedule(name)
    merged = {
        "cron": current["cron"],
        "tz": current["tz"],
        "catchup": current["catchup"],
        "parameters": current["parameters"],
        "timeout": current["timeout_s"],
        "retries": current["retries"],
        "backoff": current["backoff_s"],
        "max_concurrent": current["max_concurrent"],
        "overlap": current["overlap"],
        "alert_on": current["alert_on"],
    }
    merged.update({k: v for k, v in changes.items() if v is not None and k in merged})
    fields = _validated(name, **merged)
    kind, path, sha = snapshot(store, target or current["target"])
    extra = {"alert_model": changes["alert_model"]} if changes.get("alert_model") else {}
    return store.update_schedule(
        name,
        {
            **fields,
            **extra,
            "kind": kind,
            "target": path,
            "snapshot_sha256": sha,
            "updated_at": format_time(to_utc(now)),
        },
        environment.actor(),
    )


def _validated(
    name: str,
    cron: str,
    tz: str,
    catchup: str,
    parameters: Any,
    timeout: Any,
    retries: Any,
    backoff: Any,
    max_concurrent: Any,
    overlap: str,
    alert_on: str,
) -> dict[str, Any]:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(f"schedule name {name!r}: use letters, digits, '.', '_', '-'")
    if catchup not in CATCHUP:
        raise InvalidInputError(f"catch-up must be one of {CATCHUP}, not {catchup!r}")
    if overlap not in OVERLAP:
        raise InvalidInputError(f"overlap must be one of {OVERLAP}, not {overlap!r}")
    if alert_on not in ("failure", "always", "never"):
        raise InvalidInputError("alert_on must be failure, always or never")
    try:
        params = {str(k): jsonable(v) for k, v in (parameters or {}).items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"bad schedule option: {exc}") from None
    # Bounded here, before the snapshot is stored: each lands in an integer
    # column or a timer.
    timeout_s = None if timeout in (None, 0) else limits.seconds(timeout, "timeout")
    retries_n = limits.whole_number(retries, "retries", maximum=limits.MAX_RETRIES)
    backoff_s = limits.seconds(backoff, "backoff", allow_zero=True)
    limit = limits.whole_number(max_concurrent, "max_concurrent", minimum=1)
    return {
        "cron": check_cron(cron, tz),
        "tz": tz,
        "catchup": catchup,
        "parameters": params,
        "timeout_s": timeout_s,
        "retries": retries_n,
        "backoff_s": backoff_s,
        "max_concurrent": limit,
        "overlap": overlap,
        "alert_on": alert_on,
    }


def set_enabled(
    store: Store, name: str, enabled: bool, now: dt.datetime | str | None = None
) -> dict[str, Any]:
    """Pause or resume. Resuming moves the cursor to now: paused slots are not owed."""
    changes: dict[str, Any] = {"enabled": int(enabled)}
    if enabled:
        changes["cursor"] = format_time(to_utc(now))
    return store.update_schedule(
        name,
        changes,
        environment.actor(),
        kind="schedule.resumed" if enabled else "schedule.paused",
    )


def remove(store: Store, name: str) -> None:
    """Disable a schedule for good (its history stays)."""
    store.update_schedule(name, {"enabled": 0}, environment.actor(), kind="schedule.removed")


def listing(store: Store, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Schedules with ``next_run``, ``last_status`` and ``runs`` (how many it fired)."""
    stats = store.slot_stats()
    out = []
    for s in store.list_schedules():
        extra = stats.get(s["name"], {"runs": 0, "last_status": None})
        out.append(
            {
                **s,
                "next_run": next_run(s, now),
                "runs": extra["runs"],
                "last_status": extra["last_status"],
            }
        )
    return out
