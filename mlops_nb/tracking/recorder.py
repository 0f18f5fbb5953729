"""Recording training runs.

:func:`track` opens a run, lets the caller train, and on leaving records
parameters, metrics, the fitted estimator as a new model version, the
training data's fingerprint and schema, the environment, the git state and
the notebook context. A failure inside the block records a failed run and
re-raises; nothing is left "running" by a block that ended.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any, Literal

from .. import environment
from ..errors import InvalidInputError, MlopsError
from ..jsonutil import canonical, jsonable, utcnow
from ..records import ModelVersion, Run
from ..registry import serialization
from ..registry.names import check_model_name
from ..store import faults
from ..text import check_label, check_tags
from . import context, fingerprint

if TYPE_CHECKING:  # the store pulls in SQLAlchemy; import it only when used
    from ..store import Store

_local = threading.local()


def _stack() -> list[ActiveRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_run() -> ActiveRun | None:
    """The innermost run open in this thread, if any."""
    stack = _stack()
    return stack[-1] if stack else None


def check_data(data: Any, what: str = "data") -> Any:
    """Accept a DataFrame, Series or numpy array; explain anything else."""
    kind = type(data).__module__.split(".")[0]
    if kind in ("pandas", "numpy") and hasattr(data, "shape"):
        return data
    raise InvalidInputError(
        f"{what} must be a pandas DataFrame, Series or numpy array, not {type(data).__name__}"
    )


def check_estimator(model: Any, what: str = "model") -> Any:
    """Accept a fitted scikit-learn-style estimator; explain anything else."""
    if not hasattr(model, "fit") or not (hasattr(model, "predict") or hasattr(model, "transform")):
        raise InvalidInputError(
            f"{what} is a {type(model).__name__}, not a scikit-learn estimator (it needs fit and "
            "predict or transform)"
        )
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(model, base.BaseEstimator):
        return model  # not a scikit-learn estimator; its fit/predict will do
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        raise InvalidInputError(f"{what} ({type(model).__name__}) is not fitted yet") from None
    return model


def finite_metrics(values: dict[str, Any], strict: bool) -> tuple[dict[str, float], list[str]]:
    """Keep finite real numbers; in strict mode anything else is an error."""
    kept: dict[str, float] = {}
    notes: list[str] = []
    for key, value in values.items():
        number = as_number(value)
        if number is None or not math.isfinite(number):
            message = f"metric {key!r} is {value!r}, not a finite number"
            if strict:
                raise InvalidInputError(message)
            notes.append(message + "; not recorded")
            continue
        kept[str(key)] = number
    return kept, notes


def as_number(value: Any) -> float | None:
    """A real number as float (numpy scalars included, bools excluded), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        inner = item()
        return (
            None if isinstance(inner, bool) or not isinstance(inner, (int, float)) else float(inner)
        )
    return None


