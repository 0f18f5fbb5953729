"""Tables and ordered schema migrations, the same for SQLite and PostgreSQL.

Columns use portable types only (text, integer, float): JSON is stored as
canonical text (not ``jsonb``, which would reorder keys and so change what
the audit chain hashed) and times as ISO-8601 UTC strings with
microseconds, which sort correctly as text. A row therefore reads back
identically from either database, and an event hashed on one verifies on
the other. Migrations are applied in order inside one write transaction
(PostgreSQL's DDL is transactional too, so a failed migration leaves
nothing behind); ``schema_version`` records the ones that ran. A migration
is never edited once released: a change is a new, numbered migration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

#: Text compares bytewise on PostgreSQL too (``COLLATE "C"``), exactly as
#: SQLite compares it, so ``ORDER BY`` and range tests on names and ISO times
#: give the same answers on both whatever the database's default collation.
TEXT = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
#: Byte counts and row counts can pass 2**31 (PostgreSQL's ``integer``);
#: SQLite's INTEGER is 64-bit already, so its schema is unchanged.
BIGINT = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", TEXT, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("kind", TEXT, nullable=False),
    sa.Column("subject", TEXT, nullable=False),
    sa.Column("payload", TEXT, nullable=False),
    sa.Column("prev_hash", TEXT, nullable=False),
    sa.Column("hash", TEXT, nullable=False, unique=True),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("sha256", TEXT, primary_key=True),
    sa.Column("size", BIGINT, nullable=False),
    sa.Column("kind", TEXT, nullable=False),
    sa.Column("created_at", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", TEXT, primary_key=True),
    sa.Column("kind", TEXT, nullable=False),  # "track" | "notebook"
    sa.Column("name", TEXT, nullable=True),  # model name, or notebook file name
    sa.Column("status", TEXT, nullable=False),  # running | finished | failed
    sa.Column("started_at", TEXT, nullable=False),
    sa.Column("ended_at", TEXT, nullable=True),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("parent_run_id", TEXT, nullable=True),
    sa.Column("params", TEXT, nullable=False, server_default="{}"),
    sa.Column("metrics", TEXT, nullable=False, server_default="{}"),
    sa.Column("tags", TEXT, nullable=False, server_default="{}"),
    sa.Column("data", TEXT, nullable=False, server_default="{}"),
    sa.Column("environment", TEXT, nullable=False, server_default="{}"),
    sa.Column("git_commit", TEXT, nullable=True),
    sa.Column("git_dirty", sa.Integer, nullable=True),
    sa.Column("notebook_path", TEXT, nullable=True),
    sa.Column("input_sha256", TEXT, nullable=True),
    sa.Column("output_sha256", TEXT, nullable=True),
    sa.Column("source_sha256", TEXT, nullable=True),
    sa.Column("error", TEXT, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("host", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_runs_name_started", runs.c.name, runs.c.started_at)
sa.Index("ix_runs_parent", runs.c.parent_run_id)

run_values = sa.Table(
    "run_values",
    metadata,
    sa.Column("run_id", TEXT, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("key", TEXT, primary_key=True),
    sa.Column("value", TEXT, nullable=False),
    sa.Column("recorded_at", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", TEXT, primary_key=True),
    sa.Column("created_at", TEXT, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model", TEXT, sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_id", TEXT, sa.ForeignKey("runs.run_id"), nullable=True),
    sa.Column("created_at", TEXT, nullable=False),
    sa.Column("created_by", TEXT, nullable=False),
    sa.Column("artifact_sha256", TEXT, nullable=False),
    sa.Column("format", TEXT, nullable=False),  # "skops" | "pickle"
    sa.Column("estimator", TEXT, nullable=False),
    sa.Column("signature", TEXT, nullable=False, server_default="[]"),
    sa.Column("metrics", TEXT, nullable=False, server_default="{}"),
    sa.Column("data_sha256", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
    sa.Column("profile_sha256", TEXT, nullable=True),  # migration 2
    # Migration 12: what people say about a version, edited after it was registered
    # (``version.annotated`` events). NULL when never set: the events of versions
    # registered before carry neither column, and audit verify accepts only NULL there.
    sa.Column("description", TEXT, nullable=True),
    sa.Column("tags", TEXT, nullable=True),  # JSON object, key → value
)
#: Migration 9: which version a run registered (every page of runs asks), and the runs
#: search's ``model = NAME`` (a lookup per run without it).
ix_model_versions_run = sa.Index("ix_model_versions_run", model_versions.c.run_id)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("model", TEXT, sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", TEXT, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("set_at", TEXT, nullable=False),
    sa.Column("change_id", sa.Integer, nullable=False),
)

alias_changes = sa.Table(
    "alias_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("alias", TEXT, nullable=False),
    sa.Column("action", TEXT, nullable=False),  # promote | rollback
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=False),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("reason", TEXT, nullable=True),
    sa.Column("run_id", TEXT, nullable=True),
    sa.Column("gate", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index(
    "ix_alias_changes_lookup", alias_changes.c.model, alias_changes.c.alias, alias_changes.c.at
)


# -- added by migration 2: drift monitoring -------------------------------------

drift_checks = sa.Table(
    "drift_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("batch", TEXT, nullable=True),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("rows", BIGINT, nullable=False),
    sa.Column("drift", sa.Integer, nullable=False),
    sa.Column("drift_share", sa.Float, nullable=False),
    sa.Column("degraded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("summary", TEXT, nullable=False, server_default="{}"),
    sa.Column("report_sha256", TEXT, nullable=False),
    sa.Column("retrain_run_id", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_drift_checks_model_at", drift_checks.c.model, drift_checks.c.at)

alert_channels = sa.Table(
    "alert_channels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),  # "*" for every model
    sa.Column("kind", TEXT, nullable=False),  # webhook | email | log
    sa.Column("config", TEXT, nullable=False, server_default="{}"),
    sa.Column("created_at", TEXT, nullable=False),
    sa.Column("enabled", sa.Integer, nullable=False, server_default="1"),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

#: Columns migration 14 added to ``alerts``: the inbox's lifecycle (``state``
#: open | acknowledged | resolved | silenced), the grouping (the set of columns,
#: how many checks it holds, the latest), who acknowledged and resolved it, when
#: and why, the decision taken and what it did, and the silence an ``ignore`` sets.
ALERT_INBOX_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("state", TEXT),
    ("group_columns", TEXT),  # JSON: the sorted columns the alert is about
    ("count", sa.Integer()),
    ("last_check_id", sa.Integer()),
    ("last_at", TEXT),
    ("batch_profile_sha256", TEXT),  # the latest checked batch's profile (rebaseline)
    ("acked_by", TEXT),
    ("acked_at", TEXT),
    ("ack_note", TEXT),
    ("resolved_by", TEXT),
    ("resolved_at", TEXT),
    ("resolve_note", TEXT),
    ("decision", TEXT),  # retrain | rollback | ignore | rebaseline
    ("decision_detail", TEXT),  # JSON: the run, the alias move, the reference set
    ("silenced_until", TEXT),  # ignore: no alert of this kind for this model before it
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", TEXT, nullable=False),  # drift | pipeline | ...
    sa.Column("model", TEXT, nullable=True),
    sa.Column("subject", TEXT, nullable=False),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("message", TEXT, nullable=False),
    sa.Column("payload", TEXT, nullable=False, server_default="{}"),
    sa.Column("deliveries", TEXT, nullable=False, server_default="[]"),
    sa.Column("retrain_run_id", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
    # migration 14: the inbox. All nullable with no default, so an alert raised
    # before it reads as its event recorded it (NULL state: open, count 1).
    *(sa.Column(name, kind, nullable=True) for name, kind in ALERT_INBOX_COLUMNS),
)

#: Migration 14: the open alert a repeat joins, and the inbox by state.
ix_alerts_group = sa.Index("ix_alerts_group", alerts.c.model, alerts.c.kind, alerts.c.state)

retrain_triggers = sa.Table(
    "retrain_triggers",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("notebook", TEXT, nullable=False),
    sa.Column("parameters", TEXT, nullable=False, server_default="{}"),
    sa.Column("cooldown_s", sa.Float, nullable=False),
    sa.Column("enabled", sa.Integer, nullable=False, server_default="1"),
    sa.Column("last_fired_at", TEXT, nullable=True),
    sa.Column("last_check_id", sa.Integer, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

# -- added by migration 3: schedules ------------------------------------------

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("name", TEXT, primary_key=True),
    sa.Column("kind", TEXT, nullable=False),  # notebook | pipeline
    sa.Column("target", TEXT, nullable=False),  # the file as given, resolved
    sa.Column("snapshot_sha256", TEXT, nullable=False),
    sa.Column("parameters", TEXT, nullable=False, server_default="{}"),
    sa.Column("cron", TEXT, nullable=False),
    sa.Column("tz", TEXT, nullable=False),
    sa.Column("catchup", TEXT, nullable=False),  # none | latest | all
    sa.Column("max_concurrent", sa.Integer, nullable=False, server_default="1"),
    sa.Column("overlap", TEXT, nullable=False, server_default="skip"),  # queue | skip
    sa.Column("timeout_s", sa.Float, nullable=True),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("backoff_s", sa.Float, nullable=False, server_default="60"),
    sa.Column("alert_on", TEXT, nullable=False, server_default="failure"),
    sa.Column("alert_model", TEXT, nullable=False, server_default="*"),
    sa.Column("enabled", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", TEXT, nullable=False),
    sa.Column("updated_at", TEXT, nullable=False),
    sa.Column("cursor", TEXT, nullable=False),  # slots up to here have been considered
    sa.Column("event_seq", sa.Integer, nullable=False),
)

schedule_slots = sa.Table(
    "schedule_slots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("schedule", TEXT, nullable=False),
    sa.Column("slot", TEXT, nullable=False),  # the cron time (UTC), or "now:..." for run-now
    sa.Column("status", TEXT, nullable=False),  # queued|running|finished|failed|skipped
    sa.Column("claimed_at", TEXT, nullable=False),
    sa.Column("claimed_by", TEXT, nullable=False),
    sa.Column("run_id", TEXT, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("host", TEXT, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("parameters", TEXT, nullable=False, server_default="{}"),
    sa.Column("error", TEXT, nullable=True),
    sa.Column("ended_at", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
    sa.UniqueConstraint("schedule", "slot", name="uq_schedule_slot"),
)
sa.Index("ix_schedule_slots_status", schedule_slots.c.schedule, schedule_slots.c.status)

# -- added by migration 4: the store's identity ----------------------------------

store_info = sa.Table(
    "store_info",
    metadata,
    sa.Column("key", TEXT, primary_key=True),
    sa.Column("text_value", TEXT, nullable=False),  # not "value": that name is a JSON column
)

# -- added by migration 6: refused alias moves ----------------------------------------

#: A promotion a gate refused: who asked to move which alias to which version,
#: the holder then, the gate and each condition that failed. The alias did not
#: move, so ``aliases`` never derives from these rows and rollback ignores them.
alias_refusals = sa.Table(
    "alias_refusals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("alias", TEXT, nullable=False),
    sa.Column("action", TEXT, nullable=False),  # promote
    sa.Column("from_version", sa.Integer, nullable=True),  # the holder at the time
    sa.Column("to_version", sa.Integer, nullable=False),  # the version refused
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("reason", TEXT, nullable=True),
    sa.Column("run_id", TEXT, nullable=True),
    sa.Column("gate", TEXT, nullable=False),  # the condition asked for
    sa.Column("failures", TEXT, nullable=False, server_default="[]"),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index(
    "ix_alias_refusals_lookup", alias_refusals.c.model, alias_refusals.c.alias, alias_refusals.c.at
)

# -- added by migration 7: serving ------------------------------------------------

#: One batch of the prediction log (or of feedback) written by a serving
#: process: a Parquet file among the artifacts, and what it holds.
log_batches = sa.Table(
    "log_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("kind", TEXT, nullable=False),  # predictions | feedback
    sa.Column("version", sa.Integer, nullable=True),  # the version that predicted
    sa.Column("instance", TEXT, nullable=False),  # the serving process that wrote it
    sa.Column("first_seq", BIGINT, nullable=True),  # its request numbers (predictions)
    sa.Column("last_seq", BIGINT, nullable=True),
    sa.Column("first_at", TEXT, nullable=False),
    sa.Column("last_at", TEXT, nullable=False),
    sa.Column("requests", BIGINT, nullable=False),
    sa.Column("rows", BIGINT, nullable=False),
    sa.Column("sample", sa.Float, nullable=False),  # the share of requests logged
    sa.Column("dropped", BIGINT, nullable=False, server_default="0"),
    sa.Column("file_sha256", TEXT, nullable=False),
    sa.Column("recorded_at", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_log_batches_model", log_batches.c.model, log_batches.c.kind, log_batches.c.last_at)
sa.Index("ix_log_batches_instance", log_batches.c.instance, log_batches.c.first_seq)

#: What each serving process did, in order: started, swapped from one version
#: to another, refused a version it could not load, stopped.
deploys = sa.Table(
    "deploys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("instance", TEXT, nullable=False),  # one serving process (a worker)
    sa.Column("server", TEXT, nullable=False),  # the `mlops-nb serve` it belongs to
    sa.Column("model", TEXT, nullable=False),
    sa.Column("alias", TEXT, nullable=True),  # None when serving a fixed version
    sa.Column("action", TEXT, nullable=False),  # started | swapped | refused | stopped
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("to_version", sa.Integer, nullable=True),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("host", TEXT, nullable=False),
    sa.Column("address", TEXT, nullable=False),  # where it listens, host:port
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("reason", TEXT, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_deploys_model_at", deploys.c.model, deploys.c.at)
sa.Index("ix_deploys_instance", deploys.c.instance, deploys.c.id)

# -- added by migration 8: privacy of the prediction log ---------------------------

#: Per model: how long its prediction log is kept and which input columns are
#: masked (stored empty) or hashed (a keyed SHA-256) when written.
log_policies = sa.Table(
    "log_policies",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("retention_s", sa.Float, nullable=True),  # None: kept until erased
    sa.Column("mask_columns", TEXT, nullable=False, server_default="[]"),  # JSON list
    sa.Column("hash_columns", TEXT, nullable=False, server_default="[]"),  # JSON list
    sa.Column("salt", TEXT, nullable=False),  # the hash key, made when the policy was
    sa.Column("updated_at", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

# -- added by migration 9: model tests ---------------------------------------------

#: One run of a test suite against one model version: the suite (a notebook or
#: a YAML file of built-in checks, by SHA-256), the alias it compared with,
#: each check's outcome, and the run that holds the executed notebook (or, for
#: a YAML suite, the run of kind ``test``). The gate term ``tests`` reads the
#: newest row of a version.
model_tests = sa.Table(
    "model_tests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("suite", TEXT, nullable=False),  # the suite's file name
    sa.Column("suite_kind", TEXT, nullable=False),  # notebook | yaml
    sa.Column("suite_sha256", TEXT, nullable=False),
    sa.Column("against", TEXT, nullable=True),  # NAME@ALIAS compared with, if any
    sa.Column("against_version", sa.Integer, nullable=True),  # who held it then
    sa.Column("passed", sa.Integer, nullable=False),  # 1 | 0
    sa.Column("checks", TEXT, nullable=False, server_default="[]"),  # [{name, passed, detail}]
    sa.Column("run_id", TEXT, nullable=False),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_model_tests_version", model_tests.c.model, model_tests.c.version, model_tests.c.id)
# -- added by migration 11: live numbers of serving processes ------------------------

#: One row per serving process: its requests, errors and latency over the last
#: minute, overwritten every few seconds by the process itself (see
#: :mod:`mlops_nb.serving.stats`) and removed when it stops. Operational
#: heartbeats, not history: no event is written for them (see DERIVED below).
serving_stats = sa.Table(
    "serving_stats",
    metadata,
    sa.Column("instance", TEXT, primary_key=True),  # the process, as in ``deploys``
    sa.Column("model", TEXT, nullable=False),
    sa.Column("at", TEXT, nullable=False),  # when the numbers were taken
    sa.Column("every_s", sa.Float, nullable=False),  # how often the process writes them
    sa.Column("requests_per_min", sa.Float, nullable=False),
    sa.Column("errors_per_min", sa.Float, nullable=False),
    sa.Column("p50_ms", sa.Float, nullable=True),  # None: nothing answered in the window
    sa.Column("p99_ms", sa.Float, nullable=True),
    sa.Column("requests_total", BIGINT, nullable=False),
    sa.Column("errors_total", BIGINT, nullable=False),
)

# -- added by migration 13: canary and shadow deploys -------------------------------

#: One canary or shadow deploy of a model: the version tried next to
#: production, the share of requests it answers (canary) or copies (shadow),
#: its guards, and how it ended. At most one runs per model; every start and
#: every end (abort, promote, stop) is a change of its row with its event.
deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("kind", TEXT, nullable=False),  # canary | shadow
    sa.Column("version", sa.Integer, nullable=False),  # the version tried
    sa.Column("production_version", sa.Integer, nullable=False),  # held production at start
    sa.Column("share", sa.Float, nullable=False),  # of requests (1.0 for a shadow)
    sa.Column("guards", TEXT, nullable=False, server_default="[]"),  # JSON list of expressions
    sa.Column("metric", TEXT, nullable=True),  # the feedback field judged (value)
    sa.Column("alpha", sa.Float, nullable=False),
    sa.Column("auto_rollback", sa.Integer, nullable=False),  # 1 | 0
    sa.Column("auto_promote", sa.Integer, nullable=False),  # 1 | 0
    sa.Column("require", TEXT, nullable=True),  # the gate an automatic promote goes through
    sa.Column("state", TEXT, nullable=False),  # running | aborted | promoted | stopped
    sa.Column("reason", TEXT, nullable=True),
    sa.Column("alerted", TEXT, nullable=True),  # the guard an alert was raised for, if any
    sa.Column("statistics", TEXT, nullable=False, server_default="{}"),  # at the last decision
    sa.Column("started_at", TEXT, nullable=False),
    sa.Column("ended_at", TEXT, nullable=True),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index("ix_deployments_model", deployments.c.model, deployments.c.state)

#: One row per serving process and arm of a deploy: what that process counted
#: for that version since the deploy started (requests, errors, a latency
#: histogram, a histogram of predictions, and the sufficient statistics of the
#: feedback metric), overwritten by the process off the request path. Summed
#: over processes they are the arms of ``deploy status``. Heartbeats like
#: ``serving_stats`` (see DERIVED), but kept after the process stops, so the
#: totals of a finished deploy stay readable.
deployment_stats = sa.Table(
    "deployment_stats",
    metadata,
    sa.Column("deployment", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("instance", TEXT, primary_key=True),
    sa.Column("role", TEXT, primary_key=True),  # production | canary | shadow
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", TEXT, nullable=False),
    sa.Column("counts", TEXT, nullable=False),  # JSON: see mlops_nb.serving.arms
)

# -- added by migration 14: references accepted in place of the training profile --

#: A model version's current drift reference when a person accepted a checked
#: batch as the new normal (an alert resolved with ``rebaseline``). The training
#: profile stays where it was, on ``model_versions``; each later acceptance
#: replaces this row, and the audit chain keeps every earlier one.
drift_references = sa.Table(
    "drift_references",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("profile_sha256", TEXT, nullable=False),
    sa.Column("check_id", sa.Integer, nullable=False),  # the check whose batch it is
    sa.Column("alert_id", sa.Integer, nullable=False),  # the alert resolved so
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

# -- added by migration 15: digests of each alert channel ----------------------------

#: One digest of an alert channel: the period it covers, how it was sent and
#: what it said (counts only; the message is rebuilt from the store). A
#: scheduled digest is claimed (``claimed``) before it is sent and then marked
#: ``sent`` or ``failed`` in its own transaction, so concurrent ticks never
#: send one period twice (see :mod:`mlops_nb.monitoring.digest`).
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("channel_id", sa.Integer, nullable=False),
    sa.Column("period", TEXT, nullable=False),  # day | week
    sa.Column("trigger", TEXT, nullable=False),  # scheduled | manual
    sa.Column("period_start", TEXT, nullable=False),
    sa.Column("period_end", TEXT, nullable=False),
    sa.Column("status", TEXT, nullable=False),  # claimed | sent | failed
    sa.Column("claimed_at", TEXT, nullable=False),
    sa.Column("claimed_by", TEXT, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("sent_at", TEXT, nullable=True),
    sa.Column("summary", TEXT, nullable=False, server_default="{}"),  # JSON: the counts
    sa.Column("deliveries", TEXT, nullable=False, server_default="[]"),
    sa.Column("event_seq", sa.Integer, nullable=False),
    # A channel's scheduled digests by the end of their period: one row per period.
    sa.UniqueConstraint("channel_id", "trigger", "period_end", name="uq_digests_period"),
)

# -- added by migration 16: protected aliases and promotion requests ----------------

#: An alias whose promotions wait for approval: how many distinct people must
#: approve, and whether the one who asked may be one of them. Removing the
#: protection deletes the row (its event says so); the chain keeps every state.
alias_protections = sa.Table(
    "alias_protections",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("alias", TEXT, primary_key=True),
    sa.Column("approvers", sa.Integer, nullable=False),
    sa.Column("allow_self_approval", sa.Integer, nullable=False),  # 1 | 0
    sa.Column("at", TEXT, nullable=False),
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)

#: A promotion to a protected alias, waiting for (or decided by) its approvers.
#: ``state``: pending | approved | rejected. The rule it was opened under
#: (``approvers``, ``allow_self_approval``) is copied, so a later change of the
#: protection does not change what an open request needs. ``approvals`` and
#: ``refusals`` (approvals a gate refused) are JSON lists of ``{by, at, note}``
#: (refusals with ``failures``); ``change_id`` is the alias move an approval made.
promotion_requests = sa.Table(
    "promotion_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", TEXT, nullable=False),
    sa.Column("alias", TEXT, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),  # the holder when asked
    sa.Column("require", TEXT, nullable=True),  # the gate, evaluated again at approval
    sa.Column("gate", TEXT, nullable=True),  # the conditions that passed when asked
    sa.Column("reason", TEXT, nullable=True),
    sa.Column("run_id", TEXT, nullable=True),
    sa.Column("requested_by", TEXT, nullable=False),
    sa.Column("requested_at", TEXT, nullable=False),
    sa.Column("approvers", sa.Integer, nullable=False),
    sa.Column("allow_self_approval", sa.Integer, nullable=False),
    sa.Column("state", TEXT, nullable=False),
    sa.Column("approvals", TEXT, nullable=False, server_default="[]"),
    sa.Column("refusals", TEXT, nullable=False, server_default="[]"),
    sa.Column("decided_by", TEXT, nullable=True),
    sa.Column("decided_at", TEXT, nullable=True),
    sa.Column("note", TEXT, nullable=True),  # the deciding approval's or rejection's note
    sa.Column("change_id", sa.Integer, nullable=True),
    sa.Column("event_seq", sa.Integer, nullable=False),
)
sa.Index(
    "ix_promotion_requests_lookup",
    promotion_requests.c.model,
    promotion_requests.c.alias,
    promotion_requests.c.state,
)

# -- added by migration 17: the human part of a model card ----------------------

#: What people write on a version's model card (``card.edited`` events): its
#: intended use, its limitations, ethical considerations and notes on how it
#: was trained. Everything else on a card is read from what the store already
#: holds, so only these fields are kept. NULL is a field never written.
model_cards = sa.Table(
    "model_cards",
    metadata,
    sa.Column("model", TEXT, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("intended_use", TEXT, nullable=True),
    sa.Column("limitations", TEXT, nullable=True),
    sa.Column("ethical_considerations", TEXT, nullable=True),
    sa.Column("training_procedure", TEXT, nullable=True),
    sa.Column("at", TEXT, nullable=False),  # the latest edit
    sa.Column("actor", TEXT, nullable=False),
    sa.Column("event_seq", sa.Integer, nullable=False),
)


# How ``audit verify`` covers every table (a test holds every table to one of these):
#
# - ``events`` is the hash chain itself; a checkpoint kept elsewhere also
#   covers its newest end (see :mod:`mlops_nb.store.audit`).
# - AUDITED tables hold state written together with an event: each row must
#   be exactly what the latest event about it recorded.
# - DERIVED tables hold nothing of their own: each must equal what is
#   computed from its source (``models``: one row per model that has
#   versions, created when its first version was; ``aliases``: each alias's
#   latest change in ``alias_changes``).
# - ``schema_version`` must list exactly the migrations this version knows;
#   when each ran (``applied_at``) is for people, not checked.
# - IDENTITY tables name the store, not its history: their shape is checked.

#: Audited tables and the columns naming a row; audit verify compares each row
#: with the latest event about it.
AUDITED: dict[str, tuple[str, ...]] = {
    "artifacts": ("sha256",),
    "runs": ("run_id",),
    "run_values": ("run_id", "key"),
    "model_versions": ("model", "version"),
    "alias_changes": ("id",),
    "alias_refusals": ("id",),
    "drift_checks": ("id",),
    "alert_channels": ("id",),
    "alerts": ("id",),
    "retrain_triggers": ("model",),
    "schedules": ("name",),
    "schedule_slots": ("id",),
    "log_batches": ("id",),
    "deploys": ("id",),
    "log_policies": ("model",),
    "model_tests": ("id",),
    "deployments": ("id",),
    "drift_references": ("model", "version"),
    "digests": ("id",),
    "alias_protections": ("model", "alias"),
    "promotion_requests": ("id",),
    "model_cards": ("model", "version"),
}


#: Tables naming the store itself rather than its history: ``store_info`` holds
#: the id made when the store was created (one row, key ``store_id``, 32 hex
#: digits). Verify checks that shape; the id is not history, so a well-formed
#: replacement is not detected (it only keeps kernels from recording into
#: another store, see :mod:`mlops_nb.tracking.context`).
IDENTITY: tuple[str, ...] = ("store_info",)

#: Tables that are a function of another table, and the table they derive from.
#: ``serving_stats`` is derived from the running processes ``deploys`` names
#: rather than from a table: operational heartbeats, overwritten every few
#: seconds and deleted at each stop, so chaining them would grow the audit log
#: by a row per process every few seconds and prove nothing about history.
#: Verify reads it but checks nothing in it (:data:`HEARTBEATS`).
DERIVED: dict[str, str] = {
    "models": "model_versions",
    "aliases": "alias_changes",
    "serving_stats": "deploys",
    "deployment_stats": "deploys",
}
#: Derived tables that are no evidence of anything: rows come, change and go
#: with the processes that write them, so verify checks nothing in them.
HEARTBEATS: tuple[str, ...] = ("serving_stats", "deployment_stats")


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


def _migration_2(conn: sa.Connection) -> None:
    """Drift monitoring: profiles on versions, checks, alert channels, alerts, triggers."""
    # Migration 1 creates tables from the current definitions, so a new store
    # already has the column; only stores made before migration 2 lack it.
    existing = {c["name"] for c in sa.inspect(conn).get_columns("model_versions")}
    if "profile_sha256" not in existing:
        conn.execute(sa.text("ALTER TABLE model_versions ADD COLUMN profile_sha256 TEXT"))
    metadata.create_all(conn, tables=[drift_checks, alert_channels, alerts, retrain_triggers])


def _migration_3(conn: sa.Connection) -> None:
    """Schedules and their claimed slots."""
    metadata.create_all(conn, tables=[schedules, schedule_slots])


def _migration_4(conn: sa.Connection) -> None:
    """The store's id, so a process can tell that two locations are the same store."""
    import uuid

    metadata.create_all(conn, tables=[store_info])
    known = conn.execute(sa.select(store_info.c.key).where(store_info.c.key == "store_id"))
    if known.first() is None:
        conn.execute(store_info.insert().values(key="store_id", text_value=uuid.uuid4().hex))


