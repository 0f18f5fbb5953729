"""Schedules of pipeline files over REST: checked, listed back with their steps, refused
with the problem named.

Through a real Jupyter server with token authentication over a SQLite store
in ``tmp_path``; the pipeline and its notebooks live in the server's root
folder, as the file browser shows them.
"""

import shutil

import pytest
from test_server_schedules import TINY, call, create

pytest_plugins = ["pytest_jupyter.jupyter_server"]

PIPELINE = """\
name: nightly
description: prepare then train
steps:
  - name: prepare
    notebook: ../train.ipynb
  - name: train
    notebook: ../train.ipynb
    depends_on: [prepare]
    gate: "x >= 0"
"""


@pytest.fixture
def jp_server_config(home):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture
def folder(jp_root_dir, store):
    """The server's root folder: ``train.ipynb`` and ``pipelines/nightly.yaml`` running it twice."""
    shutil.copyfile(TINY, jp_root_dir / "train.ipynb")
    (jp_root_dir / "pipelines").mkdir()
    (jp_root_dir / "pipelines" / "nightly.yaml").write_text(PIPELINE)
    return jp_root_dir


async def test_a_pipeline_file_is_read_back_with_its_steps(jp_fetch, folder):
    code, doc = await call(jp_fetch, "pipelines", "steps", path="pipelines/nightly.yaml")
    assert code == 200, doc
    assert doc["path"] == "pipelines/nightly.yaml" and doc["name"] == "nightly"
    assert doc["description"] == "prepare then train"
    assert [(s["name"], s["notebook"], s["depends_on"], s["gate"]) for s in doc["steps"]] == [
        ("prepare", "train.ipynb", [], None),
        ("train", "train.ipynb", ["prepare"], "x >= 0"),
    ]


async def test_schedule_a_pipeline_and_list_it_with_its_steps(jp_fetch, folder, store):
    code, saved = await create(jp_fetch, notebook=None, pipeline="pipelines/nightly.yaml")
    assert code == 201, saved
    assert saved["kind"] == "pipeline"
    assert saved["target"] == str((folder / "pipelines" / "nightly.yaml").resolve())
    code, listing = await call(jp_fetch, "schedules")
    (weekly,) = [s for s in listing if s["name"] == "weekly"]
    assert [s["name"] for s in weekly["steps"]] == ["prepare", "train"]
    assert weekly["steps"][1]["depends_on"] == ["prepare"]
    # the steps are those of the approved snapshot, not of the file as it is now
    (folder / "pipelines" / "nightly.yaml").write_text(PIPELINE.replace("name: train", "name: fit"))
    code, listing = await call(jp_fetch, "schedules")
    (weekly,) = [s for s in listing if s["name"] == "weekly"]
    assert [s["name"] for s in weekly["steps"]] == ["prepare", "train"]


async def test_edit_a_notebook_schedule_to_run_a_pipeline_and_back(jp_fetch, folder, store):
    code, saved = await create(jp_fetch)
    assert code == 201 and saved["kind"] == "notebook"
    code, doc = await call(
        jp_fetch, "schedules", "weekly", method="PATCH", body={"pipeline": "pipelines/nightly.yaml"}
    )
    assert code == 200 and doc["kind"] == "pipeline", doc
    code, listing = await call(jp_fetch, "schedules")
    assert next(s["steps"] for s in listing if s["name"] == "weekly")[0]["name"] == "prepare"
    code, doc = await call(
        jp_fetch, "schedules", "weekly", method="PATCH", body={"notebook": "train.ipynb"}
    )
    assert code == 200 and doc["kind"] == "notebook"
    code, listing = await call(jp_fetch, "schedules")
    assert [s["steps"] for s in listing if s["name"] == "weekly"] == [None]


BAD = {
    "not YAML": ("steps: [unclosed", "is not valid YAML"),
    "not a mapping": ("- a\n- b\n", "a pipeline is a mapping"),
    "no steps": ("name: x\n", "'steps' must be a non-empty list"),
    "unknown key": ("name: x\nstepz: []\n", "unknown keys ['stepz']"),
    "missing notebook": (
        "steps:\n  - name: a\n    notebook: ../gone.ipynb\n",
        "notebook gone.ipynb does not exist",
    ),
    "bad dependency": (
        "steps:\n  - name: a\n    notebook: ../train.ipynb\n    depends_on: [b]\n",
        "depends on ['b']",
    ),
}


@pytest.mark.parametrize("text, fragment", BAD.values(), ids=BAD.keys())
async def test_a_file_that_is_not_a_pipeline_is_400_naming_the_problem(
    jp_fetch, folder, db_rows, text, fragment
):
    (folder / "pipelines" / "bad.yaml").write_text(text)
    before = db_rows()
    code, doc = await call(jp_fetch, "pipelines", "steps", path="pipelines/bad.yaml")
    assert code == 400 and doc["field"] == "pipeline" and fragment in doc["error"], doc
    assert str(folder) not in doc["error"]  # the file as the user named it, not where it is
    assert "pipelines/bad.yaml" in doc["error"]
    code, doc = await create(jp_fetch, notebook=None, pipeline="pipelines/bad.yaml")
    assert code == 400 and doc["field"] == "pipeline" and fragment in doc["error"], doc
    assert db_rows() == before  # no schedule, no snapshot, no event


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("nope.yaml", "no pipeline file 'nope.yaml'"),
        ("train.ipynb", "is not a .yaml or .yml file"),
        ("pipelines", "is not a .yaml or .yml file"),
        ("../outside.yaml", "outside the folder"),
        ("", "path of a .yaml file"),
    ],
)
async def test_a_path_that_is_not_a_pipeline_in_the_folder_is_400(jp_fetch, folder, path, fragment):
    code, doc = await call(jp_fetch, "pipelines", "steps", path=path)
    assert code == 400 and doc["field"] == "pipeline" and fragment in doc["error"], doc


async def test_a_step_notebook_outside_the_folder_is_refused(jp_fetch, folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.copyfile(TINY, elsewhere / "secret.ipynb")
    (folder / "pipelines" / "out.yaml").write_text(
        f"steps:\n  - name: a\n    notebook: {elsewhere / 'secret.ipynb'}\n"
    )
    code, doc = await call(jp_fetch, "pipelines", "steps", path="pipelines/out.yaml")
    assert code == 400 and "step a's notebook is outside the folder" in doc["error"], doc


async def test_a_notebook_and_a_pipeline_at_once_is_400(jp_fetch, folder, db_rows):
    before = db_rows()
    code, doc = await create(jp_fetch, pipeline="pipelines/nightly.yaml")
    assert code == 400 and doc["field"] == "pipeline" and "not both" in doc["error"], doc
    assert db_rows() == before
