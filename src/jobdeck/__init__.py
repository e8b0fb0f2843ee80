"""jobdeck: one dashboard and control plane for background jobs."""

from __future__ import annotations

from jobdeck.sdk import configure, flush, track

__version__ = "0.1.0"
__all__ = ["__version__", "configure", "flush", "track"]
