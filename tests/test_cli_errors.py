"""Hostile but plausible values on every command: the documented exit code, one line, no writes.

Each case runs through the real entry point (:func:`mlops_nb.cli.main`
in-process, a few through the installed console script) and must end with
the exit code of its error class, a single ``mlops-nb: error:`` line on
stderr, no traceback, and the store exactly as it was (every row of every
table, read behind mlops-nb's back).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_nb.cli import main
from mlops_nb.store import Store

NB = Path(__file__).parent / "notebooks"
TINY = NB / "tiny_tracked.ipynb"
HUGE = "99999999999999999999999"


@pytest.fixture
def seeded(churn_versions):
    """Two versions of ``churn`` with a drift profile, and a finished notebook run."""
    import nbformat

    store = churn_versions
    executed = nbformat.writes(nbformat.v4.new_notebook()).encode()
    sha = store.put_artifact(executed, "notebook", "tester")
    store.insert_run(
        {
            "run_id": "ab" * 16,
            "kind": "notebook",
            "name": "made.ipynb",
            "status": "finished",
            "started_at": "2026-01-01T00:00:00.000000+00:00",
            "output_sha256": sha,
        },
        "tester",
    )
    return store


@pytest.fixture
def places(tmp_path, churn_data):
    """Paths the cases name: a folder, a missing folder, a data file, pipeline files."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    data = tmp_path / "week.csv"
    churn_data[1].head(50).to_csv(data, index=False)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x01 not text")
    return {
        "nb": str(TINY),
        "dir": str(folder),
        "missing": str(tmp_path / "no-such-folder" / "out.file"),
        "data": str(data),
        "binary": str(binary),
        "run": "ab" * 16,
        "file": str(data),
    }


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refusals
        return int(exc.code or 0)


