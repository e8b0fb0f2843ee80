"""The control plane: stop and retry runs through the executor that can act on them, and audit it."""

from __future__ import annotations

from jobdeck.control.plane import ActionRefused, Actions, ControlPlane, Retried, Stopped

__all__ = ["ActionRefused", "Actions", "ControlPlane", "Retried", "Stopped"]
