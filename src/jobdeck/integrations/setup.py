"""The queue sources (and their run pollers) a server's settings name: `--bullmq URL`, `--rq URL`.

Making a source opens no connection (redis-py connects on first use), so a broker that is down at
start does not stop `serve`: its source reports it unreachable and its poller retries every pass.
"""

from __future__ import annotations

from jobdeck.config import Settings
from jobdeck.integrations.queues import QueueSource
from jobdeck.recorder import Recorder
from jobdeck.services import Service


def sources_from_settings(settings: Settings, recorder: Recorder) -> list[tuple[QueueSource, Service | None]]:
    """One source per BullMQ or RQ URL in the settings, each with the loop that turns its jobs into runs."""
    made: list[tuple[QueueSource, Service | None]] = []
    if settings.bullmq:
        from jobdeck.integrations.bullmq.runs import BullMQRuns
        from jobdeck.integrations.bullmq.source import BullMQSource

        for url in settings.bullmq:
            bullmq = BullMQSource(url)
            made.append((bullmq, BullMQRuns(bullmq, recorder.record)))
    if settings.rq:
        from jobdeck.integrations.rq.runs import RQRuns
        from jobdeck.integrations.rq.source import RQSource

        for url in settings.rq:
            rq_source = RQSource(url)
            made.append((rq_source, RQRuns(rq_source, recorder.record)))
    return made
