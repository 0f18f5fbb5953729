"""REST handlers: thin adapters from HTTP to the core, errors mapped in one place."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import tornado
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join

from ..errors import ConflictError, InvalidInputError, MlopsError, NotFoundError

if TYPE_CHECKING:
    from ..store.location import StoreLocation
    from .panel import RunSearch

PREFIX = "mlops-nb/api"
# jupyter_server names a user who logged in with the token by a random hex id.
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")


class BaseHandler(APIHandler):
    """Authenticated JSON handler; MlopsError becomes its HTTP status with a JSON body."""

    @cached_property
    def store(self) -> Any:
        """One store per server, opened on first use (migrations checked once)."""

        def open_store() -> Any:
            from ..store import Store

            return Store(server_location(self.settings))

        return self._per_server("mlops_nb_store", open_store)

    @cached_property
    def tabs(self) -> Any:
        """The panel's tab documents as last read (one :class:`~.panel.TabCache` per server)."""
        from .panel import TabCache

        return self._per_server("mlops_nb_tabs", TabCache)

    @cached_property
    def jobs(self) -> Any:
        """The schedule runs this server started (one :class:`~.jobs.Jobs` per server)."""
        from .jobs import Jobs

        return self._per_server("mlops_nb_jobs", Jobs)

    def _per_server(self, key: str, make: Callable[[], Any]) -> Any:
        """The object kept under ``key`` in the server's settings, made on first use."""
        kept = self.settings.get(key)
        if kept is None:
            kept = self.settings[key] = make()
        return kept

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
        # JSON has one kind of number: 2.0 is the whole number 2 (JSON Schema's
        # integer says so too), though Python reads it as a float. Only the
        # fields themselves: a parameter 1.0 inside them stays a float.
        return {
            key: int(value) if isinstance(value, float) and value.is_integer() else value
            for key, value in doc.items()
        }

    def reply(self, document: Any, status: int = 200) -> None:
        from .panel import encode

        self.reply_json(encode(document), status)

    def reply_json(self, body: str, status: int = 200) -> None:
        """Send JSON text encoded already (a cached document)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        # The server's own share of a request's time, for the browser's network
        # panel and bench/panel.py: from its arrival to the reply encoded (app), and
        # the processor time the handler used (cpu; the app time on a quiet machine).
        cpu = (time.thread_time() - self._cpu_start) * 1000
        app = self.request.request_time() * 1000
        self.set_header("Server-Timing", f"app;dur={app:.1f}, cpu;dur={cpu:.1f}")
        self.finish(body)

    async def prepare(self) -> None:  # type: ignore[override]  # as APIHandler's own
        self._cpu_start = time.thread_time()
        await super().prepare()

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
            field = getattr(exc, "field", None)
            if field:
                doc["field"] = field
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


class VersionHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str, version: str) -> None:
        """One version in full, as ``GET /models/{name}`` lists it (hashes included)."""
        from ..registry import check_model_name, parse_version
        from .views import version_doc

        found = self.store.get_version(check_model_name(name), parse_version(version))
        self.reply(version_doc(self.store, found, {}))

    @tornado.web.authenticated
    def patch(self, name: str, version: str) -> None:
        """Edit the version's description and tags (audited); answer the version as it is."""
        from ..registry import annotate, parse_version
        from .views import version_doc

        doc = self.body()
        unknown = sorted(set(doc) - {"description", "tags", "untag"})
        if unknown:
            raise InvalidInputError(
                f"unknown field {unknown[0]!r:.60}: a version takes description, tags, untag"
            )
        number = parse_version(version)
        updated = annotate(
            self.store,
            name,
            number,
            description=doc.get("description"),
            tags=doc.get("tags"),
            untag=doc.get("untag"),
            actor=self.actor(),
        )
        self.reply(version_doc(self.store, updated, {}))


class PromoteHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, name: str) -> None:
        from ..errors import ApprovalRequiredError
        from ..registry import promote

        doc = self.body()
        if "version" not in doc:
            raise InvalidInputError("promote needs 'version'")
        try:
            change = promote(
                self.store,
                name,
                doc["version"],
                doc.get("alias", "production"),
                require=doc.get("require"),
                reason=doc.get("reason"),
                actor=self.actor(),
            )
        except ApprovalRequiredError as exc:  # a protected alias: the request, not a move
            self.reply({"request": exc.request, "message": str(exc)}, 202)
            return
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
        from .panel import run_page

        self.reply(run_page(self.store, self.search()))

    def search(self) -> RunSearch:
        """The search the query string asks for (``limit`` and ``offset`` checked here)."""
        from .panel import RunSearch

        page = []
        for key, default in (("limit", "50"), ("offset", "0")):
            text = self.get_argument(key, default)
            if not text.isdigit() or len(text) > 10:
                raise InvalidInputError(f"{key} must be a whole number, not {text!r:.20}")
            page.append(int(text))
        q, kind, sort, order = (self.get_argument(k, None) for k in ("q", "kind", "sort", "order"))
        return RunSearch(q, kind, sort, order, limit=page[0], offset=page[1])


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
        from .panel import run_detail

        self.reply(run_detail(self.store, run_id))


class PanelModelsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The Models tab in one request: every model's summary and detail."""
        from .panel import models_tab

        self.reply_json(self.tabs.body(self.store, "models", models_tab))


