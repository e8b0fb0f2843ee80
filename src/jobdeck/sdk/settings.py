"""The SDK's settings, read from JOBDECK_* environment variables."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./jobdeck.db"  # the server's default store (jobdeck.config)


def default_spool_dir() -> Path:
    """The user's cache directory for jobdeck's spool (XDG on Linux, the platform's elsewhere)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "jobdeck" / "spool"


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


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
    spool_max_bytes: int = 64 * 1024 * 1024
    flush_interval_s: float = 1.0
    shutdown_timeout_s: float = 3.0
    heartbeat_interval_s: float = 60.0
    progress_interval_s: float = 1.0
    queue_max: int = 10_000

    @classmethod
    def from_env(cls) -> SdkSettings:
        env = os.environ
        return cls(
            url=server_url(env.get("JOBDECK_URL")),
            database_url=env.get("JOBDECK_DATABASE_URL") or DEFAULT_DATABASE_URL,
            token=env.get("JOBDECK_TOKEN") or None,
            spool_dir=Path(env["JOBDECK_SPOOL_DIR"]) if env.get("JOBDECK_SPOOL_DIR") else default_spool_dir(),
            spool_max_bytes=int(_number("JOBDECK_SPOOL_MAX_BYTES", cls.spool_max_bytes)),
            shutdown_timeout_s=_number("JOBDECK_SHUTDOWN_TIMEOUT", cls.shutdown_timeout_s),
            heartbeat_interval_s=_number("JOBDECK_HEARTBEAT_INTERVAL", cls.heartbeat_interval_s),
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
