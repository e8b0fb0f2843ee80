"""`serve --bullmq/--rq` take Redis URLs; a BullMQ URL's fragment is its key prefix."""

from __future__ import annotations

import pytest
import typer

from jobdeck.cli.server import check_queue_urls
from jobdeck.config import Settings
from jobdeck.integrations.bullmq.keys import split_url


def test_a_bullmq_url_fragment_is_its_prefix() -> None:
    assert split_url("redis://:pw@h:6379/3#myapp") == ("redis://:pw@h:6379/3", "myapp")
    assert split_url("redis://h:6379/0") == ("redis://h:6379/0", "bull")
    with pytest.raises(ValueError, match="redis://"):
        split_url("http://h/0")


def test_serve_refuses_a_queue_url_that_is_not_redis(capsys: pytest.CaptureFixture[str]) -> None:
    check_queue_urls(Settings(bullmq=["redis://h/0#p"], rq=["rediss://h/1"]))
    with pytest.raises(typer.Exit):
        check_queue_urls(Settings(rq=["amqp://guest@h//"]))
    assert "--rq 'amqp://guest@h//': give a Redis URL" in capsys.readouterr().err.replace("\n", " ")
