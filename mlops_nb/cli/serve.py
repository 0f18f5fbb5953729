"""``mlops-nb serve``, ``score``, ``predictions`` and ``export``: the prediction server, batch
scoring, their log and its privacy, and a version written for other servers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .common import emit, location, open_store, seconds, trust_options, whole

#: Where the bearer token may come from instead of the command line, which
#: other users of the machine can read in the process list.
ENV_TOKEN = "MLOPS_NB_SERVE_TOKEN"


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share above 0 and at most 1, not {text!r}")
    return value


_share.__name__ = "share"


def add_commands(
    cmd: Callable[[str, str], argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """Add ``serve``, ``predictions``, ``score`` and ``export`` to the main parser."""
    p = cmd(
        "serve",
        "serve NAME[@ALIAS] over HTTP, following the alias (default: production) and "
        "logging every prediction",
    )
    p.add_argument("ref", metavar="NAME[@ALIAS|:VERSION]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=whole(maximum=65535), default=8000, help="0 picks a free port")
    p.add_argument("--workers", type=whole(1, 64), default=1, metavar="N")
    p.add_argument(
        "--token",
        metavar="T",
        help=f"require 'Authorization: Bearer T' on every request (or set {ENV_TOKEN}; "
        "other users can read a command line)",
    )
    p.add_argument(
        "--log-sample", type=_share, default=1.0, metavar="FRACTION",
        help="share of requests written to the prediction log (default 1: all)",
    )  # fmt: skip
    p.add_argument(
        "--log-flush", type=seconds(), default=2.0, metavar="S",
        help="write the log at least every S seconds: what a SIGKILL can lose (default 2)",
    )  # fmt: skip
    p.add_argument(
        "--log-batch", type=whole(1, 10_000_000), default=10_000, metavar="ROWS",
        help="write the log as soon as this many rows wait (default 10000)",
    )  # fmt: skip
    p.add_argument(
        "--poll", type=seconds(), default=0.5, metavar="S",
        help="look at the alias every S seconds (default 0.5)",
    )  # fmt: skip
    p.add_argument(
        "--max-body", type=whole(64, 1 << 30), default=1 << 20, metavar="BYTES",
        help="largest request body accepted (default 1 MiB)",
    )  # fmt: skip
    p.add_argument(
        "--engine", choices=["uvicorn", "ray"], default="uvicorn",
        help="uvicorn (default): this process and --workers forks of it; ray: a Ray Serve "
        "deployment of --workers replicas (pip install 'mlops-nb[ray]')",
    )  # fmt: skip
    p.add_argument(
        "--ray-address", metavar="ADDRESS",
        help="with --engine ray: the Ray cluster to join (default: start a local one)",
    )  # fmt: skip
    trust_options(p)

    p = cmd(
        "predictions",
        "the prediction log of a model, with feedback; 'predictions erase NAME --where EXPR' "
        "removes a subject's rows, 'predictions policy NAME' sets retention and masking",
    )
    p.add_argument("name", metavar="NAME | erase NAME | policy NAME")
    p.add_argument("model", nargs="?", help=argparse.SUPPRESS)
    p.add_argument(
        "--where", metavar="EXPR",
        help="erase: the rows to remove, e.g. \"customer_id == 'C123'\" (== joined by 'and')",
    )  # fmt: skip
    p.add_argument(
        "--retention", metavar="DURATION",
        help="policy: delete log batches older than this (e.g. 180d; 'none': keep)",
    )  # fmt: skip
    p.add_argument("--mask", metavar="COLS", help="policy: input columns stored empty (a,b)")
    p.add_argument("--hash", metavar="COLS", help="policy: input columns stored as a keyed hash")
    p.add_argument("--since", metavar="ISO|7d", help="e.g. 7d, 12h, 2026-07-01")
    p.add_argument("--until", metavar="ISO")
    p.add_argument("--version", metavar="N", help="only predictions made by this version")
    p.add_argument("--batch", metavar="BATCH_ID", help="only the rows of this scored batch")
    p.add_argument(
        "-o", "--output", metavar="FILE.parquet", help="write the rows to a Parquet file"
    )
    p.add_argument(
        "--limit", type=whole(), default=0, metavar="N",
        help="only the newest N rows (JSON and text; 0 = all for JSON, 20 for text)",
    )  # fmt: skip

    p = cmd(
        "score",
        "score a CSV or Parquet table with NAME[@ALIAS] (default: production) and log every "
        "row in its prediction log",
    )
    p.add_argument("ref", metavar="NAME[@ALIAS|:VERSION]")
    p.add_argument("data_file", metavar="DATA_FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT.parquet")
    trust_options(p)

    p = cmd(
        "export",
        "write a version as an MLflow model directory (MLmodel with sklearn and "
        "python_function flavours) for mlflow models serve, KServe, SageMaker",
    )
    p.add_argument("ref", metavar="NAME[@ALIAS|:VERSION]")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--format", choices=["mlflow"], default="mlflow")
    trust_options(p)


def _cmd_export(args: argparse.Namespace) -> None:
    from ..serving.export import export

    done = export(
        open_store(args),
        args.ref,
        args.directory,
        format=args.format,
        trusted=tuple(args.trust),
        allow_pickle=args.allow_pickle,
    )
    emit(
        args,
        done,
        f"{done['model']}:{done['version']} written as an {done['format']} model to "
        f"{done['directory']} ({', '.join(done['files'])})",
    )


def _erase(args: argparse.Namespace) -> None:
    from ..errors import InvalidInputError
    from ..serving.privacy import erase

    if args.where is None:
        raise InvalidInputError("predictions erase needs --where, e.g. \"customer_id == 'C123'\"")
    done = erase(open_store(args), args.model, args.where)
    emit(
        args,
        done.to_json(),
        f"erased {done.rows} rows of {done.requests} requests and {done.feedback} feedback "
        f"from {args.model}'s log ({done.batches_rewritten} batches rewritten, "
        f"{done.batches_deleted} deleted); recorded in the audit log",
    )


def _policy(args: argparse.Namespace) -> None:
    from ..serving.privacy import set_policy, shown

    store = open_store(args)
    if args.retention is None and args.mask is None and args.hash is None:
        from ..registry.names import check_model_name

        name = check_model_name(args.model)
        store.latest_version(name)
        doc = shown(store.log_policy(name), name)
    else:
        doc = shown(
            set_policy(store, args.model, retention=args.retention, mask=args.mask, hash=args.hash),
            args.model,
        )
    keep = "until erased" if doc["retention_s"] is None else f"{doc['retention_s']:g} s"
    emit(
        args,
        doc,
        f"{doc['model']}: log kept {keep}; masked: {', '.join(doc['mask']) or '-'}; "
        f"hashed: {', '.join(doc['hash']) or '-'}",
    )


def _cmd_score(args: argparse.Namespace) -> None:
    from ..serving.runtime import serving_ref
    from ..serving.scoring import score
    from ..tables import read_table

    scored = score(
        open_store(args),
        args.ref,
        read_table(args.data_file),
        output=args.output,
        trusted=tuple(args.trust),
        allow_pickle=args.allow_pickle,
    )
    doc = {
        "model": serving_ref(args.ref)[0],
        "version": int(scored["version"].iloc[0]),
        "batch_id": str(scored["batch_id"].iloc[0]),
        "rows": len(scored),
        "output": args.output,
    }
    emit(
        args,
        doc,
        f"scored {doc['rows']} rows with {doc['model']}:{doc['version']} into {args.output}; "
        f"logged as batch {doc['batch_id']}",
    )


def _cmd_serve(args: argparse.Namespace) -> None:
    from ..serving.server import ServeOptions, serve

    token = args.token if args.token is not None else (os.environ.get(ENV_TOKEN) or None)
    options = ServeOptions(
        ref=args.ref,
        host=args.host,
        port=args.port,
        workers=args.workers,
        token=token,
        sample=args.log_sample,
        poll=args.poll,
        flush_every=args.log_flush,
        batch_rows=args.log_batch,
        max_body=args.max_body,
        trusted=tuple(args.trust),
        allow_pickle=args.allow_pickle,
        engine=args.engine,
        ray_address=args.ray_address,
    ).check()
    if token is None and args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"mlops-nb serve: warning: listening on {args.host} without --token: anyone who "
            "can reach it can use the model",
            file=sys.stderr,
        )

    def ready(info: dict[str, Any]) -> None:
        if args.json:
            sys.stdout.write(json.dumps(info) + "\n")
            sys.stdout.flush()
        held = f"@{info['alias']}" if info["alias"] else ""
        workers = f", {info['workers']} workers" if info["workers"] > 1 else ""
        if info["engine"] != "uvicorn":
            workers = f", {info['workers']} {info['engine']} replicas"
        print(
            f"mlops-nb serve: {info['model']}{held} (version {info['version']}) at "
            f"{info['url']}{workers}; SIGTERM or Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )

    code = serve(location(args), options, ready)
    if code:
        raise SystemExit(code)


def _cmd_predictions(args: argparse.Namespace) -> None:
    from .. import limits
    from ..display import table_text
    from ..errors import InvalidInputError
    from ..serving.reader import items, predictions

    action = args.name if args.model is not None else None
    if args.model is not None and action not in ("erase", "policy"):
        raise InvalidInputError(
            f"predictions takes one model name, not {args.name!r} and {args.model!r} "
            "(or: predictions erase NAME, predictions policy NAME)"
        )
    given = {
        "--where": args.where is not None,
        "--retention": args.retention is not None,
        "--mask": args.mask is not None,
        "--hash": args.hash is not None,
    }
    allowed = {"erase": {"--where"}, "policy": {"--retention", "--mask", "--hash"}}.get(
        action or "", set()
    )
    wrong = [k for k, v in given.items() if v and k not in allowed]
    if wrong:
        home = "'predictions erase NAME'" if "--where" in wrong else "'predictions policy NAME'"
        raise InvalidInputError(f"{', '.join(wrong)}: only with {home}")
    if action == "erase":
        _erase(args)
        return
    if action == "policy":
        _policy(args)
        return

    target = None if args.output is None else limits.output_file(args.output, "-o")
    frame = predictions(
        open_store(args),
        args.name,
        since=args.since,
        until=args.until,
        version=args.version,
        batch=args.batch,
    )
    if target is not None:
        frame.to_parquet(target, index=False)
    limit = args.limit or (None if args.json else 20)
    shown = items(frame, limit)
    where = f"; written to {target}" if target is not None else ""
    requests = frame["request_id"].nunique() if len(frame) else 0
    summary = f"{len(frame)} predicted rows from {requests} requests{where}"
    if args.json:
        emit(args, shown, summary)
        return
    for item in shown:
        item["at"] = (item.get("at") or "")[:23]
    columns = ["at", "request_id", "version", "prediction", "latency_ms", "label", "value"]
    text = table_text(shown, columns) if shown else ""
    emit(args, shown, f"{text}\n{summary}" if text else summary)


COMMANDS = {
    "serve": _cmd_serve,
    "predictions": _cmd_predictions,
    "score": _cmd_score,
    "export": _cmd_export,
}
