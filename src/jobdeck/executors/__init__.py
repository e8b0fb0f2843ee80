"""Executors: one small interface (base.py), one implementation a module (local.py; Celery and HTTP later)."""

from __future__ import annotations

from jobdeck.executors.base import Executor, Refusal, Refused, RunInfo, Submission

__all__ = ["Executor", "Refusal", "Refused", "RunInfo", "Submission"]
