"""The libraries loading a model needs, imported without what only their listing drags in.

Most of a server's start is importing: numpy, scipy, pandas and
scikit-learn, and skops, whose import lists every scikit-learn estimator
(``sklearn.utils.all_estimators``) as this package's own trust list does
(:func:`~mlops_nb.registry.allowlist.default_trust`). That listing walks
every scikit-learn package with :func:`pkgutil.walk_packages`, which imports
each package only to look inside it: so it also imports Dask (through the
array-API shim scikit-learn vendors under ``sklearn.externals``) and pytest
(through ``sklearn.utils._testing``), although the listing skips
``externals`` and ``tests`` and nothing a server does uses either.
:func:`import_for_loading` keeps those two out while the walk runs; the
estimators listed are the same (a test compares them).

A serving process calls it before it loads its model. Importing in a thread
while the server opens its store and binds was measured too: with Python's
global interpreter lock the imports take as long side by side, so the start
stays one thread and ``sys.modules`` is changed while nothing else imports.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

#: Imported by scikit-learn's package walk only because it imports every
#: package it passes: the walk skips where they are reached from.
WALK_ONLY = ("dask", "pytest")


@contextlib.contextmanager
def kept_out(names: tuple[str, ...] = WALK_ONLY) -> Iterator[None]:
    """Make importing each of ``names`` not yet imported fail while the block runs.

    Only for a serving process's start, where no other thread imports
    meanwhile. A name imported before is left alone.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # import machinery: "not found"
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_for_loading() -> None:
    """Import what loading and serving a scikit-learn model needs, and build the trust list."""
    with kept_out():
        from ..registry.allowlist import default_trust

        default_trust()
        import skops.io  # noqa: F401
    import pandas  # noqa: F401
