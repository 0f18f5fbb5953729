"""AlertInbox: the alert inbox in a notebook; acknowledge and resolve with a decision.

The list is :func:`mlops_nb.monitoring.inbox.inbox` as the CLI, REST and
panel give it; the actions offered for an alert are the item's ``actions``.
Acknowledging and resolving go through the same core as ``mlops-nb alerts
ack|resolve``, so a refusal (a past ``until``, a resolved alert, a decision
that cannot be carried out) is the same message, shown in the widget.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..display import format_time
from ..errors import MlopsError
from ..monitoring import inbox as core
from .base import View, count, html_table, page, text

if TYPE_CHECKING:
    from ..store import Store

FILTER_STATES = (*core.STATES, "all")


def outcome(alert: dict[str, Any]) -> str:
    """What the alert's decision did, in words (empty before a decision)."""
    detail = alert.get("decision_detail") or {}
    decision = alert.get("decision")
    if alert["state"] == "silenced":
        return f"silenced until {format_time(alert.get('silenced_until'))}"
    if decision == "retrain":
        return f"retrain: started run {alert.get('retrain_run_id') or detail.get('run_id')}"
    if decision == "rollback":
        return (
            f"rollback: {detail.get('alias')} moved from v{detail.get('from_version')} "
            f"back to v{detail.get('to_version')}"
        )
    if decision == "ignore":
        return f"ignore: silenced until {format_time(detail.get('until'))}"
    if decision == "rebaseline":
        return (
            f"rebaseline: check #{detail.get('check_id')} is now the reference of "
            f"v{detail.get('version')}"
        )
    return ""


def _step(step: dict[str, Any] | None, note: str | None) -> str:
    if step is None:
        return ""
    return f"{step['by']} {format_time(step['at'])}" + (f": {note}" if note else "")


