"""Failure fingerprints: values that vary between occurrences never split a group; error types never merge."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdeck.analytics.fingerprints import fingerprint, normalize_message

WORDS = st.text(alphabet="ghijklmnopqrstuvwxyz", min_size=1, max_size=8)
SEPARATORS = st.sampled_from([" ", ": ", "=", " / ", ", ", " (", ") "])


def _hex_id(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return "0x" + draw(st.text(alphabet="0123456789abcdef", min_size=1, max_size=16))
    body = draw(st.text(alphabet="0123456789abcdef", min_size=7, max_size=39))
    return draw(st.sampled_from("0123456789")) + body


@st.composite
def variable_value(draw: st.DrawFn, kind: str) -> str:
    """A value of one kind that changes between occurrences of the same failure."""
    if kind == "int":
        return str(draw(st.integers(-(10**12), 10**12)))
    if kind == "float":
        return str(draw(st.floats(0, 1e6, allow_nan=False, allow_infinity=False)))
    if kind == "uuid":
        return str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    if kind == "hex":
        return _hex_id(draw)
    quote = draw(st.sampled_from(["'", '"']))
    inner = draw(st.text(st.characters(exclude_characters=f"\n{quote}"), max_size=20))
    return f"{quote}{inner}{quote}"


KINDS = st.sampled_from(["int", "float", "uuid", "hex", "quoted"])


@st.composite
def message_pair(draw: st.DrawFn) -> tuple[str, str]:
    """Two messages from one template whose holes hold different values of the same kind."""
    parts: list[tuple[str, str | None]] = draw(
        st.lists(st.one_of(WORDS.map(lambda w: (w, None)), KINDS.map(lambda k: ("", k))), max_size=8)
    )
    separators = draw(st.lists(SEPARATORS, min_size=len(parts), max_size=len(parts)))
    first, second = [], []
    for (word, kind), sep in zip(parts, separators, strict=True):
        if kind is None:
            first.append(word + sep)
            second.append(word + sep)
        else:
            first.append(draw(variable_value(kind)) + sep)
            second.append(draw(variable_value(kind)) + sep)
    return "".join(first), "".join(second)


@given(message_pair())
def test_messages_differing_only_in_values_share_a_fingerprint(pair: tuple[str, str]) -> None:
    a, b = pair
    assert normalize_message(a) == normalize_message(b)
    assert fingerprint("sync", "KeyError", a) == fingerprint("sync", "KeyError", b)


@given(st.text(max_size=40), st.text(max_size=40), st.text(min_size=1, max_size=20), st.text(max_size=60))
def test_different_error_types_never_share_a_fingerprint(t1: str, t2: str, job: str, message: str) -> None:
    if t1 != t2:
        assert fingerprint(job, t1, message) != fingerprint(job, t2, message)


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), st.text(max_size=60))
def test_different_jobs_never_share_a_fingerprint(j1: str, j2: str, message: str) -> None:
    if j1 != j2:
        assert fingerprint(j1, "ValueError", message) != fingerprint(j2, "ValueError", message)


@pytest.mark.parametrize(
    ("message", "normalised"),
    [
        ("order 123 not found", "order <n> not found"),
        ("timeout after 30.5s", "timeout after <n>s"),
        ("user 'alice' has no key \"k1\"", "user <str> has no key <str>"),
        ("task 6f1c0e1a-8b3e-4a51-9d0a-2b1f6f0e4c11 lost", "task <uuid> lost"),
        ("object at 0x7f3a2c1b9d00", "object at <n>"),
        ("commit 3e4f5a6b7c8d9e0f failed", "commit <n> failed"),
        ("deadbeef is a word here", "deadbeef is a word here"),
        ("  many\n  spaces\t", "many spaces"),
        (None, ""),
    ],
)
def test_normalize_message_examples(message: str | None, normalised: str) -> None:
    assert normalize_message(message) == normalised


def test_different_messages_stay_apart() -> None:
    assert fingerprint("sync", "ValueError", "disk full") != fingerprint("sync", "ValueError", "quota hit")
