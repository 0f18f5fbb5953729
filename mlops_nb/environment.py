"""Who, where and with what: actor, environment and git state of a run."""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

ENV_ACTOR = "MLOPS_NB_ACTOR"


@functools.lru_cache(maxsize=1)
def _user_host() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return user, socket.gethostname()


def hostname() -> str:
    """This machine's host name."""
    return _user_host()[1]


def actor() -> str:
    """Who is acting: ``MLOPS_NB_ACTOR`` if set, else ``user@host``.

    The variable must be one line of visible text (see
    :func:`~mlops_nb.text.check_label`): it is written into every audit
    event and printed by ``mlops-nb audit log``.
    """
    explicit = os.environ.get(ENV_ACTOR)
    if explicit:
        from .text import check_label

        return check_label(explicit, ENV_ACTOR)
    user, host = _user_host()
    return f"{user}@{host}"


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    user, host = _user_host()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": host,
        "user": user,
    }


def packages() -> dict[str, str]:
    """Versions of the third-party top-level packages imported right now."""
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    found: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if "." in name or name.startswith("_") or name in stdlib or module is None:
            continue
        # __dict__, not getattr: a module-level __getattr__ may warn or import.
        version = getattr(module, "__dict__", {}).get("__version__")
        if isinstance(version, str):
            found[name] = version
    return dict(sorted(found.items()))


def capture() -> dict[str, Any]:
    """The environment of this process: interpreter, OS, host, user, packages."""
    return {**_static(), "cwd": os.getcwd(), "packages": packages()}


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Commit, dirty flag and branch of the git work tree holding ``path``.

    Returns ``{}`` outside a work tree or when git is not installed.
    """
    cwd = Path(path or os.getcwd())
    if cwd.is_file():
        cwd = cwd.parent
    try:
        # One git call, not two: the machine-readable status names the commit
        # and the branch in its header lines, then one line per changed file.
        status = ["status", "--porcelain=v2", "--branch", "--untracked-files=no"]
        out = subprocess.run(
            ["git", "-C", str(cwd), *status],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if out.returncode != 0:
            return {}
        header: dict[str, str] = {}
        dirty = False
        for line in out.stdout.splitlines():
            if line.startswith("# "):
                key, _, value = line[2:].partition(" ")
                header[key] = value
            elif line.strip():
                dirty = True
        commit = header.get("branch.oid")
        if not commit or commit == "(initial)":  # no commit yet: nothing to name
            return {}
        branch = header.get("branch.head")
        return {
            "commit": commit,
            "branch": "HEAD" if branch in (None, "(detached)") else branch,
            "dirty": dirty,
        }
    except (OSError, subprocess.SubprocessError):
        return {}
