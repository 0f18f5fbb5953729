"""Credentials out of everything mlops-nb prints, records or returns.

Three kinds of URL can carry a secret: the metadata database's
(``postgresql://app:password@host/db``), an artifact store's
(``s3://key:secret@bucket``, ``az://…?sig=…``) and an alert webhook's
(``https://user:token@host/hook?token=…``). Before any of them is shown, a
password, a user-info token and every query value with a secret-looking name
are masked; before a library's error message is shown, every piece of those
secrets that it could quote is replaced.

Why not :func:`urllib.parse.urlsplit`: parsers disagree on where a password
ends. SQLAlchemy's ``make_url`` (which hands psycopg the password) takes
everything from the first ``:`` of the user part to the next ``@``, so in
``postgresql://app:Zx9/aQ+r7#k@host/db`` the driver's password is
``Zx9/aQ+r7#k``, while RFC 3986 (``urlsplit``, fsspec, urllib) ends the host
part at the first ``/``, ``?`` or ``#`` and sees host ``app``, port ``Zx9``.
A password with an unencoded ``@`` is cut by SQLAlchemy at that ``@``, and
the rest of it becomes part of the host name that resolver errors quote. So
the user part here reaches to the *last* ``@`` whenever it has the
``user:password`` shape, which covers what every one of those parsers reads
as a credential; a URL that only looks like one (``https://h:8443/a@b``) is
masked more than needed, never less.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

__all__ = [
    "MASK",
    "credentials_in",
    "mask_db_url",
    "redact_url",
    "scrub",
    "split_credentials",
    "url_secrets",
]

#: What replaces a secret in anything shown.
MASK = "***"
#: Query parameters whose value is a credential (libpq's ``password``,
#: S3's ``X-Amz-Signature``, Azure's ``sig``, a webhook's ``token`` …).
SECRET_NAME = re.compile(r"pass|pwd|sig|token|secret|key|credential|auth", re.I)
# Where a parser may cut a secret into pieces that land in other fields.
_CUTS = re.compile(r"[/?#@:]")


def _split(url: str) -> tuple[str, str | None, str] | None:
    """``(scheme://, user part or None, rest)``; ``None`` when ``url`` is not a URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    at = rest.rfind("@")
    if at < 0:
        return scheme + sep, None, rest
    authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    head = rest[:at]
    colon, first_at = head.find(":"), head.find("@")
    if at < authority_end or (colon >= 0 and (first_at < 0 or colon < first_at)):
        return scheme + sep, head, rest[at + 1 :]
    # An '@' after the host part and no ``user:`` before it: a path or query
    # holds it (``s3://bucket/model@v2``); the user part, if any, is RFC 3986's.
    at = rest.rfind("@", 0, authority_end)
    if at < 0:
        return scheme + sep, None, rest
    return scheme + sep, rest[:at], rest[at + 1 :]


def _mask_query(rest: str, mask: str, drop_fragment: bool = False) -> str:
    """``rest`` (host, path, query) with every secret query value replaced by ``mask``."""
    base, question, query = rest.partition("?")
    if drop_fragment:
        query, _, _ = query.partition("#")
        if not question:
            base = base.partition("#")[0]
    if not question:
        return base
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        secret = equals and SECRET_NAME.search(unquote_plus(name))
        pairs.append(f"{name}={mask}" if secret else pair)
    return f"{base}?{'&'.join(pairs)}"


def mask_db_url(url: str) -> str:
    """A database URL safe to print: the user name kept, any password shown as ``***``.

    ``postgresql://app:Zx9/aQ+r7#k@host/db?password=x`` becomes
    ``postgresql://app:***@host/db?password=***``.
    """
    parts = _split(str(url))
    if parts is None:
        return str(url)
    scheme, user, rest = parts
    if user is None:
        return scheme + _mask_query(rest, MASK)
    name, colon, _password = user.partition(":")
    return f"{scheme}{name}{':' + MASK if colon else ''}@{_mask_query(rest, MASK)}"


def redact_url(url: str) -> str:
    """An object-storage or webhook URL without credentials: no user part at all,
    secret query values shown as ``REDACTED``, no fragment.

    fsspec's chained URLs (``simplecache::s3://…``) are redacted link by link.
    """
    return "::".join(_redact_one(part) for part in str(url).split("::"))


def _redact_one(url: str) -> str:
    parts = _split(url)
    if parts is None:
        return url
    scheme, _user, rest = parts
    return scheme + _mask_query(rest, "REDACTED", drop_fragment=True)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without its user part, user, password)``, the last two as written.

    For a client that sends credentials apart from the URL (HTTP Basic).
    """
    parts = _split(str(url))
    if parts is None:
        return str(url), None, None
    scheme, user, rest = parts
    if user is None:
        return str(url), None, None
    name, colon, password = user.partition(":")
    return scheme + rest, name, password if colon else None


def credentials_in(url: str) -> list[str]:
    """What in ``url`` is a credential, described for an error message (empty if none)."""
    found = []
    for part in str(url).split("::"):
        parts = _split(part)
        if parts is None:
            continue
        _scheme, user, rest = parts
        if user is not None:
            found.append("a user name or password before '@'")
        query = rest.partition("?")[2].partition("#")[0]
        for pair in query.split("&") if query else []:
            name = unquote_plus(pair.partition("=")[0])
            if SECRET_NAME.search(name):
                found.append(f"the query parameter {name!r}")
    return found


def url_secrets(url: str | None, *, user_is_secret: bool = True) -> list[str]:
    """Every piece of ``url`` that is, or could be part of, a credential.

    The password, the whole user part when ``user_is_secret`` (a webhook's
    or object store's; a database user name is no secret), secret query
    values, each as written and percent-decoded, and the pieces a parser
    could cut them into. For :func:`scrub`.
    """
    if not url:
        return []
    found: set[str] = set()
    for part in str(url).split("::"):
        parts = _split(part)
        if parts is None:
            continue
        _scheme, user, rest = parts
        values = []
        if user is not None:
            name, colon, password = user.partition(":")
            if colon:
                values.append(password)
            if user_is_secret:
                values.extend([user, name])
        query = rest.partition("?")[2]
        for pair in query.split("&") if query else []:
            name, _, value = pair.partition("=")
            if SECRET_NAME.search(unquote_plus(name)):
                values.append(value.partition("#")[0])
        for value in values:
            for form in (value, unquote(value), unquote_plus(value)):
                found.add(form)
                found.update(_CUTS.split(form))
    return sorted((s for s in found if s), key=lambda s: (-len(s), s))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` where it stands on its own.

    A secret counts where it is not just part of a longer word, so that a
    short piece of a password (``ss``) is masked in ``host 'ss@db'`` but
    leaves ``password authentication failed`` readable.
    """
    pieces = sorted({s for s in secrets if s}, key=lambda s: (-len(s), s))
    if not pieces or not text:
        return text
    return re.sub("|".join(map(_standalone, pieces)), MASK, text)


def _standalone(piece: str) -> str:
    before = r"(?<!\w)" if piece[0].isalnum() else ""
    after = r"(?!\w)" if piece[-1].isalnum() else ""
    return before + re.escape(piece) + after
