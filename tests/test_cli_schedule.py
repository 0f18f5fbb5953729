"""mlops-nb schedule / tick / scheduler / pipeline through the installed entry point."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.backends

NB = Path(__file__).parent / "notebooks"
TINY = str(NB / "tiny_tracked.ipynb")


def test_schedule_lifecycle_and_list_contract(cli):
    added = cli(
        "schedule",
        "add",
        "monthly",
        TINY,
        "--cron",
        "0 6 1 * *",
        "--tz",
        "Europe/Berlin",
        "--catchup",
        "latest",
        "-p",
        "x",
        "3",
        "--now",
        "2026-10-15T00:00:00Z",
        "--json",
    )
    assert added.code == 0, added.err
    assert added.json()["parameters"] == {"x": 3} and len(added.json()["snapshot_sha256"]) == 64
    listed = cli("schedule", "list", "--json", "--now", "2026-10-15T00:00:00Z").json()
    assert {"name", "cron", "tz", "enabled", "next_run", "last_status", "runs"} <= set(listed[0])
    assert listed[0]["next_run"] == "2026-11-01T05:00:00.000000+00:00"
    fired = cli("tick", "--now", "2026-11-01T05:00:30Z", "--json")
    assert fired.code == 0, fired.err
    (slot,) = fired.json()
    assert slot["status"] == "finished" and slot["slot"].startswith("2026-11-01T05:00")
    assert cli("tick", "--now", "2026-11-01T05:01:30Z", "--json").json() == []
    row = cli("schedule", "list", "--json").json()[0]
    assert row["runs"] == 1 and row["last_status"] == "finished"
    assert cli("schedule", "pause", "monthly").code == 0
    assert cli("schedule", "list", "--json").json()[0]["enabled"] == 0
    assert cli("schedule", "resume", "monthly").code == 0
    assert cli("schedule", "list", "--json").json()[0]["enabled"] == 1
    now = cli("schedule", "run-now", "monthly", "-p", "x", "8", "--json")
    assert now.code == 0 and now.json()["parameters"]["x"] == 8
    slots = cli("schedule", "slots", "monthly", "--json").json()
    assert [s["status"] for s in slots] == ["finished", "finished"]
    assert cli("schedule", "remove", "monthly").code == 0
    assert cli("schedule", "list", "--json").json()[0]["enabled"] == 0
    # removed: a slot that is due long after does not fire
    assert cli("tick", "--now", "2099-01-01T05:00:30Z", "--json").json() == []
    assert len(cli("schedule", "slots", "monthly", "--json").json()) == 2


def test_cron_line_ticks_this_store(cli, home):
    line = cli("schedule", "cron-line").out.strip()
    fields = line.split(" ", 5)
    assert fields[:5] == ["*"] * 5  # every minute
    command = fields[5]
    words = shlex.split(command)
    assert words[1:] == [
        "-m",
        "mlops_nb",
        "--home",
        str(home),
        "tick",
        ">>",
        str(home / "logs" / "tick.log"),
        "2>&1",
    ]
    # the command itself ticks this store
    assert Path(words[0]).is_file() and os.access(words[0], os.X_OK)
    done = subprocess.run([*words[:6], "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []  # nothing scheduled, nothing fired


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("schedule", "add", "s", TINY, "--cron", "99 * * * *"), 2, "bad cron expression"),
        (
            ("schedule", "add", "s", TINY, "--cron", "0 * * * *", "--tz", "Nowhere/Land"),
            2,
            "unknown time zone",
        ),
        (("schedule", "add", "s", "missing.ipynb", "--cron", "0 * * * *"), 3, "does not exist"),
        (("schedule", "pause", "nope"), 3, "no schedule named 'nope'"),
        (("tick", "--now", "yesterday"), 2, "not an ISO date"),
        (("pipeline", "run", "missing.yaml"), 3, "does not exist"),
    ],
)
def test_bad_input(cli, args, code, fragment):
    result = cli(*args)
    assert result.code == code, result.err
    assert fragment in result.err and len(result.err.strip().splitlines()) == 1


def test_failing_run_now_exits_non_zero(cli, tmp_path):
    cli("schedule", "add", "bad", TINY, "--cron", "0 * * * *", "-p", "fail_on", "1")
    result = cli("schedule", "run-now", "bad", "--json")
    assert result.code == 6 and result.json()["status"] == "failed"
    assert "x was 1" in result.err


@pytest.mark.slow
def test_pipeline_run_validate_and_schedule(cli, tmp_path):
    yaml = tmp_path / "p.yaml"
    yaml.write_text(f"""
name: small
parameters: {{start: 2.0}}
steps:
  - name: a
    notebook: {NB / "record_step.ipynb"}
    parameters: {{value: "{{{{ params.start }}}}"}}
  - name: b
    notebook: {NB / "record_step.ipynb"}
    depends_on: [a]
    parameters: {{value: "{{{{ steps.a.values.score }}}}"}}
""")
    valid = cli("pipeline", "validate", str(yaml), "--json")
    assert valid.code == 0 and valid.json()["steps"] == ["a", "b"]
    ran = cli("pipeline", "run", str(yaml), "-p", "start", "5", "--json")
    assert ran.code == 0, ran.err
    doc = ran.json()
    assert doc["kind"] == "pipeline" and doc["status"] == "finished"
    assert doc["data"]["steps"]["b"]["status"] == "finished"
    added = cli(
        "schedule",
        "add",
        "nightly",
        str(yaml),
        "--cron",
        "0 2 * * *",
        "--now",
        "2026-11-01T00:00:00Z",
        "--json",
    )
    assert added.code == 0 and added.json()["kind"] == "pipeline"
    fired = cli("tick", "--now", "2026-11-01T02:00:10Z", "--json").json()
    assert fired[0]["status"] == "finished"
    runs = cli("runs", "--kind", "pipeline", "--json").json()
    assert len(runs) == 2 and all(r["status"] == "finished" for r in runs)
    watched = cli("runs", "--watch", "--interval", "0.2")
    assert watched.code == 0 and "a:finished b:finished" in watched.out


@pytest.mark.slow
def test_scheduler_daemon_fires_and_stops_on_sigterm(cli, home):
    import datetime as dt

    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).isoformat()
    cli(
        "schedule",
        "add",
        "minutely",
        TINY,
        "--cron",
        "* * * * *",
        "--catchup",
        "latest",
        "--now",
        past,
    )
    exe = Path(sys.executable).parent / "mlops-nb"
    proc = subprocess.Popen(
        [str(exe), "--home", str(home), "scheduler", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            slots = cli("schedule", "slots", "minutely", "--json").json()
            if any(s["status"] == "finished" for s in slots):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the scheduler never finished a slot")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    statuses = [s["status"] for s in slots]
    assert statuses.count("finished") >= 1 and "failed" not in statuses
