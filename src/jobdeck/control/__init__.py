"""The control plane: stop, terminate and retry runs through the executor that can act on them, audited."""

from __future__ import annotations

from jobdeck.control.plane import ActionRefused, Actions, BulkRetried, ControlPlane, Purged, Retried, Stopped

__all__ = ["ActionRefused", "Actions", "BulkRetried", "ControlPlane", "Purged", "Retried", "Stopped"]
