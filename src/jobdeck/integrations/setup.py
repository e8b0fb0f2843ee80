"""The queue sources (and their run pollers) a server's settings name: `--bullmq URL`, `--rq URL`."""

from __future__ import annotations

from jobdeck.config import Settings
from jobdeck.integrations.queues import QueueSource
from jobdeck.recorder import Recorder
from jobdeck.services import Service


def sources_from_settings(settings: Settings, recorder: Recorder) -> list[tuple[QueueSource, Service | None]]:
    """One source per BullMQ or RQ URL in the settings, each with the loop that turns its jobs into runs."""
    made: list[tuple[QueueSource, Service | None]] = []
    return made
