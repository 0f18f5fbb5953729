"""What users may ask for: whole numbers a database holds, durations a timer can wait,
files that can be written.

Values from the command line, REST bodies, YAML files and Python calls are
checked here before they reach SQL, a timer or the file system, so a value
none of those can take is refused as bad input (exit 2, HTTP 400) before
anything runs or is recorded, never as an overflow deep inside a driver
after a notebook ran for an hour.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from .errors import InvalidInputError

#: The largest whole number every integer column holds: PostgreSQL's
#: ``integer`` (SQLite's are 64-bit). Versions, sequence numbers, counts and
#: limits all stay at or below it.
MAX_WHOLE = 2**31 - 1
#: The most retries of one job: with doubling back-off more would wait for years.
MAX_RETRIES = 100
#: The longest duration accepted, in seconds (ten years): well inside what
#: ``threading`` timers, ``time.sleep`` and date arithmetic can handle.
MAX_SECONDS = 10 * 366 * 86400.0


def whole_number(value: Any, what: str, *, minimum: int = 0, maximum: int = MAX_WHOLE) -> int:
    """``value`` as an ``int`` from ``minimum`` to ``maximum``, else :class:`InvalidInputError`.

    Accepts ints and text of ASCII digits with an optional sign; refuses
    bools, floats (``1e3``, ``2.0``) and other scripts' digits (``²``, ``١``),
    which ``int()`` would read or choke on.

    Parameters
    ----------
    value
        The number as given.
    what
        How the user named it (``"--limit"``, ``"retries"``), for the message.
    minimum, maximum
        The accepted range, both included.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            number = int(text)
    if number is None or not minimum <= number <= maximum:
        raise InvalidInputError(
            f"{what} must be a whole number from {minimum} to {maximum}, not {_shown(value)}"
        )
    return number


def seconds(
    value: Any, what: str, *, allow_zero: bool = False, maximum: float = MAX_SECONDS
) -> float:
    """``value`` as a finite number of seconds, more than 0 (or 0 when ``allow_zero``).

    Refuses NaN, infinities, negative numbers, bools and text that is not a
    number, each with a message naming ``what``.
    """
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    low_ok = number is not None and (number >= 0 if allow_zero else number > 0)
    if number is None or not math.isfinite(number) or not low_ok or number > maximum:
        floor = "0 or more" if allow_zero else "more than 0"
        raise InvalidInputError(
            f"{what} must be a number of seconds, {floor} and at most {maximum:.0f}, "
            f"not {_shown(value)}"
        )
    return number


def output_file(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if a file can be written there: its folder exists and it is not a folder.

    Called before the work whose result goes there, so an hour-long run does
    not fail at its end because of a typo in ``-o``.
    """
    target = Path(path).expanduser()
    if str(path) == "":
        raise InvalidInputError(f"{what} is empty; name a file")
    if target.is_dir():
        raise InvalidInputError(f"{what} {target} is a folder; name a file inside it")
    folder = target.parent
    if not folder.is_dir():
        raise InvalidInputError(f"{what} {target}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInputError(f"{what} {target}: folder {folder} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise InvalidInputError(f"{what} {target} exists and is not writable")
    return target


def folder(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` if it is an existing folder, else :class:`InvalidInputError`."""
    found = Path(path).expanduser()
    if not found.is_dir():
        state = "is not a folder" if found.exists() else "does not exist"
        raise InvalidInputError(f"{what} {found} {state}")
    return found


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
