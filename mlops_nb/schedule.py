"""Schedules: run a notebook or pipeline on a cron, exactly once per slot.

A schedule keeps an immutable snapshot (by SHA-256) of its notebook, or of
its pipeline file and every notebook the pipeline names, taken when it is
added or updated: what runs is what was approved. Cron expressions are read
in the schedule's IANA time zone; on a DST change a slot in the skipped hour
runs once, right after the change, and a slot in the repeated hour runs once.

:func:`tick` is the whole scheduler: it records every slot that came due
since the schedule's cursor (in one transaction with the cursor, so two
ticks never fire one slot), applies the catch-up policy to slots missed
during downtime — ``none`` (skip them), ``latest`` (run only the newest) or
``all`` — and runs what it claimed, with timeouts, retries with exponential
back-off, and alerts. ``mlops-nb tick`` runs it once (for a system cron
entry), ``mlops-nb scheduler`` in a loop. Skipped slots are recorded with
their reason; nothing is skipped silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import environment
from .errors import InvalidInputError, NotFoundError
from .jsonutil import format_time, jsonable

if TYPE_CHECKING:
    from .store import Store

CATCHUP = ("none", "latest", "all")
OVERLAP = ("queue", "skip")
#: A slot at most this old still counts as on time (catch-up "none" runs it).
GRACE_S = 300.0
#: At most this many slots are considered per schedule and tick.
MAX_SLOTS = 1000
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")


def _now(now: dt.datetime | str | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(now, str):
        from .jsonutil import parse_time

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

    moment = _now(now)
    after = max(moment, dt.datetime.fromisoformat(schedule["cursor"]))
    nxt = next(CronSim(schedule["cron"], after.astimezone(zone(schedule["tz"]))))
    return format_time(nxt)


# -- definitions ------------------------------------------------------------------


def snapshot(store: Store, target: str | Path) -> tuple[str, str, str]:
    """Store what a schedule will run; return (kind, resolved path, SHA-256)."""
    from .runner import read_notebook

    path = Path(target).expanduser()
    if path.suffix in (".yaml", ".yml"):
        from . import pipeline as pipelines

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
    moment = format_time(_now(now))
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
            "updated_at": format_time(_now(now)),
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
        timeout_s = None if timeout in (None, 0) else float(timeout)
        retries_n, backoff_s, limit = int(retries), float(backoff), int(max_concurrent)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"bad schedule option: {exc}") from None
    if retries_n < 0 or backoff_s < 0 or limit < 1 or (timeout_s is not None and timeout_s <= 0):
        raise InvalidInputError(
            "retries and backoff must be >= 0, max_concurrent >= 1, timeout > 0"
        )
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
        changes["cursor"] = format_time(_now(now))
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


# -- ticking ------------------------------------------------------------------------


def plan(
    schedule: dict[str, Any], now: dt.datetime
) -> tuple[list[tuple[str, str, str | None]], str]:
    """Decide the slots due since the cursor: (slot, status, reason) and the new cursor."""
    cursor = dt.datetime.fromisoformat(schedule["cursor"])
    due = fire_times(schedule["cron"], schedule["tz"], cursor, now)
    if not due:
        return [], schedule["cursor"]
    policy = schedule["catchup"]
    decided: list[tuple[str, str | None]] = []
    for i, moment in enumerate(due):
        newest = i == len(due) - 1
        late = (now - moment).total_seconds() > GRACE_S
        if policy == "all" or (policy == "latest" and newest) or (not late and newest):
            decided.append((format_time(moment), None))
        else:
            decided.append(
                (
                    format_time(moment),
                    "missed while the scheduler was not running (catch-up none)"
                    if policy == "none"
                    else "superseded by a newer slot (catch-up latest)",
                )
            )
    active = schedule.get("active", 0)
    out: list[tuple[str, str, str | None]] = []
    for slot_time, why in decided:
        if why is not None:
            out.append((slot_time, "skipped", why))
        elif active >= schedule["max_concurrent"]:
            if schedule["overlap"] == "queue":
                out.append((slot_time, "queued", None))
            else:
                out.append((slot_time, "skipped", "previous run still running (overlap skip)"))
        else:
            out.append((slot_time, "queued", None))
            active += 1
    return out, format_time(due[-1])


def tick(
    store: Store,
    now: dt.datetime | str | None = None,
    *,
    run: bool = True,
    max_workers: int = 2,
    sleep: Any = time.sleep,
) -> list[dict[str, Any]]:
    """Fire whatever is due once; return the slots recorded or started by this tick."""
    moment = _now(now)
    recover(store)
    who = f"{socket.gethostname()}:{os.getpid()}"
    recorded: list[dict[str, Any]] = []
    for schedule in store.list_schedules(enabled_only=True):
        # Cheap look first, on the row just read: most ticks find nothing due.
        # The claim then re-plans inside its write transaction with fresh state.
        if not fire_times(
            schedule["cron"],
            schedule["tz"],
            dt.datetime.fromisoformat(schedule["cursor"]),
            moment,
            limit=1,
        ):
            continue
        recorded.extend(
            store.claim_slots(
                schedule["name"],
                lambda s: plan(s, moment),
                who,
                format_time(moment),
                environment.actor(),
            )
        )
    if not run:
        return recorded
    started = start_queued(store)
    if started:
        execute(store, started, max_workers=max_workers, sleep=sleep)
    ids = sorted({s["id"] for s in [*recorded, *started]})
    return [store.get_slot(i) for i in ids]


def start_queued(store: Store) -> list[dict[str, Any]]:
    """Claim queued slots for running, respecting each schedule's concurrency limit."""
    started = []
    waiting = {s["schedule"] for s in store.slots(status="queued")}
    for schedule in store.list_schedules(enabled_only=True):
        if schedule["name"] not in waiting:
            continue
        while True:
            slot = store.start_queued_slot(
                schedule["name"],
                schedule["max_concurrent"],
                environment.actor(),
                {"run_id": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname()},
            )
            if slot is None:
                break
            started.append(slot)
    return started


