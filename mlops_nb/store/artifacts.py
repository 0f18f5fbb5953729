"""Content-addressed files: every artifact is named by its SHA-256.

Files are written to a temporary name in the same file system, flushed and
fsynced, then hard-linked into place. ``link`` fails when the target exists,
so a stored file is never overwritten, and a reader never sees a partial
file. A crash leaves at worst a temporary file, which :meth:`sweep` removes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a lowercase hex SHA-256."""
    return bool(_SHA_RE.match(text))


class ArtifactFolder:
    """The folder half of the store: immutable files addressed by SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root.parent / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives (it may not exist)."""
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def write(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its hash and whether a new file was created."""
        sha = sha256_bytes(data)
        target = self.path(sha)
        if target.is_file():
            return sha, False
        target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=sha[:12] + ".")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp_name, 0o444)
            try:
                os.link(tmp_name, target)
                created = True
            except FileExistsError:
                # Another writer stored the same content first; same bytes, same name.
                created = False
            _fsync_dir(target.parent)
        finally:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
        return sha, created

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        """Return the file's bytes, checking they still hash to ``sha256``.

        Raises ``FileNotFoundError`` when missing and ``ValueError`` when the
        content no longer matches its name.
        """
        data = self.path(sha256).read_bytes()
        if verify and sha256_bytes(data) != sha256:
            raise ValueError(f"artifact {sha256} does not match its SHA-256")
        return data

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by crashed writers; return how many."""
        if not self.tmp.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than_s
        for entry in self.tmp.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
