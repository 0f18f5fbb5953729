"""Model names, aliases and references, checked before anything is stored.

References to models are written ``NAME`` (the latest version),
``NAME:VERSION`` or ``NAME@ALIAS``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ..errors import InvalidInputError
from ..limits import whole_number

DEFAULT_ALIAS = "production"
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
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
    """Validate an alias (lowercase letters, digits, ``_`` and ``-``)."""
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise InvalidInputError(
            f"alias {alias!r} is not valid: use lowercase letters, digits, '_' or '-', "
            "starting with a letter (e.g. production, staging)"
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
    """A version number from user input (positive integer, ``v3`` accepted).

    Only ASCII digits count (``str.isdigit`` also accepts ``²`` and ``١``),
    and only numbers a database integer holds, so no lookup can overflow.
    """
    raw = str(text).strip().lower().removeprefix("v")
    if isinstance(text, bool) or not (raw.isascii() and raw.isdigit()):
        raise InvalidInputError(f"version must be a positive whole number, not {text!r}")
    return whole_number(raw, "version", minimum=1)
