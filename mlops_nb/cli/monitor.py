"""``mlops-nb drift …``, ``monitor …`` and ``alerts …``: monitoring from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import environment, limits
from ..errors import InvalidInputError, NotFoundError, UnavailableError
from ..tables import read_table
from . import inbox
from .common import trust_options, whole


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add the ``drift`` and ``alerts`` commands to the main parser."""
    drift = cmd("drift", "check data for drift, see the history, set a retrain trigger")
    actions = drift.add_subparsers(dest="drift_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "check",
        parents=[parent],
        help="check a CSV or Parquet file, or what the model served (--from-log), against "
        "its reference profile",
    )
    p.add_argument("ref", metavar="NAME[@ALIAS|:VERSION]")
    p.add_argument("data_file", metavar="DATA_FILE", nargs="?")
    p.add_argument(
        "--from-log",
        action="store_true",
        help="check the version's prediction log (served and scored rows, feedback labels)",
    )
    p.add_argument("--since", help="with --from-log: from this time on (ISO, a date, or 7d, 12h)")
    p.add_argument("--until", help="with --from-log: up to this time (ISO or a date: its end)")
    p.add_argument("--target", metavar="COLUMN", help="column holding delayed labels")
    p.add_argument("--batch", metavar="LABEL", help="label of this batch, e.g. 'week 32'")
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--no-alert", action="store_true")
    p.add_argument("--no-trigger", action="store_true")
    p.add_argument("--html", metavar="FILE.html", help="also write the report with its charts")
    trust_options(p)
    p = actions.add_parser("history", parents=[parent], help="every recorded check of a model")
    p.add_argument("name")
    p.add_argument("--limit", type=whole(), default=0, help="the newest N checks (0: all)")
    p = actions.add_parser(
        "trigger", parents=[parent], help="run a notebook when a check of NAME alarms (or --remove)"
    )
    p.add_argument("name")
    p.add_argument("notebook", nargs="?")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE")
    )
    p.add_argument("--cooldown", default="7d", help="at most one retrain per this (e.g. 12h, 7d)")
    p.add_argument("--remove", action="store_true")

    mon = cmd("monitor", "check a served model's prediction log on a cron")
    actions = mon.add_subparsers(dest="monitor_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "add", parents=[parent], help="check NAME@ALIAS's log over --window before each slot"
    )
    p.add_argument("name")
    p.add_argument("--cron", required=True, help="five cron fields or @daily, @weekly...")
    p.add_argument("--window", default="7d", help="how much of the log each check reads (7d)")
    p.add_argument("--alias", default="production", help="the alias whose version is checked")
    p.add_argument("--schedule", metavar="SCHEDULE", help="its schedule's name (monitor-NAME)")
    p.add_argument("--tz", default="UTC", help="IANA time zone of the cron (default UTC)")
    p.add_argument("--catchup", choices=["none", "latest", "all"], default="latest")
    p.add_argument("--alert-on", choices=["failure", "always", "never"], default="failure")
    p.add_argument("--now", help=argparse.SUPPRESS)  # tests and demos: simulated clock
    actions.add_parser("list", parents=[parent], help="monitors, what each checks, next run")
    p = actions.add_parser("remove", parents=[parent], help="stop a monitor (history stays)")
    p.add_argument("schedule", metavar="SCHEDULE")

    alerts = cmd("alerts", "alert channels and raised alerts")
    actions = alerts.add_subparsers(dest="alerts_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("list", parents=[parent], help="alerts, newest first")
    p.add_argument("name", nargs="?")
    p.add_argument("--limit", type=whole(), default=50, help="at most N alerts (0: all)")
    p = actions.add_parser("channels", parents=[parent], help="configured channels")
    p.add_argument("name", nargs="?")
    p = actions.add_parser(
        "add", parents=[parent], help="deliver NAME's alerts ('*' for all models) somewhere"
    )
    p.add_argument("name")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--webhook", metavar="URL", help="POST JSON with a 'text' field (a URL without credentials)"
    )
    target.add_argument(
        "--webhook-env",
        metavar="VAR",
        help="the same, to the URL in environment variable VAR (for URLs that carry a "
        "password or token: it is read when an alert is sent, never stored)",
    )
    target.add_argument("--email", action="append", metavar="ADDRESS", help="mail over SMTP")
    target.add_argument("--log", metavar="PATH", help="append JSON lines to a file")
    p.add_argument("--smtp-host")
    p.add_argument("--smtp-port", type=whole(1, 65535), default=25)
    p.add_argument("--sender")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--username")
    p.add_argument("--password-env", metavar="VAR", help="environment variable with the password")
    p.add_argument(
        "--digest",
        choices=["daily", "weekly"],
        help="one digest a day or week instead of a message per alert",
    )
    p = actions.add_parser("remove", parents=[parent], help="disable a channel")
    p.add_argument("channel_id", type=whole(1))
    p = actions.add_parser(
        "set-digest", parents=[parent], help="daily or weekly digests for a channel, or off"
    )
    p.add_argument("channel_id", type=whole(1))
    p.add_argument("mode", choices=["daily", "weekly", "off"])
    p = actions.add_parser(
        "digest",
        parents=[parent],
        help="build and send the digest of the last day or week now (--dry-run: only show it)",
    )
    p.add_argument("--channel", type=whole(1), metavar="ID", help="this channel (default: all "
                   "channels in digest mode)")  # fmt: skip
    p.add_argument("--period", choices=["day", "week"], help="default: the channel's own")
    p.add_argument("--dry-run", action="store_true", help="show it, send nothing")
    inbox.add_actions(actions, parent)


