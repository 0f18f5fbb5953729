"""Schedules over REST: define, change and remove them from the panel, read a cron.

Through a real Jupyter server with token authentication over a SQLite store
in ``tmp_path``; the notebooks live in the server's root folder, as the file
browser shows them.
"""

import getpass
import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from mlops_nb.schedules import schedule as sch
from mlops_nb.store import audit

pytest_plugins = ["pytest_jupyter.jupyter_server"]

TINY = Path(__file__).parent / "notebooks" / "tiny_tracked.ipynb"
ACTOR = f"{getpass.getuser()}@{socket.gethostname()} (jupyter)"


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def folder(jp_root_dir, store):
    """The server's root folder with ``train.ipynb`` and ``reports/weekly.ipynb`` in it."""
    shutil.copyfile(TINY, jp_root_dir / "train.ipynb")
    (jp_root_dir / "reports").mkdir()
    shutil.copyfile(TINY, jp_root_dir / "reports" / "weekly.ipynb")
    return jp_root_dir


async def call(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method, "raise_error": False, "allow_nonstandard_methods": True}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops-nb", "api", *path, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return response.code, json.loads(response.body.decode())


async def create(jp_fetch, **fields):
    body = {"name": "weekly", "notebook": "train.ipynb", "cron": "0 6 * * 1", **fields}
    return await call(jp_fetch, "schedules", method="POST", body=body)


def events(store, kind):
    return [e for e in store.iter_events(kind=kind)]


async def test_create_a_schedule_with_every_option(jp_fetch, folder, store):
    code, saved = await create(
        jp_fetch,
        notebook="reports/weekly.ipynb",
        tz="Europe/Berlin",
        catchup="all",
        parameters={"month": "2026-11", "x": 3},
        retries=2,
        timeout=900,
        alert_on="always",
    )
    assert code == 201, saved
    assert saved["target"] == str((folder / "reports" / "weekly.ipynb").resolve())
    assert saved["cron_text"] == sch.describe_cron("0 6 * * 1", "Europe/Berlin")
    assert saved["cron_text"].endswith("(Europe/Berlin)") and saved["next_run"]
    stored = store.get_schedule("weekly")
    assert (stored["tz"], stored["catchup"], stored["retries"], stored["timeout_s"]) == (
        "Europe/Berlin",
        "all",
        2,
        900.0,
    )
    assert stored["parameters"] == {"month": "2026-11", "x": 3}
    assert stored["alert_on"] == "always" and stored["enabled"] == 1
    # the snapshot is the notebook's bytes as they were when it was defined
    assert store.get_artifact(stored["snapshot_sha256"]) == TINY.read_bytes()
    (added,) = events(store, "schedule.added")
    assert added.actor == ACTOR  # audited under the Jupyter user, like promote
    code, listed = await call(jp_fetch, "schedules")
    assert code == 200 and [s["name"] for s in listed] == ["weekly"]
    assert audit.verify(store).ok


async def test_a_whole_number_may_be_written_with_a_point(jp_fetch, folder, store):
    code, saved = await create(jp_fetch, retries=3.0, max_concurrent=2.0, parameters={"lr": 1.0})
    assert code == 201, saved
    assert saved["retries"] == 3 and saved["max_concurrent"] == 2
    assert store.get_schedule("weekly")["parameters"] == {"lr": 1.0}  # inside: as sent
    assert isinstance(store.get_schedule("weekly")["parameters"]["lr"], float)


async def test_defaults_match_the_cli(jp_fetch, folder, store, cli):
    code, saved = await create(jp_fetch, name="rest")
    assert code == 201, saved
    done = cli("schedule", "add", "cli", str(folder / "train.ipynb"), "--cron", "0 6 * * 1")
    assert done.code == 0, done.err
    same = ("cron", "tz", "catchup", "parameters", "timeout_s", "retries", "backoff_s")
    same += ("max_concurrent", "overlap", "alert_on", "alert_model", "snapshot_sha256", "target")
    cli_row = store.get_schedule("cli")
    assert {k: saved[k] for k in same} == {k: cli_row[k] for k in same}


