"""The HTTP transport's reading of answers: what is retried, what is dropped; and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx2 as httpx
import pytest

from jobdeck.sdk.transport import HttpTransport, Rejected, ServerError, Unavailable

EVENT = {"run_id": "a", "event": "started", "job": "j"}


def transport_answering(status: int, seen: list[httpx.Request] | None = None) -> HttpTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json={"detail": "nope"} if status >= 400 else {"accepted": 1})

    return HttpTransport(
        "http://jobdeck:5555/", "tok", client=httpx.Client(transport=httpx.MockTransport(answer))
    )


def test_a_batch_is_posted_as_a_json_list() -> None:
    seen: list[httpx.Request] = []
    transport = transport_answering(202, seen)
    transport.send([EVENT, EVENT])
    transport.close()
    (request,) = seen
    assert str(request.url) == "http://jobdeck:5555/api/v1/events"
    assert json.loads(request.content) == [EVENT, EVENT]
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["user-agent"].startswith("jobdeck-python/")


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_server_trouble_is_retried_later(status: int) -> None:
    with pytest.raises(Unavailable):
        transport_answering(status).send([EVENT])


def test_an_internal_error_is_a_server_error_and_health_is_asked_of_the_server() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ServerError):
        transport_answering(500, seen).send([EVENT])
    assert not transport_answering(503).healthy()
    assert transport_answering(200, seen).healthy()
    assert str(seen[-1].url) == "http://jobdeck:5555/api/health"
    assert seen[-1].method == "GET"


def test_health_is_asked_again_on_a_fresh_connection_after_a_reset() -> None:
    answers = iter([httpx.ReadError("connection reset by peer"), httpx.Response(200, json={})])

    def answer(request: httpx.Request) -> httpx.Response:
        reply = next(answers)
        if isinstance(reply, Exception):
            raise reply
        return reply

    transport = HttpTransport(
        "http://jobdeck:5555", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    assert transport.healthy()


@pytest.mark.parametrize(
    ("status", "per_event"), [(400, True), (413, True), (422, True), (401, False), (404, False)]
)
def test_refusals_are_dropped(status: int, per_event: bool) -> None:
    with pytest.raises(Rejected) as refused:
        transport_answering(status).send([EVENT])
    assert refused.value.per_event is per_event


def test_a_connection_the_server_closed_is_tried_once_more() -> None:
    tries: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        if len(tries) == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(202, json={"accepted": 1})

    transport = HttpTransport(
        "http://jobdeck:5555", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    transport.send([EVENT])
    assert len(tries) == 2


def test_no_server_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = HttpTransport(
        "http://jobdeck:5555", client=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(Unavailable, match="ConnectError"):
        transport.send([EVENT])


def test_importing_the_sdk_leaves_the_server_side_unimported() -> None:
    heavy = "('sqlalchemy', 'fastapi', 'uvicorn', 'httpx2', 'pydantic_settings')"
    code = f"import sys, jobdeck; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
