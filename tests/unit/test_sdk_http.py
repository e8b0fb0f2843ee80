"""The HTTP transport's reading of answers: what is retried, what is dropped; and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from jobdeck.sdk.transport import HttpTransport, Rejected, Unavailable

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


@pytest.mark.parametrize(
    ("status", "per_event"), [(400, True), (413, True), (422, True), (401, False), (404, False)]
)
def test_refusals_are_dropped(status: int, per_event: bool) -> None:
    with pytest.raises(Rejected) as refused:
        transport_answering(status).send([EVENT])
    assert refused.value.per_event is per_event


def test_no_server_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = HttpTransport(
        "http://jobdeck:5555", client=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(Unavailable, match="ConnectError"):
        transport.send([EVENT])


def test_importing_the_sdk_leaves_the_server_side_unimported() -> None:
    heavy = "('sqlalchemy', 'fastapi', 'uvicorn', 'httpx')"
    code = f"import sys, jobdeck; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
