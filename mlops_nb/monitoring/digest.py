"""Digests: one message a day or a week per alert channel instead of one per alert.

A channel configured with ``digest: daily`` (or ``weekly``) gets no message
per alert; the scheduler's tick (``mlops-nb tick``, ``mlops-nb scheduler``)
sends it a digest once each period has ended: the alerts still open or
acknowledged, grouped by model and kind with their counts; the alerts
raised in the period; the acknowledgements and decisions taken in it, with
their notes; the models never drift-checked or not checked in the period;
the schedules that failed in it (channels of every model only: schedules
belong to no model); and the canary and shadow deploys running now. Channels
without ``digest`` keep their message per alert, as before.

Periods are UTC: a day ends at midnight, a week on Monday at midnight. The
first digest of a channel covers the first period that ends after its
digest mode was set; each later one starts where the previous ended, so a
scheduler stopped for three days sends one digest covering the three.

Exactly once, as far as a store can make it: each period is claimed in the
store (a row per channel and period, under the write lock and a unique key)
before anything is sent, so two ticks at once, in threads, processes or on
two machines, never both send it; the outcome is recorded after sending. A
failed sending is retried by the first tick :data:`RETRY_S` later (and
again until it succeeds, while the channel stays in digest mode); a tick
that crashed between its claim and its record leaves the claim, which a
tick takes over after the same delay. Only that crash, after the message
left and before the record, can send a period twice: each message carries
its ``digest_id``, for a receiver that wants to drop a repeat.

An empty period still sends ``nothing to report``: silence could not be
told from a stopped scheduler.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import TYPE_CHECKING, Any

from .. import environment
from ..errors import ConflictError, InvalidInputError
from ..jsonutil import format_time, loads, utcnow
from ..limits import whole_number
from . import digest_render

if TYPE_CHECKING:
    from ..store import Store

MODES = {"daily": "day", "weekly": "week"}
PERIODS = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}
#: How long a claim or a failed sending waits before a tick tries it again (seconds).
RETRY_S = 900.0


def digest_config(mode: str, now: dt.datetime | str | None = None) -> dict[str, Any]:
    """The channel settings for a digest ``mode`` (``daily`` or ``weekly``) from ``now`` on."""
    if mode not in MODES:
        raise InvalidInputError(f"digest must be one of {tuple(MODES)}, not {mode!r:.40}")
    return {"digest": mode, "digest_since": format_time(_moment(now))}


def set_digest(
    store: Store, channel_id: Any, mode: str | None, *, now: dt.datetime | str | None = None
) -> dict[str, Any]:
    """Put a channel in digest mode (``daily``, ``weekly``) from ``now`` on, or back
    to a message per alert (``off`` or None); return the channel as shown."""
    from .alerting import _shown

    channel_id = whole_number(channel_id, "channel id", minimum=1)
    channel = store.get_alert_channel(channel_id)
    config = {k: v for k, v in (channel["config"] or {}).items() if not k.startswith("digest")}
    if mode not in (None, "off"):
        config.update(digest_config(str(mode), now))
    return _shown(store.set_channel_config(channel_id, config, environment.actor()))


def period_end(moment: dt.datetime, period: str) -> dt.datetime:
    """The end of the newest whole ``period`` at ``moment`` (midnight UTC; Monday for a week)."""
    moment = moment.astimezone(dt.timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        midnight -= dt.timedelta(days=midnight.weekday())
    return midnight


def _period(value: str | None) -> str:
    if value not in PERIODS:
        raise InvalidInputError(f"period must be one of {tuple(PERIODS)}, not {value!r:.40}")
    return value


def _moment(now: dt.datetime | str | None) -> dt.datetime:
    from ..schedules.cron import to_utc

    return to_utc(now)


# -- what a digest says ---------------------------------------------------------


def build(
    store: Store,
    channel: dict[str, Any] | None,
    start: str,
    end: str,
    period: str,
    now: str,
    model: str = "*",
) -> dict[str, Any]:
    """The digest of ``channel`` (its model; ``model`` if None) from ``start`` to
    ``end``, as JSON-able data."""
    scope = channel["model"] if channel is not None else model
    facts = store.digest_facts(scope, start, end)
    groups: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in facts["live"]:
        group = groups.setdefault(
            (row["model"], row["kind"]),
            {
                "model": row["model"],
                "kind": row["kind"],
                "alerts": 0,
                "checks": 0,
                "acknowledged": 0,
                "since": row["at"],
                "latest": row["last_at"] or row["at"],
                "alert_ids": [],
                "columns": [],
            },
        )
        group["alerts"] += 1
        group["checks"] += row["count"] or 1
        group["acknowledged"] += row["state"] == "acknowledged"
        group["latest"] = max(group["latest"], row["last_at"] or row["at"])
        group["alert_ids"].append(row["id"])
        for column in loads(row["group_columns"]) if row["group_columns"] else []:
            if column not in group["columns"]:
                group["columns"].append(column)
    decisions = []
    for row in facts["decided"]:
        if row["acked_at"] is not None and start <= row["acked_at"] < end:
            decisions.append(_step(row, "acknowledged", None, "acked", row["ack_note"]))
        if row["resolved_at"] is not None and start <= row["resolved_at"] < end:
            decisions.append(
                _step(row, "resolved", row["decision"], "resolved", row["resolve_note"])
            )
    decisions.sort(key=lambda d: (d["at"], d["alert_id"]))
    failed: dict[str, dict[str, Any]] = {}
    for slot in facts["failed"]:
        entry = failed.setdefault(slot["schedule"], {"schedule": slot["schedule"], "failures": 0})
        entry.update(failures=entry["failures"] + 1, last_at=slot["ended_at"])
        entry.update(last_error=slot["error"], last_run_id=slot["run_id"])
    unchecked = [
        m for m in facts["models"] if m["last_checked_at"] is None or m["last_checked_at"] < start
    ]
    open_groups = sorted(groups.values(), key=lambda g: (-g["checks"], str(g["model"]), g["kind"]))
    out = {
        "kind": "digest",
        "channel_id": None if channel is None else channel["id"],
        "model": scope,
        "period": period,
        "from": start,
        "to": end,
        "generated_at": now,
        "open_alerts": {
            "alerts": sum(g["alerts"] for g in open_groups),
            "checks": sum(g["checks"] for g in open_groups),
            "groups": open_groups,
        },
        "raised": facts["raised"],
        "decisions": decisions,
        "unchecked_models": unchecked,
        "failed_schedules": sorted(failed.values(), key=lambda f: f["schedule"]),
        "running_deploys": facts["deployments"],
    }
    out["empty"] = not (
        open_groups or out["raised"] or decisions or unchecked or failed or facts["deployments"]
    )
    return out


def _step(row: dict[str, Any], action: str, decision: str | None, who: str, note: Any) -> dict:
    return {
        "alert_id": row["id"],
        "model": row["model"],
        "kind": row["kind"],
        "action": action,
        "decision": decision,
        "by": row[f"{who}_by"],
        "at": row[f"{who}_at"],
        "note": note,
    }


def message(digest: dict[str, Any], digest_id: int | None) -> dict[str, Any]:
    """What a channel is sent: plain ``text`` (what chat tools show), ``markdown``,
    the ``digest`` itself, and the ``digest_id`` a receiver can drop repeats by."""
    return {
        "text": digest_render.plain(digest),
        "markdown": digest_render.markdown_text(digest),
        "mail_subject": digest_render.title(digest),
        "kind": "digest",
        "digest_id": digest_id,
        "digest": digest,
    }


# -- sending ------------------------------------------------------------------------


def _digest_channels(store: Store, channel_id: int | None = None) -> list[dict[str, Any]]:
    if channel_id is not None:
        channel = store.get_alert_channel(channel_id)
        if not channel["enabled"]:
            raise ConflictError(f"alert channel {channel_id} was removed: nothing is sent to it")
        return [channel]
    return [c for c in store.alert_channels(None) if (c["config"] or {}).get("digest")]


def alert_digest(
    store: Store,
    channel: int | str | None = None,
    period: str | None = None,
    *,
    dry_run: bool = False,
    now: dt.datetime | str | None = None,
) -> list[dict[str, Any]]:
    """Build, and unless ``dry_run`` send, a digest of the ``period`` just past
    (``day``: the last 24 hours, ``week``: the last 7 days, up to now) to
    ``channel`` (an id), or to every channel in digest mode when None.

    ``period`` defaults to the channel's own (``day`` for a channel not in
    digest mode). A digest sent so is recorded (``trigger`` ``manual``) and
    changes nothing in the scheduled ones. Returns one entry per channel:
    ``channel_id``, ``digest`` (the data), ``text``, ``markdown`` and, when
    sent, ``digest_id`` and ``deliveries``.
    """
    if period is not None:
        period = _period(period)
    channel_id = (
        None
        if channel is None
        else whole_number(
            int(channel) if isinstance(channel, str) and channel.strip().isdigit() else channel,
            "channel id",
            minimum=1,
        )
    )
    moment = _moment(now)
    end = format_time(moment)
    out = []
    for row in _digest_channels(store, channel_id):
        chosen = period or MODES.get(str((row["config"] or {}).get("digest")), "day")
        start = format_time(moment - PERIODS[chosen])
        digest = build(store, row, start, end, chosen, end)
        entry: dict[str, Any] = {"channel_id": row["id"], "digest": digest}
        if not dry_run:
            recorded = _send_manual(store, row, digest, chosen, start, end)
            entry.update(digest_id=recorded["id"], deliveries=recorded["deliveries"])
        body = message(digest, entry.get("digest_id"))
        entry.update(text=body["text"], markdown=body["markdown"])
        out.append(entry)
    return out


def _send_manual(
    store: Store, channel: dict[str, Any], digest: dict[str, Any], period: str, start: str, end: str
) -> dict[str, Any]:
    fields = {
        "channel_id": channel["id"],
        "period": period,
        "trigger": "manual",
        "period_start": start,
        "period_end": end,
        "status": "claimed",
        "claimed_at": end,
        "claimed_by": _who(),
        "attempts": 1,
    }
    claimed = store.record_digest(fields, environment.actor())
    return _send_claimed(store, channel, claimed, end, digest)


def summary(digest: dict[str, Any]) -> dict[str, Any]:
    """The counts a digest's row keeps."""
    return {
        "open_alerts": digest["open_alerts"]["alerts"],
        "raised": digest["raised"],
        "decisions": len(digest["decisions"]),
        "unchecked_models": len(digest["unchecked_models"]),
        "failed_schedules": sum(f["failures"] for f in digest["failed_schedules"]),
        "running_deploys": len(digest["running_deploys"]),
        "empty": digest["empty"],
    }


