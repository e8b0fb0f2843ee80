"""The SDK's JOBDECK_* environment variables, read and checked by pydantic-settings as the server's are.

Imported on first use (by `SdkSettings.from_env`), not by `import jobdeck`: pydantic costs a job's
process time at start-up that it need not pay until it tracks a run.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobdeck.sdk.defaults import (
    DEFAULT_DATABASE_URL,
    HEARTBEAT_INTERVAL_S,
    SHUTDOWN_TIMEOUT_S,
    SPOOL_MAX_BYTES,
)

PREFIX = "JOBDECK_"


class SdkEnv(BaseSettings):
    """The variables; each field is named as its variable is, after the prefix."""

    # An empty variable counts as unset, as before.
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore")

    url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    token: str | None = None
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(default=SPOOL_MAX_BYTES, ge=0)
    shutdown_timeout: float = Field(default=SHUTDOWN_TIMEOUT_S, ge=0)
    heartbeat_interval: float = Field(default=HEARTBEAT_INTERVAL_S, gt=0)


def read_env() -> SdkEnv:
    """The variables, or ValueError naming each one that is malformed and why."""
    try:
        return SdkEnv()
    except ValidationError as exc:
        problems = "; ".join(
            f"{PREFIX}{'.'.join(str(p) for p in error['loc']).upper()}: {error['msg']} "
            f"(got {error['input']!r})"
            for error in exc.errors(include_url=False)
        )
        raise ValueError(f"jobdeck: malformed environment variable: {problems}") from None
