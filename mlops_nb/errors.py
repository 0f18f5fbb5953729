"""Exceptions raised by mlops-nb.

Every error a user can cause derives from :class:`MlopsError`. Each class
carries the HTTP status and CLI exit code an adapter should use, so the CLI,
the REST handlers and the magics each map errors in exactly one place::

    MlopsError                      (exit 1, HTTP 500)
    ├── InvalidInputError           ValueError   (exit 2, HTTP 400)
    │   ├── GateExpressionError                  malformed ``--require``
    │   ├── SchemaMismatchError                  (HTTP 422) rows that do not fit
    │   │                                        a model version's training schema
    │   └── PayloadTooLargeError                 (HTTP 413) a request body over the limit
    ├── NotFoundError               LookupError  (exit 3, HTTP 404)
    ├── ConflictError                            (exit 4, HTTP 409)
    │   └── GateFailedError                      a promotion gate said no
    ├── IntegrityError                           (exit 5, HTTP 409)
    │   └── UntrustedModelError                  a model file holds untrusted types
    ├── ExecutionError              RuntimeError (exit 6, HTTP 500)
    │                                            a notebook run failed
    ├── ChecksFailedError                        (exit 7, HTTP 422)
    │                                            a check of ``mlops-nb test`` failed
    ├── DeadlineError               TimeoutError (exit 8, HTTP 504)
    │                                            a time limit ran out
    ├── UnavailableError                         (exit 9, HTTP 503)
    │                                            the database or the Dask scheduler
    │                                            cannot be reached, or stayed locked
    ├── AuthenticationError         PermissionError (exit 10, HTTP 401)
    │                                            a request to the prediction server
    │                                            without the right bearer token
    ├── ApprovalRequiredError                    (exit 11, HTTP 202) a promotion to a
    │                                            protected alias was filed as a request:
    │                                            nothing moved yet
    └── ForbiddenError              PermissionError (exit 12, HTTP 403)
                                                 the actor may not do this (approve a
                                                 request they made themselves)

The root class
itself (exit 1, HTTP 500) is never raised for something a user can act on:
each cause has its own class, so scripts can tell "fix your input" (2) from
"try again later" (8, 9) from "the store is damaged" (5).
"""

from __future__ import annotations

__all__ = [
    "ApprovalRequiredError",
    "AuthenticationError",
    "ChecksFailedError",
    "ConflictError",
    "DeadlineError",
    "ExecutionError",
    "ForbiddenError",
    "GateExpressionError",
    "GateFailedError",
    "IntegrityError",
    "InvalidInputError",
    "MlopsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "SchemaMismatchError",
    "UnavailableError",
    "UntrustedModelError",
]


class MlopsError(Exception):
    """Root of every error mlops-nb raises on purpose."""

    exit_code: int = 1
    http_status: int = 500


class InvalidInputError(MlopsError, ValueError):
    """A name, value, file or expression given by the user is not acceptable.

    ``field`` names the input that was wrong (``"cron"``, ``"timeout"``) when
    the code that checked it knows, so a form can point at it; REST answers
    it beside the message.
    """

    exit_code = 2
    http_status = 400
    field: str | None = None


class GateExpressionError(InvalidInputError):
    """A promotion gate such as ``accuracy>=production`` could not be parsed."""


class SchemaMismatchError(InvalidInputError):
    """Rows sent for prediction do not fit the model version's training schema.

    ``problems`` names each one: a missing or unknown column, a value of the
    wrong type (with its row), a value the model itself refused.
    """

    http_status = 422

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [message])


class PayloadTooLargeError(InvalidInputError):
    """A request body is larger than the prediction server accepts."""

    http_status = 413


class NotFoundError(MlopsError, LookupError):
    """A model, version, alias, run or artifact does not exist."""

    exit_code = 3
    http_status = 404


class ConflictError(MlopsError):
    """The request is valid but the current state forbids it."""

    exit_code = 4
    http_status = 409


class GateFailedError(ConflictError):
    """A promotion gate refused the candidate; the alias was left untouched.

    ``failures`` lists one human-readable sentence per failed condition.
    """

    def __init__(self, message: str, failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


class IntegrityError(MlopsError):
    """The store is damaged or inconsistent.

    Stored content no longer matches its recorded SHA-256 or the audit chain,
    the metadata database is not a readable mlops-nb database, or a stored
    file is missing or is not a file.
    """

    exit_code = 5
    http_status = 409


class UntrustedModelError(IntegrityError):
    """A model file names types the loader has not been told to trust."""

    def __init__(self, message: str, types: list[str] | None = None) -> None:
        super().__init__(message)
        self.types = list(types or [])


class ExecutionError(MlopsError, RuntimeError):
    """A notebook run or pipeline failed: a cell raised or the kernel died."""

    exit_code = 6
    http_status = 500


class ChecksFailedError(MlopsError):
    """A model test ran to its end and at least one of its checks failed.

    Not a fault of the input or of the store: the model did not meet its
    suite. ``failed`` names each failed check; the suite's result was
    recorded before this was raised.
    """

    exit_code = 7
    http_status = 422

    def __init__(self, message: str, failed: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed = list(failed or [])


class DeadlineError(MlopsError, TimeoutError):
    """A time limit ran out: a run's ``timeout`` (its kernel was killed), or the
    time given to wait for a run.

    Nothing was wrong with the input; a longer limit may succeed.
    """

    exit_code = 8
    http_status = 504


class UnavailableError(MlopsError):
    """Something mlops-nb needs cannot be used right now.

    The metadata database is unreachable or kept its write lock longer than
    the store waits (a write that met it was rolled back), or the Dask
    scheduler cannot be reached. Trying again later may succeed.
    """

    exit_code = 9
    http_status = 503


class AuthenticationError(MlopsError, PermissionError):
    """A request reached the prediction server without its bearer token, or with another.

    The message never repeats the token that was sent.
    """

    exit_code = 10
    http_status = 401


class ApprovalRequiredError(MlopsError):
    """The alias is protected: the promotion became a pending request, nothing moved.

    Not a failure of the input or of the store: the request was recorded
    (``request`` is it, as :func:`mlops_nb.registry.requests.item` shows it)
    and waits for its approvers (``mlops-nb requests approve ID``). Scripts
    tell it from a move by its exit code.
    """

    exit_code = 11
    http_status = 202

    def __init__(self, message: str, request: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.request = dict(request or {})


class ForbiddenError(MlopsError, PermissionError):
    """The one acting may not do this: approve a promotion they asked for
    themselves, unless the alias's protection allows it."""

    exit_code = 12
    http_status = 403
