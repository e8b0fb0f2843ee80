"""The cycle collector is off inside a batch and back on after, however blocks nest or fail."""

from __future__ import annotations

import gc
import threading

import pytest

from jobdeck import gcpause


def test_paused_blocks_nest_and_restore() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gcpause.paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()


def test_concurrent_blocks_end_with_the_last() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    with gcpause.paused():
        pass
    assert not gc.isenabled()  # the other thread's batch is still going
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
