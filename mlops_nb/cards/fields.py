"""The fields of a model card that people write, edited after registration.

A version's metrics, data and lineage are facts the store recorded; what it
is for, where it fails and how it was meant to be trained are not. Each edit
is an audit event ``card.edited`` naming who changed which field from which
text to which, in the transaction that writes it; an edit to the same text
writes nothing, and ``""`` clears a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..environment import actor as default_actor
from ..errors import InvalidInputError
from ..registry.names import check_model_name, parse_version
from ..store.cards_sql import CARD_FIELDS
from ..text import check_label, check_text

if TYPE_CHECKING:
    from ..store import Store

#: Longest written field, in characters (a few pages).
FIELD_LIMIT = 10_000

__all__ = ["CARD_FIELDS", "FIELD_LIMIT", "check_fields", "edit_card"]


def check_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """The fields to set: known names only, each text of at most :data:`FIELD_LIMIT`
    characters (``None`` values are left out: the field stays as it is)."""
    if not isinstance(fields, Mapping):
        raise InvalidInputError(f"card fields must be a mapping, not {type(fields).__name__}")
    unknown = sorted(set(fields) - set(CARD_FIELDS))
    if unknown:
        raise InvalidInputError(
            f"unknown card field {unknown[0]!r}; the fields are {', '.join(CARD_FIELDS)}"
        )
    return {
        name: check_text(value, name.replace("_", " "), limit=FIELD_LIMIT)
        for name, value in fields.items()
        if value is not None
    }


def edit_card(
    store: Store,
    name: str,
    version: int | str,
    *,
    intended_use: str | None = None,
    limitations: str | None = None,
    ethical_considerations: str | None = None,
    training_procedure: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    """Set the written fields of ``name:version``'s card; return them as they now are.

    Each field: the new text, ``""`` to clear it, ``None`` to leave it as it is.
    The answer is ``{"fields": {...}, "at", "actor", "changed": [names]}``.

    Raises
    ------
    InvalidInputError
        A field that is not text, over :data:`FIELD_LIMIT` characters, or holding
        a NUL character.
    NotFoundError
        No such model or version.
    """
    name, number = check_model_name(name), parse_version(version)
    setting = check_fields(
        {
            "intended_use": intended_use,
            "limitations": limitations,
            "ethical_considerations": ethical_considerations,
            "training_procedure": training_procedure,
        }
    )
    who = default_actor() if actor is None else check_label(actor, "actor")

    def change(before: dict[str, str | None]) -> dict[str, str | None]:
        return {**before, **{k: (v or None) for k, v in setting.items()}}

    now, changes = store.edit_card(name, number, change, who)
    return {**now, "changed": sorted(changes)}
