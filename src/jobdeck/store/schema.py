"""The tables. Alembic migrations under migrations/ create exactly these (a test checks it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from jobdeck.store.types import JSONValue, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

LIVE = "status IN ('pending', 'running', 'retrying')"

runs = Table(
    "runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # Byte order on PostgreSQL too: search finds a run id by prefix as a range of its unique index.
    Column(
        "run_id",
        String(200).with_variant(String(200, collation="C"), "postgresql"),
        nullable=False,
        unique=True,
    ),
    Column("job", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("queue", String(200)),
    Column("priority", Integer),
    Column("source", String(200)),
    Column("worker", String(200)),
    Column("host", String(200)),
    Column("pid", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("eta", UTCDateTime()),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("heartbeat_at", UTCDateTime()),
    # When the run counts in windows: its start, or its creation while it has not started.
    Column("run_at", UTCDateTime(), nullable=False),
    Column("duration_s", Float),
    Column("attempt", Integer, nullable=False, server_default="1"),
    Column("max_retries", Integer),
    Column("parent_run_id", String(200)),
    Column("schedule_id", String(200)),
    Column("args", JSONValue()),
    Column("kwargs", JSONValue()),
    Column("result", JSONValue()),
    Column("error_type", String(500)),
    Column("error_message", Text),
    Column("traceback", Text),
    Column("items_succeeded", BigInteger),
    Column("items_failed", BigInteger),
    Column("items_skipped", BigInteger),
    Column("cpu_s", Float),
    Column("max_rss_mb", Float),
    Column("labels", JSONValue()),
    # A failed run's kind of failure (analytics.fingerprints): what the failures view groups by.
    Column("fingerprint", String(32)),
    # The fold's bookkeeping (events.RunState): the highest event key, and the starts, the enqueue
    # flag and the key of every carried field (store.run_writes.fold_state_of).
    Column("fold_key", String(64), nullable=False),
    Column("fold_state", JSONValue(), nullable=False),
    Index("ix_runs_run_at", "run_at"),
    Index("ix_runs_job_run_at", "job", "run_at"),
    Index("ix_runs_status_run_at", "status", "run_at"),
    Index("ix_runs_job_status_run_at", "job", "status", "run_at"),
    Index(
        "ix_runs_parent_run_id",
        "parent_run_id",
        sqlite_where=text("parent_run_id IS NOT NULL"),
        postgresql_where=text("parent_run_id IS NOT NULL"),
    ),
    Index(
        "ix_runs_fingerprint",
        "fingerprint",
        "run_at",
        sqlite_where=text("fingerprint IS NOT NULL"),
        postgresql_where=text("fingerprint IS NOT NULL"),
    ),
    Index(
        "ix_runs_live",
        "status",
        "job",
        sqlite_where=text(LIVE),
        postgresql_where=text(LIVE),
    ),
    # A schedule's runs: its last run, and whether one is still live (the overlap policy).
    Index(
        "ix_runs_schedule_id",
        "schedule_id",
        "run_at",
        sqlite_where=text("schedule_id IS NOT NULL"),
        postgresql_where=text("schedule_id IS NOT NULL"),
    ),
)

# Per job and time bucket (granularity 60, 3600 or 86400 s): additive counters kept by the recorder.
rollups = Table(
    "rollups",
    metadata,
    Column("granularity", Integer, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("job", String(200), primary_key=True),
    Column("runs", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("running", BigInteger, nullable=False, server_default="0"),
    Column("retrying", BigInteger, nullable=False, server_default="0"),
    Column("succeeded", BigInteger, nullable=False, server_default="0"),
    Column("failed", BigInteger, nullable=False, server_default="0"),
    Column("cancelled", BigInteger, nullable=False, server_default="0"),
    Column("lost", BigInteger, nullable=False, server_default="0"),
    Column("dur_count", BigInteger, nullable=False, server_default="0"),
    Column("dur_sum", Float, nullable=False, server_default="0"),
    Column("dur_min", Float),
    Column("dur_max", Float),
    Column("wait_count", BigInteger, nullable=False, server_default="0"),
    Column("wait_sum", Float, nullable=False, server_default="0"),
    Column("items_succeeded", BigInteger, nullable=False, server_default="0"),
    Column("items_failed", BigInteger, nullable=False, server_default="0"),
    Column("items_skipped", BigInteger, nullable=False, server_default="0"),
    # Log-bucketed sketches of duration and queue wait (analytics.sketch.encode), merged on write.
    Column("dur_hist", LargeBinary),
    Column("wait_hist", LargeBinary),
    # A random stamp of the last write to this cell: readers that cache what they merged from a
    # range of cells know it is still right while the stamps are unchanged.
    Column("version", BigInteger, nullable=False, server_default="0"),
    # One job's cells over a window (job pages, per-job series); all jobs' use the primary key.
    Index("ix_rollups_job", "granularity", "job", "bucket"),
)

# Failed runs per fingerprint and time bucket (granularity 60, 3600 or 86400 s), kept by the
# recorder like the rollups: the failures view counts a window's groups from these cells.
failure_rollups = Table(
    "failure_rollups",
    metadata,
    Column("granularity", Integer, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("fingerprint", String(32), primary_key=True),
    Column("job", String(200), nullable=False),
    Column("n", BigInteger, nullable=False),
)

# How far back raw data is kept: `before` (epoch seconds) per kind ("runs", "minute_rollups").
# Rollups older than the runs horizon summarise runs that cleanup deleted, so verification skips them.
retention = Table(
    "retention",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("before", BigInteger, nullable=False),
)

# Named counters; "changes" grows with every recorded batch, so any process can tell that runs
# changed with one primary-key read (the live views' change check).
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Who may sign in: a name, an argon2 hash of the password and a role (viewer, operator, admin).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# API tokens: shown once, kept as a SHA-256 of the secret (a token is long and random, so a fast hash
# is enough); `prefix` names one in lists without revealing it.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
)

# Signed-in sessions: the cookie carries a random id (signed), the store keeps its SHA-256, the user,
# the CSRF token its forms must send back, and when it ends.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# The audit trail: who did what, when, from where, and with what result.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("address", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(400), nullable=False),
    Column("result", String(64), nullable=False),
    Column("detail", Text, nullable=False),
)

# What and when to run (scheduler.spec.ScheduleSpec as JSON in `definition`); the columns beside it
# are what the loop asks for: the next due time, whether it is paused, how often it has fired, and
# for a schedule that follows another job, that job and the end of the last success it acted on.
schedules = Table(
    "schedules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("job", String(200), nullable=False),
    Column("definition", JSONValue(), nullable=False),
    Column("paused", Boolean(), nullable=False, server_default=text("false")),
    Column("next_run_at", UTCDateTime()),
    Column("executions", Integer, nullable=False, server_default="0"),
    Column("after_job", String(200)),
    Column("after_cursor", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_schedules_next_run_at", "next_run_at"),
    Index("ix_schedules_after_job", "after_job"),
)

# One row per schedule and scheduled time: the unique constraint is what keeps two schedulers from
# firing a time twice. `state`: pending (claimed, its run not started yet), started, queued (waiting
# for the schedule's live run to end), skipped (overlap or misfire policy), refused (no executor).
firings = Table(
    "firings",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("schedule_id", String(36), ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
    Column("scheduled_at", UTCDateTime(), nullable=False),
    Column("fired_at", UTCDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("run_id", String(200)),
    Column("detail", Text),
    UniqueConstraint("schedule_id", "scheduled_at"),
    Index("ix_firings_state", "state", "fired_at"),
)

# --- alerts ----------------------------------------------------------------------------------------

# The state of each rule for each subject (a job, or a queue for the queue rules): ok, pending (held
# for the rule's hold time), firing, resolved. One row per pair is what deduplicates notifications.
alert_states = Table(
    "alert_states",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", UTCDateTime(), nullable=False),  # when the current state began
    Column("value", Float),
    Column("threshold", Float),
    Column("message", Text),
    # Consecutive evaluations without the condition while firing (resolution waits for N of them).
    Column("clear_count", Integer, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_alert_states_state", "state"),
)

# Every change of state, newest last.
alert_history = Table(
    "alert_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("value", Float),
    Column("message", Text),
    Index("ix_alert_history_at", "at"),
)

# Thresholds set over the defaults (alerts.catalog): job "" holds a rule's global setting.
alert_thresholds = Table(
    "alert_thresholds",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("job", String(200), primary_key=True),
    Column("threshold", Float),
    Column("hold_s", Integer),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
)

# Silences: a rule, a job, both or everything (None is any); for [starts_at, ends_at), or each time
# a cron expression fires, for duration_s (a recurring maintenance window).
alert_silences = Table(
    "alert_silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(64)),
    Column("job", String(200)),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime()),
    Column("cron", String(100)),
    Column("timezone", String(64)),
    Column("duration_s", Integer),
    Column("comment", Text),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Where notifications go: a generic webhook, a Slack incoming webhook, or an email address.
alert_channels = Table(
    "alert_channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(16), nullable=False),
    Column("name", String(200), nullable=False, unique=True),
    Column("target", String(2000), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# One notification to one channel: pending until sent, retried with backoff, failed after the
# last attempt; what the channels page shows.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("channel_id", Integer, nullable=False),
    Column("event", String(16), nullable=False),  # firing, resolved or test
    Column("rule", String(64)),
    Column("subject", String(200)),
    Column("payload", JSONValue(), nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent or failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Index("ix_alert_deliveries_status_next_at", "status", "next_at"),
    Index("ix_alert_deliveries_channel_id", "channel_id", "created_at"),
)

# What a job's code declared about its runs (@track(schedule=…), an event's fields, a ping's
# ?schedule=, a Celery beat schedule): when a run is due, the grace, the longest a run may take.
job_expectations = Table(
    "job_expectations",
    metadata,
    Column("job", String(200), primary_key=True),
    Column("schedule", String(200)),
    Column("timezone", String(64)),
    Column("interval_s", Float),
    Column("grace_s", Float, nullable=False, server_default="0"),
    Column("max_runtime_s", Float),
    Column("resolve_after", Integer, nullable=False, server_default="1"),
    Column("source", String(32)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Queue sizes of every job system (integrations/queues.py), sampled every few seconds by the queue
# sampler: one row per queue and minute with the minute's last sample, its largest size, and the
# last counts per state. `size` is what still waits or runs (every state but completed/failed).
queue_samples = Table(
    "queue_samples",
    metadata,
    Column("bucket", BigInteger, primary_key=True),
    Column("system", String(32), primary_key=True),
    Column("broker", String(400), primary_key=True),
    Column("queue", String(200), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("size_max", BigInteger, nullable=False),
    Column("counts", JSONValue(), nullable=False),
    Index("ix_queue_samples_queue", "queue", "bucket"),
)
