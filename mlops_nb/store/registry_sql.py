"""SQL for models, versions and aliases (mixed into :class:`Store`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..errors import NotFoundError
from ..jsonutil import canonical, loads, utcnow
from ..records import AliasChange, AliasRefusal, ModelVersion
from . import faults
from . import schema as t
from .base import StoreBase


class RegistrySQL(StoreBase):
    def create_version(self, fields: dict[str, Any], actor: str) -> ModelVersion:
        """Register the next version number of ``fields['model']``."""
        from .base import full_row, row_snapshot

        model = fields["model"]
        with self.write() as conn:
            now = utcnow()
            if (
                conn.execute(sa.select(t.models.c.name).where(t.models.c.name == model)).first()
                is None
            ):
                # No event of its own: audit verify derives this row from the
                # first version (schema.DERIVED), so it carries that version's time.
                conn.execute(t.models.insert().values(name=model, created_at=now))
            last = conn.execute(
                sa.select(sa.func.max(t.model_versions.c.version)).where(
                    t.model_versions.c.model == model
                )
            ).scalar()
            row = full_row(
                t.model_versions,
                {
                    **fields,
                    "version": (last or 0) + 1,
                    "created_at": now,
                    "created_by": actor,
                    "signature": canonical(fields.get("signature") or []),
                    "metrics": canonical(fields.get("metrics") or {}),
                },
            )
            seq = self.append_event(
                conn, "version.created", f"{model}:{row['version']}", row_snapshot(row), actor
            )
            conn.execute(t.model_versions.insert().values(**row, event_seq=seq))
            return self._version(conn, model, row["version"])

    def annotate_version(
        self,
        model: str,
        version: int,
        change: Callable[[ModelVersion], tuple[str | None, dict[str, str]]],
        actor: str,
    ) -> tuple[ModelVersion, dict[str, Any]]:
        """Set a version's description and tags to what ``change`` makes of the version.

        ``change`` is called under the write lock with the version as stored and
        returns its new description and tags (``None`` and ``{}`` for none); it
        may raise to refuse. The event ``version.annotated`` records the whole row
        as the other version events do, and under ``_changes`` each field that
        changed, ``{"from": old, "to": new}`` (tags key by key). Returns the
        version as it now is, and those changes (empty: nothing changed, no
        event written).
        """
        from .base import row_snapshot

        with self.write() as conn:
            before = self._version(conn, model, version)
            description, tags = change(before)
            changes: dict[str, Any] = {}
            if description != before.description:
                changes["description"] = {"from": before.description, "to": description}
            moved = {
                key: {"from": before.tags.get(key), "to": tags.get(key)}
                for key in sorted(set(before.tags) | set(tags))
                if before.tags.get(key) != tags.get(key)
            }
            if moved:
                changes["tags"] = moved
            if not changes:
                return before, {}
            where = (t.model_versions.c.model == model) & (t.model_versions.c.version == version)
            values = {"description": description, "tags": canonical(tags) if tags else None}
            row = conn.execute(sa.select(t.model_versions).where(where)).one()
            payload = {**row_snapshot(row), **row_snapshot(values), "_changes": changes}
            seq = self.append_event(conn, "version.annotated", f"{model}:{version}", payload, actor)
            conn.execute(t.model_versions.update().where(where).values(**values, event_seq=seq))
            return self._version(conn, model, version), changes

    def get_version(self, model: str, version: int) -> ModelVersion:
        with self.read() as conn:
            return self._version(conn, model, version)

    def latest_version(self, model: str) -> ModelVersion:
        with self.read() as conn:
            self._require_model(conn, model)
            last = conn.execute(
                sa.select(sa.func.max(t.model_versions.c.version)).where(
                    t.model_versions.c.model == model
                )
            ).scalar()
            if last is None:
                raise NotFoundError(f"model {model!r} has no versions")
            return self._version(conn, model, int(last))

    def list_versions(self, model: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        with self.read() as conn:
            self._require_model(conn, model)
            rows = conn.execute(
                sa.select(t.model_versions)
                .where(t.model_versions.c.model == model)
                .order_by(t.model_versions.c.version)
            ).all()
            held = self._aliases_by_version(conn, model)
        return [_to_version(r, held.get(r.version, [])) for r in rows]

    def versions_by_model(self) -> dict[str, list[ModelVersion]]:
        """Every version of every model, oldest first per model, in two queries.

        For listings of the whole registry (the panel's Models tab), where
        :meth:`list_versions` once per model would be a query per model.
        """
        with self.read() as conn:
            rows = conn.execute(
                sa.select(t.model_versions).order_by(
                    t.model_versions.c.model, t.model_versions.c.version
                )
            ).all()
            held: dict[tuple[str, int], list[str]] = {}
            for a in conn.execute(
                sa.select(t.aliases).order_by(t.aliases.c.model, t.aliases.c.alias)
            ):
                held.setdefault((a.model, a.version), []).append(a.alias)
        out: dict[str, list[ModelVersion]] = {}
        # A model's versions mostly share one schema: each distinct text is decoded
        # once (the records are frozen, and to_json copies, so sharing is safe).
        seen: dict[str, Any] = {}
        for r in rows:
            aliases = held.get((r.model, r.version), [])
            out.setdefault(r.model, []).append(_to_version(r, aliases, seen))
        return out

    def list_models(self) -> list[dict[str, Any]]:
        """One summary per model: name, versions, latest version, aliases."""
        with self.read() as conn:
            counts = conn.execute(
                sa.select(
                    t.models.c.name,
                    t.models.c.created_at,
                    sa.func.count(t.model_versions.c.version).label("versions"),
                    sa.func.max(t.model_versions.c.version).label("latest"),
                    sa.func.max(t.model_versions.c.created_at).label("updated_at"),
                )
                .select_from(
                    t.models.outerjoin(
                        t.model_versions, t.model_versions.c.model == t.models.c.name
                    )
                )
                .group_by(t.models.c.name, t.models.c.created_at)
                .order_by(t.models.c.name)
            ).all()
            alias_rows = conn.execute(sa.select(t.aliases)).all()
        by_model: dict[str, dict[str, int]] = {}
        for a in alias_rows:
            by_model.setdefault(a.model, {})[a.alias] = a.version
        return [
            {
                "name": r.name,
                "created_at": r.created_at,
                "versions": r.versions,
                "latest_version": r.latest,
                "updated_at": r.updated_at,
                "aliases": dict(sorted(by_model.get(r.name, {}).items())),
            }
            for r in counts
        ]

    def alias_holder(self, model: str, alias: str) -> ModelVersion | None:
        with self.read() as conn:
            self._require_model(conn, model)
            row = conn.execute(
                sa.select(t.aliases.c.version).where(
                    (t.aliases.c.model == model) & (t.aliases.c.alias == alias)
                )
            ).first()
            return None if row is None else self._version(conn, model, row.version)

    def change_alias(
        self,
        model: str,
        alias: str,
        to_version: int,
        *,
        action: str,
        actor: str,
        reason: str | None = None,
        run_id: str | None = None,
        gate: str | None = None,
    ) -> AliasChange:
        """Move ``alias`` to ``to_version`` atomically, keeping the change forever.

        Whoever decides the move (a gate, the holder stack of a rollback) reads
        and calls this inside one :meth:`transaction`, so no other writer can
        move the alias between the decision and the change.
        """
        from .base import row_snapshot

        with self.write() as conn:
            self._require_model(conn, model)
            target = int(to_version)
            self._version(conn, model, target)  # NotFoundError for an unknown version
            current_row = conn.execute(
                sa.select(t.aliases.c.version).where(
                    (t.aliases.c.model == model) & (t.aliases.c.alias == alias)
                )
            ).first()
            row = {
                "model": model,
                "alias": alias,
                "action": action,
                "from_version": None if current_row is None else current_row.version,
                "to_version": target,
                "at": utcnow(),
                "actor": actor,
                "reason": reason,
                "run_id": run_id,
                "gate": gate,
            }
            next_id = (conn.execute(sa.select(sa.func.max(t.alias_changes.c.id))).scalar() or 0) + 1
            row["id"] = next_id
            seq = self.append_event(
                conn, "alias.changed", f"{model}@{alias}", row_snapshot(row), actor
            )
            conn.execute(t.alias_changes.insert().values(**row, event_seq=seq))
            faults.point("alias", 1)
            where = (t.aliases.c.model == model) & (t.aliases.c.alias == alias)
            conn.execute(t.aliases.delete().where(where))
            conn.execute(
                t.aliases.insert().values(
                    model=model, alias=alias, version=target, set_at=row["at"], change_id=next_id
                )
            )
            faults.point("alias", 2)
            return _to_change(row)

    def record_refusal(self, fields: dict[str, Any], actor: str) -> AliasRefusal:
        """Keep a refused move of an alias (an audited row; the alias stays where it is).

        ``fields``: ``model``, ``alias``, ``from_version`` (the holder then),
        ``to_version`` (the version refused), ``gate``, ``failures`` and
        optionally ``reason`` and ``run_id``.
        """
        with self.write() as conn:
            self._require_model(conn, fields["model"])
            row = self._insert(
                conn,
                t.alias_refusals,
                {"action": "promote", "at": utcnow(), "actor": actor, **fields},
                "alias.refused",
                actor,
            )
        return _to_refusal(row)

    def alias_refusals(self, model: str, alias: str | None = None) -> list[AliasRefusal]:
        """Every refused move of a model's aliases, oldest first."""
        table = t.alias_refusals
        with self.read() as conn:
            self._require_model(conn, model)
            cond = table.c.model == model
            if alias is not None:
                cond = cond & (table.c.alias == alias)
            rows = conn.execute(sa.select(table).where(cond).order_by(table.c.id)).all()
        return [_to_refusal(r._mapping) for r in rows]

    def alias_changes(self, model: str, alias: str | None = None) -> list[AliasChange]:
        """Every change of a model's aliases, oldest first."""
        with self.read() as conn:
            self._require_model(conn, model)
            return self._changes(conn, model, alias)

    def every_alias_record(self) -> tuple[list[AliasChange], list[AliasRefusal]]:
        """The changes and the refusals of every model's aliases, each oldest first.

        Two queries for the whole registry; :meth:`alias_changes` and
        :meth:`alias_refusals` answer for one model.
        """
        with self.read() as conn:
            changes = conn.execute(sa.select(t.alias_changes).order_by(t.alias_changes.c.id))
            moves = [_to_change(r._mapping) for r in changes]
            refused = conn.execute(sa.select(t.alias_refusals).order_by(t.alias_refusals.c.id))
            refusals = [_to_refusal(r._mapping) for r in refused]
        return moves, refusals

    def alias_change_at(self, model: str, alias: str, at: str) -> AliasChange | None:
        """The change that put the holder of ``alias`` in place as of time ``at``."""
        with self.read() as conn:
            self._require_model(conn, model)
            row = conn.execute(
                sa.select(t.alias_changes)
                .where(
                    (t.alias_changes.c.model == model)
                    & (t.alias_changes.c.alias == alias)
                    & (t.alias_changes.c.at <= at)
                )
                .order_by(t.alias_changes.c.at.desc(), t.alias_changes.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else _to_change(row._mapping)

    # -- helpers ----------------------------------------------------------

    def _require_model(self, conn: sa.Connection, model: str) -> None:
        if conn.execute(sa.select(t.models.c.name).where(t.models.c.name == model)).first() is None:
            raise NotFoundError(f"no model named {model!r}")

    def _version(self, conn: sa.Connection, model: str, version: int) -> ModelVersion:
        row = conn.execute(
            sa.select(t.model_versions).where(
                (t.model_versions.c.model == model) & (t.model_versions.c.version == version)
            )
        ).first()
        if row is None:
            self._require_model(conn, model)
            raise NotFoundError(f"model {model!r} has no version {version}")
        held = self._aliases_by_version(conn, model)
        return _to_version(row, held.get(version, []))

    def _aliases_by_version(self, conn: sa.Connection, model: str) -> dict[int, list[str]]:
        held: dict[int, list[str]] = {}
        for a in conn.execute(
            sa.select(t.aliases).where(t.aliases.c.model == model).order_by(t.aliases.c.alias)
        ):
            held.setdefault(a.version, []).append(a.alias)
        return held

    def _changes(self, conn: sa.Connection, model: str, alias: str | None) -> list[AliasChange]:
        cond = t.alias_changes.c.model == model
        if alias is not None:
            cond = cond & (t.alias_changes.c.alias == alias)
        rows = conn.execute(
            sa.select(t.alias_changes).where(cond).order_by(t.alias_changes.c.id)
        ).all()
        return [_to_change(r._mapping) for r in rows]


def _to_version(row: Any, aliases: list[str], seen: dict[str, Any] | None = None) -> ModelVersion:
    def decoded(text: str, default: Any) -> Any:
        if seen is None or not text:  # the default is the caller's own, never shared
            return loads(text, default)
        if text not in seen:
            seen[text] = loads(text, default)
        return seen[text]

    return ModelVersion(
        model=row.model,
        version=row.version,
        run_id=row.run_id,
        created_at=row.created_at,
        created_by=row.created_by,
        artifact_sha256=row.artifact_sha256,
        format=row.format,
        estimator=row.estimator,
        signature=decoded(row.signature, []),
        metrics=decoded(row.metrics, {}),
        data_sha256=row.data_sha256,
        aliases=list(aliases),
        profile_sha256=row.profile_sha256,
        description=row.description,
        tags=decoded(row.tags, {}) if row.tags else {},
    )


def _to_refusal(row: Any) -> AliasRefusal:
    failures = row["failures"]
    return AliasRefusal(
        id=row["id"],
        model=row["model"],
        alias=row["alias"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        at=row["at"],
        actor=row["actor"],
        gate=row["gate"],
        failures=loads(failures, []) if isinstance(failures, str) else list(failures),
        reason=row["reason"],
        run_id=row["run_id"],
    )


def _to_change(row: Any) -> AliasChange:
    return AliasChange(
        id=row["id"],
        model=row["model"],
        alias=row["alias"],
        action=row["action"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        at=row["at"],
        actor=row["actor"],
        reason=row["reason"],
        run_id=row["run_id"],
        gate=row["gate"],
    )
