"""Settings, from the environment (JOBDECK_*), a .env file, or CLI flags."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobdeck.auth.masking import DEFAULT_KEYS

DEFAULT_DATABASE_URL = "sqlite:///./jobdeck.db"


class Settings(BaseSettings):
    """Everything a jobdeck process can be told."""

    model_config = SettingsConfigDict(env_prefix="JOBDECK_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=5555, ge=1, le=65535)
    root_path: str = ""
    # Ingest limits: a request body, and the events in one batch.
    max_request_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=50_000, ge=1)
    # A job whose average duration passes this is marked slow.
    slow_job_seconds: float = Field(default=60.0, gt=0)
    # Retention: delete raw runs older than this many days (None keeps everything), checked this often
    # by `jobdeck serve`; hour and day rollups are kept, minute rollups go with the runs unless kept.
    retention_days: float | None = Field(default=None, gt=0)
    cleanup_interval_s: float = Field(default=86400.0, gt=0)
    keep_minute_rollups: bool = False
    # Security (auth/). Sign-in and tokens are required with `auth`; without it jobdeck runs open, which
    # `jobdeck serve` allows only on a loopback address unless `insecure_open` insists.
    auth: bool = False
    insecure_open: bool = False
    # Signs session cookies; a random one per process when unset (sessions then end on a restart).
    secret_key: SecretStr | None = None
    # Host names the server answers to (besides loopback names); the public name behind a proxy.
    allowed_hosts: list[str] = Field(default_factory=list)
    # Session cookies are marked Secure when the request came over HTTPS, or always with this.
    cookie_secure: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90)
    # `/metrics` without a token.
    metrics_open: bool = False
    # Keys of run args/kwargs whose values are masked before they are stored (case-insensitive parts).
    mask_keys: list[str] = Field(default_factory=lambda: list(DEFAULT_KEYS))
    # Event times the HTTP ingest accepts: none before this, none more than this far ahead of the
    # server's clock (a clock or a parser gone wrong; each such run would sit far from every other).
    earliest_event_at: AwareDatetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_event_ahead_s: float = Field(default=86400.0, ge=0)
    # The scheduler loop (schedules, and the safety sweep for stuck runs): `jobdeck serve` runs it
    # unless told --no-scheduler; an app built without it still fires "run now".
    scheduler: bool = False
    # A running run is marked lost after this long (per job in stale_after_by_job, in seconds).
    stale_after_s: float = Field(default=6 * 3600.0, gt=0)
    stale_after_by_job: dict[str, float] = Field(default_factory=dict)
    # Alerts: `serve` evaluates every rule this often (0 turns the evaluator off); a firing alert
    # resolves after this many successful runs once its condition is gone.
    alert_interval_s: float = Field(default=60.0, ge=0)
    alert_resolve_after: int = Field(default=1, ge=1)
    # Where people reach this jobdeck: notifications link to its job pages.
    public_url: str = ""
    # Email notifications: the SMTP server, how it is secured, and who the messages come from.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "jobdeck@localhost"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    # Foreign jobs tables read as runs (integrations/table): "URL#TABLE" each, their columns and status
    # words mapped by a TOML file (the seed schema without one), polled this often.
    source_tables: list[str] = Field(default_factory=list)
    source_map: Path | None = None
    source_poll_s: float = Field(default=5.0, gt=0)
    # Celery (integrations/celery, docs/celery.md): brokers whose event streams `serve` records
    # (JOBDECK_CELERY_BROKERS comma-separated), the durable event queue jobdeck reads there and its
    # bounds on RabbitMQ, how often workers are asked to send events, and how long a worker may be gone
    # before the tasks it was running are marked lost.
    celery_brokers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    celery_event_queue: str = Field(default="jobdeck.events", min_length=1, max_length=200)
    celery_event_queue_ttl_s: float = Field(default=86400.0, gt=0)
    celery_event_queue_max: int = Field(default=1_000_000, ge=1000)
    celery_enable_events_s: float = Field(default=30.0, gt=0)
    celery_lost_grace_s: float = Field(default=60.0, ge=0)

    @field_validator("celery_brokers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # Queue sources (integrations/): BullMQ as redis://host:6379/0#prefix (prefix "bull" when none),
    # RQ as redis://host:6379/0; each a list, one source per URL.
    bullmq: list[str] = Field(default_factory=list)
    rq: list[str] = Field(default_factory=list)
    # Queue sizes (every source's queues, sampled every few seconds, a row per queue and minute) are
    # kept this many days.
    queue_sample_days: float = Field(default=14.0, gt=0)

    @property
    def base_url(self) -> str:
        """The public URL, or where this process serves."""
        return (self.public_url or f"http://{self.host}:{self.port}{self.root_path}").rstrip("/")
