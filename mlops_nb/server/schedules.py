"""REST handlers for schedules: define, change, remove, pause, run now, follow a slot.

Each handler parses the request and calls :mod:`mlops_nb.schedules.schedule`,
the core the CLI's ``schedule add|update|remove`` calls, with the Jupyter
user as the actor in the audit log. A notebook, or a pipeline file
(:mod:`.pipelines`), is named by its path under the folder the Jupyter
server shows (as the file browser names it) and must stay inside it: no
``..`` or symlink out, no absolute path elsewhere. A bad
field answers 400 with the error object's ``field`` naming it; the cron
expression is read by the server (``GET cron``), so the panel shows the
server's reading of it, never one of its own.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import tornado

from ..errors import InvalidInputError, NotFoundError
from ..schedules import schedule as sch
from .routes import BaseHandler

#: What a request body may set, with the default a new schedule takes.
DEFAULTS: dict[str, Any] = {
    "tz": "UTC",
    "catchup": "latest",
    "parameters": {},
    "timeout": None,
    "retries": 0,
    "backoff": 60.0,
    "max_concurrent": 1,
    "overlap": "skip",
    "alert_on": "failure",
    "alert_model": "*",
}
#: How many upcoming slots ``GET cron`` lists.
UPCOMING = 3
_INT32_MAX = 2**31 - 1


def file_under(
    root: str | None, given: Any, field: str, suffixes: tuple[str, ...], noun: str
) -> tuple[Path, Path]:
    """The folder Jupyter shows and the absolute path of ``given`` (relative to it),
    which must stay in it, end in one of ``suffixes`` and exist.

    Symlinks are followed before the check, so a link pointing out of the
    folder is refused like ``../``; an absolute path is accepted only inside.
    Errors name ``field`` and read "no {noun} …" for a missing file.
    """
    kind = " or ".join(suffixes)
    if not isinstance(given, str) or not given.strip() or "\x00" in given:
        raise InvalidInputError(
            f"{field} must be the path of a {suffixes[0]} file in the folder Jupyter shows"
        )
    try:
        base = Path(root or os.getcwd()).resolve()
        path = (base / given).resolve()
        inside = path.is_relative_to(base)
        is_file = inside and path.is_file()
    except (OSError, ValueError, RuntimeError):  # too long, a symlink loop
        raise InvalidInputError(f"{field} {given!r:.200} is not a usable path") from None
    if not inside:
        raise InvalidInputError(
            f"{field} {given!r:.200} is outside the folder this Jupyter server shows"
        )
    if path.suffix not in suffixes:
        raise InvalidInputError(f"{field} {given!r:.200} is not a {kind} file")
    if not is_file:
        raise InvalidInputError(f"no {noun} {given!r:.200} in the folder Jupyter shows")
    return base, path


def notebook_under(root: str | None, given: Any) -> str:
    """The absolute path of notebook ``given`` (relative to ``root``), which must stay in it.

    Raises
    ------
    InvalidInputError
        ``field == "notebook"``: not text, outside ``root``, not a ``.ipynb``
        file, or no such file.
    """
    with sch.about("notebook"):
        _, path = file_under(root, given, "notebook", (".ipynb",), "notebook")
    return str(path)


def settings_from(doc: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The body's settings; ``null`` is left out (the default, or unchanged when editing).

    An unknown key is refused, so a misspelt setting is not silently dropped.
    """
    unknown = sorted(set(doc) - allowed)
    if unknown:
        error = InvalidInputError(
            f"unknown schedule field {unknown[0]!r:.80} (known: {', '.join(sorted(allowed))})"
        )
        error.field = str(unknown[0])[:80]
        raise error
    return {key: doc[key] for key in doc if key in DEFAULTS and doc[key] is not None}


def saved_view(schedule: dict[str, Any]) -> dict[str, Any]:
    """A schedule as saved, with ``cron_text`` (its cron in words) and ``next_run``."""
    return {
        **schedule,
        "cron_text": sch.describe_cron(schedule["cron"], schedule["tz"]),
        "next_run": sch.next_run(schedule),
    }


class SchedulesHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from .views import schedules_view

        self.reply(schedules_view(self.store, self.jobs.running))

    @tornado.web.authenticated
    def post(self) -> None:
        """Define a schedule of a notebook or a pipeline file under the server's folder
        (``schedule add``)."""
        doc = self.body()
        settings = settings_from(doc, {"name", "notebook", "pipeline", "cron", *DEFAULTS})
        for key in ("name", "cron"):
            if doc.get(key) is None:
                raise field_error(key, f"a schedule needs {key!r}")
        if doc.get("notebook") is None and doc.get("pipeline") is None:
            raise field_error("notebook", "a schedule needs a 'notebook' or a 'pipeline'")
        field, target = target_of(self.settings.get("mlops_nb_root"), doc)
        with sch.about(field):  # all else was checked above: the file is what is left
            done = sch.add(
                self.store, doc["name"], str(target), doc["cron"], **settings, actor=self.actor()
            )
        self.reply(saved_view(done), status=201)