def _migration_5(conn: sa.Connection) -> None:
    """A model's ``created_at`` is its first version's, so ``models`` can be checked.

    Before, the ``models`` row was stamped a moment before its first version
    in the same transaction; nothing else about a model is kept there.
    """
    first = (
        sa.select(sa.func.min(model_versions.c.created_at))
        .where(model_versions.c.model == models.c.name)
        .scalar_subquery()
    )
    has_versions = sa.exists().where(model_versions.c.model == models.c.name)
    conn.execute(models.update().where(has_versions).values(created_at=first))


def _migration_6(conn: sa.Connection) -> None:
    """Refused promotions, kept like the moves: who tried what, and which condition failed."""
    metadata.create_all(conn, tables=[alias_refusals])


def _migration_7(conn: sa.Connection) -> None:
    """Serving: the prediction log's batches and what each serving process did."""
    metadata.create_all(conn, tables=[log_batches, deploys])


def _migration_8(conn: sa.Connection) -> None:
    """Privacy of the prediction log: per-model retention, masked and hashed columns."""
    metadata.create_all(conn, tables=[log_policies])


def _migration_9(conn: sa.Connection) -> None:
    """Model tests: each suite run against a version, its checks and its run."""
    metadata.create_all(conn, tables=[model_tests])


def _migration_10(conn: sa.Connection) -> None:
    """An index of versions by run (a store made since migration 1 has it already)."""
    ix_model_versions_run.create(conn, checkfirst=True)


