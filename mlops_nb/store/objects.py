"""Artifacts on object storage, through fsspec.

A team store keeps its artifacts at a URL — ``s3://bucket/prefix``,
``gs://…``, ``az://…``, ``file:///shared/path`` or ``memory://name`` — set by
``MLOPS_NB_ARTIFACTS``, ``Store(artifacts=...)`` or the home's
``config.yaml``. Objects are named ``<prefix>/<sha[:2]>/<sha>`` exactly as in
the embedded folder, so a store can move between the two by copying objects.

How each kind of file system makes a write all-or-nothing:

- object stores (``s3``, ``gs``, ``az`` …) and ``memory``: one PUT of the
  whole object under its final name. A PUT is atomic there: readers see the
  old state or the whole object, never a part of it.
- the local file system: write and fsync a temporary file under
  ``<prefix>/tmp/``, then hard-link it into place (``link`` never replaces an
  existing file).
- anything else: upload to a unique temporary key under ``<prefix>/tmp/``,
  then move it into place.

An existing object is never written again; a concurrent writer of the same
content puts the same bytes under the same name, which is harmless. Reads
re-hash what they get. Credentials come from wherever fsspec and the
provider's library look (environment, config files, instance metadata); the
store only ever records :func:`~mlops_nb.store.artifacts.redact_url` of the
URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ..errors import InvalidInputError
from ..redaction import redact_url, scrub, url_secrets
from .artifacts import (
    altered,
    check_sha256,
    link_into_place,
    sha256_bytes,
    sweep_folder,
)

#: Protocols whose single PUT is atomic and visible only once complete.
SINGLE_PUT = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "r2", "memory"}
)
_CHUNK = 1 << 20
TMP = "tmp"


class ObjectArtifacts:
    """Immutable, content-addressed objects under an fsspec URL.

    Parameters
    ----------
    url
        Where objects live. Credentials in the URL itself are used for the
        connection but never stored or shown (:attr:`root` is redacted);
        prefer the provider's usual credential sources.
    storage_options
        Extra keyword arguments for the fsspec file system (endpoint, region …).
    commit
        How a write becomes visible: ``"put"`` (one atomic PUT of the final
        object), ``"link"`` (temporary local file, then hard link) or
        ``"move"`` (temporary object, then move). ``None`` picks by protocol.
    """

    def __init__(
        self,
        url: str,
        *,
        storage_options: dict[str, Any] | None = None,
        commit: str | None = None,
    ) -> None:
        self.url = url
        self._root = redact_url(url)
        try:
            fs, base = fsspec.core.url_to_fs(url, **(storage_options or {}))
        except ImportError as exc:
            raise InvalidInputError(
                f"artifacts at {self._root} need a file-system package: {self._safe(exc)}"
            ) from None
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"bad artifacts URL {self._root}: {self._safe(exc)}") from None
        self.fs: fsspec.AbstractFileSystem = fs
        self.base = str(base).rstrip("/")
        local = isinstance(fs, LocalFileSystem)
        if local and Path(self.base).exists() and not Path(self.base).is_dir():
            raise InvalidInputError(f"artifacts location {self._root} is a file, not a folder")
        if commit is None:
            protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
            commit = "link" if local else "put" if SINGLE_PUT & set(protocols) else "move"
        if commit not in ("put", "link", "move") or (commit == "link" and not local):
            raise ValueError(f"commit={commit!r} is not available for {self._root}")
        self.commit = commit

    def _safe(self, exc: BaseException) -> str:
        # fsspec's messages may quote a piece of the URL's credentials (as a port).
        return scrub(str(exc), url_secrets(self.url))

    @property
    def root(self) -> str:
        """The URL, without credentials."""
        return self._root

    def __repr__(self) -> str:
        return f"ObjectArtifacts({self._root!r})"

    # -- naming -------------------------------------------------------------

    def key(self, sha256: str) -> str:
        """The file system's path of the object with this hash (it may not exist)."""
        check_sha256(sha256)
        return f"{self.base}/{sha256[:2]}/{sha256}"

    def path(self, sha256: str) -> Path:
        """The local file of an object, for ``file://`` artifacts only."""
        if not isinstance(self.fs, LocalFileSystem):
            raise TypeError(f"{self._root} is not on the local file system; use key()")
        return Path(self.key(sha256))

    @property
    def _tmp(self) -> str:
        return f"{self.base}/{TMP}"

    # -- interface shared with ArtifactFolder ---------------------------------

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.isfile(self.key(sha256)))

    def write(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its hash and whether this call created the object."""
        sha = sha256_bytes(data)
        key = self.key(sha)
        if self.exists(sha):
            return sha, False
        if self.commit == "link":
            return sha, link_into_place(data, Path(self._tmp), Path(key))
        if self.commit == "put":
            self.fs.pipe_file(key, data)
            return sha, True
        tmp_key = f"{self._tmp}/{sha[:12]}.{uuid.uuid4().hex}"
        # File systems with real folders need them before a file goes in.
        self.fs.makedirs(self._tmp, exist_ok=True)
        self.fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
        self.fs.pipe_file(tmp_key, data)
        try:
            if self.exists(sha):
                return sha, False
            self.fs.mv(tmp_key, key)
        finally:
            if self.fs.exists(tmp_key):
                self.fs.rm_file(tmp_key)
        return sha, True

    def read(self, sha256: str, *, verify: bool = True) -> bytes:
        """The object's bytes, checked against ``sha256``.

        Raises ``FileNotFoundError`` when absent and
        :class:`~mlops_nb.store.artifacts.ArtifactAlteredError` (a
        ``ValueError``) when the bytes no longer hash to their name.
        """
        data = bytes(self.fs.cat_file(self.key(sha256)))
        if verify and sha256_bytes(data) != sha256:
            raise altered(sha256)
        return data

    def check(self, sha256: str) -> str | None:
        """``None`` when present and intact, else the reason (streams the object)."""
        try:
            key = self.key(sha256)
        except ValueError:
            return f"names an invalid artifact hash {sha256!r}"
        digest = hashlib.sha256()
        try:
            with self.fs.open(key, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return f"artifact {sha256} is missing from {self._root}"
        except (IsADirectoryError, NotADirectoryError):
            return f"artifact {sha256} in {self._root} is not a file (a folder is in its place)"
        except OSError as exc:
            return f"artifact {sha256} cannot be read from {self._root}: {exc}"
        if digest.hexdigest() != sha256:
            return f"artifact {sha256} was altered (content no longer matches its SHA-256)"
        return None

    def delete(self, sha256: str) -> bool:
        """Remove the object (for a recorded erasure); return whether it was there."""
        key = self.key(sha256)
        try:
            self.fs.rm_file(key)
        except FileNotFoundError:
            return False
        return True

    def sweep(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary objects older than ``older_than_s``; return how many.

        Single-PUT stores never write temporary objects, so nothing is listed.
        """
        if self.commit == "put":
            return 0
        if self.commit == "link":
            return sweep_folder(Path(self._tmp), older_than_s)
        try:
            entries = self.fs.ls(self._tmp, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return 0
        cutoff = time.time() - older_than_s
        removed = 0
        for name in entries:
            try:
                if _timestamp(self.fs.modified(name)) < cutoff:
                    self.fs.rm_file(name)
                    removed += 1
            except (OSError, NotImplementedError):
                continue
        return removed


def _timestamp(moment: dt.datetime | float) -> float:
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            # Some file systems report naive times; fsspec's convention is UTC.
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.timestamp()
    return float(moment)