class PanelRunsHandler(RunSearchHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The Runs tab in one request: a page of the search and the selected run."""
        from .panel import runs_tab

        self.reply(runs_tab(self.store, self.search(), self.get_argument("selected", None)))


class PanelDriftHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The Drift tab in one request: every model's drift view."""
        from .panel import drift_tab

        self.reply_json(self.tabs.body(self.store, "drift", drift_tab))


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


class RunArtifactHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, run_id: str, kind: str) -> None:
        """One file of a run (model, profile or source), as a download."""
        from .views import run_artifact

        body, content_type, filename = run_artifact(self.store, run_id, kind)
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", attachment(filename))
        self.set_header("X-Content-Type-Options", "nosniff")
        JupyterHandler.finish(self, body)


#: What a stored report may do in the browser: draw its own charts (plotly's inline
#: script) in an opaque origin, with no network at all, so nothing in it can act
#: with the user's Jupyter session.
REPORT_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:"
)


class DriftReportHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str, check_id: str) -> None:
        """One recorded drift check as a standalone HTML report."""
        from .views import drift_report_html

        html = drift_report_html(self.store, name, check_id)
        self.set_header("Content-Security-Policy", REPORT_POLICY)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        JupyterHandler.finish(self, html.encode("utf-8"))


class DriftHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        from .views import drift_view

        self.reply(drift_view(self.store, name))


class ServingHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The serving processes running now, each with its version, last swap and
        live numbers; the core says whether they are stale."""
        from ..serving.deploy_view import deploys_now
        from ..serving.stats import servers_now

        servers = servers_now(self.store)
        deploys = deploys_now(self.store, [s["model"] for s in servers])
        self.reply({"servers": servers, "deploys": deploys})


class DeployHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        """A model's running (or latest) canary or shadow and its decisions' history."""
        from ..serving.deploy_view import deploy_view

        self.reply(deploy_view(self.store, name))


def server_location(settings: dict[str, Any]) -> StoreLocation:
    """The store this server shows, resolved once (from its root folder, as a kernel would)."""
    location = settings.get("mlops_nb_location")
    if location is None:
        from ..store.location import StoreLocation

        location = StoreLocation.resolve(cwd=settings.get("mlops_nb_root"))
        settings["mlops_nb_location"] = location
    return location


def allowed_methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    """The HTTP methods ``handler`` answers, for a 405's ``Allow`` header."""
    base = tornado.web.RequestHandler
    return [
        verb
        for verb in handler.SUPPORTED_METHODS
        if getattr(handler, verb.lower()) is not getattr(base, verb.lower())
    ]


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` that saves ``filename`` whatever characters it holds.

    A model name may hold quotes, semicolons and any script: browsers read the
    percent-encoded UTF-8 ``filename*``; the plain ``filename`` is an ASCII
    stand-in for the few that do not.
    """
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


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
    from . import alerts, cards, requests
    from . import drift_checks as checks
    from . import schedules as sched
    from .pipelines import PipelineStepsHandler

    routes = [
        ("models", ModelsHandler),
        (f"models/{name}", ModelHandler),
        (f"models/{name}/versions/(?P<version>[^/]+)", VersionHandler),
        (f"models/{name}/versions/(?P<version>[^/]+)/card", cards.CardHandler),
        (f"models/{name}/promote", PromoteHandler),
        (f"models/{name}/rollback", RollbackHandler),
        ("panel/models", PanelModelsHandler),
        ("panel/runs", PanelRunsHandler),
        ("panel/drift", PanelDriftHandler),
        ("runs", RunsHandler),
        ("runs/search", RunSearchHandler),
        ("runs/compare", RunCompareHandler),
        (f"runs/{run}", RunHandler),
        (f"runs/{run}/notebook", RunNotebookHandler),
        (f"runs/{run}/artifacts/(?P<kind>[^/]+)", RunArtifactHandler),
        (f"drift/{name}", DriftHandler),
        (f"drift/{name}/checks", checks.DriftChecksHandler),
        (f"drift/{name}/checks/(?P<check_id>[^/]+)", checks.DriftCheckHandler),
        (f"drift/{name}/checks/(?P<check_id>[^/]+)/report", DriftReportHandler),
        ("schedules", sched.SchedulesHandler),
        (f"schedules/{name}", sched.ScheduleHandler),
        (f"schedules/{name}/(?P<action>run-now|pause|resume)", sched.ScheduleActionHandler),
        (f"schedules/{name}/slots/{slot}", sched.SlotHandler),
        (f"schedules/{name}/slots/{slot}/cancel", sched.SlotCancelHandler),
        ("cron", sched.CronHandler),
        ("pipelines/steps", PipelineStepsHandler),
        ("serving", ServingHandler),
        ("alerts", alerts.AlertsHandler),
        ("alerts/(?P<alert_id>[^/]+)/ack", alerts.AlertAckHandler),
        ("alerts/(?P<alert_id>[^/]+)/resolve", alerts.AlertResolveHandler),
        ("promotion-requests", requests.RequestsHandler),
        (
            "promotion-requests/(?P<request_id>[^/]+)/(?P<decision>approve|reject)",
            requests.RequestDecisionHandler,
        ),
        (f"deploys/{name}", DeployHandler),
    ]
    web_app.add_handlers(
        ".*$", [(url_path_join(base, PREFIX, path), handler) for path, handler in routes]
    )
    return [path for path, _ in routes]
