"""Safe model files.

Models are saved with skops by default. On load, *this* module decides which
types may be constructed, never the file: every type the file names is
checked against a trust list (scikit-learn and the numpy/scipy containers it
uses by default, extendable with :func:`trust` or ``trusted=``). Pickle is
available only when the user asks for it explicitly, both when saving and
when loading, because unpickling runs arbitrary code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidInputError, UntrustedModelError

FORMATS = ("skops", "pickle")
ENV_TRUST = "MLOPS_NB_TRUSTED_TYPES"

#: Type-name prefixes trusted by default: scikit-learn estimators and the
#: numpy/scipy containers their fitted state is made of.
DEFAULT_TRUSTED_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "collections.OrderedDict",
    "collections.defaultdict",
)

_extra_trusted: set[str] = set()


def trust(*types: str) -> None:
    """Trust more types (exact names or prefixes ending in ``.``) in this process.

    Examples
    --------
    >>> trust("lightgbm.")  # doctest: +SKIP
    """
    for name in types:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"trusted type names must be non-empty strings, not {name!r}")
        _extra_trusted.add(name.strip())


def trusted_patterns(extra: Iterable[str] = ()) -> list[str]:
    """Every pattern in force: defaults, :func:`trust`, ``MLOPS_NB_TRUSTED_TYPES``, ``extra``."""
    env = [p.strip() for p in os.environ.get(ENV_TRUST, "").split(",") if p.strip()]
    return [*DEFAULT_TRUSTED_PREFIXES, *sorted(_extra_trusted), *env, *extra]


def _is_trusted(type_name: str, patterns: list[str]) -> bool:
    return any(type_name.startswith(p) if p.endswith(".") else type_name == p for p in patterns)


def dump(estimator: Any, format: str = "skops") -> bytes:
    """Serialise an estimator to bytes in ``format`` ("skops" or "pickle")."""
    if format == "skops":
        import skops.io as sio

        try:
            return bytes(sio.dumps(estimator))
        except Exception as exc:  # skops raises TypeError & friends for unsupported objects
            raise InvalidInputError(
                f"cannot save {type(estimator).__name__} with skops ({exc}); if you trust it, "
                "save with serializer='pickle'"
            ) from None
    if format == "pickle":
        import pickle

        return pickle.dumps(estimator, protocol=5)
    raise InvalidInputError(f"unknown model format {format!r}; choose one of {FORMATS}")


def load(
    data: bytes, format: str, *, trusted: Iterable[str] = (), allow_pickle: bool = False
) -> Any:
    """Rebuild an estimator from bytes, refusing types that are not trusted.

    Raises
    ------
    UntrustedModelError
        If the file names types outside the trust list, or is a pickle and
        ``allow_pickle`` is false.
    """
    if format == "skops":
        import skops.io as sio

        patterns = trusted_patterns(trusted)
        try:
            named = sio.get_untrusted_types(data=data)
        except Exception as exc:
            raise UntrustedModelError(f"not a readable skops model file: {exc}") from None
        refused = sorted(t for t in named if not _is_trusted(t, patterns))
        if refused:
            raise UntrustedModelError(
                "the model file names types that are not trusted: "
                + ", ".join(refused)
                + " (trust them with mlops_nb.trust(...) or trusted=[...] if you know the file)",
                refused,
            )
        return sio.loads(data, trusted=list(named))
    if format == "pickle":
        if not allow_pickle:
            raise UntrustedModelError(
                "this model version was saved with pickle, which runs code when loaded; "
                "pass allow_pickle=True only if you trust who trained it"
            )
        import pickle

        return pickle.loads(data)
    raise UntrustedModelError(f"unknown model format {format!r}")
