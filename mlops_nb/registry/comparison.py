"""Two model versions side by side: what a pull request changes (``mlops-nb compare``).

:func:`compare_versions` compares a version under review (``new``) with a
baseline (``base``, typically ``NAME@production``): metrics with their
deltas (new − base), the training parameters that changed, the training
data's fingerprints and schema, each version's latest model test, drift
between the two training sets, and the diff of the two training notebooks'
code cells (from the base's to the new's).

Drift between training sets: each version stores a profile of its training
data, never the rows. The drift checks compare a batch with a profile, so
the new version's training set is rebuilt from its profile
(:func:`~mlops_nb.monitoring.drift.rebuild.frame_from_profile`: its
quantiles and category counts, at the profile's resolution) and checked
against the base version's profile, exactly as ``mlops-nb drift check``
checks a batch.

The code is the executed training notebook kept with the run that
registered a version (``mlops-nb run``); a version tracked in an
interactive session has the session's cells instead (see
:class:`~mlops_nb.tracking.comparison.Comparison`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError, NotFoundError
from .versions import resolve

if TYPE_CHECKING:
    from ..records import ModelTest, ModelVersion, Run
    from ..store import Store

#: What the drift section says it compares, in every report that has one.
DRIFT_METHOD = (
    "the new version's training set, rebuilt from its stored profile (256 quantiles per "
    "number, top 100 values per category), checked against the base version's profile "
    "with the drift checks of `mlops-nb drift check`"
)


@dataclass(frozen=True)
class VersionComparison:
    """The answer of :func:`compare_versions`; ``to_json()`` is ``mlops-nb compare --json``."""

    new_ref: str
    base_ref: str
    new: ModelVersion
    base: ModelVersion
    #: ``{name, new, base, delta}`` per metric either has (``None`` where one lacks it)
    metrics: list[dict[str, Any]]
    #: ``{name, new, base}`` per training parameter that differs
    params: list[dict[str, Any]]
    unchanged_params: int
    #: ``{new: {...}, base: {...}, same: bool}``: sha256, features and target sha256, rows
    data: dict[str, Any]
    #: ``{added: [{name, dtype}], removed: [...], changed: [{name, new, base}]}``
    schema: dict[str, list[dict[str, str]]]
    tests: dict[str, ModelTest | None]
    #: ``{method, drift, drift_share, share_threshold, rows, columns: [...], findings}``
    #: or ``{method, error}`` when a version has no profile
    drift: dict[str, Any]
    #: ``{new_source, base_source, new_run_id, base_run_id, lines, changed}``
    code: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether anything but the version number differs."""
        return bool(
            any(m["delta"] for m in self.metrics)
            or self.params
            or not self.data["same"]
            or any(self.schema.values())
            or self.code.get("changed")
        )

    def to_json(self) -> dict[str, Any]:
        def version(v: ModelVersion) -> dict[str, Any]:
            return {
                "model": v.model,
                "version": v.version,
                "run_id": v.run_id,
                "created_at": v.created_at,
                "aliases": list(v.aliases),
            }

        return {
            "new": {"ref": self.new_ref, **version(self.new)},
            "base": {"ref": self.base_ref, **version(self.base)},
            "metrics": self.metrics,
            "params": self.params,
            "unchanged_params": self.unchanged_params,
            "data": self.data,
            "schema": self.schema,
            "tests": {k: None if t is None else _test_json(t) for k, t in self.tests.items()},
            "drift": self.drift,
            "code": self.code,
        }

    def to_markdown(self) -> str:
        """The comparison as a markdown section (a pull-request comment, a job summary)."""
        from .comparison_markdown import render

        return render(self)


def compare_versions(store: Store, new_ref: str, base_ref: str) -> VersionComparison:
    """Compare ``new_ref`` with ``base_ref`` (``NAME:VERSION``, ``NAME@ALIAS`` or ``NAME``).

    Raises :class:`~mlops_nb.errors.NotFoundError` for a version that does
    not exist or an alias nobody holds.
    """
    new, base = resolve(store, new_ref), resolve(store, base_ref)
    new_run, base_run = _run(store, new), _run(store, base)
    params, unchanged = _params(new_run, base_run)
    return VersionComparison(
        new_ref=new_ref.strip(),
        base_ref=base_ref.strip(),
        new=new,
        base=base,
        metrics=_metrics(new.metrics, base.metrics),
        params=params,
        unchanged_params=unchanged,
        data=_data(new, base, new_run, base_run),
        schema=_schema(new.signature, base.signature),
        tests={
            "new": store.latest_model_test(new.model, new.version),
            "base": store.latest_model_test(base.model, base.version),
        },
        drift=_drift(store, new, base),
        code=_code(store, new_run, base_run),
    )


