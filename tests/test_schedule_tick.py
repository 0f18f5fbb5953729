"""``tick`` itself, with real kernels: a slot's retries, and the executor it is handed."""

import datetime as dt
from pathlib import Path

import pytest

from mlops_nb.execution.executor import LocalExecutor
from mlops_nb.schedules import schedule as sch
from mlops_nb.schedules import scheduler as firing

NB = Path(__file__).parent / "notebooks"
FLAKY = NB / "flaky.ipynb"
TINY = NB / "tiny_tracked.ipynb"
UTC = dt.timezone.utc
ADDED = dt.datetime(2026, 11, 1, tzinfo=UTC)
DUE = dt.datetime(2026, 11, 1, 1, 0, 5, tzinfo=UTC)  # just after the 01:00 slot

pytestmark = pytest.mark.backends


def attempts_of(store, slot):
    """The runs a slot made, oldest first, as (attempt tag, status)."""
    runs = [r for r in store.list_runs(kind="notebook") if r.tags.get("slot") == slot["slot"]]
    return sorted((r.tags["attempt"], r.status) for r in runs)


@pytest.mark.parametrize(
    "fail_times, status, runs",
    [
        (5, "failed", [("1", "failed"), ("2", "failed")]),  # fails every time: given up
        (1, "finished", [("1", "failed"), ("2", "finished")]),  # passes on its retry
    ],
)
def test_a_ticked_slot_retries_once_and_records_both_attempts(
    store, tmp_path, fail_times, status, runs
):
    marker = tmp_path / "attempts"
    sch.add(
        store, "flaky", str(FLAKY), "0 * * * *", retries=1, backoff=0.25,
        parameters={"marker": str(marker), "fail_times": fail_times}, now=ADDED,
    )  # fmt: skip
    waits: list[float] = []
    (slot,) = firing.tick(store, DUE, sleep=waits.append)
    assert slot["slot"].startswith("2026-11-01T01:00")
    assert (slot["status"], slot["attempts"]) == (status, 2)
    assert marker.read_text() == "2"  # the notebook really ran twice, no more
    assert waits == [0.25]  # one backoff, before the one retry
    assert attempts_of(store, slot) == runs
    last = store.get_run(slot["run_id"])  # the slot names its last attempt
    assert last.tags["attempt"] == "2" and last.status == status
    if status == "failed":
        assert "flaky failure 2 of 5" in slot["error"]
    else:
        assert slot["error"] is None


def test_tick_runs_its_slots_on_the_executor_it_is_given(store):
    made: list[int] = []
    ran: list[tuple[str, str | None]] = []

    class Watched(LocalExecutor):
        """The local executor, noting what it was asked to run."""

        def __init__(self, max_parallel: int) -> None:
            super().__init__(max_parallel)
            made.append(max_parallel)

        def run(self, store, task, *, parent_run_id=None, run_id=None, on_attempt=None):
            ran.append((task.name, run_id))
            return super().run(
                store, task, parent_run_id=parent_run_id, run_id=run_id, on_attempt=on_attempt
            )

    sch.add(store, "tiny", str(TINY), "0 * * * *", parameters={"x": 4}, now=ADDED)
    (slot,) = firing.tick(store, DUE, make_executor=Watched)
    assert made == [1]
    assert ran == [("tiny", slot["run_id"])]  # the slot's own run, started by the executor
    assert slot["status"] == "finished" and slot["attempts"] == 1
    run = store.get_run(slot["run_id"])
    assert run.status == "finished" and run.values == {"doubled": 8}
    assert run.tags["schedule"] == "tiny" and run.tags["attempt"] == "1"
