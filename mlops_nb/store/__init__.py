"""The embedded store: SQLite metadata plus content-addressed artifact files."""

from .artifacts import ArtifactFolder, sha256_bytes, sha256_file
from .core import Store, open_store
from .location import find_home

__all__ = ["ArtifactFolder", "Store", "find_home", "open_store", "sha256_bytes", "sha256_file"]
