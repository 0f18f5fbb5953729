"""Text from users: checked once on the way in, made harmless on the way out.

Every string a user hands mlops-nb (a model name, a reason, a tag, the actor
in ``MLOPS_NB_ACTOR``, a batch label) passes one of two checks in the core,
so the Python API, the magics, the CLI, the REST API and the widgets refuse
the same input with the same one-line message:

- :func:`check_label` for what names or identifies something (model names,
  tag keys, recorded-value keys, the actor): one line of visible text,
  normalised to Unicode NFC so that one name has one spelling.
- :func:`check_text` for free text (reasons, tag values, batch labels): any
  text up to a limit, kept exactly as given, line breaks and control
  characters included.

Both refuse non-strings and text that no database can keep as given: a NUL
character (PostgreSQL refuses it) and an unpaired surrogate (not encodable
as UTF-8, so neither stored nor hashed into the audit chain).

On the way out, :func:`printable` shows control and format characters as
escapes (ESC as ``\\x1b``, a newline as ``\\n``), so stored text can never
move a terminal's cursor, recolour it or draw a line of its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from .errors import InvalidInputError

#: Longest name, key or actor, in characters.
LABEL_LIMIT = 200
#: Longest free text (a reason, a tag value), in characters.
TEXT_LIMIT = 10_000

# Characters that are not shown as themselves: controls (C0, DEL, C1), format
# characters (bidi overrides, zero-width ones), surrogates, private-use and
# unassigned code points, and the line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# How much of a refused value an error message quotes.
_QUOTE = 60


def check_text(value: Any, what: str, *, limit: int = TEXT_LIMIT) -> str:
    """Validate free text and return it unchanged.

    Parameters
    ----------
    value
        What the user gave.
    what
        How the message names it, e.g. ``"reason"``.
    limit
        The most characters allowed.

    Raises
    ------
    InvalidInputError
        For a non-string, text longer than ``limit``, a NUL character or an
        unpaired surrogate.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(
            f"{what} is {len(value)} characters long; at most {limit} are allowed"
        )
    storable(value, what)
    return value


def check_label(value: Any, what: str, *, limit: int = LABEL_LIMIT) -> str:
    """Validate a name, key or actor and return its NFC form.

    A label is one line of visible text: not empty, no surrounding spaces,
    no control or format characters (so a label can neither drive a
    terminal nor hide a character that makes two labels look the same).

    Raises
    ------
    InvalidInputError
        As :func:`check_text`, and for an empty label, surrounding spaces or
        an invisible character.
    """
    value = check_text(value, what, limit=limit)
    value = unicodedata.normalize("NFC", value)
    if not value or value != value.strip():
        raise InvalidInputError(f"{what} {quote(value)} is empty or has surrounding spaces")
    hidden = sorted({c for c in value if unicodedata.category(c) in _INVISIBLE})
    if hidden:
        raise InvalidInputError(
            f"{what} {quote(value)} may not contain control or format characters "
            f"({', '.join(_escape(c) for c in hidden)})"
        )
    return value


def check_tags(
    tags: Any,
    *,
    check_key: Callable[[Any], str] | None = None,
    value_limit: int = TEXT_LIMIT,
) -> dict[str, str]:
    """Tags checked: keys are labels (:func:`check_label`, or ``check_key``), values
    free text of at most ``value_limit`` characters."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInputError(
            f"tags must be a mapping of text to text, not {type(tags).__name__}"
        )
    checked: dict[str, str] = {}
    for key, value in tags.items():
        key = check_key(key) if check_key else check_label(key, "tag key")
        checked[key] = check_text(value, f"tag {quote(key)}", limit=value_limit)
    return checked


def storable(value: str, what: str) -> str:
    """Refuse text the store cannot keep exactly (a NUL, an unpaired surrogate)."""
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL character, which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{what} is not valid Unicode text (it holds an unpaired surrogate, "
            "often from bytes that were not UTF-8)"
        ) from None
    return value


def printable(text: str) -> str:
    """``text`` with every control or format character shown as an escape.

    For one value on one line of terminal output: a newline becomes ``\\n``
    too. Other text, non-Latin scripts and emoji included, is unchanged.
    """
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _INVISIBLE else c for c in text)


def terminal(text: str) -> str:
    """Several lines for a terminal: :func:`printable` on each line."""
    return "\n".join(printable(line) for line in text.split("\n"))


def quote(value: str) -> str:
    """A refused value for an error message: quoted, escaped, shortened."""
    shown = value if len(value) <= _QUOTE else value[: _QUOTE - 1] + "…"
    return "'" + printable(shown).replace("'", "\\'") + "'"


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# -- scripts: look-alike names ---------------------------------------------------

# Scripts that are written together in one language, so a name may mix them:
# Japanese (Han, Hiragana, Katakana), Chinese (Han, Bopomofo) and Korean (Han,
# Hangul), each also with Latin (Unicode TS #39's "highly restrictive" level).
_MIXES = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
# Unicode names that do not start with their script's name.
_NAME_PREFIXES = (
    ("CJK ", "Han"),
    ("IDEOGRAPHIC ", "Han"),
    ("HALFWIDTH KATAKANA", "Katakana"),
    ("KATAKANA-HIRAGANA", "Katakana"),
    ("HALFWIDTH HANGUL", "Hangul"),
    ("FULLWIDTH LATIN", "Latin"),
)


def scripts(text: str) -> set[str]:
    """The scripts of the letters in ``text`` (digits, punctuation, marks count for none).

    Python's :mod:`unicodedata` has no script property; a letter's Unicode
    name starts with its script (``LATIN SMALL LETTER A``, ``CYRILLIC SMALL
    LETTER A``), which is what this reads.
    """
    found = set()
    for char in text:
        if not unicodedata.category(char).startswith("L"):
            continue
        name = unicodedata.name(char, "")
        script = next((s for prefix, s in _NAME_PREFIXES if name.startswith(prefix)), None)
        if script is None:
            first = name.split(" ", 1)[0]
            if not first or first == "MODIFIER":  # modifier letters belong to no script
                continue
            script = first.capitalize()
        found.add(script)
    return found


def mixed_scripts(text: str) -> list[str]:
    """The scripts ``text`` mixes in a way no language does (empty when fine)."""
    found = scripts(text)
    if len(found) <= 1 or any(found <= allowed for allowed in _MIXES):
        return []
    return sorted(found)


def one_line(exc: Exception) -> str:
    """An exception as one short line: libraries' messages run to paragraphs."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"