class ActiveRun:
    """A run being recorded; returned by :func:`track`.

    Attributes set after the block ends: ``run`` (the stored
    :class:`~mlops_nb.records.Run`), ``version`` (the new
    :class:`~mlops_nb.records.ModelVersion` or ``None``) and ``notes``
    (anything worth telling the user, such as metrics that were skipped).
    """

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        model: Any = None,
        data: Any = None,
        target: Any = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        register: bool = True,
        serializer: str = "skops",
        source: list[str] | None = None,
        code: str | None = None,
        profile: bool = True,
        holdout: tuple[Any, Any] | None = None,
    ) -> None:
        self.store = store
        self.name = check_model_name(name)
        if serializer not in serialization.FORMATS:
            raise InvalidInputError(f"serializer must be one of {serialization.FORMATS}")
        self.register = register
        self.profile = profile
        self.serializer = serializer
        self.run_id = uuid.uuid4().hex
        self.params: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.tags: dict[str, str] = check_tags(tags)
        self.model: Any = None
        self.data: Any = None
        self.target: Any = None
        self.holdout: tuple[Any, Any] | None = None
        self.source = list(source or [])
        self.code = code
        self.notes: list[str] = []
        self.run: Run | None = None
        self.version: ModelVersion | None = None
        self._env: dict[str, Any] = {}
        self._env_thread: threading.Thread | None = None
        self.log_params(params or {})
        self.log_metrics(metrics or {})
        if model is not None:
            self.set_model(model)
        if data is not None:
            self.set_data(data, target)
        if holdout is not None:
            self.set_holdout(*_pair(holdout))

    # -- what the block can record ----------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        for key, value in params.items():
            try:
                self.params[str(key)] = jsonable(value)
            except (TypeError, ValueError):
                self.params[str(key)] = repr(value)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_metrics(self, metrics: dict[str, Any], *, strict: bool = True) -> None:
        kept, notes = finite_metrics(metrics, strict)
        self.metrics.update(kept)
        self.notes.extend(notes)

    def log_metric(self, key: str, value: Any) -> None:
        self.log_metrics({key: value})

    def set_model(self, model: Any) -> None:
        self.model = check_estimator(model)

    def set_data(self, data: Any, target: Any = None) -> None:
        self.data = check_data(data, "training data")
        if target is not None:
            self.target = check_data(target, "target")
            if len(self.target) != len(self.data):
                raise InvalidInputError(
                    f"target has {len(self.target)} rows but the training data has {len(self.data)}"
                )

    def set_holdout(self, data: Any, target: Any) -> None:
        """Rows kept out of training, with their labels: a classifier's probabilities are
        calibrated on them and the map stored with the version, for label-free estimates
        of its performance in later drift checks (see :mod:`mlops_nb.monitoring.estimate`)."""
        data, target = check_data(data, "holdout data"), check_data(target, "holdout target")
        if len(target) != len(data):
            raise InvalidInputError(
                f"holdout target has {len(target)} rows but the holdout data has {len(data)}"
            )
        self.holdout = (data, target)

    def record(self, key: str, value: Any) -> None:
        """Attach a JSON value to this run now (readable by later pipeline steps)."""
        record_value(self.store, self.run_id, key, value)

    # -- lifecycle ----------------------------------------------------------

    def __enter__(self) -> ActiveRun:
        context.check_parent_store(self.store)
        recover_orphans(self.store)
        self._env_thread = threading.Thread(target=self._capture_env, daemon=True)
        self._env_thread.start()
        notebook_path, notebook_sha = context.notebook_file()
        stack = _stack()
        parent = stack[-1].run_id if stack else context.parent_run_id()
        self.store.insert_run(
            {
                "run_id": self.run_id,
                "kind": "track",
                "name": self.name,
                "status": "running",
                "started_at": utcnow(),
                "parent_run_id": parent,
                "params": self.params,
                "tags": self.tags,
                "notebook_path": notebook_path,
                "input_sha256": notebook_sha,
                "pid": os.getpid(),
                "host": socket.gethostname(),
            },
            environment.actor(),
        )
        faults.point("track", 1)
        stack.append(self)
        return self

    def _capture_env(self) -> None:
        try:
            self._env = {"environment": environment.capture(), "git": environment.git_info()}
        except Exception as exc:  # never let provenance capture break training
            self._env = {"environment": {"error": str(exc)}, "git": {}}

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> Literal[False]:
        stack = _stack()
        if self in stack:
            stack.remove(self)
        if exc is not None:
            error = (
                "interrupted"
                if isinstance(exc, KeyboardInterrupt)
                else f"{type(exc).__name__}: {exc}"
            )
            self._finish("failed", error)
            return False
        try:
            self._finish("finished", None)
        except MlopsError as err:
            self._finish("failed", f"{type(err).__name__}: {err}", record_outputs=False)
            raise
        return False

    def _finish(self, status: str, error: str | None, record_outputs: bool = True) -> None:
        """Record the run's outcome: compute, store the files, then one transaction.

        Everything slow (fingerprints, the profile, serialising the model)
        happens before the store's write lock is taken; the files go in next
        (content-addressed, so a crash leaves at worst an unreferenced file);
        then the version, the run's final state and the rows of its files
        commit together, so a run is never "finished" without its version,
        nor a version registered whose run says otherwise.
        """
        if self._env_thread is not None:
            self._env_thread.join(timeout=30)
        actor = environment.actor()
        data_info: dict[str, Any] = {}
        files: list[tuple[str, bytes]] = []  # (kind, bytes), stored before the transaction
        model_blob = None
        if status == "finished" and record_outputs:
            profile_blob = None
            # One after the other: run side by side in threads, the hashing and
            # the profile's many short numpy calls queue for the GIL and take
            # longer together than in turn (measured: bench/tracking.py).
            data_info = self._data_info()
            if self.data is not None and self.profile:
                profile_blob = self._profile()
            if profile_blob is not None:
                files.append(("profile", profile_blob))
            if self.holdout is not None and self.model is not None:
                calibration_blob = self._calibration()
                if calibration_blob is not None:
                    files.append(("calibration", calibration_blob))
            if self.register and self.model is not None:
                model_blob = serialization.dump(self.model, self.serializer)
                files.append(("model", model_blob))
            elif self.register:
                self.notes.append("no fitted estimator found: no model version registered")
        if self.source or self.code:
            source = canonical({"cells": self.source, "tracked_cell": self.code}).encode()
            files.append(("source", source))
        stored = {kind: self.store.artifacts.write(blob)[0] for kind, blob in files}
        faults.point("track", 2)
        if "profile" in stored:
            data_info["profile_sha256"] = stored["profile"]
        if "calibration" in stored:
            data_info["calibration_sha256"] = stored["calibration"]
        git = self._env.get("git", {})
        with self.store.transaction():
            for kind, blob in files:
                self.store.record_artifact(stored[kind], len(blob), kind, actor)
            if model_blob is not None:
                self._register(stored["model"], data_info, actor)
                faults.point("track", 3)
            self.store.update_run(
                self.run_id,
                {
                    "status": status,
                    "ended_at": utcnow(),
                    "params": self.params,
                    "metrics": self.metrics,
                    "tags": self.tags,
                    "data": data_info,
                    "environment": self._env.get("environment", {}),
                    "git_commit": git.get("commit"),
                    "git_dirty": git.get("dirty"),
                    "source_sha256": stored.get("source"),
                    "error": error,
                },
                actor,
            )
        faults.point("track", 4)
        self.run = self.store.get_run(self.run_id)

    def _data_info(self) -> dict[str, Any]:
        if self.data is None:
            return {}
        features = fingerprint.fingerprint(self.data)
        info: dict[str, Any] = {
            "features_sha256": features,
            "rows": int(self.data.shape[0]),
            "columns": int(self.data.shape[1]) if self.data.ndim == 2 else 1,
            "schema": fingerprint.schema(self.data),
            "sha256": features,
        }
        if self.target is not None:
            target = fingerprint.fingerprint(self.target)
            info["target_sha256"] = target
            info["target"] = fingerprint.schema(self.target)[0]
            from ..store.artifacts import sha256_bytes

            info["sha256"] = sha256_bytes(f"{features}\n{target}".encode())
        return info

    def _register(self, model_sha: str, data_info: dict[str, Any], actor: str) -> None:
        cls = type(self.model)
        self.version = self.store.create_version(
            {
                "model": self.name,
                "run_id": self.run_id,
                "artifact_sha256": model_sha,
                "format": self.serializer,
                "estimator": f"{cls.__module__}.{cls.__qualname__}",
                "signature": data_info.get("schema", []),
                "metrics": self.metrics,
                "data_sha256": data_info.get("sha256"),
                "profile_sha256": data_info.get("profile_sha256"),
            },
            actor,
        )

    def _profile(self) -> bytes:
        """The drift reference profile of the training data (and outputs), serialised."""
        import pandas as pd

        from ..monitoring.drift.profile import importance_of, model_outputs, profile

        if isinstance(self.data, pd.DataFrame):
            frame = self.data
        elif isinstance(self.data, pd.Series):
            frame = self.data.to_frame()
        else:  # a numpy array: columns are named by position, as in the signature
            frame = pd.DataFrame(self.data.reshape(len(self.data), -1)).rename(columns=str)
        predictions, task = None, None
        if self.model is not None:
            try:
                predictions, task = model_outputs(self.model, self.data)
            except Exception as exc:  # a model that cannot predict its own data
                self.notes.append(f"predictions not profiled: {type(exc).__name__}: {exc}")
        sketch = profile(
            frame,
            target=self.target,
            predictions=predictions,
            task=task,
            importance=importance_of(
                self.model, [str(c) for c in frame.columns], frame, self.target
            )
            if self.model is not None
            else None,
            workers=1,
        )
        return canonical(sketch.to_json()).encode()

    def _calibration(self) -> bytes | None:
        """The holdout calibration map, serialised (``None``, with a note, when there is none)."""
        from ..monitoring.estimate import calibration

        assert self.holdout is not None
        try:
            doc, why = calibration(self.model, *self.holdout)
        except Exception as exc:  # odd labels or outputs: never let the calibration lose the run
            doc, why = None, f"no holdout calibration: {type(exc).__name__}: {exc}"
        if doc is None:
            self.notes.append(why)
            return None
        return canonical(doc).encode()

    # -- display ------------------------------------------------------------

    def _repr_html_(self) -> str:
        from ..display import run_summary_html

        return run_summary_html(self)

    def __repr__(self) -> str:
        from ..display import run_summary_text

        return run_summary_text(self)


