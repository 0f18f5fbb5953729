"""REST handlers for promotion requests: list them, approve or reject one.

Thin adapters over :mod:`mlops_nb.registry.requests` (the core the CLI's
``requests list|approve|reject`` calls), with the Jupyter user as the one who
approves or rejects (:meth:`~.routes.BaseHandler.actor`). An unknown request
answers 404, a bad field 400, approving one's own request 403 (unless the
protection allows it), a request decided already or approved already by the
same person 409, a gate that fails at approval 409 with ``failures`` (the
refusal is recorded and the request stays pending).
"""

from __future__ import annotations

import tornado

from ..errors import InvalidInputError
from ..limits import whole_number
from .routes import BaseHandler


class RequestsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """Requests in ``state`` (pending by default; approved, rejected, all),
        optionally of ``model``, at most ``limit``; and the protected aliases."""
        from ..registry import requests

        limit = self.get_argument("limit", "0")
        if not limit.isdigit() or len(limit) > 10:
            raise InvalidInputError(f"limit must be a whole number, not {limit!r:.20}")
        state = self.get_argument("state", "pending")
        model = self.get_argument("model", None)
        self.reply(
            {
                "requests": requests.requests(self.store, model, state, int(limit) or None),
                "protections": requests.protections(self.store, model),
                "actor": self.actor(),
            }
        )


class RequestDecisionHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, request_id: str, decision: str) -> None:
        from ..registry import requests

        doc = self.body()
        unknown = sorted(set(doc) - {"note"})
        if unknown:
            raise InvalidInputError(f"unknown field {unknown[0]!r:.40}: {decision} takes note")
        rid = whole_number(request_id, "request id", minimum=1, maximum=2**31 - 1)
        if decision == "approve":
            self.reply(requests.approve(self.store, rid, doc.get("note"), actor=self.actor()))
        else:
            self.reply(requests.reject(self.store, rid, doc.get("note"), actor=self.actor()))
