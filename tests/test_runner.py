"""mlops-nb run: real kernels through papermill, executed notebooks as artifacts."""

import time
from pathlib import Path

import nbformat
import pytest

from mlops_nb.errors import InvalidInputError, NotFoundError
from mlops_nb.execution import report
from mlops_nb.execution.runner import run_notebook
from mlops_nb.store import audit

NOTEBOOKS = Path(__file__).parent / "notebooks"
TINY = NOTEBOOKS / "tiny_tracked.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.backends]


def executed(store, run):
    return nbformat.reads(store.get_artifact(run.output_sha256).decode(), as_version=4)


def write_notebook(path, *sources, parameters=None):
    """A Python notebook of code cells, led by a cell tagged 'parameters' if given."""
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if parameters is not None:
        cells.insert(0, nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=kernel), str(path))
    return path


def test_successful_run_is_stored_with_provenance(store, tmp_path):
    run = run_notebook(TINY, {"x": 4}, store=store, output=tmp_path / "out.ipynb")
    assert run.status == "finished", run.error
    assert run.params == {"x": 4, "sleep": 0.0, "fail_on": -1}  # defaults + override
    assert run.values == {"doubled": 8}  # recorded in the kernel, on the notebook run
    nb = executed(store, run)
    meta = nb.metadata["mlops_nb"]
    assert meta["run_id"] == run.run_id and meta["parameters"]["x"] == 4
    assert meta["overrides"] == {"x": 4}
    assert meta["input_sha256"] == run.input_sha256
    assert meta["triggered_by"] == run.actor and meta["environment"]["python"]
    assert "papermill" in nb.metadata  # papermill's own provenance is kept
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "x is 4" in outputs and "done" in outputs
    assert (tmp_path / "out.ipynb").read_bytes() == store.get_artifact(run.output_sha256)
    children = store.list_runs(parent_run_id=run.run_id)
    assert len(children) == 1
    tracked = children[0]
    assert tracked.kind == "track" and tracked.name == "tiny" and tracked.status == "finished"
    assert tracked.params == run.params  # the kernel saw the injected parameters
    assert tracked.input_sha256 == run.input_sha256
    assert meta["tracked_runs"] == [tracked.run_id]
    assert audit.verify(store).ok


def test_failing_cell_marks_run_failed_and_keeps_partial_notebook(store):
    run = run_notebook(TINY, {"x": 13, "fail_on": 13}, store=store)
    assert run.status == "failed"
    assert "AssertionError: x was 13" in run.error and run.error.startswith("cell ")
    nb = executed(store, run)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "error" for o in outputs)
    assert not any("done" in o.get("text", "") for o in outputs)
    assert nb.metadata["mlops_nb"]["status"] == "failed"
    assert store.list_runs(parent_run_id=run.run_id)[0].status == "finished"


def test_timeout_kills_the_kernel(store):
    start = time.monotonic()
    run = run_notebook(TINY, {"sleep": 120.0}, store=store, timeout=8)
    assert time.monotonic() - start < 60
    assert run.status == "failed" and "timed out after 8 s" in run.error
    assert run.output_sha256  # the partial notebook is kept


def test_kernel_stderr_is_kept_out_of_the_terminal_and_quoted_when_it_dies(store, tmp_path, capfd):
    path = write_notebook(
        tmp_path / "dies.ipynb",
        "import os",
        "os.write(2, b'native library says goodbye\\n'); os._exit(3)",
    )
    run = run_notebook(path, store=store)
    assert run.status == "failed"
    assert "DeadKernelError" in run.error
    assert "native library says goodbye" in run.error  # quoted from the kernel's stderr
    assert "native library says goodbye" not in capfd.readouterr().err
    assert not list((store.home / "tmp").glob("*.kernel.log"))  # the log is not left behind


def test_notebook_without_a_kernel_fails_cleanly(store, tmp_path):
    path = tmp_path / "no_kernel.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), str(path))
    run = run_notebook(path, store=store)
    assert run.status == "failed" and "No kernel name found" in run.error
    assert store.get_run(run.run_id).status == "failed"