def _pair(holdout: Any) -> tuple[Any, Any]:
    if not isinstance(holdout, (tuple, list)) or len(holdout) != 2:
        raise InvalidInputError("holdout must be a pair (features, labels), e.g. (X_test, y_test)")
    return holdout[0], holdout[1]


def track(store: Store, name: str, **options: Any) -> ActiveRun:
    """Open a run on ``store``; use as a context manager (see :class:`ActiveRun`)."""
    return ActiveRun(store, name, **options)


def record_value(store: Store, run_id: str, key: str, value: Any) -> None:
    """Attach a JSON value to a run, with a precise error for values JSON can't hold."""
    key = check_label(key, "a recorded value's key")
    try:
        clean = jsonable(value)
        canonical(clean)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"cannot record {key!r}: {exc}") from None
    context.check_parent_store(store)
    store.set_run_value(run_id, key, clean, environment.actor())


def recover_orphans(store: Store) -> list[str]:
    """Mark runs of this host whose process is gone as failed; return their ids."""
    host = socket.gethostname()
    ended = []
    for run in store.running_runs(host):
        pid = run["pid"]
        if pid and not environment.process_alive(pid):
            store.update_run(
                run["run_id"],
                {
                    "status": "failed",
                    "ended_at": utcnow(),
                    "error": f"process {pid} on {host} ended without finishing the run",
                },
                environment.actor(),
            )
            ended.append(run["run_id"])
    return ended