class AlertInbox(View):
    """The alert inbox: alerts in one state, optionally of one model.

    Parameters
    ----------
    model
        Only this model's alerts (default: every model's).
    state
        ``open`` (default), ``acknowledged``, ``resolved``, ``silenced`` or ``all``.
    store
        The store (default: the notebook's).
    interactive
        ``True`` always offers the live widget, ``False`` never, ``None``
        (default) when a live notebook frontend displays it.

    Examples
    --------
    >>> AlertInbox("churn", state="all")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | None = None,
        state: str = "open",
        store: Store | None = None,
        *,
        interactive: bool | None = None,
    ) -> None:
        super().__init__(store, interactive)
        self.model = model
        self.state = state
        self.alerts: list[dict[str, Any]] = []
        self.refresh()

    def refresh(self) -> None:
        """Read the inbox again (another process may have acknowledged or resolved)."""
        self.alerts = core.inbox(self.store, self.model, self.state)
        if self._controls is not None:
            self._sync()

    # -- static rendering ----------------------------------------------------

    def table_html(self) -> str:
        if not self.alerts:
            return "<p class='muted'>none</p>"
        rows = [
            [
                text(a["alert_id"]),
                text(a["model"] or "—"),
                text(a["kind"]),
                text(a["state"]),
                text(a["count"]),
                text(format_time(a["opened_at"])),
                text(format_time(a["last_at"])),
                text(", ".join(a["columns"])),
                text(_step(a["acknowledged"], a["ack_note"])),
                text(_step(a["resolved"], a["note"])),
                text(outcome(a)),
            ]
            for a in self.alerts
        ]
        columns = ["id", "model", "kind", "state", "count", "opened", "latest", "columns"]
        return html_table([*columns, "acknowledged", "resolved", "decision"], rows)

    def _title(self) -> str:
        what = "alerts" if self.state == "all" else f"{self.state} alerts"
        return f"{count(len(self.alerts), 'alert')}: {what}" + (
            f" of {self.model}" if self.model else ""
        )

    def to_html(self) -> str:
        return page(self._title(), self.table_html())

    def __str__(self) -> str:
        lines = [self._title()]
        for a in self.alerts:
            lines.append(
                f"  #{a['alert_id']} {a['model'] or '—'} {a['kind']} {a['state']} "
                f"×{a['count']} opened {format_time(a['opened_at'])} {outcome(a)}".rstrip()
            )
        return "\n".join(lines)

    # -- the live view ---------------------------------------------------------

    def _build(self, widgets: Any) -> Any:
        def size(width: str) -> dict[str, Any]:
            return {
                "layout": widgets.Layout(width=width),
                "style": {"description_width": "initial"},
            }

        c = SimpleNamespace(
            state=widgets.Dropdown(
                options=FILTER_STATES, value=self.state, description="state", **size("220px")
            ),
            reload=widgets.Button(description="Refresh", icon="refresh"),
            table=widgets.HTML(),
            alert=widgets.Dropdown(description="alert", **size("260px")),
            note=widgets.Text(description="note", placeholder="optional", **size("360px")),
            ack=widgets.Button(description="Acknowledge"),
            decision=widgets.Dropdown(
                options=("", *core.DECISIONS), description="decision", **size("220px")
            ),
            until=widgets.Text(
                description="until", placeholder="ignore: YYYY-MM-DD", **size("220px")
            ),
            alias=widgets.Text(value="production", description="alias", **size("200px")),
            resolve=widgets.Button(description="Resolve", button_style="warning"),
            status=widgets.HTML(),
        )
        c.state.observe(self._on_state, names="value")
        c.reload.on_click(lambda _b: self._reload())
        c.ack.on_click(self._on_ack)
        c.resolve.on_click(self._on_resolve)
        c.alert.observe(lambda _change: self._allow(), names="value")
        self._controls = c
        self._sync()
        wrap = widgets.Layout(flex_flow="row wrap")
        return widgets.VBox(
            [
                widgets.HBox([c.state, c.reload]),
                c.table,
                widgets.HBox([c.alert, c.note, c.ack], layout=wrap),
                widgets.HBox([c.decision, c.until, c.alias, c.resolve], layout=wrap),
                c.status,
            ]
        )

    def _sync(self) -> None:
        c = self._controls
        c.table.value = self.table_html()
        options = [
            (f"#{a['alert_id']} {a['model'] or '—'} {a['kind']} ({a['state']})", a["alert_id"])
            for a in self.alerts
            if a["actions"]
        ]
        c.alert.options = options
        self._allow()

    def _allow(self) -> None:
        """Offer what the chosen alert's ``actions`` allow, and nothing else."""
        c = self._controls
        chosen = next((a for a in self.alerts if a["alert_id"] == c.alert.value), None)
        allowed = chosen["actions"] if chosen else []
        c.ack.disabled = "ack" not in allowed
        c.resolve.disabled = "resolve" not in allowed

    def _say(self, message: str, ok: bool) -> None:
        self._controls.status.value = page(message, "", "ok" if ok else "bad")

    def _reload(self) -> None:
        self.refresh()
        self._controls.status.value = ""
        self.refresh_display()

    def _on_state(self, change: dict[str, Any]) -> None:
        self.state = change["new"]
        self._reload()

    def _on_ack(self, _button: Any = None) -> None:
        c = self._controls
        try:
            done = core.ack(self.store, c.alert.value, c.note.value.strip() or None)
        except MlopsError as exc:
            self._say(str(exc), ok=False)
            return
        self.refresh()
        c.note.value = ""
        self._say(f"alert #{done['alert_id']} acknowledged", ok=True)
        self.refresh_display()

    def _on_resolve(self, _button: Any = None) -> None:
        c = self._controls
        if not c.decision.value:
            self._say("choose a decision: " + ", ".join(core.DECISIONS), ok=False)
            return
        try:
            done = core.resolve(
                self.store,
                c.alert.value,
                c.decision.value,
                c.note.value.strip() or None,
                until=(c.until.value.strip() or None) if c.decision.value == "ignore" else None,
                alias=c.alias.value.strip() or "production",
            )
        except MlopsError as exc:
            self._say(str(exc), ok=False)
            return
        self.refresh()
        c.note.value = ""
        self._say(f"alert #{done['alert_id']} resolved: {outcome(done)}", ok=True)
        self.refresh_display()
