"""The Python API of protected aliases and promotion requests (exported by ``mlops_nb``).

The same operations as ``mlops-nb alias protect|unprotect`` and ``mlops-nb
requests list|approve|reject``, on the default store or ``home=`` / ``store=``.
The one acting is this process's actor (``MLOPS_NB_ACTOR`` or ``user@host``),
as for every other write. ``mlops_nb.promote`` to a protected alias raises
:class:`~mlops_nb.errors.ApprovalRequiredError`; its ``request`` is the
request opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import get_store
from .registry import requests

if TYPE_CHECKING:
    from .store import Store


def protect_alias(
    name: str,
    alias: str = "production",
    *,
    approvers: int = 1,
    allow_self_approval: bool = False,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Protect ``name@alias``: promotions to it wait for ``approvers`` distinct people."""
    return requests.protect(
        get_store(home, store), name, alias, approvers=approvers,
        allow_self_approval=allow_self_approval,
    )  # fmt: skip


def unprotect_alias(
    name: str, alias: str = "production", *, home: str | None = None, store: Store | None = None
) -> dict[str, Any]:
    """Remove the protection of ``name@alias`` (pending requests can still be decided)."""
    return requests.unprotect(get_store(home, store), name, alias)


def list_requests(
    name: str | None = None,
    *,
    state: str = "pending",
    limit: int | None = None,
    home: str | None = None,
    store: Store | None = None,
) -> list[dict[str, Any]]:
    """Promotion requests in ``state`` (pending, approved, rejected or all), newest first."""
    return requests.requests(get_store(home, store), name, state, limit)


def approve_request(
    request_id: int,
    note: str | None = None,
    *,
    home: str | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Approve a pending request; the approval that completes its count moves the alias."""
    return requests.approve(get_store(home, store), request_id, note)


def reject_request(
    request_id: int, note: str, *, home: str | None = None, store: Store | None = None
) -> dict[str, Any]:
    """Reject a pending request with a note saying why."""
    return requests.reject(get_store(home, store), request_id, note)
