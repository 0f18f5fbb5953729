"""mlops-nb schedule / tick / scheduler / pipeline through the installed entry point."""

import os
import re
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
    assert cli("schedule", "list", "--json").json() == []
    # removed: a slot that is due long after does not fire
    assert cli("tick", "--now", "2099-01-01T05:00:30Z", "--json").json() == []
    assert len(cli("schedule", "slots", "monthly", "--json").json()) == 2


def run_as_cron(line: str, cron_home: Path) -> subprocess.CompletedProcess:
    """Run a crontab line the way cron does.

    Five time fields, then the command: an unescaped ``%`` ends it (the rest
    is its standard input) and ``\\%`` stands for ``%`` (crontab(5)). The
    command runs under ``/bin/sh -c`` in ``HOME`` with cron's bare
    environment: ``PATH=/usr/bin:/bin``, ``HOME`` and ``SHELL``, nothing else.
    """
    fields = line.split(" ", 5)
    assert len(fields) == 6 and fields[:5] == ["*"] * 5, line  # every minute
    command, *stdin = re.split(r"(?<!\\)%", fields[5], maxsplit=1)
    return subprocess.run(
        ["/bin/sh", "-c", command.replace("\\%", "%")],
        input="\n".join(stdin),
        env={"PATH": "/usr/bin:/bin", "HOME": str(cron_home), "SHELL": "/bin/sh"},
        cwd=cron_home,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.backends  # on PostgreSQL the line must carry the database URL too
def test_cron_line_ticks_this_store_under_cron(cli, tmp_path):
    import datetime as dt

    # A fresh store (no logs/ yet) at a path the shell and cron would both misread.
    store = tmp_path / "a 100% odd store's $HOME `x` & co"
    where = ("--home", str(store))
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).isoformat()
    added = cli("schedule", "add", "minutely", TINY, "--cron", "* * * * *", "--now", past, *where)
    assert added.code == 0, added.err
    assert not (store / "logs").exists()
    printed = cli("schedule", "cron-line", *where, "--json")
    assert printed.code == 0, printed.err
    line = printed.json()["cron_line"]
    assert ("--db-url" in line) == ("MLOPS_NB_DB_URL" in os.environ)  # cron has no such variable
    cron_home = tmp_path / "cron-home"
    cron_home.mkdir()
    done = run_as_cron(line, cron_home)
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""  # everything went to the log
    log = (store / "logs" / "tick.log").read_text()
    assert "minutely" in log and "finished" in log, log
    slots = cli("schedule", "slots", "minutely", *where, "--json").json()
    statuses = sorted(s["status"] for s in slots)  # catch-up latest: the missed ones skipped
    assert statuses.count("finished") == 1 and set(statuses) <= {"finished", "skipped"}
    assert not (cron_home / ".mlops").exists()  # and no other


def test_cron_line_keeps_secrets_off_the_line(tmp_path):
    from types import SimpleNamespace

    from mlops_nb.errors import InvalidInputError
    from mlops_nb.schedules.scheduler import cron_line
    from mlops_nb.store.location import write_config

    home = tmp_path / "store"
    home.mkdir()
    url = "postgresql+psycopg://ml:s3cret@db.example.com/ml"
    store = SimpleNamespace(home=home, db_url=url, artifacts_url=None)
    with pytest.raises(InvalidInputError, match="holds a password") as info:
        cron_line(store)
    assert "s3cret" not in str(info.value)
    write_config(home, db_url=url)  # kept in the store's config.yaml: --home finds it
    line = cron_line(store)
    assert "s3cret" not in line and "--db-url" not in line
    bucket = SimpleNamespace(home=home, db_url=None, artifacts_url="s3://key:s3cret@bucket/ml")
    with pytest.raises(InvalidInputError, match="holds credentials") as info:
        cron_line(bucket)
    assert "s3cret" not in str(info.value)
    plain = SimpleNamespace(home=home, db_url=None, artifacts_url="s3://bucket/ml")
    assert "MLOPS_NB_ARTIFACTS=s3://bucket/ml " in cron_line(plain)
    broken = SimpleNamespace(home=tmp_path / "two\nlines", db_url=None, artifacts_url=None)
    with pytest.raises(InvalidInputError, match="line break"):
        cron_line(broken)


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
        (("tick", "--now", "2026-W48-1"), 2, "not an ISO date"),
        (("tick", "--now", "2026-02-30"), 2, "not a valid date"),
        (("tick", "--now", "0001-01-01T00:00+05:00"), 2, "out of range"),
        (("tick", "--now", "9999-12-31T23:59-05:00"), 2, "out of range"),
        (("schedule", "list", "--now", "2026-11-30T12"), 2, "not an ISO date"),
        (("schedule", "add", "s", TINY, "--cron", "* * * * * *"), 2, "exactly five fields"),
        (("schedule", "add", "s", TINY, "--cron", "@reboot"), 2, "runs at no time"),
        (("schedule", "add", "s", TINY, "--cron", "0 0 30 2 *"), 2, "not a valid day-of-month"),
        (("pipeline", "run", "missing.yaml"), 3, "does not exist"),
    ],
)
def test_bad_input(cli, args, code, fragment):
    result = cli(*args)
    assert result.code == code, result.err
    assert fragment in result.err and len(result.err.strip().splitlines()) == 1


