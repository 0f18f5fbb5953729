"""Where the store lives: its folder, its metadata database, its artifacts.

A :class:`StoreLocation` answers "which store?" once, in the process a
command starts in, and is then handed to every process that command starts
(kernels, pipeline steps, retrain runs, Dask workers) through
:meth:`StoreLocation.env`, so a team database given only on the command line
(``--db-url``) is the database every one of them writes to.

The folder (``home``) is found the same way by the kernel, the CLI, the
server extension, the scheduler and every notebook that ``mlops-nb run``
executes:

1. an explicit ``home`` argument (``--home`` on the CLI);
2. the ``MLOPS_NB_HOME`` environment variable;
3. the nearest ``.mlops/`` folder found walking up from the working
   directory, the way git finds ``.git/``;
4. ``~/.mlops``.

The metadata database and the artifact location are then resolved for that
folder, each the same way: an explicit argument (``--db-url``), else the
environment (``MLOPS_NB_DB_URL``, ``MLOPS_NB_ARTIFACTS``), else the folder's
``config.yaml``::

    # <home>/config.yaml -- every key is optional
    db_url: postgresql://mlops@db.example.com/mlops
    artifacts: s3://ml-bucket/mlops

else the defaults: SQLite at ``<home>/mlops.db`` and the folder
``<home>/artifacts``. Keep passwords out of URLs and the config file where
you can: psycopg finds them in ``PGPASSWORD`` or ``~/.pgpass``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..redaction import mask_db_url

ENV_HOME = "MLOPS_NB_HOME"
ENV_DB_URL = "MLOPS_NB_DB_URL"
ENV_ARTIFACTS = "MLOPS_NB_ARTIFACTS"
#: The id of the store a ``mlops-nb run`` kernel must record into (its parent's).
ENV_STORE_ID = "MLOPS_NB_STORE_ID"
DIRNAME = ".mlops"
CONFIG_FILE = "config.yaml"
CONFIG_KEYS = ("db_url", "artifacts")

#: Schemes accepted for ``db_url``; all are served by psycopg 3.
PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
PG_DRIVER = "postgresql+psycopg"


@dataclass(frozen=True)
class StoreLocation:
    """One store's place: its folder, its metadata database, its artifacts.

    Build it with :meth:`resolve` (the rules in this module's docstring,
    applied once); open it with ``Store(location)``; hand it to a child
    process with :meth:`env`. ``db_url`` may hold a password: it is never
    part of ``repr`` or ``str``, which mask it.

    Attributes
    ----------
    home
        The store folder (absolute). It always exists locally: it holds
        temporary files and logs even when the metadata is in PostgreSQL.
    db_url
        The PostgreSQL URL (normalised to SQLAlchemy's psycopg driver), or
        ``None`` for the SQLite file ``<home>/mlops.db``.
    artifacts
        An fsspec URL for the artifacts, or ``None`` for ``<home>/artifacts``.
    """

    home: Path
    db_url: str | None = None
    artifacts: str | None = None

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        artifacts: str | None = None,
        cwd: str | None = None,
    ) -> StoreLocation:
        """Apply the resolution rules once: arguments, then environment, then config."""
        folder = find_home(home, cwd)
        url, where = resolve(folder, db_url, artifacts)
        return cls(folder, url, where)

    def env(self) -> dict[str, str]:
        """Environment variables that make a child process resolve this same location.

        Every variable is set, empty when unused, so a value the parent's own
        environment holds cannot override what the parent resolved. They may
        carry a password: pass them in the environment, never on a command line.
        """
        return {
            ENV_HOME: str(self.home),
            ENV_DB_URL: self.db_url or "",
            ENV_ARTIFACTS: self.artifacts or "",
        }

    def describe(self) -> str:
        """Where this is, for messages: the folder, the database without password."""
        where = str(self.home)
        if self.db_url is not None:
            where += f" (metadata in {mask_url(self.db_url)})"
        return where

    def __repr__(self) -> str:
        shown = "" if self.db_url is None else f", db_url={mask_url(self.db_url)!r}"
        if self.artifacts is not None:
            shown += f", artifacts={_redact(self.artifacts)!r}"
        return f"StoreLocation({str(self.home)!r}{shown})"

    __str__ = describe


def _redact(url: str) -> str:
    from .artifacts import redact_url

    return redact_url(url)


def find_home(home: str | os.PathLike[str] | None = None, cwd: str | None = None) -> Path:
    """Return the store folder that applies, without creating it.

    Parameters
    ----------
    home
        An explicit location; wins over everything else.
    cwd
        Where the upward search starts; defaults to the working directory.
    """
    if home is not None and str(home) != "":
        return Path(home).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    start = Path(cwd or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / DIRNAME
        if candidate.is_dir():
            return candidate
    return (Path.home() / DIRNAME).resolve()


def read_config(home: Path) -> dict[str, str]:
    """The settings in ``<home>/config.yaml``; empty when there is no such file.

    Unknown keys are refused rather than ignored: a misspelt ``db_url`` would
    otherwise silently send a team's metadata to a local SQLite file.
    """
    path = home / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from None
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Not the parser's whole text: it quotes the line, which may hold a password.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "it cannot be parsed"
        raise InvalidInputError(f"{path} is not valid YAML{where}: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InvalidInputError(f"{path} must be a mapping of settings")
    unknown = sorted(str(k) for k in loaded if k not in CONFIG_KEYS)
    if unknown:
        raise InvalidInputError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}"
        )
    out: dict[str, str] = {}
    for key, value in loaded.items():
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise InvalidInputError(f"{path}: {key} must be a string")
        out[key] = value
    return out


def write_config(home: Path, **settings: str | None) -> Path:
    """Set keys of ``<home>/config.yaml`` (``None`` removes one); return its path.

    For ``mlops-nb init --db-url ...``: afterwards every process that finds
    this folder also finds its database, with no environment to carry along.
    """
    unknown = sorted(set(settings) - set(CONFIG_KEYS))
    if unknown:
        raise InvalidInputError(f"unknown setting(s) {', '.join(unknown)}")
    import yaml

    current: dict[str, Any] = dict(read_config(home))
    for key, value in settings.items():
        if value:
            current[key] = normalize_db_url(value) if key == "db_url" else str(value)
        else:
            current.pop(key, None)
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    tmp = path.with_name(f".{CONFIG_FILE}.{os.getpid()}")
    tmp.write_text(yaml.safe_dump(current, sort_keys=True), encoding="utf-8")
    os.chmod(tmp, 0o600)  # it may hold a database password
    os.replace(tmp, path)
    return path


def resolve(
    home: Path, db_url: str | None = None, artifacts: str | None = None
) -> tuple[str | None, str | None]:
    """The database URL and artifact location that apply to ``home``.

    Each is the argument if given, else its environment variable, else the
    key in ``<home>/config.yaml``, else ``None`` (the SQLite file and the
    artifact folder inside ``home``). The database URL comes back normalized
    (see :func:`normalize_db_url`).
    """
    config: dict[str, str] | None = None

    def pick(given: str | None, env: str, key: str) -> str | None:
        nonlocal config
        if given:
            return given
        if os.environ.get(env):
            return os.environ[env]
        if config is None:
            config = read_config(home)
        return config.get(key)

    url = pick(db_url, ENV_DB_URL, "db_url")
    return (
        None if url is None else normalize_db_url(url),
        pick(artifacts, ENV_ARTIFACTS, "artifacts"),
    )


def normalize_db_url(url: str) -> str:
    """``url`` with its scheme set to SQLAlchemy's psycopg 3 driver.

    ``postgresql://``, ``postgres://`` and ``postgresql+psycopg://`` are
    accepted; anything else is refused with a message saying what to use.
    """
    text = str(url).strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in PG_SCHEMES:
        shown = mask_url(text) if sep else "a value that is not a URL"
        raise InvalidInputError(
            f"db_url must be a postgresql:// URL, not {shown}; leave it unset for the "
            "SQLite file in the store folder"
        )
    return f"{PG_DRIVER}://{rest}"


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print or log.

    Read the way the driver reads it (see :mod:`mlops_nb.redaction`), so a
    password holding ``/``, ``#``, ``?`` or ``@`` is masked whole.
    """
    return mask_db_url(url)


def locator_env(locator: Mapping[str, Any]) -> dict[str, str]:
    """Environment variables that make a child process open the store of ``locator``.

    Give them to every process that must find the same store (``mlops-nb
    run`` kernels, spawned CLI commands). They may carry a password, so pass
    them in the environment, never on a command line.
    """
    return StoreLocation(
        Path(locator["home"]), locator.get("db_url") or None, locator.get("artifacts") or None
    ).env()
