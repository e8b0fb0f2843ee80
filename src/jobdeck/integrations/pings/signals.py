"""One ping as events: what it says (start, success, failure, exit code, log), its body as the run's
output, the run it belongs to, and the expectation its `?schedule=` declares. No I/O here."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobdeck.domain import EventKind
from jobdeck.events import Event, make_event

SOURCE = "ping"
MAX_BODY_BYTES = 100_000  # a POST body beyond this is cut, with a note
MAX_OUTPUT_CHARS = 190_000  # the escaped output's own limit (a run's output holds 200,000)
MAX_NAME_CHARS = 200
MAX_EXIT_CODE = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PingKind(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAIL = "fail"
    LOG = "log"


class BadPing(ValueError):
    """A ping that cannot be taken: a bad job name, exit code, rid or schedule (a 422)."""


@dataclass(frozen=True)
class Ping:
    """What one ping says."""

    job: str
    kind: PingKind
    exit_code: int | None = None  # for /ping/{job}/{exit_code}
    rid: str | None = None

    @property
    def ends(self) -> bool:
        return self.kind in (PingKind.SUCCESS, PingKind.FAIL)


def check_name(value: str, what: str) -> str:
    """A job name or rid: 1 to 200 characters, no control character; BadPing says what is wrong."""
    text = value.strip()
    if not text or len(text) > MAX_NAME_CHARS:
        raise BadPing(f"{what} must be 1 to {MAX_NAME_CHARS} characters, not {len(text)}")
    if _CONTROL.search(text):
        raise BadPing(f"{what} must not contain control characters")
    return text


def parse(job: str, action: str | None, rid: str | None) -> Ping:
    """The ping of `/ping/{job}[/{action}]?rid=…`: action is start, fail, log or an exit code 0 to 255."""
    job = check_name(job, "the job name")
    rid = check_name(rid, "rid") if rid is not None else None
    if action is None:
        return Ping(job, PingKind.SUCCESS, rid=rid)
    word = action.strip().lower()
    if word in (PingKind.START, PingKind.FAIL, PingKind.LOG):
        return Ping(job, PingKind(word), rid=rid)
    if word.isdigit() and len(word) <= 3 and int(word) <= MAX_EXIT_CODE:
        code = int(word)
        return Ping(job, PingKind.SUCCESS if code == 0 else PingKind.FAIL, exit_code=code, rid=rid)
    raise BadPing(
        f"bad exit code {action!r}: after the job name comes start, fail, log or an exit code from 0 to 255"
    )


def output_of(body: bytes, total: int) -> str | None:
    """A POST body as the run's output: UTF-8 as it is, anything else with its bytes escaped (\\xNN),
    NULs replaced; `total` is the body's whole size, and a body cut at MAX_BODY_BYTES says so."""
    if not body:
        return None
    kept = body[:MAX_BODY_BYTES]
    try:
        text = kept.decode("utf-8")
    except UnicodeDecodeError as exc:
        if total > MAX_BODY_BYTES and exc.start >= len(kept) - 3 and exc.reason == "unexpected end of data":
            text = kept[: exc.start].decode("utf-8", errors="backslashreplace")  # cut inside a character
        else:
            text = kept.decode("utf-8", errors="backslashreplace")
    text = text.replace("\x00", "\ufffd")  # as events.without_nul does: no store keeps a NUL
    cut = total > MAX_BODY_BYTES or len(text) > MAX_OUTPUT_CHARS
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS]
    if cut:
        text += f"\n… [cut: the body was {total} bytes; the first {MAX_BODY_BYTES} are kept]"
    return text


def run_id_for(job: str, rid: str | None) -> str:
    """The run a ping names: `ping:{job}:{rid}` with a rid (a digest when that is too long), else a
    new id for a run of its own."""
    if rid is None:
        return f"ping:{uuid.uuid4().hex}"
    readable = f"ping:{job}:{rid}"
    if len(readable) <= MAX_NAME_CHARS:
        return readable
    return "ping:" + hashlib.sha256(f"{job}\0{rid}".encode()).hexdigest()[:32]


def events_of(
    ping: Ping, run_id: str, open_run: bool, at: datetime, output: str | None, remote: str | None
) -> list[Event]:
    """The events of `ping` on run `run_id`. `open_run` says whether that run was started by an
    earlier ping; an end without one is a run of zero duration (started and ended at `at`)."""
    base: dict[str, Any] = {"job": ping.job, "source": SOURCE}
    if remote:
        base["labels"] = {"ping.from": remote}
    if ping.kind is PingKind.START:
        return [make_event(run_id, EventKind.STARTED, at, base)]
    if ping.kind is PingKind.LOG:
        if open_run:  # the output so far, on the run still running
            return [make_event(run_id, EventKind.HEARTBEAT, at, {**base, "traceback": output})]
        fields = {
            **base,
            "traceback": output,
            "error_type": "LogOnly",
            "error_message": (
                "a log ping with no run open: kept as a run of its own, neither success nor failure"
            ),
        }
        return [
            make_event(run_id, EventKind.STARTED, at, base),
            make_event(run_id, EventKind.CANCELLED, at, fields),
        ]
    end: dict[str, Any] = {**base, "traceback": output}
    if ping.exit_code is not None:
        end["result"] = {"exit_code": ping.exit_code}
    if ping.kind is PingKind.SUCCESS:
        kind = EventKind.SUCCEEDED
    else:
        kind = EventKind.FAILED
        if ping.exit_code is not None:
            end["error_type"] = "NonZeroExit"
            end["error_message"] = f"exit code {ping.exit_code}"
        else:
            end["error_type"] = "PingFail"
            end["error_message"] = "reported failed by a ping"
        last = _last_line(output)
        if last:
            end["error_message"] += f": {last}"
    events = [make_event(run_id, kind, at, end)]
    if not open_run:
        events.insert(0, make_event(run_id, EventKind.STARTED, at, base))
    return events


def _last_line(output: str | None, limit: int = 300) -> str:
    if not output:
        return ""
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    if last.startswith("… [cut:"):
        return ""
    return last if len(last) <= limit else last[:limit] + "…"


def schedule_fields(schedule: str | None, tz: str | None, grace: str | None) -> dict[str, Any]:
    """A ping's `?schedule=` (a cron expression, or an interval in seconds), `?tz=` and `?grace=` as
    the fields of an expectation (alerts.expectations.declaration); empty when none is given."""
    fields: dict[str, Any] = {}
    if schedule is None and (tz is not None or grace is not None):
        # Alone they would replace the job's expectation with one that expects nothing.
        raise BadPing("tz and grace go with schedule (a cron expression or an interval in seconds)")
    if schedule is not None:
        text = schedule.strip()
        if not text:
            raise BadPing("schedule is empty: give a cron expression or an interval in seconds")
        try:
            seconds = float(text)
        except ValueError:
            fields["schedule"] = text
        else:
            fields["schedule"] = f"every {seconds:g}s"
    if tz is not None:
        fields["timezone"] = tz
    if grace is not None:
        fields["grace"] = grace
    return fields
