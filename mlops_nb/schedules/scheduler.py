"""Firing schedules: exactly once per slot, with catch-up, retries and alerts.

:func:`tick` is the whole scheduler: it records every slot that came due
since a schedule's cursor (in one transaction with the cursor, so two ticks
never fire one slot), applies the catch-up policy to slots missed during
downtime — ``none`` (skip them), ``latest`` (run only the newest) or ``all``
(run each, one after another in slot order as the concurrency limit allows)
— and runs what it claimed, with timeouts, retries with exponential
back-off, and alerts. The overlap policy (``skip`` or ``queue``) applies
to runs started before, never to slots of the same backlog. ``mlops-nb
tick`` runs it once (for a system cron entry), ``mlops-nb scheduler`` in a
loop (:class:`Scheduler`). Skipped slots are recorded with their reason;
nothing is skipped silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import ConflictError, NotFoundError
from ..jsonutil import format_time
from ..store import faults
from .schedule import GRACE_S, fire_times, to_utc

if TYPE_CHECKING:
    from ..execution.executor import ExecutorFactory
    from ..store import Store


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
    # The overlap policy is about work started before this claim (by an
    # earlier tick or another process). Slots decided here are one backlog:
    # they are all queued and start one after another, in slot order, as the
    # concurrency limit allows (see start_queued), rather than blocking on
    # the first of themselves.
    busy = schedule.get("active", 0) >= schedule["max_concurrent"]
    out: list[tuple[str, str, str | None]] = []
    for slot_time, why in decided:
        if why is not None:
            out.append((slot_time, "skipped", why))
        elif busy and schedule["overlap"] == "skip":
            out.append((slot_time, "skipped", "previous run still running (overlap skip)"))
        else:
            out.append((slot_time, "queued", None))
    return out, format_time(due[-1])


def tick(
    store: Store,
    now: dt.datetime | str | None = None,
    *,
    run: bool = True,
    max_workers: int = 2,
    sleep: Any = time.sleep,
    make_executor: ExecutorFactory | None = None,
) -> list[dict[str, Any]]:
    """Fire whatever is due once; return the slots recorded or started by this tick.

    ``make_executor`` runs the started slots elsewhere (e.g. on a Dask cluster).
    """
    moment = to_utc(now)
    recover(store)
    _expire_logs(store, moment)
    _send_digests(store, moment)
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
    started = drain(store, max_workers=max_workers, sleep=sleep, make_executor=make_executor)
    ids = sorted({s["id"] for s in [*recorded, *started]})
    return [store.get_slot(i) for i in ids]


def _expire_logs(store: Store, moment: dt.datetime) -> None:
    """Delete prediction log batches past their model's retention; a failure alerts and the
    tick goes on (the next tick tries again)."""
    from ..serving.privacy import expire

    try:
        expire(store, moment)
    except Exception as exc:
        from ..monitoring.alerting import raise_alert

        message = f"mlops-nb: prediction log retention failed: {type(exc).__name__}: {exc}"
        raise_alert(store, "retention", None, "retention", message[:1000], {})


def _send_digests(store: Store, moment: dt.datetime) -> None:
    """Send the alert channels' digests now due (see :mod:`mlops_nb.monitoring.digest`);
    a failure alerts and the tick goes on (the next tick tries again)."""
    from ..monitoring.digest import send_due

    try:
        send_due(store, moment)
    except Exception as exc:
        from ..monitoring.alerting import raise_alert

        message = f"mlops-nb: sending digests failed: {type(exc).__name__}: {exc}"
        raise_alert(store, "digest", None, "digest", message[:1000], {})


def drain(
    store: Store,
    max_workers: int = 2,
    sleep: Any = time.sleep,
    make_executor: ExecutorFactory | None = None,
) -> list[dict[str, Any]]:
    """Run queued slots until none can start; return the slots this call started.

    Each time a run ends the next queued slot of any schedule is started if
    its limit allows, so a backlog is worked off one slot after another
    within one ``tick``. Another process may start some of them first: each
    start is claimed in a write transaction, so none runs twice.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    started: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="mlops-nb-slot") as pool:
        pending: set[Any] = set()
        while True:
            for slot in start_queued(store):
                started.append(slot)
                pending.add(pool.submit(_run_slot, store, slot, sleep, make_executor))
            if not pending:
                return started
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a slot's own failure is recorded; this is the store's


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
    make_executor: ExecutorFactory | None = None,
) -> dict[str, Any]:
    """Run a schedule at once (its parameters overridden by ``parameters``); wait for it."""
    slot = claim_now(store, name, parameters, now)
    run_claimed(store, slot, sleep=sleep, make_executor=make_executor)
    return store.get_slot(slot["id"])


