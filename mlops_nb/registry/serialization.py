"""Safe model files.

Models are saved with skops by default. On load, *this* package decides what
may be built, never the file: :func:`~mlops_nb.registry.trust.audit` checks
every name the file uses against exact trusted types and functions, each in
its place, before skops imports or calls anything. Pickle is available only
when the user asks for it explicitly, both when saving and when loading,
because unpickling runs arbitrary code.
"""

from __future__ import annotations

from typing import Any

from ..errors import IntegrityError, InvalidInputError, UntrustedModelError
from .trust import audit, check_names, require_flag

FORMATS = ("skops", "pickle")


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


def load(data: bytes, format: str, *, trusted: Any = (), allow_pickle: bool = False) -> Any:
    """Rebuild an estimator from bytes, refusing anything that is not trusted.

    ``trusted`` adds exact type or function names for this call (see
    :mod:`mlops_nb.registry.trust`); ``allow_pickle`` must be ``True`` to load
    a pickle.

    Raises
    ------
    InvalidInputError
        If ``trusted`` is not a list of exact names or ``allow_pickle`` is not
        a bool.
    UntrustedModelError
        If the file uses names outside the trust list, or is a pickle and
        ``allow_pickle`` is false.
    IntegrityError
        If a file that passed the check still cannot be rebuilt, or holds a
        decision tree whose nodes point outside it (:mod:`~mlops_nb.registry.trees`).
    """
    require_flag(allow_pickle, "allow_pickle")
    check_names(trusted)
    if format == "skops":
        names = audit(data, trusted)
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        from . import trees

        try:
            model = sio.loads(data, trusted=names)
        except UntrustedTypesFoundException as exc:
            # skops' own audit is the second line: reaching it means ours missed a name
            raise UntrustedModelError(f"the model file was refused by skops: {exc}") from None
        except Exception as exc:  # skops and the classes it rebuilds raise anything
            raise IntegrityError(
                f"the model file could not be rebuilt: {type(exc).__name__}: {exc}"
            ) from None
        trees.check(model)  # trusted by type; their node arrays are checked here
        return model
    if format == "pickle":
        if not allow_pickle:
            raise UntrustedModelError(
                "this model version was saved with pickle, which runs code when loaded; "
                "pass allow_pickle=True only if you trust who trained it"
            )
        import pickle

        return pickle.loads(data)
    raise UntrustedModelError(f"unknown model format {format!r}")