def _run(store: Store, version: ModelVersion) -> Run | None:
    if version.run_id is None:
        return None
    try:
        return store.get_run(version.run_id)
    except NotFoundError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metrics(new: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(new) | set(base)):
        a, b = new.get(name), base.get(name)
        delta = float(a) - float(b) if _number(a) and _number(b) else None  # type: ignore[arg-type]
        out.append({"name": name, "new": a, "base": b, "delta": delta})
    return out


def _params(new: Run | None, base: Run | None) -> tuple[list[dict[str, Any]], int]:
    a = new.params if new else {}
    b = base.params if base else {}
    missing = object()
    changed, same = [], 0
    for name in sorted(set(a) | set(b)):
        x, y = a.get(name, missing), b.get(name, missing)
        if x == y:
            same += 1
        else:
            changed.append(
                {
                    "name": name,
                    "new": None if x is missing else x,
                    "base": None if y is missing else y,
                    "in": "both" if missing not in (x, y) else ("new" if y is missing else "base"),
                }
            )
    return changed, same


def _data(
    new: ModelVersion, base: ModelVersion, new_run: Run | None, base_run: Run | None
) -> dict[str, Any]:
    def facts(version: ModelVersion, run: Run | None) -> dict[str, Any]:
        data = run.data if run else {}
        return {
            "sha256": version.data_sha256 or data.get("sha256"),
            "features_sha256": data.get("features_sha256"),
            "target_sha256": data.get("target_sha256"),
            "rows": data.get("rows"),
            "columns": data.get("columns"),
        }

    a, b = facts(new, new_run), facts(base, base_run)
    return {"new": a, "base": b, "same": a["sha256"] is not None and a["sha256"] == b["sha256"]}


def _schema(new: list[dict[str, str]], base: list[dict[str, str]]) -> dict[str, list[Any]]:
    a = {c["name"]: c["dtype"] for c in new}
    b = {c["name"]: c["dtype"] for c in base}
    return {
        "added": [{"name": n, "dtype": a[n]} for n in a if n not in b],
        "removed": [{"name": n, "dtype": b[n]} for n in b if n not in a],
        "changed": [{"name": n, "new": a[n], "base": b[n]} for n in a if n in b and a[n] != b[n]],
    }


def _drift(store: Store, new: ModelVersion, base: ModelVersion) -> dict[str, Any]:
    from ..monitoring.drift.engine import check_frame
    from ..monitoring.drift.rebuild import frame_from_profile
    from ..monitoring.monitor import load_profile

    try:
        reference = load_profile(store, base)
        rebuilt = frame_from_profile(load_profile(store, new))
    except MlopsError as exc:  # no profile kept, or its file is gone or altered
        return {"method": DRIFT_METHOD, "error": str(exc)}
    report = check_frame(reference, rebuilt, model=base.model, version=base.version)
    columns = [
        {
            "column": c.column,
            "drift": c.drift,
            "method": c.method,
            "statistic": c.statistic,
            "threshold": c.threshold,
            "testable": c.testable,
        }
        for c in report.columns
    ]
    return {
        "method": DRIFT_METHOD,
        "drift": report.drift,
        "drift_share": report.drift_share,
        "share_threshold": report.share_threshold,
        "rows": report.rows,
        "columns": columns,
        "findings": [f for f in report.findings if f.get("check") == "schema"],
    }


def _code(store: Store, new_run: Run | None, base_run: Run | None) -> dict[str, Any]:
    from ..tracking.comparison import Comparison

    if new_run is None or base_run is None:
        return {"new_source": None, "base_source": None, "lines": [], "changed": False}
    new_code, base_code = _training_run(store, new_run), _training_run(store, base_run)
    diff = Comparison(store, [base_code, new_code]).code_diffs()
    if not diff:  # one run registered both versions: no difference in code
        try:
            source = Comparison(store, [base_code]).code(base_code)[0]
        except (NotFoundError, ValueError):  # a file erased or not JSON: no code to show
            source = None
        return {
            "new_source": source,
            "base_source": source,
            "new_run_id": new_code.run_id,
            "base_run_id": base_code.run_id,
            "lines": [],
            "changed": False,
        }
    found = diff[0]
    return {
        "new_source": found.source,
        "base_source": found.against_source,
        "new_run_id": new_code.run_id,
        "base_run_id": base_code.run_id,
        "lines": found.lines,
        "changed": found.changed,
    }


def _training_run(store: Store, run: Run) -> Run:
    """The notebook run ``run`` was tracked in (its executed notebook), else ``run`` itself."""
    if run.parent_run_id:
        try:
            parent = store.get_run(run.parent_run_id)
        except NotFoundError:
            return run
        if parent.kind == "notebook" and parent.output_sha256:
            return parent
    return run


def _test_json(test: ModelTest) -> dict[str, Any]:
    return {
        "passed": test.passed,
        "suite": test.suite,
        "at": test.at,
        "run_id": test.run_id,
        "against": test.against,
        "against_version": test.against_version,
        "checks": [c.to_json() for c in test.checks],
    }
