"""The end-to-end demo behind `make demo`.

Trains the churn model twice through `mlops-nb run` (papermill, real
kernels), promotes with a gate, shows a refused gate, answers "which version
was in production at time T?", rolls back, serves churn@production over HTTP
while the alias flips between versions (no request fails), verifies the
audit log and writes an HTML report. Every step is a real `mlops-nb` command against a fresh
store in demo-output/.mlops; the commands are printed so you can repeat them.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-output"
HOME = OUT / ".mlops"
NOTEBOOK = ROOT / "notebooks" / "train_churn.ipynb"
EXE = [sys.executable, "-m", "mlops_nb"]


def mlops(*args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, object]:
    """Run one mlops-nb command, echo it, and return (exit code, parsed JSON)."""
    shown = " ".join(["mlops-nb", *(f"'{a}'" if " " in a or ">" in a else a for a in args)])
    print(f"\n$ {shown}")
    proc = subprocess.run(
        [*EXE, "--home", str(HOME), *args, "--json"], capture_output=True, text=True, cwd=ROOT
    )
    if proc.stderr.strip():
        print("  " + proc.stderr.strip().splitlines()[-1])
    if proc.returncode not in ok_codes:
        print(proc.stdout)
        raise SystemExit(f"demo step failed with exit code {proc.returncode}")
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None


def tracked(run: dict) -> dict:
    """The training run a notebook run produced (its single tracked child)."""
    _, shown = mlops("show", run["run_id"])
    child_id = shown["children"][0]
    _, child = mlops("show", child_id)
    return child


def serve_and_swap(other: int) -> dict:
    """Serve churn@production while production flips to version ``other`` and back, under load."""
    from mlops_nb.datasets import make_churn, split

    customers, *_ = split(make_churn(400, seed=41, month="2026-12"), seed=41)
    bodies = [
        json.dumps({"rows": json.loads(customers.iloc[i : i + 1].to_json(orient="records"))})
        for i in range(50)
    ]
    print("\n$ mlops-nb serve churn --port 0   # follows churn@production")
    server = subprocess.Popen(
        [*EXE, "--home", str(HOME), "serve", "churn", "--port", "0", "--json", "--poll", "0.2"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        info = json.loads(server.stdout.readline() if server.stdout else "{}")
        port = info["port"]
        print(f"  serving version {info['version']} at {info['url']}")
        stop, lock = threading.Event(), threading.Lock()
        seen: dict[int, int] = {}
        failed: list[str] = []

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not stop.is_set():
                body = bodies[n % len(bodies)]
                n += 1
                try:
                    conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                    response = conn.getresponse()
                    doc = json.loads(response.read())
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    with lock:
                        failed.append(str(exc))
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                with lock:
                    if response.status == 200:
                        seen[doc["version"]] = seen.get(doc["version"], 0) + 1
                    else:
                        failed.append(f"{response.status}: {doc}")
            conn.close()

        clients = [threading.Thread(target=client, args=(i * 7,)) for i in range(4)]
        for thread in clients:
            thread.start()
        for flip in range(4):
            time.sleep(1.0)
            if flip % 2 == 0:
                mlops("promote", "churn", str(other), "--reason", "demo: swap while serving")
            else:
                mlops("rollback", "churn", "--reason", "demo: swap back while serving")
        time.sleep(1.0)
        stop.set()
        for thread in clients:
            thread.join()
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)  # writes the whole prediction log, then exits
        server.wait(60)
        if server.stdout is not None:
            server.stdout.close()
    _, logged = mlops("predictions", "churn", "--since", "1h")
    return {"seen": seen, "failed": failed, "logged": len(logged), "stopped": server.returncode}


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    started = time.monotonic()
    print("mlops-nb demo: a monthly churn model, versioned, gated, audited")
    mlops("init")

    _, first = mlops("run", str(NOTEBOOK), "-p", "month", "2026-10", "-p", "C", "0.001")
    v1 = tracked(first)
    print(f"  -> version {v1['model_version']}: auc={v1['metrics']['auc']:.4f}")
    mlops(
        "promote",
        "churn",
        str(v1["model_version"]),
        "--require",
        "auc>0.6",
        "--reason",
        "first model in production",
    )
    time.sleep(0.05)
    _, before_second = mlops("which", "churn@production")
    moment = before_second["set_at"]

    _, second = mlops("run", str(NOTEBOOK), "-p", "month", "2026-11", "-p", "C", "1.0")
    v2 = tracked(second)
    print(f"  -> version {v2['model_version']}: auc={v2['metrics']['auc']:.4f}")
    code, _ = mlops(
        "promote",
        "churn",
        str(v2["model_version"]),
        "--require",
        "auc>=production",
        "--reason",
        "November retrain",
        ok_codes=(0, 4),
    )
    promoted = code == 0
    refused, _ = mlops(
        "promote",
        "churn",
        str(v1["model_version"]),
        "--require",
        "auc>=production",
        ok_codes=(0, 4),
    )
    _, then = mlops("which", "churn@production", "--at", moment)
    _, now = mlops("which", "churn@production")
    _, back = mlops(
        "rollback", "churn", "--reason", "demo: undo the November promotion", ok_codes=(0, 4)
    )
    _, after = mlops("which", "churn@production")

    # Monitoring: this month's customers look like the training data; a later
    # extract where contracts, charges and support calls moved does not.
    from mlops_nb.datasets import make_churn

    steady, shifted = OUT / "customers-2026-12.csv", OUT / "customers-2027-03.csv"
    make_churn(4000, seed=31, month="2026-12").to_csv(steady, index=False)
    make_churn(4000, seed=32, month="2027-03", drift=0.8).to_csv(shifted, index=False)
    alert_log = OUT / "alerts.log"
    mlops("alerts", "add", "churn", "--log", str(alert_log))
    _, calm = mlops("drift", "check", "churn@production", str(steady), "--target", "churned")
    _, moved = mlops(
        "drift",
        "check",
        "churn@production",
        str(shifted),
        "--target",
        "churned",
        "--html",
        str(OUT / "drift-2027-03.html"),
    )

    # Automation: the monthly retrain pipeline on a schedule, fired by a simulated clock
    # (06:00 New York time on December 1st is 11:00 UTC).
    pipeline_file = ROOT / "notebooks" / "pipelines" / "retrain_churn.yaml"
    mlops(
        "schedule",
        "add",
        "monthly-retrain",
        str(pipeline_file),
        "--cron",
        "0 6 1 * *",
        "--tz",
        "America/New_York",
        "-p",
        "month",
        "2026-12",
        "--alert-model",
        "churn",
        "--now",
        "2026-11-15T00:00:00Z",
    )
    _, fired = mlops("tick", "--now", "2026-12-01T11:00:30Z")
    _, pipeline_runs = mlops("runs", "--kind", "pipeline")
    steps = pipeline_runs[0]["data"]["steps"] if pipeline_runs else {}
    _, holder = mlops("which", "churn@production")
    _, listed = mlops("versions", "churn")
    others = [v["version"] for v in listed if v["version"] != holder["version"]]
    served = serve_and_swap(others[-1])
    _, verify = mlops("audit", "verify")
    report_path = OUT / "churn-report.html"
    mlops("report", second["run_id"], "-o", str(report_path))

    print("\n" + "=" * 72)
    print("What happened")
    print(
        f"  trained churn v{v1['model_version']} (C=0.001) and v{v2['model_version']} (C=1.0)"
        " with papermill; each executed notebook is stored by SHA-256"
    )
    print(
        f"  gate 'auc>=production' for v{v2['model_version']}: "
        f"{'passed, promoted' if promoted else 'refused'}"
    )
    print(
        f"  gate 'auc>=production' for v{v1['model_version']} afterwards: "
        f"{'passed' if refused == 0 else 'refused (alias untouched)'}"
    )
    print(f"  production at {moment}: v{then['version']} (set by {then['set_by']})")
    print(f"  production before rollback: v{now['version']}; after rollback: v{after['version']}")
    print(
        f"  trained on data sha256 {after['data_sha256'][:16]}…, "
        f"executed notebook {after['notebook_sha256'][:16]}…, git {after['git_commit']}"
    )
    print(
        f"  drift check of {steady.name}: {'DRIFT' if calm['drift'] else 'no drift'}; "
        f"of {shifted.name}: {'DRIFT' if moved['drift'] else 'no drift'} in "
        f"{', '.join(moved['drifted_columns']) or 'no column'} (alert in {alert_log.name})"
    )
    print(
        f"  schedule monthly-retrain fired slot {fired[0]['slot'] if fired else '-'}: "
        f"pipeline {pipeline_runs[0]['status'] if pipeline_runs else 'not run'}"
    )
    for name, step in sorted(steps.items(), key=lambda kv: kv[1].get("ended_at") or ""):
        print(f"    {name:<9} {step['status']:<9} {step.get('gate') or step.get('error') or ''}")
    answered = sum(served["seen"].values())
    print(
        f"  served churn@production while it flipped 4 times: {answered} requests, "
        f"{len(served['failed'])} failed; answered by "
        + ", ".join(f"v{v} ({n})" for v, n in sorted(served["seen"].items()))
        + f"; {served['logged']} rows in the prediction log"
    )
    print(
        f"  audit log: {verify['events']} events, {verify['artifacts']} artifacts, "
        f"{'intact' if verify['ok'] else 'BROKEN: ' + str(verify['problem'])}"
    )
    print("Where to look")
    print(f"  store:   {HOME}")
    print(f"  report:  {report_path}")
    print(f"  drift:   {OUT / 'drift-2027-03.html'}")
    print(f"  try:     mlops-nb --home {HOME.relative_to(ROOT)} runs")
    print(f"           mlops-nb --home {HOME.relative_to(ROOT)} schedule list")
    print(
        f"           mlops-nb --home {HOME.relative_to(ROOT)} which churn@production --at {moment}"
    )
    print(f"           mlops-nb --home {HOME.relative_to(ROOT)} predictions churn --since 1d")
    print(f"           mlops-nb --home {HOME.relative_to(ROOT)} serve churn")
    print(
        f"  panel:   MLOPS_NB_HOME={HOME.relative_to(ROOT)} .venv/bin/jupyter lab, "
        "then the MLOps icon in the left sidebar"
    )
    print(f"done in {time.monotonic() - started:.0f} s")
    if not verify["ok"] or back is None or calm["drift"] or not moved["drift"] or not fired:
        raise SystemExit(1)
    if served["failed"] or len(served["seen"]) < 2 or served["stopped"] != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
