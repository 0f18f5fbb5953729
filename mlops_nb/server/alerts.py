"""REST handlers for the alert inbox: list by state, acknowledge, resolve with a decision.

Thin adapters over :mod:`mlops_nb.monitoring.inbox` (the core the CLI's
``alerts inbox|ack|resolve`` calls), with the Jupyter user as the one who
acknowledges or decides, as for promotions. An unknown alert answers 404, a
bad decision or ``until`` 400, an alert resolved already 409, each with the
``{"error", "type"}`` object.
"""

from __future__ import annotations

import tornado

from ..errors import InvalidInputError
from ..limits import whole_number
from .routes import BaseHandler

#: The fields a resolve request may carry.
_RESOLVE = frozenset({"decision", "note", "until", "alias"})


class AlertsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        """The inbox: ``state`` (open by default, or acknowledged, resolved,
        silenced, all), optionally ``model`` and ``limit``."""
        from ..monitoring.inbox import inbox

        limit = self.get_argument("limit", "0")
        if not limit.isdigit() or len(limit) > 10:
            raise InvalidInputError(f"limit must be a whole number, not {limit!r:.20}")
        state = self.get_argument("state", "open")
        model = self.get_argument("model", None)
        self.reply({"alerts": inbox(self.store, model, state, int(limit) or None)})


class AlertAckHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, alert_id: str) -> None:
        from ..monitoring.inbox import ack

        doc = self.body()
        unknown = sorted(set(doc) - {"note"})
        if unknown:
            raise InvalidInputError(f"unknown field {unknown[0]!r:.40}: ack takes note")
        self.reply(ack(self.store, _id(alert_id), doc.get("note"), actor=self.actor()))


class AlertResolveHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self, alert_id: str) -> None:
        from ..monitoring.inbox import resolve

        doc = self.body()
        unknown = sorted(set(doc) - _RESOLVE)
        if unknown:
            raise InvalidInputError(
                f"unknown field {unknown[0]!r:.40}: resolve takes {', '.join(sorted(_RESOLVE))}"
            )
        if "decision" not in doc:
            raise InvalidInputError(
                "resolve needs 'decision': retrain, rollback, ignore or rebaseline"
            )
        if "alias" in doc and doc["decision"] == "ignore":
            raise InvalidInputError("alias goes with the rollback decision, not with ignore")
        alias = doc.get("alias", "production")
        self.reply(
            resolve(
                self.store,
                _id(alert_id),
                doc["decision"],
                doc.get("note"),
                until=doc.get("until"),
                alias=alias,
                actor=self.actor(),
            )
        )


def _id(text: str) -> int:
    return whole_number(text, "alert id", minimum=1, maximum=2**31 - 1)