async def test_a_taken_name_is_409_and_changes_nothing(jp_fetch, folder, store, db_rows):
    assert (await create(jp_fetch))[0] == 201
    before = db_rows()
    code, doc = await create(jp_fetch, cron="0 7 * * *")
    assert code == 409 and doc["type"] == "ConflictError", doc
    assert db_rows() == before


@pytest.mark.parametrize(
    "fields, field, fragment",
    [
        ({"name": "no spaces"}, "name", "use letters, digits"),
        ({"name": 5}, "name", "use letters, digits"),
        ({"cron": "61 * * * *"}, "cron", "'61' is not a valid minute"),
        ({"cron": "0 6 * *"}, "cron", "exactly five fields"),
        ({"cron": "@reboot"}, "cron", "runs at no time"),
        ({"tz": "Mars/Olympus"}, "tz", "unknown time zone"),
        ({"tz": 3}, "tz", "unknown time zone"),
        ({"catchup": "sometimes"}, "catchup", "catch-up must be one of"),
        ({"parameters": [1, 2]}, "parameters", "must be a JSON object"),
        ({"parameters": {"1x": 1}}, "parameters", "not a Python identifier"),
        ({"timeout": -5}, "timeout", "timeout must be a number of seconds"),
        ({"timeout": "soon"}, "timeout", "timeout must be a number of seconds"),
        ({"timeout": False}, "timeout", "timeout must be a number of seconds"),
        ({"retries": 101}, "retries", "retries"),
        ({"retries": 1.5}, "retries", "retries"),
        ({"backoff": -1}, "backoff", "backoff"),
        ({"max_concurrent": 0}, "max_concurrent", "max_concurrent"),
        ({"overlap": "both"}, "overlap", "overlap must be one of"),
        ({"alert_on": "weekly"}, "alert_on", "alert_on must be"),
        ({"alert_model": "a/b"}, "alert_model", "model name"),
        ({"alert_model": ["churn"]}, "alert_model", "model name"),
        ({"cronn": "0 6 * * *"}, "cronn", "unknown schedule field 'cronn'"),
        ({"notebook": None}, "notebook", "a schedule needs a 'notebook' or a 'pipeline'"),
        ({"notebook": 5}, "notebook", "path of a .ipynb file"),
    ],
)
async def test_a_bad_field_is_400_naming_it(
    jp_fetch, folder, store, db_rows, fields, field, fragment
):
    before = db_rows()
    code, doc = await create(jp_fetch, **fields)
    assert code == 400 and doc["type"] == "InvalidInputError", doc
    assert doc["field"] == field and fragment in doc["error"], doc
    assert db_rows() == before  # no schedule, no snapshot, no event


@pytest.mark.parametrize("missing", ["name", "notebook", "cron"])
async def test_a_missing_field_is_400_naming_it(jp_fetch, folder, missing):
    body = {"name": "weekly", "notebook": "train.ipynb", "cron": "0 6 * * 1"}
    del body[missing]
    code, doc = await call(jp_fetch, "schedules", method="POST", body=body)
    assert code == 400 and doc["field"] == missing, doc


def outside_paths(root: Path, elsewhere: Path) -> dict[str, str]:
    """Ways to name a real notebook outside the server's folder."""
    shutil.copyfile(TINY, elsewhere / "secret.ipynb")
    (root / "link.ipynb").symlink_to(elsewhere / "secret.ipynb")
    (root / "out").symlink_to(elsewhere, target_is_directory=True)
    up = Path(os.path.relpath(elsewhere / "secret.ipynb", root))
    assert up.parts[0] == ".." and (root / up).resolve() == (elsewhere / "secret.ipynb").resolve()
    return {
        "dot-dot": str(up),
        "dot-dot inside a path": f"reports/../{up}",
        "absolute": str(elsewhere / "secret.ipynb"),
        "symlinked file": "link.ipynb",
        "symlinked folder": "out/secret.ipynb",
    }


