"""Model cards in a notebook: ``mlops_nb.card`` and ``mlops_nb.edit_card``.

Like every function of :mod:`mlops_nb.api`, these use the default store unless
given ``home=`` or ``store=``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..api import get_store
from . import build, fields
from .markdown import to_markdown

if TYPE_CHECKING:
    from ..store import Store


def card(
    name: str,
    version: int | str,
    *,
    markdown: bool = False,
    home: str | None = None,
    store: Store | None = None,
) -> Any:
    """The model card of ``name:version``: a dict (:func:`mlops_nb.cards.card`), or with
    ``markdown=True`` its Markdown text, laid out as skops' model cards are."""
    doc = build.card(get_store(home, store), name, version)
    return to_markdown(doc) if markdown else doc


def edit_card(
    name: str,
    version: int | str,
    *,
    intended_use: str | None = None,
    limitations: str | None = None,
    ethical_considerations: str | None = None,
    training_procedure: str | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Write the human fields of ``name:version``'s card (audited ``card.edited``).

    Each field: new text, ``""`` to clear it, ``None`` to leave it. Returns the
    fields as they now are and the names of those that changed (``changed``);
    see :func:`mlops_nb.cards.fields.edit_card` for the limits.
    """
    return fields.edit_card(
        get_store(home, store),
        name,
        version,
        intended_use=intended_use,
        limitations=limitations,
        ethical_considerations=ethical_considerations,
        training_procedure=training_procedure,
    )
