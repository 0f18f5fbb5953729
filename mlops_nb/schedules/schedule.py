"""Schedules: what to run, on which cron, in which time zone, with which policy.

A schedule keeps an immutable snapshot (by SHA-256) of its notebook, or of
its pipeline file and every notebook the pipeline names, taken when it is
added or updated: what runs is what was approved. Its cron is read in its
IANA time zone by :mod:`mlops_nb.schedules.cron`; firing the slots is
:mod:`mlops_nb.schedules.scheduler`'s job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment, limits
from ..errors import InvalidInputError
from ..jsonutil import format_time
from .cron import (  # noqa: F401  (names callers take from the schedule module)
    check_cron,
    describe_cron,
    fire_times,
    to_utc,
    upcoming,
    zone,
)

if TYPE_CHECKING:
    from ..store import Store

CATCHUP = ("none", "latest", "all")
OVERLAP = ("queue", "skip")
#: A slot at most this old still counts as on time (catch-up "none" runs it).
GRACE_S = 300.0
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")


def next_run(schedule: dict[str, Any], now: dt.datetime | None = None) -> str | None:
    """The next slot after ``now`` (UTC ISO); ``None`` when paused or past year 9999."""
    if not schedule["enabled"]:
        return None
    after = max(to_utc(now), dt.datetime.fromisoformat(schedule["cursor"]))
    found = upcoming(schedule["cron"], schedule["tz"], after, 1)
    return found[0] if found else None


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
    actor: str | None = None,
) -> dict[str, Any]:
    """Define a schedule; its first slot is the first cron time after ``now``.

    ``actor`` is who the audit log names (default: this process's user).
    """
    fields = validated(
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
    watcher = checked_alert_model(alert_model)
    kind, path, sha = snapshot(store, target)
    moment = format_time(to_utc(now))
    return store.add_schedule(
        {
            **fields,
            "name": name,
            "kind": kind,
            "target": path,
            "snapshot_sha256": sha,
            "alert_model": watcher,
            "enabled": 1,
            "created_at": moment,
            "updated_at": moment,
            "cursor": moment,
        },
        actor or environment.actor(),
    )


def update(
    store: Store,
    name: str,
    *,
    target: str | None = None,
    now: dt.datetime | str | None = None,
    actor: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Change a schedule and take a new snapshot of what it runs.

    A change left out or ``None`` keeps the current setting.
    """
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
    fields = validated(name, **merged)
    extra = (
        {"alert_model": checked_alert_model(changes["alert_model"])}
        if changes.get("alert_model") is not None
        else {}
    )
    if current["kind"] == "monitor":
        # a monitor checks a model's log: there is no file to snapshot again
        if target is not None:
            raise InvalidInputError(
                f"schedule {name} is a monitor of {current['target']}: remove it and add "
                "another to check something else"
            )
        kind, path, sha = current["kind"], current["target"], current["snapshot_sha256"]
    else:
        kind, path, sha = snapshot(store, target or current["target"])
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
        actor or environment.actor(),
    )


@contextlib.contextmanager
def about(field: str) -> Iterator[None]:
    """Name ``field`` on an :class:`InvalidInputError` raised in the block (if none is named)."""
    try:
        yield
    except InvalidInputError as exc:
        if exc.field is None:
            exc.field = field
        raise


def validated(
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
    """A schedule's settings checked and in their stored form (every kind shares them).

    Each :class:`InvalidInputError` names the argument it is about in ``field``.
    """
    from ..execution.runner import check_parameters

    with about("name"):
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInputError(f"schedule name {name!r}: use letters, digits, '.', '_', '-'")
    with about("catchup"):
        if catchup not in CATCHUP:
            raise InvalidInputError(f"catch-up must be one of {CATCHUP}, not {catchup!r}")
    with about("overlap"):
        if overlap not in OVERLAP:
            raise InvalidInputError(f"overlap must be one of {OVERLAP}, not {overlap!r}")
    with about("alert_on"):
        if alert_on not in ("failure", "always", "never"):
            raise InvalidInputError("alert_on must be failure, always or never")
    with about("parameters"):
        # papermill assigns each one to a variable: names must be identifiers
        params = check_parameters(parameters)
    # Bounded here, before the snapshot is stored: each lands in an integer
    # column or a timer.
    with about("timeout"):
        # 0 is "no limit"; False == 0 in Python, but a bool is no number of seconds
        none = timeout is None or (type(timeout) in (int, float) and timeout == 0)
        timeout_s = None if none else limits.seconds(timeout, "timeout")
    with about("retries"):
        retries_n = limits.whole_number(retries, "retries", maximum=limits.MAX_RETRIES)
    with about("backoff"):
        backoff_s = limits.seconds(backoff, "backoff", allow_zero=True)
    with about("max_concurrent"):
        limit = limits.whole_number(max_concurrent, "max_concurrent", minimum=1)
    with about("tz"):
        zone(tz)
    with about("cron"):
        text = check_cron(cron, tz)
    return {
        "cron": text,
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


def checked_alert_model(value: Any) -> str:
    """Whose alert channels a schedule uses: a model's name, or ``*`` for every model's."""
    from ..registry.names import check_model_name

    with about("alert_model"):
        return "*" if value == "*" else check_model_name(value)


def set_enabled(
    store: Store,
    name: str,
    enabled: bool,
    now: dt.datetime | str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Pause or resume. Resuming moves the cursor to now: paused slots are not owed."""
    changes: dict[str, Any] = {"enabled": int(enabled)}
    if enabled:
        changes["cursor"] = format_time(to_utc(now))
    return store.update_schedule(
        name,
        changes,
        actor or environment.actor(),
        kind="schedule.resumed" if enabled else "schedule.paused",
    )


def remove(
    store: Store, name: str, now: dt.datetime | str | None = None, actor: str | None = None
) -> dict[str, Any]:
    """Delete a schedule: it never fires again and its name is free; return what it was.

    Its slots and every event stay (the audit log records the removal); a
    slot still queued is recorded as skipped. Refused with
    :class:`~mlops_nb.errors.ConflictError` while a slot runs: cancel it or
    let it end first.
    """
    return store.delete_schedule(name, actor or environment.actor(), format_time(to_utc(now)))


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