def field_error(field: str, message: str) -> InvalidInputError:
    """A refusal of one field of the request."""
    error = InvalidInputError(message)
    error.field = field
    return error


def target_of(root: str | None, doc: dict[str, Any]) -> tuple[str, str | None]:
    """The file a request names to run: a notebook, or a pipeline file checked as one
    (field, absolute path); ``("notebook", None)`` when it names neither."""
    from .pipelines import pipeline_under

    if doc.get("notebook") is not None and doc.get("pipeline") is not None:
        raise field_error("pipeline", "give a notebook or a pipeline, not both")
    if doc.get("pipeline") is not None:
        return "pipeline", str(pipeline_under(root, doc["pipeline"]).path)
    if doc.get("notebook") is not None:
        return "notebook", notebook_under(root, doc["notebook"])
    return "notebook", None


class ScheduleHandler(BaseHandler):
    @tornado.web.authenticated
    def patch(self, name: str) -> None:
        """Change a schedule (``schedule update``); its files are snapshot again, or
        those of the notebook or pipeline file the request names instead."""
        doc = self.body()
        settings = settings_from(doc, {"notebook", "pipeline", "cron", *DEFAULTS})
        self.store.get_schedule(name)  # 404 before any field is judged
        field, target = target_of(self.settings.get("mlops_nb_root"), doc)
        with sch.about(field):
            done = sch.update(
                self.store, name, target=target, cron=doc.get("cron"), **settings,
                actor=self.actor(),
            )  # fmt: skip
        self.reply(saved_view(done))

    @tornado.web.authenticated
    def delete(self, name: str) -> None:
        """Remove a schedule (``schedule remove``): its slots and events stay."""
        removed = sch.remove(self.store, name, actor=self.actor())
        self.reply({"name": removed["name"], "removed": True})


class CronHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """A cron expression as the server reads it: its five fields, in words, next slots."""
        expr = self.get_argument("expr", "")
        tz = self.get_argument("tz", "UTC")
        with sch.about("tz"):
            sch.zone(tz)
        with sch.about("cron"):
            text = sch.check_cron(expr, tz)
        upcoming = sch.upcoming(text, tz, sch.to_utc(None), UPCOMING)
        self.reply({"cron": text, "tz": tz, "text": sch.describe_cron(text, tz), "next": upcoming})


class ScheduleActionHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, name: str, action: str) -> None:
        if action in ("pause", "resume"):
            self.reply(sch.set_enabled(self.store, name, action == "resume", actor=self.actor()))
            return
        from .views import slot_view

        # Claimed here, run in a thread of the server's own: the reply names the
        # slot and its run at once; GET …/slots/{id} follows it, …/cancel stops it.
        parameters = self.body().get("parameters")
        slot = await asyncio.to_thread(self.jobs.start, self.store, name, parameters)
        self.reply(slot_view(self.store, slot, self.jobs.running), status=202)


class _SlotBase(BaseHandler):
    def slot(self, name: str, slot_id: str) -> dict[str, Any]:
        """Slot ``slot_id`` of schedule ``name`` (404 when it belongs to another one)."""
        slot = self.store.get_slot(_slot_number(slot_id))
        if slot["schedule"] != name:
            raise NotFoundError(f"schedule {name} has no slot {slot_id}")
        return slot


class SlotHandler(_SlotBase):
    @tornado.web.authenticated
    def get(self, name: str, slot_id: str) -> None:
        from .views import slot_view

        self.reply(slot_view(self.store, self.slot(name, slot_id), self.jobs.running))


# Not a SlotHandler: its GET would answer on …/cancel too.
class SlotCancelHandler(_SlotBase):
    @tornado.web.authenticated
    def post(self, name: str, slot_id: str) -> None:
        from .views import slot_view

        slot = self.slot(name, slot_id)
        cancellation = self.jobs.cancel(slot["id"], self.actor())
        # The kernels are gone; the run records itself as cancelled a moment later.
        doc = slot_view(self.store, self.store.get_slot(slot["id"]), self.jobs.running)
        self.reply({**doc, "cancelled_by": cancellation.by, "cancelled_at": cancellation.at}, 202)


def _slot_number(slot_id: str) -> int:
    # Slot ids are 32-bit database keys: a larger number would overflow PostgreSQL's
    # integer, so it is bad input here rather than an error deep in the driver.
    if not (slot_id.isascii() and slot_id.isdigit()) or not 1 <= int(slot_id) <= _INT32_MAX:
        raise InvalidInputError(f"slot id must be a whole number from 1 to {_INT32_MAX}")
    return int(slot_id)
