"""REST handlers for model cards: read a version's card, edit its written fields.

Thin adapters over :mod:`mlops_nb.cards`, with the Jupyter user as the one
who edits (as for descriptions and tags). An unknown version answers 404, a
bad field 400, each with the ``{"error", "type"}`` object.
"""

from __future__ import annotations

import tornado

from ..errors import InvalidInputError
from .routes import BaseHandler


class CardHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self, name: str, version: str) -> None:
        """The card as data, with its Markdown (skops' layout) under ``markdown``."""
        from ..cards import card, to_markdown

        doc = card(self.store, name, version)
        self.reply({**doc, "markdown": to_markdown(doc)})

    @tornado.web.authenticated
    def patch(self, name: str, version: str) -> None:
        """Edit the written fields (audited ``card.edited``); answer the card as it is
        now, with ``changed``: the fields this edit changed."""
        from ..cards import card, edit_card, to_markdown
        from ..store.cards_sql import CARD_FIELDS

        doc = self.body()
        unknown = sorted(set(doc) - set(CARD_FIELDS))
        if unknown:
            raise InvalidInputError(
                f"unknown field {unknown[0]!r:.60}: a card takes {', '.join(CARD_FIELDS)}"
            )
        done = edit_card(self.store, name, version, **doc, actor=self.actor())
        now = card(self.store, name, version)
        self.reply({**now, "markdown": to_markdown(now), "changed": done["changed"]})
