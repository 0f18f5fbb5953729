"""Model names, aliases and references, checked before anything is stored.

References to models are written ``NAME`` (the latest version),
``NAME:VERSION`` or ``NAME@ALIAS``.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidInputError
from ..limits import whole_number
from ..text import check_label, mixed_scripts, quote

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
    """Validate a model name and return it in Unicode NFC form.

    Names may hold any visible text up to 200 characters, except ``@``,
    ``:``, ``/`` and ``\\`` (they separate references and paths), in one
    script: a name mixing look-alike scripts (Latin with Cyrillic or Greek)
    is refused, so ``pаyments`` with a Cyrillic ``а`` cannot pose as
    ``payments``. Japanese, Chinese and Korean names may mix their scripts
    with each other's Han and with Latin, as those languages are written.
    Digits, punctuation and spaces belong to no script. Names are rendered as
    text, never as HTML.
    """
    name = check_label(name, "model name")
    if name in (".", ".."):
        raise InvalidInputError(f"{name!r} is not a usable model name")
    bad = sorted({c for c in name if c in _RESERVED})
    if bad:
        raise InvalidInputError(f"model name {quote(name)} may not contain {''.join(bad)!r}")
    mixed = mixed_scripts(name)
    if mixed:
        raise InvalidInputError(
            f"model name {quote(name)} mixes {' and '.join(mixed)} letters; use one script "
            "(look-alike letters from different scripts would make two names look the same)"
        )
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


#: The largest version number: versions are 32-bit integers in every database.
VERSION_LIMIT = 2**31 - 1


def parse_version(text: Any) -> int:
    """A version number from user input (1 to :data:`VERSION_LIMIT`, ``v3`` accepted).

    Only ASCII digits count (``str.isdigit`` also accepts ``²`` and ``١``),
    and only numbers a database integer holds, so no lookup can overflow.
    """
    if isinstance(text, float) and text.is_integer():
        # JSON has one number type: 17.0 is the integer 17 to JSON Schema and to a
        # browser's JSON.stringify alike, so the REST contract's "integer" admits it.
        text = int(text)
    raw = str(text).strip().lower().removeprefix("v")
    if isinstance(text, bool) or not (raw.isascii() and raw.isdigit()):
        raise InvalidInputError(f"version must be a positive whole number, not {text!r:.40}")
    return whole_number(raw, "version", minimum=1, maximum=VERSION_LIMIT)
