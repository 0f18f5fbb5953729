"""Markdown for pull-request comments and CI job summaries, safe with user text.

Names, parameters, check details and code come from users. Shown in a
markdown table, a ``|`` would end a cell, a backtick open a code span, a
``<`` start an HTML tag (GitHub keeps ``<details>``, ``<img>`` and links),
and ``[text](url)`` make a link. :func:`text` escapes every character
markdown gives a meaning to, so user text is always shown as written and
never read as markup; :func:`fenced` wraps code in a fence longer than any
run of backticks inside it, so no line of the code can close it.
"""

from __future__ import annotations

import re

from .text import printable

__all__ = ["fenced", "paragraphs", "text"]

#: Characters with a meaning somewhere in CommonMark or GitHub's extensions.
_PUNCTUATION = set("\\`*_{}[]()#+-.!|~:")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}
_BACKTICKS = re.compile(r"`+")


def text(value: object) -> str:
    """``value`` as markdown that shows it literally, on one line.

    Control characters (a newline too) are shown as escapes, so a value
    cannot start a row, a heading or an HTML block of its own.
    """
    out = []
    for char in printable(str(value)):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def fenced(code: str, language: str = "") -> str:
    """``code`` in a fenced block that nothing inside can close."""
    longest = max((len(m) for m in _BACKTICKS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{code.rstrip(chr(10))}\n{fence}"


def paragraphs(value: str) -> str:
    """Several lines of user text as markdown that shows them literally.

    Each line is escaped as :func:`text` does and loses its leading spaces (four
    would start a code block); blank lines still separate paragraphs, and each
    line break is kept (a hard break), so prose reads as it was written.
    """
    lines = [text(line.strip()) for line in str(value).replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line and out and out[-1]:
            out[-1] += "\\"  # a backslash at the end of a line: a hard line break
        out.append(line)
    return "\n".join(out).strip("\n")
