"""Failure fingerprints: one key per kind of failure, whatever ids and values its message carries.

A fingerprint is (job, error type, normalised message). Normalising replaces the parts of a
message that change from one occurrence to the next — quoted values, UUIDs, numbers and hex ids —
with placeholders, so `"order 123 not found"` and `"order 98 not found"` are one failure.
"""

from __future__ import annotations

import hashlib
import json
import re

MAX_SIGNATURE_CHARS = 500

_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# 0x-prefixed hex, or 8+ hex digits with a digit and a letter (shas, object ids). A hex id without
# letters is caught by _NUMBER; both become the same placeholder, so the two can never split a group.
_HEX = re.compile(
    r"\b0[xX][0-9a-fA-F]+\b|(?<!\.)\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"
)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SPACE = re.compile(r"\s+")


def normalize_message(message: str | None) -> str:
    """The message with quoted values (<str>), UUIDs (<uuid>), numbers and hex ids (<n>) replaced."""
    if not message:
        return ""
    text = _QUOTED.sub("<str>", message)
    text = _UUID.sub("<uuid>", text)
    text = _HEX.sub("<n>", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()[:MAX_SIGNATURE_CHARS]


def fingerprint(job: str, error_type: str | None, message: str | None) -> str:
    """A short stable key for (job, error type, normalised message)."""
    key = json.dumps([job, error_type or "", normalize_message(message)], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:16]
