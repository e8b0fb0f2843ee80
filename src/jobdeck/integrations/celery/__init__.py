"""Celery: its event stream and signals recorded as runs, its workers and queues shown, its tasks acted on.

Needs the `celery` extra (`pip install 'jobdeck[celery]'`); nothing here is imported unless a Celery
broker is configured or `instrument(app)` is called.
"""

from __future__ import annotations

from typing import Any


def instrument(app: Any) -> Any:
    """Record `app`'s tasks through the SDK's buffered sender (instrumented mode, see instrumentation.py);
    returns the instrumentation (its `disconnect()` undoes it)."""
    from jobdeck.integrations.celery.instrumentation import instrument as connect

    return connect(app)
