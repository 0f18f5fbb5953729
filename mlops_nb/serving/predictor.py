"""A model version loaded for serving: its estimator, its input schema, its outputs.

The estimator is loaded through :func:`mlops_nb.registry.load_model`, so the
file is checked against its SHA-256 and against the exact-type trust list
before anything in it is built; pickle only when the server was started
with it allowed.

How the checked rows reach the estimator. By default as a pandas DataFrame
with the training columns and dtypes, as in training. scikit-learn's
checks of a DataFrame cost several hundred microseconds a call, more than
the prediction itself, so for an estimator trained on plain integer and
float columns whose ``feature_names_in_`` are the training columns in
order, the same values go as one numpy array instead: scikit-learn turns
such a frame into exactly that array before it predicts. That shortcut is
taken only after :meth:`Predictor.check` found the two inputs give
identical predictions and probabilities; otherwise every call uses the
frame. An estimator trained without column names (on an array) is always
given an array.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, SchemaMismatchError
from ..records import ModelVersion
from .inputs import InputSchema, Rows

if TYPE_CHECKING:
    from ..store import Store

#: What scikit-learn says when it is handed an array where it was fitted on a
#: frame; the shortcut above does that on purpose.
NAMES_WARNING = "X does not have valid feature names"


@dataclass(frozen=True)
class Output:
    """What the estimator made of some rows."""

    predictions: Any  # numpy array, one value per row
    probabilities: Any | None  # numpy array (rows x classes) for classifiers


class Predictor:
    """One loaded version, ready to predict checked rows.

    Parameters
    ----------
    version
        The registry record of the version.
    model
        The estimator loaded from it.
    profile
        The version's reference profile (JSON), if it has one: which
        columns had missing values in training, and typical values for the
        smoke test.
    """

    def __init__(
        self, version: ModelVersion, model: Any, profile: dict[str, Any] | None = None
    ) -> None:
        self.version = version
        self.model = model
        self.profile = profile
        missing = None
        if profile is not None:
            missing = {
                str(c["name"]): int(c.get("missing", 0))
                for c in profile.get("columns", [])
                if c.get("role", "feature") == "feature"
            }
        self.schema = InputSchema(version.signature, missing)
        classes = getattr(model, "classes_", None) if hasattr(model, "predict_proba") else None
        self.classes: list[Any] | None = None if classes is None else _plain(classes)
        trained_on = getattr(model, "feature_names_in_", None)
        self._names_in = None if trained_on is None else [str(n) for n in trained_on]
        # Trained on an array: an array it gets. Trained on a frame: a frame,
        # unless check() proves the array gives the same outputs.
        self.uses_array = self._names_in is None
        self._array_candidate = self._names_in == self.schema.names and self.schema.all_numeric

    @property
    def number(self) -> int:
        return self.version.version

    @classmethod
    def load(
        cls,
        store: Store,
        name: str,
        number: int,
        *,
        trusted: tuple[str, ...] = (),
        allow_pickle: bool = False,
    ) -> Predictor:
        """Load ``name:number`` from the registry (hash-checked, exact-type trust), with
        its reference profile."""
        from ..jsonutil import loads
        from ..registry import load_model

        version = store.get_version(name, number)
        model = load_model(f"{name}:{number}", store, trusted=trusted, allow_pickle=allow_pickle)
        if not hasattr(model, "predict"):
            raise IntegrityError(
                f"{name}:{number} is a {type(model).__name__}, which cannot predict"
            )
        profile = None
        if version.profile_sha256:
            try:
                profile = loads(store.get_artifact(version.profile_sha256).decode("utf-8"))
            except UnicodeDecodeError:
                raise IntegrityError(f"the profile of {name}:{number} is not text") from None
            except ValueError:
                raise IntegrityError(f"the profile of {name}:{number} is not JSON") from None
        return cls(version, model, profile)

    # -- inputs ---------------------------------------------------------------------

    def frame(self, rows: Rows) -> Any:
        """The rows as a DataFrame with the training columns and dtypes."""
        import numpy as np
        import pandas as pd

        data: dict[str, Any] = {}
        for column in self.schema.columns:
            values = rows.columns[column.name]
            if column.numeric or (column.kind == "bool" and not column.nullable):
                data[column.name] = np.array(values, dtype=column.dtype)
            elif column.kind == "datetime":
                data[column.name] = pd.to_datetime(values, utc="UTC" in column.dtype)
            else:
                data[column.name] = pd.array(values, dtype=_pandas_dtype(column.dtype))
        return pd.DataFrame(data, copy=False)

    def array(self, rows: Rows) -> Any:
        """The rows as one 2-D numpy array, columns in training order."""
        import numpy as np

        dtypes = [c.dtype for c in self.schema.columns]
        common = np.result_type(*dtypes) if self.schema.all_numeric else object
        stacked = [rows.columns[name] for name in self.schema.names]
        if len(stacked) == 1:
            return np.array(stacked[0], dtype=common).reshape(-1, 1)
        return np.array(stacked, dtype=common).T

    def _input(self, rows: Rows) -> Any:
        return self.array(rows) if self.uses_array else self.frame(rows)

    # -- predictions --------------------------------------------------------------------

    def predict(self, rows: Rows) -> Output:
        """Predictions (and class probabilities for a classifier) for checked rows.

        Raises
        ------
        SchemaMismatchError
            The estimator refused these values (a ``ValueError`` or
            ``TypeError`` from it, such as a missing value where it takes none).
        """
        data = self._input(rows)
        return self._run(data, rows.count)

    def _run(self, data: Any, count: int) -> Output:
        # No warnings.catch_warnings() here: it is not thread-safe and this is
        # the hot path. The serving process ignores NAMES_WARNING once, at
        # start (see quiet_names_warning).
        import numpy as np

        try:
            predictions = np.asarray(self.model.predict(data))
            probabilities = (
                None
                if self.classes is None
                else np.asarray(self.model.predict_proba(data), dtype="float64")
            )
        except (ValueError, TypeError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message = f"the model could not predict these rows: {type(exc).__name__}: {text}"
            raise SchemaMismatchError(message[:500], [message[:500]]) from None
        if predictions.ndim == 0 or len(predictions) != count:
            raise IntegrityError(
                f"{self.version.model}:{self.number} returned {predictions.shape} predictions "
                f"for {count} rows"
            )
        if probabilities is not None and probabilities.shape != (count, len(self.classes or [])):
            raise IntegrityError(
                f"{self.version.model}:{self.number} returned probabilities of shape "
                f"{probabilities.shape} for {count} rows and {len(self.classes or [])} classes"
            )
        return Output(predictions, probabilities)

    def check(self, rows: Rows) -> Output:
        """The smoke test before this version serves: predict ``rows`` and check the outputs.

        Also decides whether the array shortcut (see the module's docstring)
        may be used: only if it gives exactly what the frame gives.

        Raises
        ------
        IntegrityError, SchemaMismatchError
            The version cannot predict these rows, or returns something that
            is not one prediction per row.
        """
        if self.uses_array:
            return self._run(self.array(rows), rows.count)
        framed = self._run(self.frame(rows), rows.count)
        if self._array_candidate:
            try:
                with warnings.catch_warnings():
                    quiet_names_warning()
                    arrayed = self._run(self.array(rows), rows.count)
            except (SchemaMismatchError, IntegrityError):
                return framed
            framed_p, arrayed_p = framed.probabilities, arrayed.probabilities
            self.uses_array = _same(framed.predictions, arrayed.predictions) and (
                (framed_p is None and arrayed_p is None)
                or (framed_p is not None and arrayed_p is not None and _same(framed_p, arrayed_p))
            )
        return framed

    def sample_rows(self) -> Rows:
        """One plausible row for the smoke test, from the version's reference profile.

        Each column gets its training mean (rounded for integers, within its
        range) or its most frequent value; without a profile, a neutral value
        of its type.
        """
        described = {c["name"]: c for c in (self.profile or {}).get("columns", [])}
        values: dict[str, list[Any]] = {}
        for column in self.schema.columns:
            values[column.name] = [_typical(column.kind, described.get(column.name))]
        return Rows(values, 1)

    def outputs_json(self, output: Output) -> dict[str, Any]:
        """The response's prediction fields, as plain JSON values."""
        doc: dict[str, Any] = {"predictions": json_values(output.predictions)}
        if output.probabilities is not None:
            doc["probabilities"] = json_values(output.probabilities)
            doc["classes"] = self.classes
        return doc


def quiet_names_warning() -> None:
    """Ignore scikit-learn's warning about an array where a frame was fitted (see above).

    For the serving process, once: the array shortcut sends one on purpose.
    """
    warnings.filterwarnings("ignore", message=NAMES_WARNING, category=UserWarning)


def _typical(kind: str, described: dict[str, Any] | None) -> Any:
    if described:
        if described.get("kind") == "numeric" and described.get("mean") is not None:
            mean = float(described["mean"])
            low, high = described.get("min"), described.get("max")
            if low is not None and high is not None:
                mean = min(max(mean, float(low)), float(high))
            if kind == "int":
                return round(mean)
            if kind == "float":
                return mean
        values = described.get("values") or []
        if values:
            first = values[0]
            if kind in ("text", "any"):
                return str(first)
            if kind == "int":
                try:
                    return int(float(first))
                except ValueError:
                    pass
            if kind == "bool":
                return str(first).lower() == "true"
    return {
        "float": 0.0,
        "int": 0,
        "bool": False,
        "text": "",
        "datetime": "2000-01-01T00:00:00",
    }.get(kind, 0)


def _pandas_dtype(dtype: str) -> Any:
    if dtype == "object":
        return object
    return dtype


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _plain(values: Any) -> list[Any]:
    return json_values(values)


def json_values(values: Any) -> Any:
    """A numpy array (or scalar) as plain JSON values; NaN and infinities become ``None``."""
    listed = values.tolist() if hasattr(values, "tolist") else values
    return _finite(listed)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        if value and isinstance(value[0], float) and all(math.isfinite(v) for v in value):
            return value
        return [_finite(v) for v in value]
    return value
