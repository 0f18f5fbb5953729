"""Content-addressed files: every artifact is named by its SHA-256.

Two backends share one interface (:class:`ArtifactBackend`):

- :class:`ArtifactFolder`, the embedded store's folder. Files are written to
  a temporary name in the same file system, flushed and fsynced, then
  hard-linked into place. ``link`` fails when the target exists, so a stored
  file is never overwritten, and a reader never sees a partial file. A crash
  leaves at worst a temporary file, which :meth:`ArtifactFolder.sweep`
  removes.
- :class:`~mlops_nb.store.objects.ObjectArtifacts`, any fsspec URL
  (``s3://``, ``gs://``, ``az://``, ``file://``, ``memory://``), for team
  stores. :func:`mlops_nb.store.core.open_artifacts` picks the backend for a URL.

Either way, reads check the content against its name and raise
:class:`ArtifactAlteredError` when they differ.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import IntegrityError
from ..redaction import redact_url as redact_url  # its home before redaction.py
from . import faults

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class ArtifactAlteredError(IntegrityError, ValueError):
    """An artifact's content no longer hashes to its name.

    Also a ``ValueError``, so callers written for the folder backend's
    original contract keep working.
    """


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


def check_sha256(text: str) -> str:
    """Return ``text`` if it is a SHA-256 digest, else raise ``ValueError``.

    Artifact names come from the database; validating them keeps a crafted
    name from addressing anything outside the artifact root.
    """
    if not isinstance(text, str) or not is_sha256(text):
        raise ValueError(f"not a SHA-256 digest: {text!r}")
    return text


def altered(sha256: str) -> ArtifactAlteredError:
    """The error for an artifact whose content no longer matches its name."""
    return ArtifactAlteredError(f"artifact {sha256} does not match its SHA-256")


@runtime_checkable
class ArtifactBackend(Protocol):
    """What the store needs from an artifact backend.

    ``root`` names the location for messages; it never carries credentials.
    """

    @property
    def root(self) -> Path | str: ...

    def exists(self, sha256: str) -> bool:
        """Whether an object with this hash is stored (its content is not checked)."""
        ...

    def write(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its hash and whether this call created the object."""
        ...

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        """The bytes; ``FileNotFoundError`` if absent, :class:`ArtifactAlteredError`
        if they no longer hash to ``sha256``."""
        ...

    def check(self, sha256: str) -> str | None:
        """``None`` when the object is present and intact, else why not (for audit)."""
        ...

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary objects left by crashed writers; return how many."""
        ...

    def delete(self, sha256: str) -> bool:
        """Remove an object whose erasure is recorded; return whether it was there."""
        ...


class ArtifactFolder:
    """The folder half of the embedded store: immutable files addressed by SHA-256.

    Parameters
    ----------
    root
        Where files live, as ``root/<sha[:2]>/<sha>``.
    tmp
        Where files are written before they are linked into place; must be
        on the same file system. Defaults to ``root``'s sibling ``tmp``.
    """

    def __init__(self, root: Path, tmp: Path | None = None) -> None:
        self._root = Path(root)
        self.tmp = Path(tmp) if tmp is not None else self._root.parent / "tmp"

    @property
    def root(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"ArtifactFolder({str(self._root)!r})"

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives (it may not exist)."""
        check_sha256(sha256)
        return self._root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def write(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its hash and whether a new file was created."""
        sha = sha256_bytes(data)
        target = self.path(sha)
        if target.is_file():
            return sha, False
        return sha, link_into_place(data, self.tmp, target)

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        """Return the file's bytes, checking they still hash to ``sha256``.

        Raises ``FileNotFoundError`` when missing and
        :class:`ArtifactAlteredError` (a ``ValueError``) when the content no
        longer matches its name.
        """
        data = self.path(sha256).read_bytes()
        if verify and sha256_bytes(data) != sha256:
            raise altered(sha256)
        return data

    def check(self, sha256: str) -> str | None:
        try:
            path = self.path(sha256)
        except ValueError:
            return f"names an invalid artifact hash {sha256!r}"
        if path.is_dir():
            return f"artifact {sha256} is not a file (a folder is in its place)"
        if not path.is_file():
            return f"artifact {sha256} is missing"
        try:
            digest = sha256_file(path)
        except OSError as exc:
            return f"artifact {sha256} cannot be read: {exc.strerror or exc}"
        if digest != sha256:
            return f"artifact {sha256} was altered (content no longer matches its SHA-256)"
        return None

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by crashed writers; return how many."""
        return sweep_folder(self.tmp, older_than_s)

    def delete(self, sha256: str) -> bool:
        """Remove the file (for a recorded erasure); return whether it was there."""
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)  # the erasure, like a write, survives a power cut
        return True


def link_into_place(data: bytes, tmp_dir: Path, target: Path) -> bool:
    """Write ``data`` to ``target`` so no reader sees it partially; never overwrite.

    The bytes go to a fsynced, read-only temporary file in ``tmp_dir`` (same
    file system as ``target``), which is then hard-linked to ``target``.
    Returns whether this call created ``target``; ``False`` means another
    writer stored it first, which for content-addressed names means the
    same bytes.
    """
    for folder in (target.parent, tmp_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise IntegrityError(
                f"cannot store {target.name}: {folder} or a folder above it is a file"
            ) from None
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=target.name[:12] + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            faults.point("artifact", 1)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o444)
        faults.point("artifact", 2)
        try:
            os.link(tmp_name, target)
            created = True
        except FileExistsError:
            # Content-addressed: whoever was first stored the same bytes, unless
            # what is there is not a file at all.
            if not target.is_file():
                raise IntegrityError(
                    f"cannot store {target.name}: {target} exists and is not a file"
                ) from None
            created = False
        faults.point("artifact", 3)
        _fsync_dir(target.parent)
    finally:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
    return created


def sweep_folder(tmp_dir: Path, older_than_s: float) -> int:
    """Delete files in ``tmp_dir`` not modified for ``older_than_s`` seconds."""
    if not tmp_dir.is_dir():
        return 0
    removed = 0
    cutoff = time.time() - older_than_s
    for entry in tmp_dir.iterdir():
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