def test_bare_dates_are_the_end_of_the_day_in_every_spelling(cli):
    added = cli("schedule", "add", "s", TINY, "--cron", "0 6 * * *", "--now", "20261129")
    assert added.code == 0, added.err
    listed = {
        now: cli("schedule", "list", "--json", "--now", now).json()[0]["next_run"]
        for now in ("2026-11-30", "20261130", "2026-11-30T23:59:59.999999Z")
    }
    assert set(listed.values()) == {"2026-12-01T06:00:00.000000+00:00"}, listed
    fired = cli("tick", "--now", "20261130", "--no-run", "--json")
    assert fired.code == 0, fired.err
    assert [s["slot"] for s in fired.json()] == ["2026-11-30T06:00:00.000000+00:00"]


def test_tick_at_the_ends_of_time(cli):
    # Slots run out where dates do: at local midnight of 31 December 9999 in
    # Tokyo (15:00 UTC), at the last UTC hour in New York.
    for tz in ("Asia/Tokyo", "America/New_York"):
        added = cli(
            "schedule", "add", tz.split("/")[1], TINY, "--cron", "0 * * * *", "--tz", tz,
            "--catchup", "all", "--now", "9999-12-31T10:00Z",
        )  # fmt: skip
        assert added.code == 0, added.err
    fired = cli("tick", "--now", "9999-12-31T23:59:59.999999Z", "--no-run", "--json")
    assert fired.code == 0, fired.err
    hours = {(s["schedule"], s["slot"][11:13]) for s in fired.json()}
    assert hours == {("Tokyo", h) for h in ("11", "12", "13", "14")} | {
        ("New_York", f"{h}") for h in range(11, 24)
    }
    listed = cli("schedule", "list", "--json", "--now", "9999-12-31T23:59Z")
    assert listed.code == 0, listed.err
    assert [row["next_run"] for row in listed.json()] == [None, None]
    # The first hours of year 1, west of UTC: New York's local mean time,
    # 4:56:02 behind, starts at 04:56:02 UTC.
    added = cli(
        "schedule", "add", "first", TINY, "--cron", "0 * * * *", "--tz", "America/New_York",
        "--catchup", "all", "--now", "0001-01-01T00:00Z",
    )  # fmt: skip
    assert added.code == 0, added.err
    fired = cli("tick", "--now", "0001-01-01T07:00Z", "--no-run", "--json")
    assert fired.code == 0, fired.err
    assert [s["slot"] for s in fired.json()] == [
        "0001-01-01T04:56:02.000000+00:00",
        "0001-01-01T05:56:02.000000+00:00",
        "0001-01-01T06:56:02.000000+00:00",
    ]


def test_failing_run_now_exits_non_zero(cli, tmp_path):
    cli("schedule", "add", "bad", TINY, "--cron", "0 * * * *", "-p", "fail_on", "1")
    result = cli("schedule", "run-now", "bad", "--json")
    assert result.code == 6 and result.json()["status"] == "failed"
    assert "x was 1" in result.err


@pytest.mark.slow
def test_a_run_now_out_of_time_exits_with_the_deadline_code(cli, tmp_path):
    sleepy = str(NB / "sleepy.ipynb")
    cli("schedule", "add", "nap", sleepy, "--cron", "0 * * * *", "-p", "seconds", "60",
        "--timeout", "3")  # fmt: skip
    result = cli("schedule", "run-now", "nap", "--json")
    assert result.code == 8, (result.code, result.err)
    assert result.json()["status"] == "failed" and "timed out after 3 s" in result.err


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
