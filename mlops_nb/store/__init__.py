"""The store: metadata in SQLite (embedded) or PostgreSQL (shared), plus
content-addressed artifacts.

``Store`` loads SQLAlchemy; it is imported on first use, so the artifact and
location helpers stay cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .artifacts import ArtifactFolder, sha256_bytes, sha256_file
from .location import StoreLocation, find_home

if TYPE_CHECKING:
    from .core import Store, open_store

__all__ = [
    "ArtifactFolder",
    "Store",
    "StoreLocation",
    "find_home",
    "open_store",
    "sha256_bytes",
    "sha256_file",
]


def __getattr__(name: str) -> Any:
    if name in ("Store", "open_store"):
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module 'mlops_nb.store' has no attribute {name!r}")
