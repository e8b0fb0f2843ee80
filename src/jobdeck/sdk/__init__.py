"""The Python SDK: report a job's runs with `@track`/`track.run`; events reach jobdeck in the background."""

from __future__ import annotations

from jobdeck.sdk.client import configure, flush, shutdown
from jobdeck.sdk.settings import SdkSettings
from jobdeck.sdk.tracking import Run, Tracker, track
from jobdeck.sdk.transport import DirectTransport, HttpTransport, Rejected, Transport, Unavailable

__all__ = [
    "DirectTransport",
    "HttpTransport",
    "Rejected",
    "Run",
    "SdkSettings",
    "Tracker",
    "Transport",
    "Unavailable",
    "configure",
    "flush",
    "shutdown",
    "track",
]
