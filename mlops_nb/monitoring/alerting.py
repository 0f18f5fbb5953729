"""Alerts: recorded first, then delivered to each channel configured for the model.

Channels are a webhook (a JSON POST whose ``text`` field Slack and most chat
tools display as it is), e-mail over SMTP, and a local log file of JSON
lines. Every delivery's outcome is recorded with the alert; a failing
channel is reported there and never raises into the caller, so a drift
check or a pipeline never breaks because a mail server is down.

Secrets stay out of the store. A channel's configuration is recorded in the
audit chain, which can never be rewritten, so it holds no credential: SMTP
passwords are read from an environment variable the channel names
(``password_env``), and a webhook URL that carries one (``user:password@``,
a ``?token=``) is refused with a pointer to ``url_env``, the name of an
environment variable holding the whole URL, read at delivery time. That also
suits URLs that are secrets through and through, such as Slack's incoming
webhooks. Channels recorded before this rule are shown and reported with
their credentials masked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import smtplib
import urllib.error
import urllib.request
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from .. import environment, limits
from ..errors import InvalidInputError
from ..jsonutil import canonical, utcnow
from ..records import Alert
from ..redaction import credentials_in, redact_url, scrub, split_credentials, url_secrets

if TYPE_CHECKING:
    from ..store import Store

KINDS = ("webhook", "email", "log")
TIMEOUT_S = 10.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def add_channel(
    store: Store, model: str, kind: str, *, digest: str | None = None, **config: Any
) -> dict[str, Any]:
    """Configure a channel for ``model`` (``"*"`` for every model) and return it.

    ``digest``: ``daily`` or ``weekly`` sends the channel one digest a day or
    a week instead of a message per alert (see :mod:`mlops_nb.monitoring.digest`).

    ``webhook``: ``url`` without credentials, or ``url_env``, the name of
    an environment variable holding the URL (credentials in it are sent as
    HTTP Basic authentication). ``email``: ``to``, ``smtp_host``, optional
    ``smtp_port`` (25), ``sender`` (``mlops-nb@<this host>``), ``starttls``
    (False), ``username`` and ``password_env`` (the name of the environment
    variable holding the password). ``log``: ``path`` (default
    ``<store>/alerts.log``).

    Raises
    ------
    InvalidInputError
        Bad settings, or a credential that would be recorded.
    """
    from ..registry.names import check_model_name

    if model != "*":
        check_model_name(model)
    clean = _validate(store, kind, config)
    if digest is not None:
        from .digest import digest_config

        clean.update(digest_config(digest))
    return store.add_alert_channel(
        {"model": model, "kind": kind, "config": clean, "created_at": utcnow(), "enabled": 1},
        environment.actor(),
    )


def _validate(store: Store, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise InvalidInputError(f"alert channel kind must be one of {KINDS}, not {kind!r}")
    if kind == "webhook":
        return _webhook(config)
    if kind == "email":
        to = config.get("to")
        recipients = [to] if isinstance(to, str) else list(to or [])
        if not recipients:
            raise InvalidInputError("an email channel needs 'to' with one or more addresses")
        recipients = [_address(r, "'to'") for r in recipients]
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
            "sender": _address(config["sender"], "'sender'")
            if config.get("sender")
            else _default_sender(),
            "starttls": bool(config.get("starttls", False)),
            "username": config.get("username"),
            "password_env": config.get("password_env"),
        }
    path = config.get("path") or str(store.home / "alerts.log")
    if config.get("path"):  # the default's folder, the store's, is made when first needed
        limits.output_file(path, "alert log file")
    return {"path": str(Path(path).expanduser().resolve())}


def _webhook(config: dict[str, Any]) -> dict[str, Any]:
    url, env = config.get("url"), config.get("url_env")
    if bool(url) == bool(env):
        raise InvalidInputError("a webhook channel needs either url or url_env (not both)")
    if env:
        name = str(env)
        if not _ENV_NAME.fullmatch(name):
            raise InvalidInputError(f"url_env must name an environment variable, not {name!r}")
        value = os.environ.get(name)
        if not value:
            raise InvalidInputError(
                f"environment variable {name} is not set; set it to the webhook URL first "
                "(it must be set wherever alerts are raised)"
            )
        if not _is_http(value):
            # The value may well be a secret: never shown.
            raise InvalidInputError(f"environment variable {name} does not hold an http(s) URL")
        return {"url_env": name}
    url = str(url)
    if not _is_http(url):
        raise InvalidInputError(f"webhook url must be an http(s) URL, not {redact_url(url)!r}")
    found = credentials_in(url)
    if found:
        raise InvalidInputError(
            f"the webhook URL carries a credential ({', '.join(found)}), which would be "
            "stored, listed and kept in the audit log for good; put the whole URL in an "
            "environment variable and give its name instead (--webhook-env NAME, "
            "url_env='NAME')"
        )
    return {"url": url}


def _is_http(url: str) -> bool:
    parsed = urlparse(split_credentials(url)[0])
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def _address(text: Any, field: str) -> str:
    """One e-mail address (``a@example.com`` or ``Name <a@example.com>``), or an error."""
    value = str(text).strip()
    _name, spec = parseaddr(value)
    try:
        # parseaddr reads 'a@b@c' as 'a@b' on some Pythons: a bare address must be all of it.
        if not spec or "\r" in value or "\n" in value or ("<" not in value and spec != value):
            raise ValueError(value)
        Address(addr_spec=spec)
    except Exception:  # the email package raises several kinds for bad addresses
        raise InvalidInputError(f"{field} must be one e-mail address, not {value!r}") from None
    return value


def _default_sender() -> str:
    # Not actor(): that is user@host already, and a second '@' makes no address.
    try:
        return _address(f"mlops-nb@{environment.hostname()}", "sender")
    except InvalidInputError:
        return "mlops-nb@localhost"


def channels(store: Store, model: str | None = None) -> list[dict[str, Any]]:
    """Every channel (disabled ones too) as it may be shown: no credentials.

    Channels recorded before credentials were refused may still hold one.
    """
    return [_shown(c) for c in store.alert_channels(model, enabled_only=False)]


def _shown(channel: dict[str, Any]) -> dict[str, Any]:
    config = channel["config"]
    if isinstance(config, dict) and config.get("url"):
        return {**channel, "config": {**config, "url": redact_url(str(config["url"]))}}
    return channel


def raise_alert(
    store: Store, kind: str, model: str | None, subject: str, message: str, payload: dict[str, Any]
) -> Alert:
    """Record an alert, deliver it to the model's channels, record the outcomes.

    Not grouped (each schedule run, each refused version is its own alert),
    but silenced like any other while an ``ignore`` decision holds.
    """
    alert_id, outcome = file_alert(store, kind, model, subject, message, payload, group=False)
    if outcome == "raised":
        return deliver_alert(store, alert_id)
    return get_alert(store, alert_id)


def record_alert(
    store: Store,
    kind: str,
    model: str | None,
    subject: str,
    message: str,
    payload: dict[str, Any],
    retrain_run_id: str | None = None,
) -> int:
    """Record an alert (joins an open transaction); deliver it with :func:`deliver_alert`."""
    return file_alert(
        store, kind, model, subject, message, payload, retrain_run_id=retrain_run_id, group=False
    )[0]


def file_alert(
    store: Store,
    kind: str,
    model: str | None,
    subject: str,
    message: str,
    payload: dict[str, Any],
    *,
    retrain_run_id: str | None = None,
    columns: list[str] | tuple[str, ...] = (),
    check_id: int | None = None,
    batch_profile_sha256: str | None = None,
    group: bool = True,
) -> tuple[int, str]:
    """Record an alert, grouped into the open one it repeats (joins an open transaction).

    A repeat is an alert of the same model and kind about the same set of
    ``columns`` while the first is open or acknowledged: its count grows and
    its latest check moves on, and nothing new is raised. Returns the alert's
    id and ``raised`` (deliver it with :func:`deliver_alert` once committed),
    ``grouped`` or ``silenced`` (neither is delivered; see
    :mod:`mlops_nb.monitoring.inbox`).
    """
    now = utcnow()
    return store.file_alert(
        {
            "kind": kind,
            "model": model,
            "subject": subject,
            "at": now,
            "message": message,
            "payload": payload,
            "retrain_run_id": retrain_run_id,
            "group_columns": list(columns),
            "last_check_id": check_id,
            "batch_profile_sha256": batch_profile_sha256,
        },
        now,
        environment.actor(),
        group=group,
    )


def deliver_alert(store: Store, alert_id: int) -> Alert:
    """Send a recorded alert to its model's channels and record each outcome.

    Call it after the alert's transaction committed: a message is never sent
    about an alert the store then fails to keep.
    """
    row = store.get_alert(alert_id)
    model = row["model"]
    channels = store.alert_channels(model) if model is not None else store.alert_channels("*")
    # A channel in digest mode hears of the alert in its next digest instead.
    channels = [c for c in channels if not (c["config"] or {}).get("digest")]
    if not channels and not row.get("deliveries"):  # common: nothing to send or mask
        return _alert(row, {})
    alert = _alert(row, _channel_secrets(store))
    body = {
        "text": alert.message,
        "alert_id": alert_id,
        "kind": alert.kind,
        "model": model,
        "subject": alert.subject,
        **alert.payload,
    }
    deliveries = [deliver(channel, body) for channel in channels]
    if not deliveries:
        return alert
    store.update_alert(
        alert_id, {"deliveries": deliveries}, environment.actor(), kind="alert.delivered"
    )
    return get_alert(store, alert_id)


def deliver(channel: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Send one alert through one channel; report the outcome, never raise."""
    kind, config = channel["kind"], channel["config"]
    outcome: dict[str, Any] = {"channel_id": channel["id"], "kind": kind, "at": utcnow()}
    secrets: list[str] = []
    try:
        if kind == "webhook":
            if config.get("url_env"):
                outcome["target"] = f"${config['url_env']}"
                url = os.environ.get(config["url_env"]) or ""
                if not url:
                    raise LookupError(f"environment variable {config['url_env']} is not set")
                # The whole value may be the secret (Slack's URL is): never quoted.
                secrets = [url, *url_secrets(url)]
            else:
                url = config["url"]
                outcome["target"] = redact_url(url)
                secrets = url_secrets(url)
            outcome["status"] = _post(url, body)
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
        outcome["error"] = scrub(f"{type(exc).__name__}: {exc}", secrets)
    return outcome