def run_now(
    store: Store,
    name: str,
    parameters: dict[str, Any] | None = None,
    now: dt.datetime | str | None = None,
    sleep: Any = time.sleep,
) -> dict[str, Any]:
    """Run a schedule at once (its parameters overridden by ``parameters``)."""
    schedule = store.get_schedule(name)
    moment = format_time(_now(now))
    params = {**schedule["parameters"], **{k: jsonable(v) for k, v in (parameters or {}).items()}}
    slot = store.add_slot(
        {
            "schedule": name,
            "slot": f"now:{moment}:{uuid.uuid4().hex[:8]}",
            "status": "running",
            "claimed_at": moment,
            "claimed_by": f"{socket.gethostname()}:{os.getpid()}",
            "run_id": uuid.uuid4().hex,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "parameters": params,
        },
        environment.actor(),
    )
    execute(store, [slot], sleep=sleep)
    return store.get_slot(slot["id"])


def execute(
    store: Store, slots: list[dict[str, Any]], max_workers: int = 2, sleep: Any = time.sleep
) -> None:
    """Run started slots (each with retries), at most ``max_workers`` at once."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="mlops-nb-slot") as pool:
        list(pool.map(lambda s: _run_slot(store, s, sleep), slots))


def _materialize(store: Store, schedule: dict[str, Any]) -> Path:
    """Write the approved snapshot to ``<store>/schedules/NAME/SHA/`` and return the entry."""
    base = store.home / "schedules" / schedule["name"] / schedule["snapshot_sha256"][:16]
    if schedule["kind"] == "notebook":
        files = {Path(schedule["target"]).name: schedule["snapshot_sha256"]}
        entry = Path(schedule["target"]).name
    else:
        bundle = json.loads(store.get_artifact(schedule["snapshot_sha256"]).decode())
        files, entry = bundle["files"], bundle["pipeline"]
    for rel, sha in files.items():
        target = base / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + f".{uuid.uuid4().hex[:6]}")
            tmp.write_bytes(store.get_artifact(sha))
            os.replace(tmp, target)
    return base / entry


def _run_slot(store: Store, slot: dict[str, Any], sleep: Any) -> None:
    from .executor import StepTask, run_with_retries

    actor = environment.actor()
    schedule = store.get_schedule(slot["schedule"])
    tags = {"schedule": schedule["name"], "slot": slot["slot"]}
    error = None
    try:
        entry = _materialize(store, schedule)
        if schedule["kind"] == "notebook":

            def attempt(run_id: str, n: int) -> None:
                if n > 1:  # the slot always names the run executing now
                    store.update_slot(slot["id"], {"run_id": run_id, "attempts": n}, actor)

            outcome = run_with_retries(
                store,
                StepTask(
                    name=schedule["name"],
                    notebook=entry,
                    parameters=slot["parameters"],
                    timeout=schedule["timeout_s"],
                    retries=schedule["retries"],
                    backoff=schedule["backoff_s"],
                    tags=tags,
                ),
                sleep=sleep,
                first_run_id=slot["run_id"],
                on_attempt=attempt,
            )
            status, run_id, attempts, error = (
                outcome.status,
                outcome.run_id,
                outcome.attempts,
                outcome.error,
            )
        else:
            from . import pipeline as pipelines

            spec = pipelines.load(entry)
            settings = dict(spec.settings)
            if schedule["timeout_s"]:
                settings["timeout"] = schedule["timeout_s"]
            spec = pipelines.Pipeline(**{**spec.__dict__, "settings": settings})
            run = pipelines.run(store, spec, slot["parameters"], run_id=slot["run_id"], tags=tags)
            status, run_id, attempts, error = run.status, run.run_id, 1, run.error
    except Exception as exc:  # a broken snapshot or bad parameters: record, alert, go on
        status, run_id, attempts, error = (
            "failed",
            slot.get("run_id"),
            1,
            f"{type(exc).__name__}: {exc}",
        )
    store.update_slot(
        slot["id"],
        {
            "status": status,
            "run_id": run_id,
            "attempts": attempts,
            "error": error,
            "ended_at": format_time(_now(None)),
        },
        actor,
    )
    if (status != "finished" and schedule["alert_on"] != "never") or (
        status == "finished" and schedule["alert_on"] == "always"
    ):
        _alert(store, schedule, slot, status, run_id, error)


def _alert(
    store: Store,
    schedule: dict[str, Any],
    slot: dict[str, Any],
    status: str,
    run_id: str | None,
    error: str | None,
) -> None:
    from .alerting import raise_alert

    verb = "finished" if status == "finished" else "FAILED"
    message = (
        f"mlops-nb: schedule {schedule['name']} ({schedule['kind']} "
        f"{Path(schedule['target']).name}) slot {slot['slot']} {verb}"
        + (f": {error}" if error else "")
    )
    model = None if schedule["alert_model"] == "*" else schedule["alert_model"]
    raise_alert(
        store,
        "schedule",
        model,
        f"schedule:{schedule['name']}",
        message,
        {
            "schedule": schedule["name"],
            "slot": slot["slot"],
            "status": status,
            "run_id": run_id,
            "error": error,
        },
    )


def recover(store: Store) -> list[int]:
    """Fail and alert slots (and runs) whose process on this host is gone."""
    from .tracking import _alive, recover_orphans

    recover_orphans(store)
    host = socket.gethostname()
    lost = []
    for slot in store.slots(status="running"):
        if slot["host"] == host and slot["pid"] and not _alive(slot["pid"]):
            error = f"orphaned: process {slot['pid']} on {host} ended without finishing"
            store.update_slot(
                slot["id"],
                {"status": "failed", "error": error, "ended_at": format_time(_now(None))},
                environment.actor(),
            )
            try:
                schedule = store.get_schedule(slot["schedule"])
                _alert(store, schedule, slot, "failed", slot["run_id"], error)
            except NotFoundError:
                pass
            lost.append(slot["id"])
    return lost


def cron_line(store: Store) -> str:
    """The crontab entry that ticks this store every minute."""
    import shlex
    import sys

    log = store.home / "logs" / "tick.log"
    return (
        f"* * * * * {shlex.quote(sys.executable)} -m mlops_nb --home "
        f"{shlex.quote(str(store.home))} tick >> {shlex.quote(str(log))} 2>&1"
    )


class Scheduler:
    """The long-running loop behind ``mlops-nb scheduler``.

    Every ``interval`` seconds it ticks without waiting for runs to finish
    (up to ``workers`` at once). The first SIGTERM/SIGINT stops claiming and
    lets running jobs finish (each is bounded by its own timeout); a second
    one exits at once, and the next start marks the abandoned runs failed
    (orphaned) and alerts.
    """

    def __init__(self, store: Store, interval: float = 30.0, workers: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.store = store
        self.interval = interval
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="mlops-nb-slot")
        self.futures: list[Any] = []

    def stop(self, *_: Any) -> None:
        if self.stopping.is_set():
            os._exit(143)  # second signal: do not wait any longer
        self.stopping.set()

    def run_forever(self) -> None:
        import signal

        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        while not self.stopping.is_set():
            self.tick_once()
            self.stopping.wait(self.interval)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def tick_once(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        tick(self.store, now, run=False)
        started = start_queued(self.store)
        self.futures = [f for f in self.futures if not f.done()]
        for slot in started:
            self.futures.append(self.pool.submit(_run_slot, self.store, slot, time.sleep))
        return started
