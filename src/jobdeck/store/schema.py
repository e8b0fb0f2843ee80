"""The tables. Alembic migrations under migrations/ create exactly these (a test checks it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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