async def test_a_notebook_outside_the_servers_folder_is_refused(
    jp_fetch, folder, store, tmp_path_factory
):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for how, path in outside_paths(folder, elsewhere).items():
        code, doc = await create(jp_fetch, notebook=path)
        assert code == 400 and doc["field"] == "notebook", (how, doc)
        assert "outside the folder" in doc["error"], (how, doc)
        # and when editing
        assert (await create(jp_fetch, name="inside"))[0] == 201
        code, doc = await call(
            jp_fetch, "schedules", "inside", method="PATCH", body={"notebook": path}
        )
        assert code == 400 and doc["field"] == "notebook", (how, doc)
        assert store.get_schedule("inside")["target"] == str((folder / "train.ipynb").resolve())
        assert (await call(jp_fetch, "schedules", "inside", method="DELETE"))[0] == 200
    assert store.list_schedules() == []


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("missing.ipynb", "no notebook 'missing.ipynb'"),
        ("reports", "not a .ipynb file"),
        ("notes.txt", "not a .ipynb file"),
        ("broken.ipynb", "not a readable notebook"),
        ("nul\u0000.ipynb", "path of a .ipynb file"),
        ("x" * 5000 + ".ipynb", "not a usable path"),
        ("", "path of a .ipynb file"),
    ],
)
async def test_a_notebook_that_is_not_one_is_400(jp_fetch, folder, db_rows, path, fragment):
    (folder / "notes.txt").write_text("hello")
    (folder / "broken.ipynb").write_text("{not json")
    before = db_rows()
    code, doc = await create(jp_fetch, notebook=path)
    assert code == 400 and doc["field"] == "notebook" and fragment in doc["error"], doc
    assert db_rows() == before


async def test_paths_that_stay_inside_are_accepted(jp_fetch, folder, store):
    for name, path in (
        ("nested", "reports/../train.ipynb"),
        ("absolute", str(folder / "reports" / "weekly.ipynb")),
    ):
        code, saved = await create(jp_fetch, name=name, notebook=path)
        assert code == 201, (path, saved)
        assert Path(saved["target"]).resolve().is_relative_to(folder.resolve())


async def test_html_in_a_notebook_name_stays_data(jp_fetch, folder, store):
    evil = "<img src=x onerror=alert(1)>.ipynb"
    shutil.copyfile(TINY, folder / evil)
    code, saved = await create(jp_fetch, notebook=evil)
    assert code == 201 and saved["target"].endswith(evil)  # JSON, never markup
    code, doc = await create(jp_fetch, name="<script>alert(1)</script>")
    assert code == 400 and doc["field"] == "name", doc


async def test_edit_changes_what_is_given_and_keeps_the_rest(jp_fetch, folder, store):
    assert (await create(jp_fetch, parameters={"x": 1}, timeout=60, retries=1))[0] == 201
    code, saved = await call(
        jp_fetch,
        "schedules",
        "weekly",
        method="PATCH",
        body={"cron": "@daily", "tz": "Asia/Kolkata", "timeout": 0, "parameters": {"x": 2}},
    )
    assert code == 200, saved
    assert saved["cron"] == "0 0 * * *" and saved["tz"] == "Asia/Kolkata"
    assert saved["cron_text"] == sch.describe_cron("0 0 * * *", "Asia/Kolkata")
    assert saved["timeout_s"] is None and saved["parameters"] == {"x": 2}
    assert saved["retries"] == 1 and saved["catchup"] == "latest"
    code, moved = await call(
        jp_fetch, "schedules", "weekly", method="PATCH", body={"notebook": "reports/weekly.ipynb"}
    )
    assert code == 200 and moved["target"] == str((folder / "reports" / "weekly.ipynb").resolve())
    (updated, _) = events(store, "schedule.updated")
    assert updated.actor == ACTOR
    assert audit.verify(store).ok


