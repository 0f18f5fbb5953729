"""How one audit event is linked to the one before it.

Kept apart from :mod:`mlops_nb.store.audit` (which reads the whole store to
verify it) so that the write path that appends events needs nothing but this.
"""

from __future__ import annotations

import hashlib


def event_hash(
    seq: int, at: str, actor: str, kind: str, subject: str, payload: str, prev_hash: str
) -> str:
    """The hash linking one event to the one before it."""
    digest = hashlib.sha256()
    for part in (str(seq), at, actor, kind, subject, payload, prev_hash):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()