def claim_now(
    store: Store,
    name: str,
    parameters: dict[str, Any] | None = None,
    now: dt.datetime | str | None = None,
    *,
    within_limit: bool = False,
) -> dict[str, Any]:
    """Claim a slot of ``name`` for running now, outside its cron plan: the slot to run.

    The slot is recorded as running before anything executes, under a key of
    its own, so no tick claims it and it runs once: by whoever passes it to
    :func:`run_claimed`. With ``within_limit`` it is refused while the
    schedule already runs as many slots as ``max_concurrent`` allows (a
    second click on *Run now* starts nothing); the count and the claim are
    one transaction.

    Raises
    ------
    NotFoundError
        No schedule ``name``.
    InvalidInputError
        Bad parameters, before anything is recorded.
    ConflictError
        ``within_limit`` and the schedule is running at its limit.
    """
    from ..execution.runner import check_parameters

    schedule = store.get_schedule(name)
    moment = format_time(to_utc(now))
    # Checked before the slot is claimed: bad parameters leave no failed slot behind.
    params = {**schedule["parameters"], **check_parameters(parameters)}
    with store.transaction():
        if within_limit:
            running = store.slots(name, status="running")
            if len(running) >= schedule["max_concurrent"]:
                raise ConflictError(
                    f"schedule {name} is running already (slot {running[0]['id']}, run "
                    f"{(running[0]['run_id'] or '')[:12]}): wait for it or cancel it"
                )
        return store.add_slot(
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


def run_claimed(
    store: Store,
    slot: dict[str, Any],
    sleep: Any = time.sleep,
    make_executor: ExecutorFactory | None = None,
) -> dict[str, Any]:
    """Run a slot claimed by :func:`claim_now` (with its retries and alerts); its final state."""
    _run_slot(store, slot, sleep, make_executor)
    return store.get_slot(slot["id"])


def execute(
    store: Store,
    slots: list[dict[str, Any]],
    max_workers: int = 2,
    sleep: Any = time.sleep,
    make_executor: ExecutorFactory | None = None,
) -> None:
    """Run started slots (each with retries), at most ``max_workers`` at once."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, max_workers), thread_name_prefix="mlops-nb-slot") as pool:
        list(pool.map(lambda s: _run_slot(store, s, sleep, make_executor), slots))


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


def _run_slot(
    store: Store,
    slot: dict[str, Any],
    sleep: Any,
    make_executor: ExecutorFactory | None = None,
) -> None:
    """Run one started slot; ``make_executor`` (e.g. a Dask one) or here, in this process."""
    from ..execution.executor import StepTask, run_with_retries

    faults.point("slot", 2)
    actor = environment.actor()
    schedule = store.get_schedule(slot["schedule"])
    tags = {"schedule": schedule["name"], "slot": slot["slot"]}
    error = None
    try:
        if schedule["kind"] == "monitor":
            from ..monitoring.served import run_monitor

            # a check that alarms is still a slot done: the check alerts and retrains itself
            run_monitor(store, schedule, slot)
            status, run_id, attempts = "finished", None, 1
        elif schedule["kind"] == "notebook":
            entry = _materialize(store, schedule)

            def attempt(run_id: str, n: int) -> None:
                if n > 1:  # the slot always names the run executing now
                    store.update_slot(slot["id"], {"run_id": run_id, "attempts": n}, actor)

            task = StepTask(
                name=schedule["name"],
                notebook=entry,
                parameters=slot["parameters"],
                timeout=schedule["timeout_s"],
                retries=schedule["retries"],
                backoff=schedule["backoff_s"],
                tags=tags,
            )
            if make_executor is None:
                outcome = run_with_retries(
                    store,
                    task,
                    sleep=sleep,
                    first_run_id=slot["run_id"],
                    on_attempt=attempt,
                )
            else:
                outcome = make_executor(1).run(
                    store, task, run_id=slot["run_id"], on_attempt=attempt
                )
            status, run_id, attempts, error = (
                outcome.status,
                outcome.run_id,
                outcome.attempts,
                outcome.error,
            )
        else:
            from ..execution import pipeline as pipelines

            entry = _materialize(store, schedule)
            spec = pipelines.load(entry)
            settings = dict(spec.settings)
            if schedule["timeout_s"]:
                settings["timeout"] = schedule["timeout_s"]
            spec = pipelines.Pipeline(**{**spec.__dict__, "settings": settings})
            executor = make_executor(int(settings["max_parallel"])) if make_executor else None
            run = pipelines.run(
                store,
                spec,
                slot["parameters"],
                executor=executor,
                run_id=slot["run_id"],
                tags=tags,
            )
            status, run_id, attempts, error = run.status, run.run_id, 1, run.error
    except Exception as exc:  # a broken snapshot or bad parameters: record, alert, go on
        status, run_id, attempts, error = (
            "failed",
            slot.get("run_id"),
            1,
            f"{type(exc).__name__}: {exc}",
        )
    faults.point("slot", 3)
    from ..execution.cancel import lookup

    cancellation = lookup(slot["run_id"])
    cancelled = cancellation is not None and cancellation.cancelled and status != "finished"
    if cancelled:
        error = cancellation.reason  # type: ignore[union-attr]
    store.update_slot(
        slot["id"],
        {
            "status": status,
            "run_id": run_id,
            "attempts": attempts,
            "error": error,
            "ended_at": format_time(to_utc(None)),
        },
        actor,
    )
    # A run someone cancelled is no news to them: no alert.
    if (status != "finished" and schedule["alert_on"] != "never" and not cancelled) or (
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
    from ..monitoring.alerting import raise_alert

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
    from ..environment import process_alive
    from ..tracking.recorder import recover_orphans

    recover_orphans(store)
    host = socket.gethostname()
    lost = []
    for slot in store.slots(status="running"):
        if slot["host"] == host and slot["pid"] and not process_alive(slot["pid"]):
            error = f"orphaned: process {slot['pid']} on {host} ended without finishing"
            store.update_slot(
                slot["id"],
                {"status": "failed", "error": error, "ended_at": format_time(to_utc(None))},
                environment.actor(),
            )
            try:
                schedule = store.get_schedule(slot["schedule"])
                _alert(store, schedule, slot, "failed", slot["run_id"], error)
            except NotFoundError:
                pass
            lost.append(slot["id"])
    return lost


#: The environment cron gives a job (crontab(5)), besides ``LOGNAME``.
CRON_PATH = "/usr/bin:/bin"


def cron_line(store: Store) -> str:
    """The crontab entry that ticks this store every minute.

    Cron runs the line with ``/bin/sh`` in its working directory ``HOME``
    and a bare environment (``PATH=/usr/bin:/bin``, ``HOME``, ``SHELL``), so
    the line names everything itself: this Python by its absolute path, the
    folder holding mlops_nb when that Python would not find this copy by
    itself, the store's folder, and its database and artifact locations
    unless the folder's ``config.yaml`` gives them. Output is appended to
    ``<home>/logs/tick.log``, whose folder the line creates, and ``%`` is
    escaped as crontab(5) requires.

    Raises
    ------
    InvalidInputError
        When the line cannot be written safely: a location with a line
        break, or a database or artifact URL that carries a password
        (``config.yaml``, ``~/.pgpass`` or the provider's own credentials
        keep it off the command line).
    """
    import shlex

    from ..errors import InvalidInputError
    from ..store.artifacts import redact_url
    from ..store.location import ENV_ARTIFACTS, mask_url, normalize_db_url, read_config

    exe = _python()
    config = read_config(store.home)
    env: dict[str, str] = {}
    words = [exe, "-m", "mlops_nb", "--home", str(store.home)]
    if store.db_url and (
        not config.get("db_url") or normalize_db_url(config["db_url"]) != store.db_url
    ):
        if mask_url(store.db_url) != store.db_url:
            raise InvalidInputError(
                f"the database URL {mask_url(store.db_url)} holds a password, which a crontab "
                "line would show to anyone who can read it: keep the password in ~/.pgpass "
                f"or put the URL in {store.home / 'config.yaml'} (mlops-nb init --db-url URL)"
            )
        words += ["--db-url", store.db_url]
    if store.artifacts_url and config.get("artifacts") != store.artifacts_url:
        if redact_url(store.artifacts_url) != store.artifacts_url:
            raise InvalidInputError(
                f"the artifact URL {redact_url(store.artifacts_url)} holds credentials, which a "
                "crontab line would show: leave them to the provider's own configuration"
            )
        env[ENV_ARTIFACTS] = store.artifacts_url
    package_root = _package_root_if_hidden(exe)
    if package_root is not None:
        env["PYTHONPATH"] = package_root
    log = store.home / "logs" / "tick.log"
    command = (
        f"mkdir -p {shlex.quote(str(log.parent))} && "
        + "".join(f"{key}={shlex.quote(value)} " for key, value in env.items())
        + " ".join(shlex.quote(w) for w in words)
        + f" tick >> {shlex.quote(str(log))} 2>&1"
    )
    if "\n" in command or "\r" in command:
        raise InvalidInputError(
            f"a crontab line cannot hold a line break: {command!r} (move the store or "
            "Python to a path without one)"
        )
    # crontab(5): an unescaped % ends the command and starts its standard input.
    return "* * * * * " + command.replace("%", "\\%")


def _python() -> str:
    """This interpreter's absolute path, unresolved: a virtualenv's link is the venv."""
    import sys

    from ..errors import InvalidInputError

    if not sys.executable:
        raise InvalidInputError("cannot tell which Python runs mlops-nb: sys.executable is empty")
    return os.path.abspath(sys.executable)


def _package_root_if_hidden(exe: str) -> str | None:
    """The folder holding this mlops_nb if ``exe`` alone, under cron, imports another or none."""
    import subprocess

    import mlops_nb

    mine = Path(mlops_nb.__file__).resolve()
    try:
        probe = subprocess.run(
            [exe, "-c", "import mlops_nb; print(mlops_nb.__file__)"],
            env={"PATH": CRON_PATH, "HOME": str(Path.home()), "SHELL": "/bin/sh"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=str(Path.home()) if Path.home().is_dir() else "/",
        )
        found = probe.stdout.strip()
        if probe.returncode == 0 and found and Path(found).resolve() == mine:
            return None
    except (OSError, subprocess.SubprocessError):
        pass
    return str(mine.parent.parent)


class Scheduler:
    """The long-running loop behind ``mlops-nb scheduler``.

    Every ``interval`` seconds it ticks without waiting for runs to finish
    (up to ``workers`` at once). The first SIGTERM/SIGINT stops claiming and
    lets running jobs finish (each is bounded by its own timeout); a second
    one exits at once, and the next start marks the abandoned runs failed
    (orphaned) and alerts. ``make_executor`` (e.g. ``partial(DaskExecutor,
    address)``) runs the jobs' notebooks elsewhere; by default they run here.
    """

    def __init__(
        self,
        store: Store,
        interval: float = 30.0,
        workers: int = 2,
        make_executor: ExecutorFactory | None = None,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from .. import limits

        self.store = store
        self.make_executor = make_executor
        # A NaN interval would make the loop spin without ever waiting.
        self.interval = limits.seconds(interval, "interval")
        workers = limits.whole_number(workers, "workers", minimum=1)
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="mlops-nb-slot")
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
            self.futures.append(
                self.pool.submit(_run_slot, self.store, slot, time.sleep, self.make_executor)
            )
        return started
