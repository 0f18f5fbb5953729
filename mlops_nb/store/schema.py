"""Tables and ordered schema migrations.

Columns use portable types only (text, integer, float): JSON is stored as
text and times as ISO-8601 UTC strings with microseconds, which sort
correctly as text. Migrations are applied in order inside one write
transaction; ``schema_version`` records the ones that ran. A migration is
never edited once released: a change is a new, numbered migration.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False, unique=True),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # "track" | "notebook"
    sa.Column("name", sa.Text, nullable=True),  # model name, or notebook file name
    sa.Column("status", sa.Text, nullable=False),  # running | finished | failed
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("ended_at", sa.Text, nullable=True),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("parent_run_id", sa.Text, nullable=True),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    sa.Column("environment", sa.Text, nullable=False, server_default="{}"),
    sa.Column("git_commit", sa.Text, nullable=True),
    sa.Column("git_dirty", sa.Integer, nullable=True),
    sa.Column("notebook_path", sa.Text, nullable=True),
    sa.Column("input_sha256", sa.Text, nullable=True),
    sa.Column("output_sha256", sa.Text, nullable=True),
    sa.Column("source_sha256", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("host", sa.Text, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_runs_name_started", runs.c.name, runs.c.started_at)
sa.Index("ix_runs_parent", runs.c.parent_run_id)

run_values = sa.Table(
    "run_values",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Text, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model", sa.Text, sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.Text, sa.ForeignKey("runs.run_id"), nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("artifact_sha256", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),  # "skops" | "pickle"
    sa.Column("estimator", sa.Text, nullable=False),
    sa.Column("signature", sa.Text, nullable=False, server_default="[]"),
    sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
    sa.Column("data_sha256", sa.Text, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model", sa.Text, sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("set_at", sa.Text, nullable=False),
    sa.Column("change_id", sa.Integer, nullable=False),
)

alias_changes = sa.Table(
    "alias_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("alias", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),  # promote | rollback
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("run_id", sa.Text, nullable=True),
    sa.Column("gate", sa.Text, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index(
    "ix_alias_changes_lookup", alias_changes.c.model, alias_changes.c.alias, alias_changes.c.at
)


def _migration_1(conn: sa.Connection) -> None:
    """Initial schema."""
    metadata.create_all(
        conn,
        tables=[
            events,
            artifacts,
            runs,
            run_values,
            models,
            model_versions,
            aliases,
            alias_changes,
        ],
    )


#: Ordered migrations; index + 1 is the schema version each one produces.
MIGRATIONS: list[Callable[[sa.Connection], None]] = [_migration_1]

LATEST = len(MIGRATIONS)
