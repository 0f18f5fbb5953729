"""``mlops-nb run`` and ``mlops-nb report``: executing notebooks, here or on a cluster.

Also the ``--executor`` / ``--scheduler-address`` options that every command
running notebooks shares (``run``, ``pipeline run``, ``scheduler``, ``tick``,
``schedule run-now``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import limits
from ..errors import DeadlineError, ExecutionError, InvalidInputError
from ..text import terminal
from .common import emit, location, open_store, parse_value, run_json, seconds, whole

if TYPE_CHECKING:
    from ..execution.executor import Executor, ExecutorFactory
    from ..records import Run


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``runs``, ``show``, ``run`` and ``report`` to the main parser."""
    p = cmd("runs", "list runs, newest first")
    p.add_argument("--model", help="only runs of this model")
    p.add_argument("--kind", choices=["track", "notebook", "pipeline", "test"])
    p.add_argument("--limit", type=whole(), default=50, help="at most N runs (0: all)")
    p.add_argument(
        "--watch",
        action="store_true",
        help="refresh until no run is running (pipeline steps shown)",
    )
    p.add_argument("--interval", type=seconds(), default=2.0, help="--watch refresh, seconds")
    p = cmd("show", "show one run")
    p.add_argument("run_id")
    p = cmd("run", "execute a notebook with papermill and store it as an audit artifact")
    p.add_argument("notebook")
    p.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[]
    )
    p.add_argument("-f", "--parameters-file", metavar="params.yaml")
    p.add_argument("--timeout", type=seconds(), metavar="S", help="wall-clock limit for the run")
    p.add_argument("-o", "--output", metavar="FILE.ipynb", help="also write the executed notebook")
    p.add_argument("--cwd", help="working directory of the kernel (default: the notebook's)")
    p.add_argument("--kernel", help="kernel name (default: the notebook's)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show cell N of M on stderr (default: when stderr is a terminal)",
    )
    p.add_argument("--tag", action="append", default=[], metavar="K=V", help="tag the run")
    p.add_argument("--run-id", help=argparse.SUPPRESS)  # pre-assigned by retrain triggers
    executor_options(p)
    p = cmd("report", "write a self-contained HTML report of a run")
    p.add_argument("run_id")
    p.add_argument("-o", "--output", metavar="FILE.html")


def executor_options(parser: argparse.ArgumentParser) -> None:
    """``--executor`` and ``--scheduler-address``, for the commands that run notebooks."""
    parser.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="run notebooks in kernels on this machine (local), or as tasks on a "
        "dask.distributed cluster (dask)",
    )
    parser.add_argument(
        "--scheduler-address",
        metavar="tcp://HOST:PORT",
        help="the Dask scheduler for --executor dask (default: $MLOPS_NB_DASK_ADDRESS)",
    )


def executor_factory(args: argparse.Namespace) -> ExecutorFactory | None:
    """``None`` for ``--executor local``; for ``dask``, ``max_parallel -> DaskExecutor``.

    The scheduler is reached once first, so a wrong address fails before
    anything is recorded.
    """
    if args.executor != "dask":
        if args.scheduler_address:
            raise InvalidInputError("--scheduler-address applies only with --executor dask")
        return None
    import functools

    from ..execution.dask_executor import DaskExecutor

    executor = DaskExecutor(args.scheduler_address)
    executor.check()
    return functools.partial(DaskExecutor, executor.address)


def _open_store_later(args: argparse.Namespace) -> Any:
    """A store opener, so the run can open the database while its kernel starts."""

    def opener() -> Any:
        return open_store(args, create=True)

    return opener


def _cmd_run(args: argparse.Namespace) -> None:
    from ..execution.runner import run_notebook, timed_out

    params: dict[str, Any] = {}
    if args.parameters_file:
        params.update(_read_params_file(args.parameters_file))
    for key, value in args.parameter:
        params[key] = parse_value(value)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--tag takes KEY=VALUE, not {item!r}")
        tags[key] = value
    make_executor = executor_factory(args)
    if make_executor is not None:
        run = _run_elsewhere(args, make_executor(1), params, tags)
    else:
        run = run_notebook(
            args.notebook,
            params,
            store=_open_store_later(args),
            location=location(args),
            timeout=args.timeout,
            cwd=args.cwd,
            output=args.output,
            kernel_name=args.kernel,
            progress=progress,
            run_id=args.run_id,
            tags=tags,
        )
    doc = run_json(run)
    # The versions the notebook registered, so a script (a CI job) can name the new one.
    children = open_store(args).list_runs(parent_run_id=run.run_id)
    doc["registered"] = [f"{c.name}:{c.model_version}" for c in children if c.model_version]
    emit(args, doc, str(run))
    if timed_out(run):
        raise DeadlineError(f"notebook run {run.run_id[:12]} {run.error}")
    if run.status != "finished":
        raise ExecutionError(f"notebook run {run.run_id[:12]} failed: {run.error}")


