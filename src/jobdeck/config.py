"""Settings, from the environment (JOBDECK_*), a .env file, or CLI flags."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # The scheduler loop (schedules, and the safety sweep for stuck runs): `jobdeck serve` runs it
    # unless told --no-scheduler; an app built without it still fires "run now".
    scheduler: bool = False
    # A running run is marked lost after this long (per job in stale_after_by_job, in seconds).
    stale_after_s: float = Field(default=6 * 3600.0, gt=0)
    stale_after_by_job: dict[str, float] = Field(default_factory=dict)