def _who() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def due(channel: dict[str, Any], moment: dt.datetime) -> tuple[str, str] | None:
    """Where the channel's digest due at ``moment`` starts at the earliest (the
    start of the period its digest mode was set in) and where it ends; None
    when no period has ended since the mode was set."""
    mode = (channel["config"] or {}).get("digest")
    if mode not in MODES:
        return None
    period = MODES[mode]
    end = period_end(moment, period)
    since = (channel["config"] or {}).get("digest_since") or channel["created_at"]
    if format_time(end) <= since:
        return None
    first = period_end(dt.datetime.fromisoformat(since), period)
    return format_time(first), format_time(end)


def send_due(store: Store, now: dt.datetime | str | None = None) -> list[dict[str, Any]]:
    """Send every digest due at ``now`` (the scheduler's tick calls this); return
    the digests' rows as recorded. A failing channel is recorded, never raised."""
    moment = _moment(now)
    stamp = format_time(moment)
    retry_before = format_time(moment - dt.timedelta(seconds=RETRY_S))
    done = []
    for channel in _digest_channels(store):
        window = due(channel, moment)
        if window is None:
            continue
        if not store.digest_pending(channel["id"], window[1], retry_before):
            continue
        period = MODES[channel["config"]["digest"]]
        for _ in range(64):  # the retries left over, then this period; bounded
            claimed = store.claim_digest(
                channel["id"], period, window[1], window[0], stamp, retry_before, _who(),
                environment.actor(),
            )  # fmt: skip
            if claimed is None:
                break
            done.append(_send_claimed(store, channel, claimed, stamp))
    return done


def _send_claimed(
    store: Store,
    channel: dict[str, Any],
    claimed: dict[str, Any],
    now: str,
    digest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from .alerting import deliver

    try:
        if digest is None:
            start, end = claimed["period_start"], claimed["period_end"]
            digest = build(store, channel, start, end, claimed["period"], now)
        outcome = deliver(channel, message(digest, claimed["id"]))
        counts = summary(digest)
    except Exception as exc:  # recorded; the next tick after RETRY_S tries again
        outcome = {"channel_id": channel["id"], "kind": channel["kind"], "at": utcnow()}
        outcome.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])
        counts = {}
    changes = {
        "status": "sent" if outcome["ok"] else "failed",
        "sent_at": outcome["at"] if outcome["ok"] else None,
        "summary": counts,
        "deliveries": [*(claimed.get("deliveries") or []), outcome],
    }
    return store.finish_digest(claimed["id"], changes, environment.actor())
