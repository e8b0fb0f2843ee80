"""jobdeck: one dashboard and control plane for background jobs."""

from __future__ import annotations

__version__ = "0.1.0"
