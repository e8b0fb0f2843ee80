"""Running the evaluator and the sender for a server's lifetime (`jobdeck serve`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from fastapi import FastAPI

from jobdeck.alerts.delivery import Sender
from jobdeck.alerts.evaluator import Evaluator
from jobdeck.config import Settings
from jobdeck.periodic import Periodic, run_with
from jobdeck.store import Store

SEND_EVERY_S = 5.0


def evaluator_for(store: Store, settings: Settings) -> Evaluator:
    return Evaluator(store, settings.alert_interval_s, settings.alert_resolve_after, settings.base_url)


def after_first_period(task: Callable[[], object]) -> Callable[[], object]:
    """`task`, but doing nothing on its first call: a server evaluates one period after it starts,
    not while it is still starting (and a short-lived test app never does)."""
    calls = itertools.count()

    def later() -> object:
        return task() if next(calls) else None

    return later


def install(app: FastAPI, store: Store, settings: Settings) -> None:
    """Evaluate every `alert_interval_s` seconds (0: never) and send due notifications every few seconds."""
    if settings.alert_interval_s <= 0:
        return
    evaluator = evaluator_for(store, settings)
    evaluate = after_first_period(evaluator.run_once)
    run_with(app, Periodic("alert evaluation", evaluate, settings.alert_interval_s))
    run_with(
        app, Periodic("alert delivery", after_first_period(Sender(store, settings).run_once), SEND_EVERY_S)
    )
