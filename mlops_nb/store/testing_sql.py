"""SQL for model tests: each suite run against a version (mixed into :class:`Store`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..jsonutil import loads, utcnow
from ..records import CheckResult, ModelTest
from . import schema as t
from .base import StoreBase, limited


class TestingSQL(StoreBase):
    def record_model_test(
        self, fields: dict[str, Any], actor: str, run: dict[str, Any] | None = None
    ) -> ModelTest:
        """Record one suite's outcome (``test.recorded``), with its run when given.

        ``run`` is the row of a run to insert in the same transaction (the run
        of kind ``test`` of a YAML suite), so the outcome and the run it names
        are written together or not at all.
        """
        with self.transaction() as conn:
            if run is not None:
                self.insert_run(run, actor)  # type: ignore[attr-defined]
            fields = {**fields, "actor": actor, "at": fields.get("at") or utcnow()}
            row = self._insert(conn, t.model_tests, fields, "test.recorded", actor)
        return _to_test(row)

    def model_tests(
        self, model: str, version: int | None = None, limit: int | None = None
    ) -> list[ModelTest]:
        """Recorded test runs of a model (of one version), newest first."""
        cond = t.model_tests.c.model == model
        if version is not None:
            cond = cond & (t.model_tests.c.version == version)
        query = limited(
            sa.select(t.model_tests).where(cond).order_by(t.model_tests.c.id.desc()), limit
        )
        with self.read() as conn:
            return [_to_test(r._mapping) for r in conn.execute(query)]

    def latest_model_test(self, model: str, version: int) -> ModelTest | None:
        """The newest test run of ``model:version``, or ``None`` if it was never tested."""
        found = self.model_tests(model, version, limit=1)
        return found[0] if found else None


def _to_test(row: Any) -> ModelTest:
    checks = row["checks"]
    checks = loads(checks, []) if isinstance(checks, str) else checks
    return ModelTest(
        model=row["model"],
        version=row["version"],
        passed=bool(row["passed"]),
        checks=[CheckResult(c["name"], bool(c["passed"]), c["detail"]) for c in checks],
        run_id=row["run_id"],
        suite=row["suite"],
        suite_kind=row["suite_kind"],
        suite_sha256=row["suite_sha256"],
        at=row["at"],
        actor=row["actor"],
        against=row["against"],
        against_version=row["against_version"],
        id=row["id"],
    )
