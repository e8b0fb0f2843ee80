"""A stored Celery run's args and kwargs, made ready to send again, or why they cannot be.

Instrumented runs carry their args as JSON (a list and an object): they are sent as they are. Runs seen
only through Celery's events carry Celery's text of them (`argsrepr`/`kwargsrepr`, e.g. "(1, 'a')" and
"{'x': 2}"): that text is read as Python literals (`ast.literal_eval`, which runs nothing), and refused,
with the reason in a sentence, when it is not made of literals (an object's repr), was cut short by
Celery, holds values jobdeck masked before storing them, or holds values JSON cannot carry.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from jobdeck.auth.masking import MASK

SHOWN_CHARS = 80


@dataclass(frozen=True)
class RetryArgs:
    """The positional and keyword arguments to send the task with."""

    args: list[Any]
    kwargs: dict[str, Any]


class Unusable(ValueError):
    """The stored args or kwargs cannot be sent again; the message says why, in a sentence."""


def parse(args: Any, kwargs: Any) -> RetryArgs:
    """The args and kwargs to send again; raise Unusable with the reason when they cannot be."""
    positional = _positional(args)
    keywords = _keywords(kwargs)
    for name, value in (("args", positional), ("kwargs", keywords)):
        if _masked(value):
            raise Unusable(
                f"its {name} hold values jobdeck masked before storing them ({MASK}), so the originals "
                "are not known"
            )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise Unusable(f"its {name} hold values JSON cannot carry ({exc})") from None
    return RetryArgs(positional, keywords)


def why_not(args: Any, kwargs: Any) -> str | None:
    """None when `parse` would succeed; else its reason."""
    try:
        parse(args, kwargs)
    except Unusable as exc:
        return str(exc)
    return None


def _positional(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        value = _literal("args", value)
    if isinstance(value, list | tuple):
        return list(value)
    raise Unusable(f"its args are a {type(value).__name__}, not a list of arguments")


def _keywords(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = _literal("kwargs", value)
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return dict(value)
    raise Unusable(f"its kwargs are a {type(value).__name__}, not a mapping of names to values")


def _literal(name: str, text: str) -> Any:
    """Celery's text of args or kwargs read as Python literals."""
    shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if text.rstrip().endswith("..."):
        why = "which Celery cut short, so the whole value is not known"
    else:
        why = "which is not made of Python literals (an object's text cannot be turned back into it)"
    raise Unusable(f"its {name} were reported by Celery as the text {shown!r}, {why}")


def _masked(value: Any) -> bool:
    if isinstance(value, str):
        return value == MASK
    if isinstance(value, dict):
        return any(_masked(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_masked(item) for item in value)
    return False
