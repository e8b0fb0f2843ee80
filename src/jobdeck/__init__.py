"""jobdeck: one dashboard and control plane for background jobs."""

from __future__ import annotations

from jobdeck.sdk import configure, flush, track
from jobdeck.version import __version__

__all__ = ["__version__", "configure", "flush", "track"]