def _drift(args: argparse.Namespace) -> None:
    from .common import emit, open_store, parse_value

    store = open_store(args)
    if args.drift_action == "check":
        from ..monitoring.monitor import check_drift
        from ..monitoring.served import check_log

        if args.from_log == (args.data_file is not None):
            raise InvalidInputError("drift check needs DATA_FILE or --from-log (one of them)")
        if not args.from_log and (args.since or args.until):
            raise InvalidInputError("--since and --until go with --from-log")
        if args.from_log and args.target:
            raise InvalidInputError("--target names a column of DATA_FILE; the log's labels "
                                    "are the feedback given")  # fmt: skip
        if args.html:
            limits.output_file(args.html, "--html file")  # before the check is recorded
        common = {
            "record": not args.no_record,
            "alert": not args.no_alert,
            "trigger": not args.no_trigger,
            "trusted": args.trust,
            "allow_pickle": args.allow_pickle,
        }
        if args.from_log:
            report = check_log(
                store, args.ref, since=args.since, until=args.until, batch=args.batch, **common
            )
        else:
            report = check_drift(
                store,
                args.ref,
                read_table(args.data_file),
                target=args.target,
                batch=args.batch or Path(args.data_file).name,
                **common,
            )
        if args.html:
            report.to_html(args.html)
        emit(args, report.to_json(), str(report))
    elif args.drift_action == "history":
        from ..monitoring.drift.report import DriftHistory
        from ..monitoring.monitor import history

        rows = DriftHistory(args.name, history(store, args.name, args.limit or None))
        emit(args, rows.to_json(), str(rows))
    else:
        from ..monitoring.retrain import remove_trigger, set_trigger

        if args.remove:
            remove_trigger(store, args.name)
            emit(
                args,
                {"model": args.name, "enabled": False},
                f"retrain trigger of {args.name} removed",
            )
            return
        if not args.notebook:
            raise InvalidInputError("drift trigger needs NOTEBOOK (or --remove)")
        params = {k: parse_value(v) for k, v in args.parameter}
        trig = set_trigger(store, args.name, args.notebook, params, args.cooldown)
        emit(
            args,
            trig,
            f"on drift in {args.name}: run {trig['notebook']} "
            f"(at most every {trig['cooldown_s']:g} s)",
        )


