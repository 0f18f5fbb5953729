"""The drift check history as the panel's timeline reads it: pages of checks, one check.

``GET drift/{name}/checks?limit=&before=`` pages back through a model's
checks (newest page first, each page oldest first, with a level per check
rated as the Drift tab rates them); ``GET drift/{name}/checks/{id}`` is one
recorded check as the tab shows its latest: the report with a level per
column, which version it checked, and the alerts it raised. The panel only
places and draws what these say.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import tornado

from ..errors import InvalidInputError, NotFoundError
from ..registry import check_model_name
from .routes import BaseHandler

if TYPE_CHECKING:
    from ..store import Store

#: How many checks one page holds by default, and at most.
PAGE = 50
MAX_PAGE = 500
_CHECK_ID = re.compile(r"[1-9][0-9]{0,17}")


def check_number(text: str, what: str = "a drift check id") -> int:
    """A check id from a URL: a positive whole number (400 otherwise)."""
    if not _CHECK_ID.fullmatch(text or ""):
        raise InvalidInputError(f"{what} is a positive whole number, not {text!r:.30}")
    return int(text)


def checks_page(store: Store, name: str, limit: int = PAGE, before: int | None = None) -> dict:
    """``GET drift/{name}/checks``: up to ``limit`` checks older than check ``before``
    (the newest when ``None``), oldest first, each with its ``level``; ``more`` says
    whether older ones exist (ask again with ``before`` = the first id here)."""
    from .views import check_level

    name = check_model_name(name)
    store.latest_version(name)  # 404 for a model never registered
    rows = store.drift_checks(name, limit + 1, before)  # one more: are there older ones?
    more = len(rows) > limit
    rows = rows[-limit:]
    return {
        "model": name,
        "checks": [{**r, "level": check_level(r)} for r in rows],
        "more": more,
    }


def check_detail(store: Store, name: str, check_id: int) -> dict[str, Any]:
    """``GET drift/{name}/checks/{id}``: one check as the tab shows the latest, with
    ``alerts`` (those it raised) and ``latest_id`` (the model's newest check)."""
    from ..monitoring.monitor import load_report
    from .views import raised_alerts, with_levels

    name = check_model_name(name)
    row = store.get_drift_check(check_id)
    if row["model"] != name:
        raise NotFoundError(f"{name} has no drift check {check_id}")
    subject = f"drift_check:{check_id}"
    alerts = store.list_alerts(model=name, subjects=[subject])
    (newest,) = store.drift_checks(name, 1)
    return {
        **with_levels(load_report(store, check_id)),
        "check_id": check_id,
        "alerts": raised_alerts(alerts, subject),
        "latest_id": newest["id"],
    }


class DriftChecksHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str) -> None:
        """A page of a model's checks for the timeline (``limit``, ``before``)."""
        text = self.get_argument("limit", str(PAGE))
        if (
            not (text.isascii() and text.isdigit() and 1 <= int(text[:4]) <= MAX_PAGE)
            or len(text) > 3
        ):
            raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_PAGE}")
        limit = int(text)
        before_text = self.get_argument("before", None)
        before = None if before_text is None else check_number(before_text, "before")
        self.reply(checks_page(self.store, name, limit, before))


class DriftCheckHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str, check_id: str) -> None:
        """One recorded check, as the Drift tab shows its latest."""
        self.reply(check_detail(self.store, name, check_number(check_id)))
