"""Alerts: recorded first, then delivered to each channel configured for the model.

Channels are a webhook (a JSON POST whose ``text`` field Slack and most chat
tools display as it is), e-mail over SMTP, and a local log file of JSON
lines. Every delivery's outcome is recorded with the alert; a failing
channel is reported there and never raises into the caller, so a drift
check or a pipeline never breaks because a mail server is down. SMTP
passwords are read from an environment variable named in the channel, never
stored in the database.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .. import environment, limits
from ..errors import InvalidInputError
from ..jsonutil import canonical, utcnow
from ..records import Alert

if TYPE_CHECKING:
    from ..store import Store

KINDS = ("webhook", "email", "log")
TIMEOUT_S = 10.0


def add_channel(store: Store, model: str, kind: str, **config: Any) -> dict[str, Any]:
    """Configure a channel for ``model`` (``"*"`` for every model) and return it.

    ``webhook``: ``url``. ``email``: ``to``, ``smtp_host``, optional
    ``smtp_port`` (25), ``sender``, ``starttls`` (False), ``username`` and
    ``password_env`` (the name of the environment variable holding the
    password). ``log``: ``path`` (default ``<store>/alerts.log``).
    """
    from ..registry.names import check_model_name

    if model != "*":
        check_model_name(model)
    clean = _validate(store, kind, config)
    return store.add_alert_channel(
        {"model": model, "kind": kind, "config": clean, "created_at": utcnow(), "enabled": 1},
        environment.actor(),
    )


def _validate(store: Store, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise InvalidInputError(f"alert channel kind must be one of {KINDS}, not {kind!r}")
    if kind == "webhook":
        url = str(config.get("url") or "")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInputError(f"webhook url must be an http(s) URL, not {url!r}")
        return {"url": url}
    if kind == "email":
        to = config.get("to")
        recipients = [to] if isinstance(to, str) else list(to or [])
        if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
            raise InvalidInputError("an email channel needs 'to' with one or more addresses")
        if not config.get("smtp_host"):
            raise InvalidInputError("an email channel needs 'smtp_host'")
        port = limits.whole_number(
            config.get("smtp_port") or 25, "smtp_port", minimum=1, maximum=65535
        )
        if "password" in config:
            raise InvalidInputError(
                "do not store SMTP passwords: put the password in an "
                "environment variable and pass its name as password_env"
            )
        return {
            "to": recipients,
            "smtp_host": str(config["smtp_host"]),
            "smtp_port": port,
            "sender": str(config.get("sender") or f"mlops-nb@{environment.actor()}"),
            "starttls": bool(config.get("starttls", False)),
            "username": config.get("username"),
            "password_env": config.get("password_env"),
        }
    path = config.get("path") or str(store.home / "alerts.log")
    if config.get("path"):  # the default's folder, the store's, is made when first needed
        limits.output_file(path, "alert log file")
    return {"path": str(Path(path).expanduser().resolve())}


def raise_alert(
    store: Store, kind: str, model: str | None, subject: str, message: str, payload: dict[str, Any]
) -> Alert:
    """Record an alert, deliver it to the model's channels, record the outcomes."""
    actor = environment.actor()
    alert_id = store.record_alert(
        {
            "kind": kind,
            "model": model,
            "subject": subject,
            "at": utcnow(),
            "message": message,
            "payload": payload,
        },
        actor,
    )
    channels = store.alert_channels(model) if model is not None else store.alert_channels("*")
    body = {
        "text": message,
        "alert_id": alert_id,
        "kind": kind,
        "model": model,
        "subject": subject,
        **payload,
    }
    deliveries = [deliver(channel, body) for channel in channels]
    if deliveries:
        store.update_alert(alert_id, {"deliveries": deliveries}, actor, kind="alert.delivered")
    return get_alert(store, alert_id)


def deliver(channel: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Send one alert through one channel; report the outcome, never raise."""
    kind, config = channel["kind"], channel["config"]
    outcome: dict[str, Any] = {"channel_id": channel["id"], "kind": kind, "at": utcnow()}
    try:
        if kind == "webhook":
            outcome["target"] = config["url"]
            outcome["status"] = _post(config["url"], body)
        elif kind == "email":
            outcome["target"] = ", ".join(config["to"])
            _mail(config, body)
        else:
            outcome["target"] = config["path"]
            path = Path(config["path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(canonical(body) + "\n")
        outcome["ok"] = True
    except Exception as exc:  # recorded with the alert; the caller carries on
        outcome["ok"] = False
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    return outcome


def _post(url: str, body: dict[str, Any]) -> int:
    data = json.dumps(body, default=str).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "mlops-nb"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        status = int(response.status)
    if status >= 300:
        raise urllib.error.HTTPError(url, status, "unexpected status", {}, None)  # type: ignore[arg-type]
    return status


def _mail(config: dict[str, Any], body: dict[str, Any]) -> None:
    message = EmailMessage()
    message["Subject"] = f"[mlops-nb] {body['text'][:120]}"
    message["From"] = config["sender"]
    message["To"] = ", ".join(config["to"])
    message.set_content(body["text"] + "\n\n" + json.dumps(body, indent=2, default=str))
    with smtplib.SMTP(config["smtp_host"], config["smtp_port"], timeout=TIMEOUT_S) as smtp:
        if config.get("starttls"):
            smtp.starttls()
        if config.get("username"):
            password = os.environ.get(config.get("password_env") or "", "")
            smtp.login(config["username"], password)
        smtp.send_message(message)


def get_alert(store: Store, alert_id: int) -> Alert:
    return Alert(**store.get_alert(alert_id))


def list_alerts(store: Store, model: str | None = None, limit: int | None = None) -> list[Alert]:
    return [Alert(**row) for row in store.list_alerts(model, limit)]