def _monitor(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..monitoring import served
    from ..schedules import schedule
    from .common import emit, open_store

    store = open_store(args)
    if args.monitor_action == "add":
        added = served.add_monitor(
            store,
            args.name,
            args.cron,
            alias=args.alias,
            window=args.window,
            name=args.schedule,
            tz=args.tz,
            catchup=args.catchup,
            alert_on=args.alert_on,
            now=args.now,
        )
        spec = served.spec_of(store, added)
        shown = {
            **added,
            **spec,
            "next_run": schedule.next_run(added, schedule.to_utc(args.now)),
        }
        emit(
            args,
            shown,
            f"monitor {added['name']}: {added['target']}'s log over {spec['window_s']:g} s "
            f"on '{added['cron']}' ({added['tz']}), next {shown['next_run']}",
        )
    elif args.monitor_action == "list":
        rows = [
            {**s, **served.spec_of(store, s)}
            for s in schedule.listing(store)
            if s["kind"] == served.KIND and s["enabled"]
        ]
        emit(
            args,
            rows,
            table_text(rows, ["name", "target", "window_s", "cron", "next_run", "last_status"]),
        )
    else:
        found = store.get_schedule(args.schedule)
        if found["kind"] != served.KIND:
            raise InvalidInputError(f"schedule {args.schedule} is not a monitor")
        schedule.remove(store, args.schedule)
        emit(args, {"name": args.schedule, "enabled": False}, f"monitor {args.schedule} removed")


def _alerts(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..monitoring.alerting import add_channel, channels, list_alerts
    from .common import emit, open_store

    if args.alerts_action in ("inbox", "ack", "resolve"):
        inbox.run(args)
        return
    store = open_store(args)
    if args.alerts_action == "list":
        found = [a.to_json() for a in list_alerts(store, args.name, args.limit)]
        rows = [
            {
                **a,
                "delivered": ", ".join(
                    f"{d['kind']}:{'ok' if d['ok'] else 'FAILED'}" for d in a["deliveries"]
                ),
            }
            for a in found
        ]
        emit(args, found, table_text(rows, ["id", "at", "kind", "model", "message", "delivered"]))
    elif args.alerts_action == "channels":
        shown = channels(store, args.name)
        emit(args, shown, table_text(shown, ["id", "model", "kind", "config", "enabled"]))
    elif args.alerts_action == "add":
        mode = args.digest
        if args.webhook:
            channel = add_channel(store, args.name, "webhook", url=args.webhook, digest=mode)
        elif args.webhook_env:
            channel = add_channel(
                store, args.name, "webhook", url_env=args.webhook_env, digest=mode
            )
        elif args.log:
            channel = add_channel(store, args.name, "log", path=args.log, digest=mode)
        else:
            channel = add_channel(
                store,
                args.name,
                "email",
                digest=mode,
                to=args.email,
                smtp_host=args.smtp_host,
                smtp_port=args.smtp_port,
                sender=args.sender,
                starttls=args.starttls,
                username=args.username,
                password_env=args.password_env,
            )
        emit(args, channel, f"channel {channel['id']} added ({channel['kind']})")
    elif args.alerts_action == "set-digest":
        from ..monitoring.digest import set_digest

        channel = set_digest(store, args.channel_id, args.mode)
        emit(args, channel, f"channel {channel['id']}: digest {args.mode}")
    elif args.alerts_action == "digest":
        from ..monitoring.digest import alert_digest

        done = alert_digest(store, args.channel, args.period, dry_run=args.dry_run)
        if not done:
            text = "no channel in digest mode (add one with --digest, or name one with --channel)"
        else:
            text = "\n".join(_digest_line(entry, args.dry_run) for entry in done)
        emit(args, done, text)
        failed = [
            e["channel_id"] for e in done if not all(d["ok"] for d in e.get("deliveries", []))
        ]
        if failed:
            raise UnavailableError(
                f"the digest could not be delivered to channel(s) {failed}: recorded as failed"
            )
    else:
        known = {c["id"] for c in store.alert_channels(None, enabled_only=False)}
        if args.channel_id not in known:
            raise NotFoundError(f"no alert channel {args.channel_id}")
        store.disable_alert_channel(args.channel_id, environment.actor())
        emit(args, {"id": args.channel_id, "enabled": False}, f"channel {args.channel_id} disabled")


def _digest_line(entry: dict, dry_run: bool) -> str:
    if dry_run:
        return f"channel {entry['channel_id']} (not sent):\n{entry['text']}"
    ok = all(d.get("ok") for d in entry["deliveries"])
    errors = "; ".join(str(d.get("error")) for d in entry["deliveries"] if not d.get("ok"))
    state = "sent" if ok else f"FAILED: {errors}"
    return f"channel {entry['channel_id']}: digest {entry['digest_id']} {state}\n{entry['text']}"


COMMANDS = {"drift": _drift, "monitor": _monitor, "alerts": _alerts}