def _migration_11(conn: sa.Connection) -> None:
    """Live numbers of serving processes (requests, errors, latency), one row each."""
    metadata.create_all(conn, tables=[serving_stats])


def _migration_12(conn: sa.Connection) -> None:
    """A description and tags on each version (a store made since migration 1 has them)."""
    existing = {c["name"] for c in sa.inspect(conn).get_columns("model_versions")}
    for column in ("description", "tags"):
        if column not in existing:
            conn.execute(sa.text(f"ALTER TABLE model_versions ADD COLUMN {column} TEXT"))


def _migration_13(conn: sa.Connection) -> None:
    """Canary and shadow deploys, and what each serving process counted for each arm."""
    metadata.create_all(conn, tables=[deployments, deployment_stats])


def _migration_14(conn: sa.Connection) -> None:
    """The alert inbox (lifecycle, grouping, decisions) and accepted drift references."""
    # Migration 2 creates ``alerts`` from the current definition: only stores made
    # before this migration lack the columns.
    existing = {c["name"] for c in sa.inspect(conn).get_columns("alerts")}
    for name, kind in ALERT_INBOX_COLUMNS:
        if name not in existing:
            type_sql = kind.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE alerts ADD COLUMN "{name}" {type_sql}'))
    ix_alerts_group.create(conn, checkfirst=True)
    metadata.create_all(conn, tables=[drift_references])


def _migration_15(conn: sa.Connection) -> None:
    """Digests of alert channels: which period each covered and how its sending went."""
    metadata.create_all(conn, tables=[digests])


def _migration_16(conn: sa.Connection) -> None:
    """Protected aliases and the promotion requests that wait for their approvers."""
    metadata.create_all(conn, tables=[alias_protections, promotion_requests])


def _migration_17(conn: sa.Connection) -> None:
    """The human-written fields of model cards (intended use, limitations, ...)."""
    metadata.create_all(conn, tables=[model_cards])


#: Ordered migrations; index + 1 is the schema version each one produces.
MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
    _migration_13,
    _migration_14,
    _migration_15,
    _migration_16,
    _migration_17,
]

LATEST = len(MIGRATIONS)