def _run_elsewhere(
    args: argparse.Namespace, executor: Executor, params: dict[str, Any], tags: dict[str, str]
) -> Run:
    """``run`` through an executor (Dask): the notebook runs in a kernel on a worker."""
    from ..execution.executor import StepTask

    notebook = Path(args.notebook).expanduser().resolve()  # the worker's cwd is not ours
    if args.output is not None:
        limits.output_file(args.output, "output file")  # before the cluster runs anything
    store = open_store(args, create=True)
    outcome = executor.run(
        store,
        StepTask(
            name=notebook.stem,
            notebook=notebook,
            parameters=params,
            timeout=args.timeout,
            tags=tags,
            cwd=Path(args.cwd).expanduser().resolve() if args.cwd else None,
            kernel_name=args.kernel,
        ),
        run_id=args.run_id,
    )
    run = store.get_run(outcome.run_id)
    if args.output is not None and run.output_sha256:
        Path(args.output).write_bytes(store.get_artifact(run.output_sha256))
    return run


def _read_params_file(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            loaded = yaml.safe_load(fh)
    except OSError as exc:
        raise InvalidInputError(f"cannot read parameters file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"parameters file {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"parameters file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"parameters file {path} must hold a mapping of names to values")
    return loaded


def _cmd_report(args: argparse.Namespace) -> None:
    from ..execution.report import render
    from ..store.artifacts import sha256_bytes

    store = open_store(args)
    run_id = store.resolve_run_id(args.run_id)
    target = limits.output_file(args.output or f"report-{run_id[:12]}.html", "report file")
    html = render(store, run_id)
    data = html.encode("utf-8")
    target.write_bytes(data)
    emit(
        args,
        {
            "run_id": run_id,
            "path": str(target.resolve()),
            "bytes": len(data),
            "sha256": sha256_bytes(data),
        },
        f"report written to {target}",
    )


def _cmd_runs(args: argparse.Namespace) -> None:
    from ..display import table_text
    from ..tracking.recorder import recover_orphans

    store = open_store(args)
    while True:
        recover_orphans(store)
        runs = store.list_runs(name=args.model, kind=args.kind, limit=args.limit)
        docs = [run_json(r) for r in runs]
        rows = [
            {**d, "run_id": d["run_id"][:12], "steps": _steps(d) or _cells(store, d)} for d in docs
        ]
        text = table_text(
            rows,
            ["run_id", "kind", "name", "status", "started_at", "metrics", "model_version", "steps"],
        )
        busy = any(r.status == "running" for r in runs)
        if not args.watch or not busy:
            emit(args, docs, text)
            return
        if not args.json:
            print(("\x1b[2J\x1b[H" if sys.stdout.isatty() else "") + terminal(text), flush=True)
        time.sleep(args.interval)


def _cells(store: Any, doc: dict[str, Any]) -> str:
    """``cell N of M`` for a notebook run in progress (papermill saves after each cell)."""
    if doc["kind"] != "notebook" or doc["status"] != "running":
        return ""
    from ..execution.runner import progress

    done = progress(store, doc["run_id"])
    return f"cell {done[0]} of {done[1]}" if done else ""


def _steps(doc: dict[str, Any]) -> str:
    steps = (doc.get("data") or {}).get("steps") or {}
    return " ".join(f"{name}:{s.get('status')}" for name, s in steps.items())


def _cmd_show(args: argparse.Namespace) -> None:
    store = open_store(args)
    run = store.get_run(args.run_id)
    doc = run_json(run)
    doc["children"] = [c.run_id for c in store.list_runs(parent_run_id=run.run_id)]
    emit(args, doc, str(run))


COMMANDS = {
    "run": _cmd_run,
    "report": _cmd_report,
    "runs": _cmd_runs,
    "show": _cmd_show,
}
