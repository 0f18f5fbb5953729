"""REST handlers: thin adapters from HTTP to the core, errors mapped in one place."""

from __future__ import annotations

import asyncio
import json
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

import tornado
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from ..errors import ConflictError, InvalidInputError, MlopsError, NotFoundError

if TYPE_CHECKING:
    from ..store.location import StoreLocation

PREFIX = "mlops-nb/api"
# jupyter_server names a user who logged in with the token by a random hex id.
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")
_INT32_MAX = 2**31 - 1


class BaseHandler(APIHandler):
    """Authenticated JSON handler; MlopsError becomes its HTTP status with a JSON body."""

    @cached_property
    def store(self) -> Any:
        """One store per server, opened on first use (migrations checked once)."""
        store = self.settings.get("mlops_nb_store")
        if store is None:
            from ..store import Store

            store = Store(server_location(self.settings))
            self.settings["mlops_nb_store"] = store
        return store

    @cached_property
    def jobs(self) -> Any:
        """The schedule runs this server started (one :class:`~.jobs.Jobs` per server)."""
        jobs = self.settings.get("mlops_nb_jobs")
        if jobs is None:
            from .jobs import Jobs

            jobs = Jobs()
            self.settings["mlops_nb_jobs"] = jobs
        return jobs

    def actor(self) -> str:
        """Who acts: the authenticated user's name (JupyterHub and other identity
        providers), or, for a token login (a random anonymous id), the account
        that runs the server, since only it can hand out the token."""
        user = self.current_user
        name = getattr(user, "username", None) or ""
        if not name or _ANONYMOUS_ID.fullmatch(name):
            from ..environment import actor

            name = actor()
        return f"{name} (jupyter)"

    def body(self) -> dict[str, Any]:
        """The request's JSON object; the core checks each field's type and value."""
        if not self.request.body:
            return {}
        try:
            doc = json.loads(self.request.body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
            raise InvalidInputError("the request body is not JSON") from None
        if not isinstance(doc, dict):
            raise InvalidInputError(
                f"the request body must be a JSON object, not {_json_type(doc)}"
            )
        return doc

    def reply(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as the one object of the API's contract: ``{"error", "type"}``.

        Refusals by the web server itself (no credentials, a failed XSRF
        check, a method the route lacks) arrive here as tornado's
        ``HTTPError`` and get the same shape; a 405 names the methods the
        route has in ``Allow``, as HTTP requires.
        """
        exc = kwargs.get("exc_info", (None, None, None))[1]
        doc: dict[str, Any]
        if isinstance(exc, MlopsError):
            doc = {"error": str(exc), "type": type(exc).__name__}
            failures = getattr(exc, "failures", None)
            if failures:
                doc["failures"] = failures
        elif isinstance(exc, tornado.web.HTTPError) and status_code < 500:
            message = (
                exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message
            )
            doc = {"error": message or exc.reason or self._reason, "type": "HTTPError"}
        else:
            super().write_error(status_code, **kwargs)
            return
        if status_code == 405:
            self.set_header("Allow", ", ".join(allowed_methods(type(self))))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, MlopsError):
            self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


class ModelsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply(self.store.list_models())


class ModelHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        from .views import model_detail

        self.reply(model_detail(self.store, name))


class PromoteHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        from ..registry import promote

        doc = self.body()
        if "version" not in doc:
            raise InvalidInputError("promote needs 'version'")
        change = promote(
            self.store,
            name,
            doc["version"],
            doc.get("alias", "production"),
            require=doc.get("require"),
            reason=doc.get("reason"),
            actor=self.actor(),
        )
        self.reply(change.to_json())


class RollbackHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        from ..registry import rollback

        doc = self.body()
        change = rollback(
            self.store,
            name,
            doc.get("alias", "production"),
            reason=doc.get("reason"),
            actor=self.actor(),
        )
        self.reply(change.to_json())


class RunsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from ..limits import whole_number
        from .views import run_docs

        limit = whole_number(self.get_argument("limit", "100"), "limit")
        runs = self.store.list_runs(
            name=self.get_argument("model", None), kind=self.get_argument("kind", None), limit=limit
        )
        self.reply(run_docs(self.store, runs))


class RunSearchHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """One page of the runs a filter matches (``q``), sorted, with the total."""
        from ..tracking.search import And, Compare, Field, parse_query, parse_sort
        from .views import run_docs

        page = {}
        for key, default in (("limit", "50"), ("offset", "0")):
            text = self.get_argument(key, default)
            if not text.isdigit() or len(text) > 10:
                raise InvalidInputError(f"{key} must be a whole number, not {text!r:.20}")
            page[key] = int(text)
        query = parse_query(self.get_argument("q", None))
        kind = self.get_argument("kind", None)
        if kind:  # apart from q, so a message about q points into the user's own text
            only = Compare(Field("run", "kind"), "=", kind)
            query = only if query is None else And((only, query))
        sort = parse_sort(self.get_argument("sort", None), self.get_argument("order", None))
        runs, total = self.store.search_runs(query, sort, **page)
        self.reply(
            {
                "runs": run_docs(self.store, runs),
                "total": total,
                **page,
                "sort": self.get_argument("sort", None) or "started",
                "order": "desc" if sort.descending else "asc",
            }
        )


class RunCompareHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """Runs side by side (``ids=a,b,...``): parameters, metrics, data, differences."""
        from .views import compare_view

        ids = [i for i in self.get_argument("ids", "").split(",") if i.strip()]
        self.reply(compare_view(self.store, [i.strip() for i in ids]))


class RunHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, run_id: str) -> None:
        from .views import run_docs

        run = self.store.get_run(run_id)
        (doc,) = run_docs(self.store, [run])
        doc["children"] = [c.run_id for c in self.store.list_runs(parent_run_id=run.run_id)]
        self.reply(doc)


class RunNotebookHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, run_id: str) -> None:
        from ..execution.report import notebook_run_for, render

        fmt = self.get_argument("format", "ipynb")
        if fmt not in ("ipynb", "html"):
            raise InvalidInputError("format must be ipynb or html")
        nb_run = notebook_run_for(self.store, run_id)
        if not nb_run.output_sha256:
            # A state, not bad input: the same request succeeds once the run ends.
            if nb_run.status == "running":
                raise ConflictError(f"run {nb_run.run_id[:12]} is still running: no notebook yet")
            raise NotFoundError(f"run {nb_run.run_id[:12]} ended without an executed notebook")
        if fmt == "html":
            html = render(self.store, nb_run.run_id)
            # Notebook outputs may carry scripts: never let them run with the
            # user's Jupyter origin, even when the URL is opened directly.
            self.set_header(
                "Content-Security-Policy",
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            )
            self._finish_raw(html.encode("utf-8"), "text/html; charset=utf-8")
            return
        self._finish_raw(self.store.get_artifact(nb_run.output_sha256), "application/x-ipynb+json")

    def _finish_raw(self, body: bytes, content_type: str) -> None:
        # APIHandler.finish would label every body as JSON.
        self.set_header("Content-Type", content_type)
        JupyterHandler.finish(self, body)


class DriftHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        from .views import drift_view

        self.reply(drift_view(self.store, name))


class SchedulesHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        from .views import schedules_view

        self.reply(schedules_view(self.store, self.jobs.running))


class ScheduleActionHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, name: str, action: str) -> None:
        from ..schedules import schedule

        if action in ("pause", "resume"):
            self.reply(schedule.set_enabled(self.store, name, action == "resume"))
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


class ServingHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The serving processes running now, each with its version, last swap and
        live numbers; the core says whether they are stale."""
        from ..serving.stats import servers_now

        self.reply({"servers": servers_now(self.store)})


def server_location(settings: dict[str, Any]) -> StoreLocation:
    """The store this server shows, resolved once (from its root folder, as a kernel would)."""
    location = settings.get("mlops_nb_location")
    if location is None:
        from ..store.location import StoreLocation

        location = StoreLocation.resolve(cwd=settings.get("mlops_nb_root"))
        settings["mlops_nb_location"] = location
    return location


def _slot_number(slot_id: str) -> int:
    # Slot ids are 32-bit database keys: a larger number would overflow PostgreSQL's
    # integer, so it is bad input here rather than an error deep in the driver.
    if not (slot_id.isascii() and slot_id.isdigit()) or not 1 <= int(slot_id) <= _INT32_MAX:
        raise InvalidInputError(f"slot id must be a whole number from 1 to {_INT32_MAX}")
    return int(slot_id)


def allowed_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The HTTP methods ``handler`` answers, for a 405's ``Allow`` header."""
    base = tornado.web.RequestHandler
    return [
        verb
        for verb in handler.SUPPORTED_METHODS
        if getattr(handler, verb.lower()) is not getattr(base, verb.lower())
    ]


def _json_type(doc: Any) -> str:
    if doc is None:
        return "null"
    return {bool: "a boolean", list: "an array", str: "a string"}.get(type(doc), "a number")


def setup_handlers(web_app: Any, root_dir: str | None = None) -> list[str]:
    """Register the routes; return their patterns (relative to ``{base_url}mlops-nb/api/``)."""
    base = web_app.settings.get("base_url", "/")
    web_app.settings["mlops_nb_root"] = root_dir
    # Any segment reaches its handler, which checks it (400 with the error object)
    # rather than falling through to Jupyter's HTML "404: Not Found" page.
    name = r"(?P<name>[^/]+)"
    run = r"(?P<run_id>[^/]+)"
    slot = r"(?P<slot_id>[^/]+)"
    routes = [
        ("models", ModelsHandler),
        (f"models/{name}", ModelHandler),
        (f"models/{name}/promote", PromoteHandler),
        (f"models/{name}/rollback", RollbackHandler),
        ("runs", RunsHandler),
        ("runs/search", RunSearchHandler),
        ("runs/compare", RunCompareHandler),
        (f"runs/{run}", RunHandler),
        (f"runs/{run}/notebook", RunNotebookHandler),
        (f"drift/{name}", DriftHandler),
        ("schedules", SchedulesHandler),
        (f"schedules/{name}/(?P<action>run-now|pause|resume)", ScheduleActionHandler),
        (f"schedules/{name}/slots/{slot}", SlotHandler),
        (f"schedules/{name}/slots/{slot}/cancel", SlotCancelHandler),
        ("serving", ServingHandler),
    ]
    web_app.add_handlers(
        ".*$", [(url_path_join(base, PREFIX, path), handler) for path, handler in routes]
    )
    return [path for path, _ in routes]
