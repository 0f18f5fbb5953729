"""RegistryBrowser: models, their versions and alias history; promote and roll back."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .. import registry
from ..display import Table, format_time, table_text
from ..errors import ApprovalRequiredError, GateFailedError, InvalidInputError, MlopsError
from .base import View, count, html_table, page, text

if TYPE_CHECKING:
    from ..records import AliasChange, AliasRefusal, ModelVersion
    from ..store import Store

MODEL_COLUMNS = ["name", "versions", "latest_version", "aliases", "updated_at"]
VERSION_COLUMNS = ["version", "created_at", "metrics", "aliases", "run_id", "estimator"]
_KEY_METRICS = 6  # metric columns shown in the versions table; the rest stay in the store


class RegistryBrowser(View):
    """Browse the model registry; promote and roll back with a confirmation step.

    Shows a model picker, the versions of the selected model with their key
    metrics and the aliases each holds, and the full alias history. In a
    live notebook, buttons promote a version (through the same gated core as
    ``mlops-nb promote``) or roll an alias back, after a confirmation; the
    gate's verdict or the failure is shown in the widget, never raised.
    Elsewhere it renders as static HTML and text.

    Iterating gives the rows of its main table, as ``%mlops_models`` always
    did: the versions of ``name`` when one is named, else one row per model.

    Parameters
    ----------
    name
        The model to show (default: the first one).
    store
        The store (default: the notebook's).
    alias
        The alias the promote and rollback controls start with.
    interactive
        ``True`` always offers the live widget, ``False`` never, ``None``
        (default) when a live notebook frontend displays it.

    Examples
    --------
    >>> RegistryBrowser("churn")  # doctest: +SKIP
    """

    def __init__(
        self,
        name: str | None = None,
        store: Store | None = None,
        *,
        alias: str = registry.DEFAULT_ALIAS,
        interactive: bool | None = None,
    ) -> None:
        super().__init__(store, interactive)
        self.name = None if name is None else registry.check_model_name(name)
        self.alias = registry.check_alias(alias)
        self.models: list[dict[str, Any]] = []
        self.selected: str | None = None
        self.versions: list[ModelVersion] = []
        self.history: list[AliasChange | AliasRefusal] = []
        self.pending: dict[str, Any] | None = None
        self._syncing = False
        self.refresh(self.name)

    # -- data ------------------------------------------------------------------

    def refresh(self, name: str | None = None) -> None:
        """Reload from the store, showing ``name`` (default: the model shown now)."""
        self.models = self.store.list_models()
        names = [m["name"] for m in self.models]
        wanted = name or self.selected
        if wanted is not None and wanted not in names:
            if name is not None:
                self.store.list_versions(name)  # raises the store's NotFoundError
            wanted = None
        self.selected = wanted or (names[0] if names else None)
        if self.selected is None:
            self.versions, self.history = [], []
        else:
            self.versions = self.store.list_versions(self.selected)
            self.history = registry.alias_history(self.store, self.selected)
        if self._controls is not None:
            self._sync()

    @property
    def table(self) -> Table:
        """The main table: versions of the named model, else the models."""
        if self.name is not None:
            versions = (
                self.versions
                if self.selected == self.name
                else self.store.list_versions(self.name)  # another model is picked
            )
            return Table(
                [v.to_json() for v in versions], VERSION_COLUMNS, f"versions of {self.name}"
            )
        return Table(self.models, MODEL_COLUMNS, "models")

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.table)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.table[index]

    def to_json(self) -> list[dict[str, Any]]:
        return self.table.to_json()

    # -- static rendering ----------------------------------------------------

    def _metric_names(self) -> list[str]:
        names: list[str] = []
        for v in reversed(self.versions):  # the newest version's metrics first
            names.extend(m for m in v.metrics if m not in names)
        return names[:_KEY_METRICS]

    def versions_html(self) -> str:
        if self.selected is None:
            return "<p class='muted'>no models registered yet</p>"
        if not self.versions:
            return f"<p class='muted'>{escape(self.selected)} has no versions yet</p>"
        metrics = self._metric_names()
        rows = [
            [
                text(v.version),
                f"<b>{text(', '.join(v.aliases))}</b>" if v.aliases else "",
                *(text(v.metrics.get(m)) for m in metrics),
                text(v.created_at),
                text(v.created_by),
                f"<code>{text((v.run_id or '')[:12])}</code>",
                text(v.estimator),
            ]
            for v in reversed(self.versions)
        ]
        columns = ["version", "aliases", *metrics, "created", "by", "run", "estimator"]
        return html_table(columns, rows)

    def history_html(self) -> str:
        if not self.history:
            return "<p class='muted'>no alias has been set yet</p>"
        rows = [
            [
                text(c.at),
                text(c.alias),
                f"<b class='bad'>{text(c.action)}</b>" if c.action == "refused" else text(c.action),
                text(_versions(c)),
                text(c.actor),
                text(c.reason),
                text(_gate(c)),
            ]
            for c in reversed(self.history)
        ]
        return html_table(["at", "alias", "action", "versions", "by", "reason", "gate"], rows)

    def to_html(self) -> str:
        parts = []
        if self.name is None and self.models:
            parts.append(
                html_table(
                    MODEL_COLUMNS,
                    [[text(m.get(c)) for c in MODEL_COLUMNS] for m in self.models],
                )
            )
        if self.selected is not None:
            parts.append(f"<h4>versions of {escape(self.selected)}</h4>{self.versions_html()}")
            parts.append(f"<h4>alias history of {escape(self.selected)}</h4>{self.history_html()}")
        title = (
            f"model {self.name}"
            if self.name
            else f"model registry: {count(len(self.models), 'model')}"
        )
        return page(title, "".join(parts) or self.versions_html())

    def __str__(self) -> str:
        table = self.table
        lines = [table.title, table_text(table.rows, table.columns)]
        if self.name is not None and self.history:
            lines.append(f"alias history of {self.name}")
            lines.extend(
                f"  {format_time(c.at)}  {c.alias:<12} {c.action:<9} {_versions(c)}"
                f"  by {c.actor}" + (f"  ({c.reason})" if c.reason else "")
                for c in self.history
            )
        return "\n".join(lines)

    # -- the live widget -----------------------------------------------------

    def _build(self, widgets: Any) -> Any:
        def size(width: str) -> dict[str, Any]:
            return {
                "layout": widgets.Layout(width=width),
                "style": {"description_width": "initial"},
            }

        def fit() -> dict[str, Any]:
            return {"layout": widgets.Layout(width="auto")}

        c = SimpleNamespace(
            model=widgets.Dropdown(description="model", **size("320px")),
            reload=widgets.Button(description="Refresh", icon="refresh", **fit()),
            versions=widgets.HTML(),
            history=widgets.HTML(),
            version=widgets.Dropdown(description="version", **size("170px")),
            alias=widgets.Text(value=self.alias, description="alias", **size("200px")),
            require=widgets.Text(
                description="gate",
                placeholder="optional, e.g. accuracy>=production",
                **size("360px"),
            ),
            reason=widgets.Text(
                description="reason",
                placeholder="optional, kept in the audit log",
                **size("360px"),
            ),
            promote=widgets.Button(description="Promote…", icon="arrow-up", **fit()),
            rollback=widgets.Button(description="Roll back…", icon="undo", **fit()),
            question=widgets.HTML(),
            confirm=widgets.Button(description="Confirm", button_style="danger", **fit()),
            cancel=widgets.Button(description="Cancel", **fit()),
            status=widgets.HTML(),
        )
        c.confirm_box = widgets.HBox(
            [c.question, c.confirm, c.cancel], layout=widgets.Layout(display="none")
        )
        c.model.observe(self._on_model, names="value")
        c.reload.on_click(self._on_reload)
        c.promote.on_click(self._on_promote)
        c.rollback.on_click(self._on_rollback)
        c.confirm.on_click(self._on_confirm)
        c.cancel.on_click(self._on_cancel)
        self._controls = c
        self._sync()
        wrap = widgets.Layout(flex_flow="row wrap")
        actions = widgets.VBox(
            [
                widgets.HBox([c.version, c.alias], layout=wrap),
                widgets.HBox([c.require, c.reason], layout=wrap),
                widgets.HBox([c.promote, c.rollback], layout=wrap),
            ]
        )
        return widgets.VBox(
            [
                widgets.HBox([c.model, c.reload]),
                widgets.HTML("<b>versions</b>"),
                c.versions,
                actions,
                c.confirm_box,
                c.status,
                widgets.HTML("<b>alias history</b>"),
                c.history,
            ]
        )

    def _sync(self) -> None:
        """Show the current data in the controls."""
        c = self._controls
        self._syncing = True  # setting options fires value changes; they are ours
        try:
            c.model.options = [m["name"] for m in self.models]
            c.model.value = self.selected
        finally:
            self._syncing = False
        c.versions.value = page("", self.versions_html())
        c.history.value = page("", self.history_html())
        chosen = c.version.value
        c.version.options = [
            (f"{v.version}" + (f" [{', '.join(v.aliases)}]" if v.aliases else ""), v.version)
            for v in reversed(self.versions)
        ]
        numbers = [v.version for v in self.versions]
        c.version.value = chosen if chosen in numbers else (numbers[-1] if numbers else None)
        has_versions = bool(self.versions)
        c.promote.disabled = c.rollback.disabled = not has_versions
        self._ask(None)

    def _ask(self, question: str | None, action: dict[str, Any] | None = None) -> None:
        self.pending = action
        if question:
            self._controls.status.value = ""
        self._controls.question.value = question or ""
        self._controls.confirm_box.layout.display = "flex" if question else "none"

    def _say(self, message: str, ok: bool, details: list[str] | None = None) -> None:
        items = "".join(f"<li>{escape(d)}</li>" for d in details or [])
        self._controls.status.value = page(
            message, f"<ul>{items}</ul>" if items else "", "ok" if ok else "bad"
        )

    def _on_model(self, change: dict[str, Any]) -> None:
        if not self._syncing and change.get("new") and change["new"] != self.selected:
            self.refresh(change["new"])
            self._controls.status.value = ""
            self.refresh_display()

    def _on_reload(self, _button: Any = None) -> None:
        self.refresh()  # others (the CLI, the scheduler, another widget) may have moved aliases
        self._controls.status.value = ""
        self.refresh_display()

    def _on_promote(self, _button: Any = None) -> None:
        c = self._controls
        try:
            alias = registry.check_alias(c.alias.value.strip())
            if c.version.value is None:
                raise InvalidInputError("choose a version to promote")
        except MlopsError as exc:
            self._say(str(exc), ok=False)
            return
        require = c.require.value.strip() or None
        gate = f" if the gate {require!r} allows" if require else " (no gate)"
        holder = self.store.alias_holder(str(self.selected), alias)
        if holder is None:
            now = f"nobody holds @{alias} yet"
        elif holder.version == int(c.version.value):
            now = f"version {holder.version} holds @{alias} already: nothing would change"
        else:
            now = f"@{alias} is held by version {holder.version} now"
        action = {
            "kind": "promote",
            "model": self.selected,
            "version": int(c.version.value),
            "alias": alias,
            "require": require,
            "reason": c.reason.value.strip() or None,
        }
        self._ask(
            f"Promote <b>{escape(str(self.selected))}:{action['version']}</b> to "
            f"<b>@{escape(alias)}</b>{escape(gate)}? ({escape(now)})",
            action,
        )

    def _on_rollback(self, _button: Any = None) -> None:
        c = self._controls
        try:
            alias = registry.check_alias(c.alias.value.strip())
        except MlopsError as exc:
            self._say(str(exc), ok=False)
            return
        current = self.store.alias_holder(str(self.selected), alias)
        target = registry.rollback_target(self.store, str(self.selected), alias)
        if current is None or target is None:
            self._say(f"{self.selected}@{alias} has no earlier holder to roll back to", ok=False)
            return
        action = {
            "kind": "rollback",
            "model": self.selected,
            "alias": alias,
            "reason": c.reason.value.strip() or None,
        }
        self._ask(
            f"Roll <b>{escape(str(self.selected))}@{escape(alias)}</b> back from version "
            f"{current.version} to version {target}?",
            action,
        )

    def _on_cancel(self, _button: Any = None) -> None:
        self._ask(None)
        self._say("nothing changed", ok=True)

    def _on_confirm(self, _button: Any = None) -> None:
        action, name = self.pending, self.selected
        self._ask(None)
        if action is None or action["model"] != name:
            self._say("nothing to confirm", ok=False)
            return
        try:
            if action["kind"] == "promote":
                change = registry.promote(
                    self.store,
                    action["model"],
                    action["version"],
                    action["alias"],
                    require=action["require"],
                    reason=action["reason"],
                )
            else:
                change = registry.rollback(
                    self.store, action["model"], action["alias"], reason=action["reason"]
                )
        except GateFailedError as exc:
            self.refresh()  # the refusal is in the history now
            self._say(
                f"gate refused {name}:{action['version']} for @{action['alias']}; nothing moved "
                "(the refusal is kept in the alias history)",
                ok=False,
                details=exc.failures,
            )
            self.refresh_display()
            return
        except ApprovalRequiredError as exc:  # a protected alias: a request, nothing moved
            self._say(str(exc), ok=True)
            return
        except MlopsError as exc:
            self._say(str(exc), ok=False)
            return
        except Exception as exc:  # a callback's error would vanish into the kernel log
            self._say(f"unexpected error: {type(exc).__name__}: {exc}", ok=False)
            return
        self.refresh()
        self._say(
            f"{change.model}@{change.alias}: "
            f"{change.from_version if change.from_version is not None else '—'} → "
            f"{change.to_version} ({change.action})",
            ok=True,
            details=[f"gate passed: {change.gate}"] if change.gate else None,
        )
        self.refresh_display()


def _versions(change: AliasChange | AliasRefusal) -> str:
    """``1 → 2``, or for a refusal ``1 ↛ 2``: the move asked for that did not happen."""
    before = "—" if change.from_version is None else str(change.from_version)
    arrow = "↛" if change.action == "refused" else "→"
    return f"{before} {arrow} {change.to_version}"


def _gate(change: AliasChange | AliasRefusal) -> str | None:
    if change.action == "refused":
        return f"{change.gate}: " + "; ".join(getattr(change, "failures", []))
    return change.gate
