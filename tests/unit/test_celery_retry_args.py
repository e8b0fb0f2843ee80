"""A stored Celery run's args made ready to send again: JSON as it is, Celery's text read as literals,
and every other case refused with a sentence that says why."""

from __future__ import annotations

import pytest

from jobdeck.integrations.celery.retry_args import RetryArgs, Unusable, parse, why_not


def test_json_args_are_sent_as_they_are() -> None:
    assert parse([1, "a", {"b": [2]}], {"x": None}) == RetryArgs([1, "a", {"b": [2]}], {"x": None})
    assert parse(None, None) == RetryArgs([], {})


def test_celerys_text_is_read_as_python_literals() -> None:
    assert parse("(1, 'a', [2.5, None, True])", "{'when': '2026-12-05', 'n': -3}") == RetryArgs(
        [1, "a", [2.5, None, True]], {"when": "2026-12-05", "n": -3}
    )
    assert parse("()", "{}") == RetryArgs([], {})
    assert parse("[7]", None).args == [7]


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        (
            "(<object object at 0x7f3a2c1b0>,)",
            "{}",
            "its args were reported by Celery as the text '(<object object at 0x7f3a2c1b0>,)', which is not "
            "made of Python literals",
        ),
        ("(1, 'aaaa...", "{}", "which Celery cut short, so the whole value is not known"),
        ("()", "{'when': datetime.date(2026, 1, 1)}", "its kwargs were reported by Celery as the text"),
        ("__import__('os').system('true')", None, "not made of Python literals"),
        ("5", None, "its args are a int, not a list of arguments"),
        (None, "[1]", "its kwargs are a list, not a mapping of names to values"),
        ("({1, 2},)", None, "its args hold values JSON cannot carry"),
        (None, {"password": "***"}, "its kwargs hold values jobdeck masked before storing them (***)"),
    ],
)
def test_what_cannot_be_sent_again_is_refused_with_why(args: object, kwargs: object, says: str) -> None:
    with pytest.raises(Unusable) as refused:
        parse(args, kwargs)
    assert says in str(refused.value)
    assert why_not(args, kwargs) == str(refused.value)
