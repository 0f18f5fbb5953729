"""SQL for the human-written fields of model cards (mixed into :class:`Store`).

One row per version that someone wrote about; a version nobody wrote about
has none. Each edit is a ``card.edited`` event recording the whole row and,
under ``_changes``, each field that changed (``{"from": old, "to": new}``),
in the transaction that writes the row; an edit that changes nothing writes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..jsonutil import utcnow
from . import schema as t
from .base import row_snapshot
from .registry_sql import RegistrySQL

#: The fields people write, in the order a card shows them.
CARD_FIELDS = ("intended_use", "limitations", "ethical_considerations", "training_procedure")


def _where(model: str, version: int) -> Any:
    return (t.model_cards.c.model == model) & (t.model_cards.c.version == version)


def _fields(row: Any) -> dict[str, Any]:
    if row is None:
        return {"fields": dict.fromkeys(CARD_FIELDS), "at": None, "actor": None}
    m = row._mapping
    return {"fields": {k: m[k] for k in CARD_FIELDS}, "at": m["at"], "actor": m["actor"]}


class CardsSQL(RegistrySQL):
    def card_fields(self, model: str, version: int) -> dict[str, Any]:
        """The written fields of ``model:version``'s card (``None`` for those never
        written) with who wrote last and when; raises NotFoundError for no such version."""
        with self.read() as conn:
            self._version(conn, model, version)
            row = conn.execute(sa.select(t.model_cards).where(_where(model, version))).first()
            return _fields(row)

    def edit_card(
        self,
        model: str,
        version: int,
        change: Callable[[dict[str, str | None]], dict[str, str | None]],
        actor: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Set the written fields of a card to what ``change`` makes of them.

        ``change`` is called under the write lock with the fields as stored and
        returns them as they should be (it may raise to refuse). Returns the
        card's fields as they now are and what changed (empty: no event written).
        """
        with self.write() as conn:
            self._version(conn, model, version)
            where = _where(model, version)
            current = conn.execute(sa.select(t.model_cards).where(where)).first()
            before = _fields(current)["fields"]
            after = change(dict(before))
            changes = {
                k: {"from": before[k], "to": after[k]} for k in CARD_FIELDS if before[k] != after[k]
            }
            if not changes:
                return _fields(current), {}
            row = {"model": model, "version": version, **after, "at": utcnow(), "actor": actor}
            payload = {**row_snapshot(row), "_changes": changes}
            seq = self.append_event(conn, "card.edited", f"{model}:{version}", payload, actor)
            if current is None:
                conn.execute(t.model_cards.insert().values(**row, event_seq=seq))
            else:
                conn.execute(t.model_cards.update().where(where).values(**row, event_seq=seq))
            return _fields(conn.execute(sa.select(t.model_cards).where(where)).first()), changes
