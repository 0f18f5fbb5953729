"""Model cards: what the store knows about a version, beside what people wrote.

- :mod:`~mlops_nb.cards.fields`: the written fields (intended use, limitations,
  ethical considerations, training procedure), validated, edited and audited;
- :mod:`~mlops_nb.cards.build`: a version's card as JSON-able data, filled from
  the store (data fingerprint and schema, metrics, tests, promotions and gates,
  lineage, drift history) and the written fields;
- :mod:`~mlops_nb.cards.markdown`: the card as Markdown laid out as skops'
  model cards are (YAML metadata, then the same section titles).
"""

from __future__ import annotations

from .build import card, card_for_pack
from .fields import FIELD_LIMIT, edit_card
from .markdown import to_markdown

__all__ = ["FIELD_LIMIT", "card", "card_for_pack", "edit_card", "to_markdown"]
