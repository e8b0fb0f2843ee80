"""The SDK's cheap check of events (sdk/wire.py) and its capture of values (payload.captured), held
to the server's event model and to the capture as it was before it was made cheaper."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from jobdeck.events import WIRE_EVENT, EventIn
from jobdeck.sdk import payload, wire

ODD = ["", " ", " a", "a ", "a\x00", "a\tb", "\ud800", "a\u3000", "\xa0", "é", "x" * 200, "x" * 201, "ok"]


def test_the_check_covers_every_field_of_the_model() -> None:
    assert set(wire.CHECKS) == set(EventIn.model_fields)


def times() -> st.SearchStrategy[str]:
    zones = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=14))])
    aware = st.builds(
        lambda at, zone: at.replace(tzinfo=zone).isoformat(),
        st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2510, 1, 1)),
        zones,
    )
    odd = st.sampled_from(["2026-12-05T12:00:00", "2026-13-05T12:00:00+00:00", "20261205T120000Z", "now"])
    return st.one_of(aware, odd, st.just(payload.now_iso()))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(ODD),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
)
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,30}[A-Za-z0-9]", fullmatch=True)
texts = st.one_of(names, names, st.text(max_size=210), st.sampled_from(ODD))
counts = st.integers(min_value=-2, max_value=2**53 + 2)
anything = st.one_of(scalars, json_values)


def field_values(name: str) -> st.SearchStrategy[Any]:
    """Values for one field: mostly ones near what the model takes, some of anything."""
    check = wire.CHECKS[name]
    if check in (wire._short, wire._name) or name.startswith(("error", "trace", "schedule", "timezone")):
        typical: st.SearchStrategy[Any] = texts
    elif check is wire._time:
        typical = times()
    elif check is wire._kind:
        typical = st.sampled_from(["started", "succeeded", "failed", "lost", "progress", "begun", "Started"])
    elif check is wire._json:
        typical = st.one_of(json_values, json_values.map(payload.captured))
    elif check is wire._labels:
        typical = st.dictionaries(texts, st.one_of(texts, st.integers()), max_size=3)
    elif check in (wire._amount, wire._duration):
        typical = st.one_of(st.floats(allow_nan=True), st.integers(), texts)
    else:
        typical = st.one_of(counts, st.integers(min_value=-2, max_value=10_002), st.integers(-(2**33), 2**33))
    return st.one_of(typical, typical, typical, typical, anything)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An event of a few fields (so that many pass the check whole)."""
    names = draw(st.lists(st.sampled_from(sorted(wire.CHECKS)), max_size=5, unique=True))
    event = {"run_id": draw(field_values("run_id")), "event": draw(field_values("event"))}
    event.update({name: draw(field_values(name)) for name in names})
    return event


@settings(max_examples=1500, deadline=None)
@given(events())
def test_what_the_check_passes_the_server_takes_as_it_is(event: dict[str, Any]) -> None:
    if not wire.acceptable(event):
        return
    # As the sender sends it (a NaN would make the whole batch invalid JSON).
    WIRE_EVENT.validate_json(json.dumps(event, allow_nan=False), strict=True)
    EventIn.model_validate(event)
    assert payload.storable(event) == event


def test_what_the_sdk_builds_passes_the_check() -> None:
    event = {
        "run_id": "8c1f5f0e-5b7e-4f4e-9a8e-1d2c3b4a5f6e",
        "event": "started",
        "job": "reports.nightly",
        "at": payload.now_iso(),
        "source": "celery",
        **payload.process_fields("celery@worker-1"),
        "queue": "default",
        "labels": {"celery.broker": "redis://127.0.0.1:6379/0"},
        "args": payload.captured([1, "two", {"three": 3.0}]),
        "kwargs": payload.captured({"customer": "acme"}),
        "priority": 7,
        "eta": payload.now_iso(),
        "attempt": 1,
    }
    assert wire.acceptable(event)
    try:
        raise ValueError("bad row")
    except ValueError as exc:
        failed = {"run_id": "r", "event": "failed", "at": payload.now_iso(), **payload.error_fields(exc)}
    assert wire.acceptable(failed)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue", "a\tb"),
        ("job", " padded "),
        ("at", "2026-12-05T12:00:00"),  # naive
        ("priority", True),
        ("cpu_s", float("nan")),
        ("args", [1, 2]),  # not captured: the model checks it
        ("labels", {"k": 1}),
        ("surprise", 1),
    ],
)
def test_what_the_check_is_unsure_of_goes_to_the_full_check(field: str, value: Any) -> None:
    assert not wire.acceptable({"run_id": "r", "event": "started", field: value})


def captured_before(value: Any, limit: int = payload.MAX_CAPTURE_CHARS) -> Any:
    """The capture as it was: JSON three times, then every string made storable as the client did."""
    safe = payload.json_safe(value)
    text = json.dumps(safe, allow_nan=False)
    return payload.storable(safe if len(text) <= limit else payload.clip(text, limit))


class Odd:
    def __repr__(self) -> str:
        return "<odd \x00 thing>"


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, st.lists(st.just(Odd()), max_size=2), st.text(min_size=700, max_size=800)))
def test_the_capture_gives_what_it_gave_before(value: Any) -> None:
    now, before = payload.captured(value), captured_before(value)
    assert json.dumps(now) == json.dumps(before)
    if isinstance(now, list | dict):
        assert isinstance(now, payload.CapturedList | payload.CapturedDict)
        assert now is not value  # a copy: the caller may change its value later


@pytest.mark.parametrize(
    "value",
    [
        [float("nan")],
        {"k": math.inf},
        {1: "int key"},
        {("tuple", "key"): 1},
        "x" * 70_000,
        ["y" * 5_000],
        {"k\x00": "v\ud800"},
        ["😀", "a\x00"],
        10**30,
        (1, 2),
        {"nested": {"deeper": [1, 2, 3]}},
        list(range(40)),
    ],
)
def test_the_capture_of_odd_values_gives_what_it_gave_before(value: Any) -> None:
    assert json.dumps(payload.captured(value)) == json.dumps(captured_before(value))


def test_a_captured_value_is_a_snapshot() -> None:
    items: list[Any] = [[1], {"a": 1}]
    kept = payload.captured(items)
    items[0].append(2)
    items[1]["b"] = 2
    assert kept == [[1], {"a": 1}]


def test_a_bad_value_still_takes_the_full_check(caplog: pytest.LogCaptureFixture) -> None:
    from jobdeck.sdk.client import checked

    with caplog.at_level("WARNING", "jobdeck.sdk"):
        kept = checked({"run_id": "r", "event": "started", "job": "j", "queue": "a\tb"})
    assert kept == {"run_id": "r", "event": "started", "job": "j"}
    assert "leaving out invalid fields {'queue'}" in caplog.text
    with pytest.raises(ValidationError):
        EventIn.model_validate({"run_id": "r", "event": "started", "queue": "a\tb"})
