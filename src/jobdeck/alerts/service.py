"""The evaluator and the sender as loops a server runs for its lifetime (`jobdeck serve`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from jobdeck.alerts.delivery import Sender
from jobdeck.alerts.evaluator import Evaluator
from jobdeck.background.periodic import Periodic
from jobdeck.config import Settings
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


def loops(store: Store, settings: Settings) -> list[Periodic]:
    """The evaluation every `alert_interval_s` seconds (none when 0) and the sending of due
    notifications every few seconds, as background services of `serve`."""
    if settings.alert_interval_s <= 0:
        return []
    evaluate = after_first_period(evaluator_for(store, settings).run_once)
    send = after_first_period(Sender(store, settings).run_once)
    return [
        Periodic("alert evaluation", evaluate, settings.alert_interval_s),
        Periodic("alert delivery", send, SEND_EVERY_S),
    ]
