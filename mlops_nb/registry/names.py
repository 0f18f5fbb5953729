"""Model names, aliases and references, checked before anything is stored.

References to models are written ``NAME`` (the latest version),
``NAME:VERSION`` or ``NAME@ALIAS``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import InvalidInputError
from ..text import quote

DEFAULT_ALIAS = "production"
# Lowercase words of letters and digits joined by single "_" or "-". A "-" is
# always followed by a letter: in a gate, "production-1" is production minus
# one, so an alias spelled like that could never be named in a gate.
_ALIAS_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+|-[a-z][a-z0-9]*)*")
_ALIAS_LIMIT = 64
# Words a gate reads as a number or as a separator, never as an alias.
_NOT_ALIASES = frozenset({"and", "nan", "inf", "infinity"})
_RESERVED = set("@:/\\")


def check_model_name(name: Any) -> str:
    """Validate a model name and return it.

    Names may hold any printable text up to 200 characters, except ``@``,
    ``:``, ``/`` and ``\\`` (they separate references and paths). They are
    always rendered as text, never as HTML.
    """
    if not isinstance(name, str):
        raise InvalidInputError(f"a model name must be a string, not {type(name).__name__}")
    if not name or name != name.strip():
        raise InvalidInputError(f"model name {name!r} is empty or has surrounding spaces")
    if len(name) > 200:
        raise InvalidInputError("model name is longer than 200 characters")
    if name in (".", ".."):
        raise InvalidInputError(f"{name!r} is not a usable model name")
    bad = sorted({c for c in name if c in _RESERVED or unicodedata.category(c)[0] == "C"})
    if bad:
        raise InvalidInputError(f"model name {name!r} may not contain {''.join(bad)!r}")
    return name


def check_alias(alias: Any) -> str:
    """Validate an alias: lowercase letters and digits in words joined by ``_`` or ``-``.

    An alias starts with a letter, is at most 64 characters, and every
    ``-`` is followed by a letter, so any alias can be named in a gate
    (``auc>canary-2`` is canary minus two). ``and``, ``nan``, ``inf`` and
    ``infinity`` are not aliases: a gate reads them otherwise.
    """
    if not isinstance(alias, str):
        raise InvalidInputError(f"an alias must be text, not {type(alias).__name__}")
    if alias in _NOT_ALIASES:
        raise InvalidInputError(
            f"{alias!r} cannot be an alias: a gate reads it as "
            + ("a separator" if alias == "and" else "a number")
        )
    if len(alias) > _ALIAS_LIMIT or not _ALIAS_RE.fullmatch(alias):
        raise InvalidInputError(
            f"alias {quote(alias)} is not valid: use at most {_ALIAS_LIMIT} lowercase letters "
            "and digits, starting with a letter, in words joined by one '_' or '-', with a "
            "letter after each '-' (e.g. production, staging, prod-eu, canary_2)"
        )
    return alias


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """Split ``NAME``, ``NAME@ALIAS`` or ``NAME:VERSION`` into its parts."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError("empty model reference; write NAME, NAME@ALIAS or NAME:VERSION")
    ref = ref.strip()
    if "@" in ref:
        name, alias = ref.rsplit("@", 1)
        return check_model_name(name), check_alias(alias), None
    if ":" in ref:
        name, version = ref.rsplit(":", 1)
        return check_model_name(name), None, parse_version(version)
    return check_model_name(ref), None, None


def parse_version(text: Any) -> int:
    """A version number from user input (positive integer, ``v3`` accepted)."""
    raw = str(text).strip().lower().removeprefix("v")
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInputError(f"version must be a positive whole number, not {text!r}")
    return int(raw)