async def test_a_bad_edit_changes_nothing(jp_fetch, folder, store, db_rows):
    assert (await create(jp_fetch))[0] == 201
    before = db_rows()
    for body, field in (
        ({"cron": "0 25 * * *"}, "cron"),
        ({"retries": -1}, "retries"),
        ({"name": "renamed"}, "name"),  # a schedule keeps its name
    ):
        code, doc = await call(jp_fetch, "schedules", "weekly", method="PATCH", body=body)
        assert code == 400 and doc["field"] == field, doc
    assert db_rows() == before
    code, doc = await call(jp_fetch, "schedules", "nope", method="PATCH", body={"cron": "@daily"})
    assert code == 404 and doc["type"] == "NotFoundError", doc


async def test_remove_deletes_it_and_keeps_its_history(jp_fetch, folder, store):
    from mlops_nb.schedules.scheduler import tick

    assert (await create(jp_fetch, cron="0 * * * *"))[0] == 201
    tick(store, "2099-01-01T00:00:30Z", run=False)  # the newest slot queued, the rest skipped
    (queued,) = store.slots("weekly", status="queued")
    code, doc = await call(jp_fetch, "schedules", "weekly", method="DELETE")
    assert code == 200 and doc == {"name": "weekly", "removed": True}
    code, listed = await call(jp_fetch, "schedules")
    assert code == 200 and listed == []
    slot = store.get_slot(queued["id"])
    assert slot["status"] == "skipped" and slot["error"] == "schedule removed"
    assert store.slots("weekly", status="queued") == []
    (removed,) = events(store, "schedule.removed")
    assert removed.actor == ACTOR
    assert audit.verify(store).ok
    for method, body in (("DELETE", None), ("PATCH", {"cron": "@daily"})):
        code, doc = await call(jp_fetch, "schedules", "weekly", method=method, body=body)
        assert code == 404, (method, doc)
    assert (await create(jp_fetch))[0] == 201  # the name is free again


async def test_remove_waits_for_a_running_slot(jp_fetch, folder, store, db_rows):
    from mlops_nb.schedules.scheduler import claim_now

    assert (await create(jp_fetch))[0] == 201
    slot = claim_now(store, "weekly")
    before = db_rows()
    code, doc = await call(jp_fetch, "schedules", "weekly", method="DELETE")
    assert code == 409 and f"slot {slot['id']}" in doc["error"], doc
    assert db_rows() == before


async def test_cron_is_read_by_the_server(jp_fetch, store):
    code, doc = await call(jp_fetch, "cron", expr="0 6 1 * *", tz="Europe/Berlin")
    assert code == 200, doc
    assert doc["cron"] == "0 6 1 * *" and doc["tz"] == "Europe/Berlin"
    assert doc["text"] == sch.describe_cron("0 6 1 * *", "Europe/Berlin")
    assert len(doc["next"]) == 3 and doc["next"] == sorted(doc["next"])
    # each next slot is 06:00 in Berlin on the 1st
    import datetime as dt
    from zoneinfo import ZoneInfo

    local = [
        dt.datetime.fromisoformat(t).astimezone(ZoneInfo("Europe/Berlin")) for t in doc["next"]
    ]
    assert {(t.day, t.hour, t.minute) for t in local} == {(1, 6, 0)}
    code, doc = await call(jp_fetch, "cron", expr="@weekly")
    assert code == 200 and doc["cron"] == "0 0 * * 0" and doc["tz"] == "UTC"


@pytest.mark.parametrize(
    "params, field, fragment",
    [
        ({"expr": "0 6 32 * *"}, "cron", "'32' is not a valid day-of-month"),
        ({"expr": ""}, "cron", "exactly five fields"),
        ({"expr": "0 6 30 2 *"}, "cron", "on a day the months named have"),
        ({"expr": "0 6 * * *", "tz": "Nowhere/Town"}, "tz", "unknown time zone"),
        # longer than a file name may be: was an OSError, a 500
        ({"expr": "0 6 * * *", "tz": "Europe/" + "x" * 300}, "tz", "unknown time zone"),
    ],
)
async def test_a_cron_the_server_cannot_read_says_why(jp_fetch, store, params, field, fragment):
    code, doc = await call(jp_fetch, "cron", **params)
    assert code == 400 and doc["field"] == field and fragment in doc["error"], doc
