"""Functions the RQ tests enqueue; a real `rq worker` imports them from here."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    return a + b


def divide(a: int, b: int) -> float:
    return a / b
