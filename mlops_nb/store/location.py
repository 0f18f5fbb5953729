"""Where the store lives.

Resolution order, the same for the kernel, the CLI, the server extension,
the scheduler and every notebook that ``mlops-nb run`` executes:

1. an explicit ``home`` argument (``--home`` on the CLI);
2. the ``MLOPS_NB_HOME`` environment variable;
3. the nearest ``.mlops/`` folder found walking up from the working
   directory, the way git finds ``.git/``;
4. ``~/.mlops``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MLOPS_NB_HOME"
DIRNAME = ".mlops"


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