def test_a_run_declared_lost_stays_failed_when_its_kernel_finishes(store):
    import threading

    from mlops_nb.execution.runner import run_notebook as run

    run_id = "d" * 32
    done = {}
    worker = threading.Thread(
        target=lambda: done.update(run=run(TINY, {"sleep": 4.0}, store=store, run_id=run_id))
    )
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if store.get_run(run_id).status == "running":
                break
        except NotFoundError:
            pass
        time.sleep(0.1)
    store.update_run(
        run_id,
        {"status": "failed", "ended_at": "now", "error": "worker lost"},
        "watcher",
        expect_status="running",
    )
    worker.join(120)
    assert done["run"].status == "failed" and done["run"].error == "worker lost"
    assert audit.verify(store).ok


def test_bad_input_is_refused_before_anything_is_recorded(store, tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        run_notebook(tmp_path / "missing.ipynb", store=store)
    with pytest.raises(InvalidInputError, match="not a readable notebook"):
        run_notebook(NOTEBOOKS / "broken.ipynb", store=store)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(InvalidInputError, match="not a .ipynb"):
        run_notebook(tmp_path / "x.txt", store=store)
    with pytest.raises(InvalidInputError, match="identifier"):
        run_notebook(TINY, {"bad-name": 1}, store=store)
    with pytest.raises(InvalidInputError, match="timeout"):
        run_notebook(TINY, store=store, timeout=0)
    assert store.list_runs() == []


def test_unknown_parameters_are_noted(store):
    run = run_notebook(NOTEBOOKS / "no_params.ipynb", {"k": 1}, store=store)
    assert run.status == "finished"
    assert "no cell tagged 'parameters'" in run.data["notes"][0]


def test_report_is_self_contained_with_provenance(store):
    run = run_notebook(TINY, {"x": 2}, store=store)
    html = report.render(store, run.run_id)
    assert "id='mlops-nb-provenance'" in html
    assert run.run_id in html and run.input_sha256 in html and run.output_sha256 in html
    assert "x is 2" in html
    assert "cdnjs" not in html and '<script src="http' not in html
    tracked = store.list_runs(parent_run_id=run.run_id)[0]
    # A tracked run's report is its notebook run's report.
    via_child = report.render(store, tracked.run_id)
    assert run.run_id in via_child and tracked.run_id[:12] in via_child


def test_report_of_interactive_run_explains(store):
    from mlops_nb import tracking

    with tracking.track(store, "m") as active:
        pass
    with pytest.raises(NotFoundError, match="tracked interactively"):
        report.render(store, active.run_id)


def test_parameters_are_json_in_kernel_env(store, tmp_path):
    # A notebook that records what its kernel finds in MLOPS_NB_PARAMS.
    path = write_notebook(
        tmp_path / "reads_its_env.ipynb",
        "%load_ext mlops_nb\nimport json, os",
        "%mlops_record seen json.loads(os.environ['MLOPS_NB_PARAMS'])",
        parameters="x = 1\nlabel = 'a'\nweights = [1]",
    )
    given = {"x": 3, "label": 'naïve "quoted"', "weights": [0.5, None, {"k": True}]}
    run = run_notebook(path, given, store=store)
    assert run.status == "finished", run.error
    assert run.params == given
    assert run.values["seen"] == given  # exactly the JSON, in the kernel's environment
    injected = [
        c for c in executed(store, run).cells if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert injected and "x = 3" in injected[0].source


def test_progress_is_readable_while_a_notebook_runs(store):
    import threading

    from mlops_nb.execution.runner import progress

    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            for run in store.list_runs(kind="notebook"):
                if run.status == "running":
                    found = progress(store, run.run_id)
                    if found:
                        seen.append(found)
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run = run_notebook(TINY, {"sleep": 3.0}, store=store)
    finally:
        done.set()
        watcher.join()
    assert run.status == "finished"
    # every code cell of the executed notebook, the injected one included
    cells = sum(c.cell_type == "code" for c in executed(store, run).cells)
    assert seen and all(total == cells for _, total in seen)
    assert any(0 < n < cells for n, _ in seen)
    assert progress(store, run.run_id) is None  # finished: nothing in flight
