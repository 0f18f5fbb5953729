"""Retrain triggers: "on drift, run notebook X with parameters P", with a cool-down.

When a check raises an alarm, the model's trigger is claimed in the same
transaction that checks its cool-down, so one drifting week does not start
ten retrains. The notebook then runs through ``mlops-nb run`` in its own
process (the check does not wait for it), with the trigger's parameters plus
``drift_check_id`` and ``drift_batch``, tagged with the check that caused it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import environment, limits
from ..errors import DeadlineError, InvalidInputError, NotFoundError
from ..jsonutil import format_time, jsonable
from ..records import Run

if TYPE_CHECKING:
    from ..store import Store

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: str | float | int, what: str = "duration") -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"12h"``, ``"7d"`` or ``"2w"``.

    Zero is allowed; negative, non-finite and longer than
    :data:`~mlops_nb.limits.MAX_SECONDS` are refused, naming ``what``.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(value))
        if not match:
            raise InvalidInputError(f"not a duration: {value!r} (try 90s, 15m, 12h or 7d)")
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    return limits.seconds(seconds, what, allow_zero=True)


def set_trigger(
    store: Store,
    model: str,
    notebook: str,
    parameters: dict[str, Any] | None = None,
    cooldown: str | float = "7d",
) -> dict[str, Any]:
    """Run ``notebook`` when a check of ``model`` alarms (at most once per ``cooldown``)."""
    from ..execution.runner import read_notebook
    from ..registry.names import check_model_name

    model = check_model_name(model)
    path, _, _ = read_notebook(notebook)
    try:
        params = {str(k): jsonable(v) for k, v in (parameters or {}).items()}
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"trigger parameters must be JSON values: {exc}") from None
    return store.set_trigger(
        {
            "model": model,
            "notebook": str(path),
            "parameters": params,
            "cooldown_s": parse_duration(cooldown, "cooldown"),
            "enabled": 1,
        },
        environment.actor(),
    )


def remove_trigger(store: Store, model: str) -> None:
    if store.get_trigger(model) is None:
        raise NotFoundError(f"model {model!r} has no retrain trigger")
    store.disable_trigger(model, environment.actor())


def fire(
    store: Store,
    model: str,
    check_id: int | None,
    batch: str | None,
    now: dt.datetime | None = None,
) -> str | None:
    """Start the model's retrain if its trigger is armed; return the new run's id."""
    claimed = claim(store, model, check_id, batch, now)
    if claimed is None:
        return None
    start(store, claimed)
    return claimed.run_id


@dataclass(frozen=True)
class ClaimedRetrain:
    """A retrain the trigger has committed to: the run to start, with what."""

    run_id: str
    notebook: str
    parameters: dict[str, Any]
    tags: dict[str, str]


def claim(
    store: Store,
    model: str,
    check_id: int | None,
    batch: str | None,
    now: dt.datetime | None = None,
) -> ClaimedRetrain | None:
    """Claim the model's trigger if its cool-down allows (joins an open transaction).

    The run is started by :func:`start`, after the claim is committed: a
    check recorded in one transaction with its claim never starts a retrain
    that its own record then fails to keep.
    """
    moment = now or dt.datetime.now(dt.timezone.utc)
    trigger = store.get_trigger(model)
    if trigger is None or not trigger["enabled"]:
        return None
    not_before = format_time(moment - dt.timedelta(seconds=trigger["cooldown_s"]))
    claimed = store.claim_trigger(
        model, format_time(moment), not_before, check_id, environment.actor()
    )
    if claimed is None:
        return None
    return ClaimedRetrain(
        run_id=uuid.uuid4().hex,
        notebook=claimed["notebook"],
        parameters={
            **claimed["parameters"],
            "drift_check_id": str(check_id or ""),
            "drift_batch": batch or "",
        },
        tags={"trigger": "drift", "drift_check": str(check_id or "")},
    )


def claim_now(
    store: Store, model: str, check_id: int | None, alert_id: int, actor: str
) -> ClaimedRetrain | None:
    """Claim the model's trigger for a person's ``retrain`` decision on an alert
    (joins an open transaction): the cool-down, which holds back automatic
    retrains, does not hold back a decision. ``None`` without an enabled trigger."""
    moment = dt.datetime.now(dt.timezone.utc)
    claimed = store.claim_trigger(
        model, format_time(moment), format_time(dt.datetime.max), check_id, actor
    )
    if claimed is None:
        return None
    return ClaimedRetrain(
        run_id=uuid.uuid4().hex,
        notebook=claimed["notebook"],
        parameters={
            **claimed["parameters"],
            "drift_check_id": str(check_id or ""),
            "drift_batch": "",
        },
        tags={"trigger": "alert", "alert": str(alert_id), "drift_check": str(check_id or "")},
    )


def start(store: Store, claimed: ClaimedRetrain) -> subprocess.Popen[bytes]:
    """Start a claimed retrain as ``mlops-nb run`` in its own process."""
    return spawn_run(store, claimed.notebook, claimed.parameters, claimed.run_id, claimed.tags)


def spawn_run(
    store: Store, notebook: str, params: dict[str, Any], run_id: str, tags: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``mlops-nb run`` in its own session, logging to ``<store>/logs/RUN_ID.log``."""
    logs = store.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    params_file = store.home / "tmp" / f"{run_id}.params.json"
    params_file.parent.mkdir(parents=True, exist_ok=True)
    params_file.write_text(json.dumps(params), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "mlops_nb",
        "--home",
        str(store.home),
        "run",
        notebook,
        "-f",
        str(params_file),
        "--run-id",
        run_id,
        "--no-progress",
    ]
    for key, value in tags.items():
        command += ["--tag", f"{key}={value}"]
    with open(logs / f"{run_id}.log", "ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=str(Path(notebook).parent),
            env={**os.environ, **store.locator_env()},  # a team store's database too
        )
    # Reap the child when it ends (no zombie, no "still running" warning), but
    # never keep this process alive for it.
    threading.Thread(target=proc.wait, name=f"mlops-nb-run-{run_id[:8]}", daemon=True).start()
    return proc


def wait_for_run(store: Store, run_id: str, timeout: float = 600.0, poll: float = 0.5) -> Run:
    """Block until a run has finished or failed, and return it.

    Raises
    ------
    DeadlineError
        The run was still going after ``timeout`` seconds (it goes on).
    """
    deadline = time.monotonic() + limits.seconds(timeout, "timeout")
    poll = limits.seconds(poll, "poll")
    while True:
        try:
            run = store.get_run(run_id)
            if run.status != "running":
                return run
        except NotFoundError:
            pass
        if time.monotonic() >= deadline:
            raise DeadlineError(
                f"run {run_id[:12]} did not finish within {timeout:g} s "
                f"(see {store.home / 'logs' / (run_id + '.log')})"
            )
        time.sleep(poll)