def assert_refused(capsys, argv, code, fragment, unchanged=None):
    """``argv`` exits ``code`` with one error line holding ``fragment``; nothing written."""
    before = unchanged() if unchanged else None
    result = run_cli(argv)
    err = capsys.readouterr().err
    assert result == code, (argv, result, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error: " in lines[0], err
    assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err and "internal error" not in err
    if unchanged:
        assert unchanged() == before, f"{argv} wrote to the store"


def fill(args: tuple[str, ...], places: dict[str, str]) -> list[str]:
    return [a.format(**places) for a in args]


# -- numbers: versions, limits, counts, durations -------------------------------

NUMBERS = [
    # versions: only ASCII digits, and only what a database integer holds
    (("promote", "churn", "²"), 2, "version"),
    (("promote", "churn", "١"), 2, "version"),  # an Arabic-Indic one is not 1
    (("promote", "churn", HUGE), 2, "version"),
    (("promote", "churn", "2147483648"), 2, "version"),
    (("which", "churn:²"), 2, "version"),
    (("which", f"churn:{HUGE}"), 2, "version"),
    (("drift", "check", "churn:²", "{data}"), 2, "version"),
    (("drift", "check", f"churn:{HUGE}", "{data}", "--no-record"), 2, "version"),
    # limits: a whole number from 0 (no limit) up
    *[
        ((*command, flag, value), 2, flag)
        for command, flag in (
            (("runs",), "--limit"),
            (("audit", "log"), "--limit"),
            (("audit", "log"), "--since"),
            (("drift", "history", "churn"), "--limit"),
            (("alerts", "list"), "--limit"),
            (("schedule", "slots"), "--limit"),
        )
        for value in ("-1", HUGE, "1e20", "")
    ],
    # counts stored in integer columns
    (("schedule", "add", "s", "{nb}", "--cron", "0 6 * * *", "--retries", HUGE), 2, "--retries"),
    (("schedule", "add", "s", "{nb}", "--cron", "0 6 * * *", "--retries", "-1"), 2, "--retries"),
    (
        ("schedule", "add", "s", "{nb}", "--cron", "0 6 * * *", "--max-concurrent", HUGE),
        2,
        "--max-concurrent",
    ),
    (
        ("schedule", "add", "s", "{nb}", "--cron", "0 6 * * *", "--max-concurrent", "0"),
        2,
        "--max-concurrent",
    ),
    (("scheduler", "--workers", HUGE), 2, "--workers"),
    (("scheduler", "--workers", "0"), 2, "--workers"),
    (
        ("alerts", "add", "churn", "--email", "a@b.c", "--smtp-host", "h", "--smtp-port", HUGE),
        2,
        "--smtp-port",
    ),
    (
        ("alerts", "add", "churn", "--email", "a@b.c", "--smtp-host", "h", "--smtp-port", "0"),
        2,
        "--smtp-port",
    ),
    (("alerts", "remove", HUGE), 2, "channel"),
    # durations: finite, positive, and short enough for a timer
    *[
        (("run", "{nb}", "--timeout", value), 2, "--timeout")
        for value in ("nan", "inf", "-inf", "-1", "0", "1e300")
    ],
    *[
        (("schedule", "add", "s", "{nb}", "--cron", "0 6 * * *", flag, value), 2, flag)
        for flag in ("--timeout", "--backoff")
        for value in ("nan", "inf", "-1", "1e300")
    ],
    (("schedule", "update", "s", "--backoff", "nan"), 2, "--backoff"),
    (("schedule", "update", "s", "--timeout", "inf"), 2, "--timeout"),
    *[(("scheduler", "--interval", value), 2, "--interval") for value in ("nan", "inf", "0", "-1")],
    (("runs", "--watch", "--interval", "nan"), 2, "--interval"),
    (("runs", "--watch", "--interval", "-1"), 2, "--interval"),
    (("drift", "trigger", "churn", "{nb}", "--cooldown", f"{HUGE}d"), 2, "cooldown"),
    (("drift", "trigger", "churn", "{nb}", "--cooldown", "nan"), 2, "duration"),
]


@pytest.mark.backends  # the integer ranges and LIMIT rules differ between the two
@pytest.mark.parametrize("args, code, fragment", NUMBERS, ids=lambda v: str(v)[:60])
def test_numbers_out_of_range_are_refused(capsys, seeded, places, db_rows, args, code, fragment):
    assert_refused(capsys, fill(args, places), code, fragment, db_rows)


# -- paths: outputs checked before anything runs ---------------------------------

PATHS = [
    (("run", "{nb}", "-o", "{missing}"), 2, "no-such-folder"),
    (("run", "{nb}", "-o", "{dir}"), 2, "a-folder"),
    (("run", "{nb}", "--cwd", "{missing}"), 2, "no-such-folder"),
    (("run", "{nb}", "--cwd", "{file}"), 2, "week.csv"),
    (("run", "{nb}", "-f", "{binary}"), 2, "binary.yaml"),
    (("report", "{run}", "-o", "{dir}"), 2, "a-folder"),
    (("report", "{run}", "-o", "{missing}"), 2, "no-such-folder"),
    (("drift", "check", "churn", "{data}", "--html", "{dir}"), 2, "a-folder"),
    (("drift", "check", "churn", "{data}", "--html", "{missing}"), 2, "no-such-folder"),
    (("drift", "check", "churn", "{dir}"), 2, "a-folder"),
    (("pipeline", "validate", "{dir}"), 2, "a-folder"),
    (("alerts", "add", "churn", "--log", "{dir}"), 2, "a-folder"),
    (("alerts", "add", "churn", "--log", "{missing}"), 2, "no-such-folder"),
    (("store", "copy", "--to", ""), 2, "--to"),
]


@pytest.mark.parametrize("args, code, fragment", PATHS, ids=lambda v: str(v)[:60])
def test_unusable_paths_are_refused_before_anything_runs(
    capsys, seeded, places, db_rows, args, code, fragment
):
    assert_refused(capsys, fill(args, places), code, fragment, db_rows)
    assert os.listdir(places["dir"]) == []
    assert not Path(places["missing"]).parent.exists()


# -- pipeline files: every key of the schema with a wrong type -------------------


def pipe(top: str = "", step: str = "", then: str | None = None) -> str:
    """A pipeline file: ``top`` keys, one step ``a`` with ``step`` keys, and a step
    ``b`` with ``then`` keys when given. ``NB`` stands for the notebooks folder."""
    lines = ["name: p", *([top] if top else []), "steps:"]
    lines.append(
        "  - {name: a, notebook: NB/record_step.ipynb" + (f", {step}" if step else "") + "}"
    )
    if then is not None:
        lines.append("  - {name: b, notebook: NB/record_step.ipynb, " + then + "}")
    return "\n".join(lines)


WRONG_PIPELINES = {  # case: (file, a fragment of the one-line error)
    "depends_on: 5": (pipe(then="depends_on: 5"), "depends_on"),
    "depends_on: a mapping": (pipe(then="depends_on: {a: 1}"), "depends_on"),
    "depends_on: nested list": (pipe(then="depends_on: [[a]]"), "depends_on"),
    "settings: a string": (pipe('settings: "fast"'), "settings"),
    "settings: a list": (pipe("settings: [1]"), "settings"),
    "retries: many": (pipe("settings: {retries: many}"), "retries"),
    "retries: true": (pipe("settings: {retries: true}"), "retries"),
    "retries: -1": (pipe("settings: {retries: -1}"), "retries"),
    "retries: huge": (pipe(f"settings: {{retries: {HUGE}}}"), "retries"),
    "max_parallel: lots": (pipe("settings: {max_parallel: lots}"), "max_parallel"),
    "max_parallel: 0": (pipe("settings: {max_parallel: 0}"), "max_parallel"),
    "backoff: nan": (pipe("settings: {backoff: .nan}"), "backoff"),
    "backoff: text": (pipe("settings: {backoff: soon}"), "backoff"),
    "timeout: inf": (pipe("settings: {timeout: .inf}"), "timeout"),
    "timeout: 0": (pipe("settings: {timeout: 0}"), "timeout"),
    "step timeout: text": (pipe(step="timeout: soon"), "timeout"),
    "step timeout: -3": (pipe(step="timeout: -3"), "timeout"),
    "step retries: many": (pipe(step="retries: many"), "retries"),
    "parameters: a string": (pipe("parameters: fast"), "parameters"),
    "parameters: nan": (pipe("parameters: {x: .nan}"), "'x'"),
    "parameters: a number as name": (pipe("parameters: {1: 2}"), "parameter"),
    "step parameters: inf": (pipe(step="parameters: {v: .inf}"), "'v'"),
    "step parameters: a number as name": (pipe(step="parameters: {1: 2}"), "parameter"),
    "step parameters: a list": (pipe(step="parameters: [1]"), "parameters"),
    "model: a number": (pipe("model: 5"), "model"),
    "description: a list": (pipe("description: [1]"), "description"),
    "notebook: a folder": ("name: p\nsteps:\n  - {name: a, notebook: NB}", "not a file"),
    "steps: a mapping": ("name: p\nsteps: {a: 1}", "steps"),
}


@pytest.fixture
def pipeline_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "pipe.yaml"
        path.write_text(textwrap.dedent(text).replace("NB", str(NB)))
        return str(path)

    return write


@pytest.mark.parametrize("action", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(WRONG_PIPELINES))
def test_pipeline_files_with_wrong_types_are_refused(
    capsys, store, db_rows, pipeline_file, action, case
):
    text, fragment = WRONG_PIPELINES[case]
    path = pipeline_file(text)
    assert_refused(capsys, ["pipeline", action, path], 2, fragment, db_rows)


def test_a_scheduled_pipeline_with_wrong_types_is_refused(capsys, store, db_rows, pipeline_file):
    path = pipeline_file(pipe("settings: {retries: many}"))
    assert_refused(
        capsys, ["schedule", "add", "s", path, "--cron", "0 6 * * *"], 2, "retries", db_rows
    )


# -- a damaged metadata database -------------------------------------------------


def _damage(db: Path, how: str, good: bytes) -> None:
    if how == "truncated":
        db.write_bytes(good[:1000])
    elif how == "random bytes":
        db.write_bytes(os.urandom(40_000))
    elif how == "empty":
        db.write_bytes(b"")
    elif how == "text":
        db.write_text("this is not a database\n")
    elif how == "a folder":
        db.mkdir()
    elif how == "another program's database":
        with sqlite3.connect(db) as conn:
            conn.execute("create table contacts (name text)")
        conn.close()
    else:  # pragma: no cover
        raise AssertionError(how)


def _state(path: Path) -> object:
    return sorted(os.listdir(path)) if path.is_dir() else path.read_bytes()


@pytest.mark.parametrize(
    "how", ["truncated", "random bytes", "empty", "text", "a folder", "another program's database"]
)
@pytest.mark.parametrize(
    "command", [["models"], ["runs"], ["init"], ["audit", "verify"], ["promote", "churn", "1"]]
)
def test_a_damaged_database_file_is_an_integrity_error(capsys, tmp_path, how, command):
    good_home = tmp_path / "good"
    Store(good_home).close()
    home = tmp_path / "damaged"
    home.mkdir()
    db = home / "mlops.db"
    _damage(db, how, (good_home / "mlops.db").read_bytes())
    before = _state(db)
    assert_refused(capsys, ["--home", str(home), *command], 5, str(db))
    assert _state(db) == before  # neither overwritten nor migrated
    assert sorted(p.name for p in home.iterdir()) == ["mlops.db"]


def test_a_damaged_database_is_refused_by_the_console_script(cli, home):
    Store(home).close()
    db = home / "mlops.db"
    db.write_bytes(db.read_bytes()[:1000])
    for path in home.glob("mlops.db-*"):
        path.unlink()
    result = cli("models")
    assert result.code == 5, result.err
    assert result.err.count("\n") == 1 and str(db) in result.err and "Traceback" not in result.err


# -- artifacts where a file should be --------------------------------------------


def test_an_artifact_replaced_by_a_folder_is_a_broken_record(capsys, seeded, db_rows):
    run = seeded.get_run("ab" * 16)
    path = seeded.artifacts.path(run.output_sha256)
    path.parent.chmod(0o755)
    path.unlink()
    path.mkdir()
    assert_refused(capsys, ["audit", "verify"], 5, "not a file", db_rows)
    assert_refused(capsys, ["report", run.run_id], 5, "not a file", db_rows)


def test_artifacts_pointing_at_a_file_are_refused(capsys, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    home = tmp_path / "new"
    assert_refused(capsys, ["--home", str(home), "init", "--artifacts", str(plain)], 2, "plain.txt")
    assert_refused(
        capsys,
        ["--home", str(home), "init", "--artifacts", plain.as_uri()],
        2,
        "plain.txt",
    )
    assert not (home / "config.yaml").exists()


def test_an_artifact_folder_that_is_a_file_is_an_integrity_error(capsys, seeded, home):
    import shutil

    shutil.rmtree(home / "artifacts", onerror=lambda f, p, e: (os.chmod(p, 0o755), f(p)))
    (home / "artifacts").write_text("not a folder")
    assert_refused(capsys, ["models"], 5, "artifacts")


# -- unique keys: a concurrent writer won -----------------------------------------


def test_a_run_id_already_taken_is_a_conflict(capsys, seeded, db_rows, pipeline_file):
    path = pipeline_file(pipe())
    assert_refused(capsys, ["pipeline", "run", path, "--run-id", "ab" * 16], 4, "already", db_rows)


# -- the same, through the installed console script --------------------------------


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (("promote", "churn", "²"), 2, "version"),
        (("runs", "--limit", HUGE), 2, "--limit"),
        (("run", str(TINY), "-o", "/nonexistent/x.ipynb"), 2, "/nonexistent"),
        (
            ("schedule", "add", "s", str(TINY), "--cron", "0 6 * * *", "--backoff", "nan"),
            2,
            "--backoff",
        ),
    ],
)
def test_the_console_script_gives_one_line(cli, seeded, db_rows, args, code, fragment):
    before = db_rows()
    result = cli(*args)
    assert result.code == code, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-nb") and fragment in lines[0], result.err
    assert db_rows() == before


# -- serve --engine ray: what is refused before a cluster is started -------------


def test_the_ray_engine_without_ray_installed_is_one_line_exit_2(
    capsys, bench, db_rows, monkeypatch
):
    # None in sys.modules makes `import ray` raise ImportError, as when it is not installed.
    monkeypatch.setitem(sys.modules, "ray", None)
    argv = ["serve", "bench", "--engine", "ray", "--port", "0"]
    assert_refused(capsys, argv, 2, "pip install 'mlops-nb[ray]'", db_rows)


def test_a_ray_address_goes_only_with_the_ray_engine(capsys, bench, db_rows):
    argv = ["serve", "bench", "--ray-address", "127.0.0.1:6379", "--port", "0"]
    assert_refused(capsys, argv, 2, "--ray-address goes with --engine ray", db_rows)
