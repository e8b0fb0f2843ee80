"""Retries pause for a random share of a growing step, so writers or senders that failed together
do not come back together."""

from __future__ import annotations

import random

from jobdeck.recorder import backoff_s
from jobdeck.sdk.sender import jittered


def test_the_recorders_pause_is_jittered_within_a_doubling_step() -> None:
    random.seed(5)
    for attempt in range(8):
        pauses = {backoff_s(attempt) for _ in range(50)}
        step = min(0.5, 0.01 * 2**attempt)
        assert all(0 <= p <= step for p in pauses)
        assert len(pauses) > 40  # random, not one fixed pause


def test_the_sdks_pause_is_between_half_and_all_of_its_back_off() -> None:
    pauses = [jittered(8.0) for _ in range(200)]
    assert all(4.0 <= p <= 8.0 for p in pauses)
    assert max(pauses) - min(pauses) > 2.0
