"""The SDK's settings, read from JOBDECK_* environment variables."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jobdeck.sdk.defaults import (
    DEFAULT_DATABASE_URL,
    HEARTBEAT_INTERVAL_S,
    SHUTDOWN_TIMEOUT_S,
    SPOOL_MAX_BYTES,
)


def default_spool_dir() -> Path:
    """The user's cache directory for jobdeck's spool (XDG on Linux, the platform's elsewhere)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "jobdeck" / "spool"


def server_url(url: str | None) -> str | None:
    """A server URL as given, with http:// assumed when it has no scheme (`jobdeck:5555`)."""
    url = (url or "").strip()
    if not url:
        return None
    return url if "://" in url else f"http://{url}"


@dataclass(frozen=True)
class SdkSettings:
    """Where events go and how the background sender behaves."""

    url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    token: str | None = None
    spool_dir: Path = field(default_factory=default_spool_dir)
    spool_max_bytes: int = SPOOL_MAX_BYTES
    flush_interval_s: float = 1.0
    shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S
    heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S
    progress_interval_s: float = 1.0
    queue_max: int = 10_000

    @classmethod
    def from_env(cls) -> SdkSettings:
        """The settings of the JOBDECK_* variables; ValueError naming a malformed one (a number that
        is not one, a negative size) rather than a silent default."""
        from jobdeck.sdk.env import read_env

        env = read_env()
        return cls(
            url=server_url(env.url),
            database_url=env.database_url,
            token=env.token,
            spool_dir=env.spool_dir or default_spool_dir(),
            spool_max_bytes=env.spool_max_bytes,
            shutdown_timeout_s=env.shutdown_timeout,
            heartbeat_interval_s=env.heartbeat_interval,
        )

    @property
    def destination(self) -> str:
        """The server URL, or the store URL when there is no server."""
        return self.url.rstrip("/") if self.url else self.database_url

    @property
    def spool_path(self) -> Path:
        """The spool for this destination: events meant for one server never replay to another."""
        digest = hashlib.sha256(self.destination.encode()).hexdigest()[:16]
        return self.spool_dir / digest
