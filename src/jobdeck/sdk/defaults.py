"""The SDK settings' defaults, apart so that the settings and the reading of variables share them
without importing each other."""

from __future__ import annotations

DEFAULT_DATABASE_URL = "sqlite:///./jobdeck.db"  # the server's default store (jobdeck.config)
SPOOL_MAX_BYTES = 64 * 1024 * 1024
SHUTDOWN_TIMEOUT_S = 3.0
HEARTBEAT_INTERVAL_S = 60.0
