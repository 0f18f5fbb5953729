"""``mlops-nb schedule …``, ``scheduler``, ``tick`` and ``pipeline …``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import DeadlineError, ExecutionError
from .common import seconds, whole

if TYPE_CHECKING:
    from ..store import Store


def _schedule_options(p: argparse.ArgumentParser, defaults: bool) -> None:
    d: Callable[[Any], Any] = (lambda v: v) if defaults else (lambda v: None)
    p.add_argument(
        "--cron",
        required=defaults,
        help="five cron fields, e.g. '0 6 1 * *', or @hourly, @daily, @weekly, @monthly, @yearly",
    )
    p.add_argument("--tz", default=d("UTC"), help="IANA time zone of the cron (default UTC)")
    p.add_argument(
        "--catchup",
        choices=["none", "latest", "all"],
        default=d("latest"),
        help="after downtime: skip missed slots, run the newest, or run all",
    )
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE")
    )
    p.add_argument(
        "--timeout",
        type=seconds(allow_zero=True),
        help="seconds per attempt (kernel killed after; 0: no limit)",
    )
    p.add_argument("--retries", type=whole(0, limits.MAX_RETRIES), default=d(0))
    p.add_argument(
        "--backoff",
        type=seconds(allow_zero=True),
        default=d(60.0),
        help="seconds before retry 1, doubling",
    )
    p.add_argument("--max-concurrent", type=whole(1), default=d(1))
    p.add_argument(
        "--overlap",
        choices=["queue", "skip"],
        default=d("skip"),
        help="when max-concurrent runs are going: queue the slot or skip it",
    )
    p.add_argument("--alert-on", choices=["failure", "always", "never"], default=d("failure"))
    p.add_argument(
        "--alert-model",
        default=d("*"),
        help="use this model's alert channels ('*': channels for every model)",
    )
    p.add_argument("--now", help=argparse.SUPPRESS)  # tests and demos: simulated clock


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    from .run import executor_options

    sched = cmd("schedule", "run notebooks and pipelines on a cron")
    actions = sched.add_subparsers(dest="schedule_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("add", parents=[parent], help="define a schedule")
    p.add_argument("name")
    p.add_argument("target", metavar="NOTEBOOK_OR_PIPELINE")
    _schedule_options(p, defaults=True)
    p = actions.add_parser(
        "update", parents=[parent], help="change a schedule and snapshot its files again"
    )
    p.add_argument("name")
    p.add_argument("target", nargs="?", metavar="NOTEBOOK_OR_PIPELINE")
    _schedule_options(p, defaults=False)
    p = actions.add_parser("list", parents=[parent], help="schedules, next run, last status")
    p.add_argument("--now", help=argparse.SUPPRESS)
    for name, text in (
        ("pause", "stop firing (slots while paused are not owed)"),
        ("resume", "fire again from now on"),
        ("remove", "delete (its slots and audit events stay; the name is free again)"),
    ):
        p = actions.add_parser(name, parents=[parent], help=text)
        p.add_argument("name")
        p.add_argument("--now", help=argparse.SUPPRESS)
    p = actions.add_parser(
        "run-now", parents=[parent], help="run once now, maybe overriding parameters"
    )
    p.add_argument("name")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE")
    )
    executor_options(p)
    p = actions.add_parser("slots", parents=[parent], help="what each slot did")
    p.add_argument("name", nargs="?")
    p.add_argument("--limit", type=whole(), default=50, help="at most N slots (0: all)")
    actions.add_parser("cron-line", parents=[parent], help="the crontab line that ticks")

    p = cmd("scheduler", "run schedules in the foreground (for systemd or supervisor)")
    p.add_argument("--interval", type=seconds(), default=30.0, help="seconds between ticks")
    p.add_argument("--workers", type=whole(1), default=2, help="jobs at once")
    executor_options(p)
    p = cmd("tick", "fire whatever is due, once (for a system cron entry every minute)")
    p.add_argument(
        "--now", metavar="ISO_DATETIME", help="simulate the clock (a bare date: its end, UTC)"
    )
    p.add_argument("--no-run", action="store_true", help="record slots, run nothing")
    executor_options(p)

    pipe = cmd("pipeline", "run or validate a pipeline file")
    actions = pipe.add_subparsers(dest="pipeline_action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("run", parents=[parent], help="run a pipeline once")
    p.add_argument("file")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE")
    )
    p.add_argument("--run-id", help=argparse.SUPPRESS)
    executor_options(p)
    p = actions.add_parser("validate", parents=[parent], help="check a pipeline file")
    p.add_argument("file")


def _params(pairs: list[list[str]]) -> dict[str, Any]:
    from .common import parse_value

    return {k: parse_value(v) for k, v in pairs}


def _schedule(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..schedules import schedule as sch
    from .common import emit, open_store

    store = open_store(args, create=True)
    action = args.schedule_action
    if action in ("add", "update"):
        options = {
            "tz": args.tz,
            "catchup": args.catchup,
            "parameters": _params(args.parameter) or None,
            "timeout": args.timeout,
            "retries": args.retries,
            "backoff": args.backoff,
            "max_concurrent": args.max_concurrent,
            "overlap": args.overlap,
            "alert_on": args.alert_on,
            "alert_model": args.alert_model,
            "now": args.now,
        }
        if action == "add":
            options["parameters"] = options["parameters"] or {}
            done = sch.add(store, args.name, args.target, args.cron, **options)
        else:
            done = sch.update(store, args.name, target=args.target, cron=args.cron, **options)
        emit(
            args,
            done,
            f"schedule {done['name']}: {done['kind']} {done['target']} on "
            f"'{done['cron']}' ({done['tz']}), snapshot {done['snapshot_sha256'][:12]}",
        )
    elif action == "list":
        rows = sch.listing(store, sch.to_utc(args.now) if args.now else None)
        emit(
            args,
            rows,
            table_text(
                rows, ["name", "cron", "tz", "enabled", "next_run", "last_status", "runs", "target"]
            ),
        )
    elif action in ("pause", "resume"):
        done = sch.set_enabled(store, args.name, action == "resume", args.now)
        emit(args, done, f"schedule {args.name} {'resumed' if done['enabled'] else 'paused'}")
    elif action == "remove":
        sch.remove(store, args.name)
        emit(args, {"name": args.name, "enabled": False}, f"schedule {args.name} removed")
    elif action == "run-now":
        from ..schedules.scheduler import run_now
        from .run import executor_factory

        slot = run_now(
            store, args.name, _params(args.parameter), make_executor=executor_factory(args)
        )
        emit(args, slot, f"{args.name}: {slot['status']} (run {slot['run_id']})")
        if slot["status"] != "finished":
            failed = DeadlineError if _ran_out_of_time(store, slot["run_id"]) else ExecutionError
            raise failed(f"schedule {args.name} run failed: {slot['error']}")
    elif action == "slots":
        rows = store.slots(args.name, limit=args.limit)
        emit(
            args,
            rows,
            table_text(rows, ["id", "schedule", "slot", "status", "attempts", "run_id", "error"]),
        )
    else:
        from ..schedules.scheduler import cron_line

        line = cron_line(store)
        emit(args, {"cron_line": line}, line)


def _scheduler(args: argparse.Namespace) -> None:
    from ..schedules.scheduler import Scheduler
    from .common import open_store
    from .run import executor_factory

    make_executor = executor_factory(args)
    Scheduler(
        open_store(args, create=True), args.interval, args.workers, make_executor
    ).run_forever()


def _tick(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..schedules.scheduler import tick
    from .common import emit, open_store
    from .run import executor_factory

    make_executor = executor_factory(args)
    rows = tick(
        open_store(args, create=True), args.now, run=not args.no_run, make_executor=make_executor
    )
    emit(args, rows, table_text(rows, ["schedule", "slot", "status", "run_id", "error"]))


def _pipeline(args: argparse.Namespace) -> None:
    from ..execution import pipeline as pipelines
    from .common import emit, open_store, run_json
    from .run import executor_factory

    spec = pipelines.load(args.file)
    if args.pipeline_action == "validate":
        doc = {
            "name": spec.name,
            "steps": [s.name for s in spec.order()],
            "parameters": spec.parameters,
            "notebooks": [str(n) for n in spec.notebooks()],
        }
        emit(args, doc, f"pipeline {spec.name} is valid: {' → '.join(doc['steps'])}")
        return
    make_executor = executor_factory(args)
    store = open_store(args, create=True)
    run = pipelines.run(
        store,
        spec,
        _params(args.parameter),
        executor=make_executor(int(spec.settings["max_parallel"])) if make_executor else None,
        run_id=args.run_id,
    )
    steps = run.data.get("steps", {})
    text = "\n".join(
        [f"pipeline {spec.name}: {run.status} (run {run.run_id})"]
        + [
            f"  {name:<12} {s['status']:<9} {s.get('error') or s.get('gate') or ''}"
            for name, s in steps.items()
        ]
    )
    emit(args, run_json(run), text)
    if run.status != "finished":
        failed = DeadlineError if _ran_out_of_time(store, run.run_id) else ExecutionError
        raise failed(f"pipeline {spec.name} failed: {run.error}")


def _ran_out_of_time(store: Store, run_id: str | None) -> bool:
    """Whether run ``run_id`` failed because a time limit ran out (its own, or a step's).

    Such a failure exits 8, as ``mlops-nb run --timeout`` does, not 6: nothing
    in the notebook failed, and a longer limit may succeed.
    """
    from ..execution.pipeline import timed_out_step
    from ..execution.runner import timed_out

    if run_id is None:
        return False
    run = store.get_run(run_id)
    return timed_out(run) or (run.kind == "pipeline" and timed_out_step(run) is not None)


COMMANDS = {"schedule": _schedule, "scheduler": _scheduler, "tick": _tick, "pipeline": _pipeline}