def _post(url: str, body: dict[str, Any]) -> int:
    data = json.dumps(body, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "mlops-nb"}
    # urllib cannot take credentials from the URL itself: send them as HTTP Basic.
    url, user, password = split_credentials(url)
    if user is not None:
        pair = f"{unquote(user)}:{unquote(password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    request = urllib.request.Request(url, data=data, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        status = int(response.status)
    if status >= 300:
        raise urllib.error.HTTPError(url, status, "unexpected status", {}, None)  # type: ignore[arg-type]
    return status


def _mail(config: dict[str, Any], body: dict[str, Any]) -> None:
    message = EmailMessage()
    message["Subject"] = f"[mlops-nb] {(body.get('mail_subject') or body['text'])[:120]}"
    message["From"] = config["sender"]
    message["To"] = ", ".join(config["to"])
    if body.get("kind") == "digest":  # the text to read; the data attached, for tools
        message.set_content(body["text"])
        data = json.dumps(body["digest"], indent=2, default=str).encode("utf-8")
        message.add_attachment(data, maintype="application", subtype="json", filename="digest.json")
    else:
        message.set_content(body["text"] + "\n\n" + json.dumps(body, indent=2, default=str))
    with smtplib.SMTP(config["smtp_host"], config["smtp_port"], timeout=TIMEOUT_S) as smtp:
        if config.get("starttls"):
            smtp.starttls()
        if config.get("username"):
            password = os.environ.get(config.get("password_env") or "", "")
            smtp.login(config["username"], password)
        smtp.send_message(message)


def get_alert(store: Store, alert_id: int) -> Alert:
    return _alert(store.get_alert(alert_id), _channel_secrets(store))


def list_alerts(store: Store, model: str | None = None, limit: int | None = None) -> list[Alert]:
    secrets = _channel_secrets(store)
    return [_alert(row, secrets) for row in store.list_alerts(model, limit)]


def _channel_secrets(store: Store) -> dict[Any, list[str]]:
    return {
        c["id"]: url_secrets(c["config"].get("url"))
        for c in store.alert_channels(None, enabled_only=False)
        if isinstance(c["config"], dict)
    }


def _alert(row: dict[str, Any], secrets: dict[Any, list[str]]) -> Alert:
    # Outcomes recorded before delivery errors were scrubbed may quote a
    # channel's credentials; shown, they never do.
    deliveries = []
    for outcome in row.get("deliveries") or []:
        known = secrets.get(outcome.get("channel_id"), [])
        shown = dict(outcome)
        if isinstance(shown.get("target"), str) and "://" in shown["target"]:
            shown["target"] = redact_url(shown["target"])
        if isinstance(shown.get("error"), str):
            shown["error"] = scrub(shown["error"], known)
        deliveries.append(shown)
    return Alert(**{**row, "deliveries": deliveries})
