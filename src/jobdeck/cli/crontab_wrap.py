"""A crontab's entries wrapped in `jobdeck run --job NAME --schedule … --`: pure text in, text out.

Comments, blank lines, variable lines (`MAILTO=…`, `CRON_TZ=…`) and `@reboot` entries are kept as they
are; an entry already wrapped is left as it is (so wrapping twice changes nothing). A job's name comes
from its command: the script's base name without its extension (`/opt/bin/backup-db.sh` → `backup-db`,
`python3 -m app.sync` → `app.sync`), made unique with `_2`, `_3`; a name can be given instead, by the
entry's line number or by the name it would get. Each entry declares its schedule as the job's
expectation (the lateness alerts), in CRON_TZ when the crontab sets it, else in the machine's zone.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobdeck.alerts.expectations import NICKNAMES

_VARIABLE = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=")
_FIVE_FIELDS = re.compile(r"^\s*((?:\S+\s+){4}\S+)\s+(\S.*)$")
_NICKNAME = re.compile(r"^\s*(@[a-z]+)\s+(\S.*)$")
_SIMPLE = re.compile(r"^[A-Za-z0-9_@+=:,./-]+$")  # a word the shell takes as it is
_SHELL_SPECIAL = re.compile(r"[|&;<>()$`\\\"'*?\[\]#~{}\n]")
_INTERPRETERS = re.compile(
    r"^(python[0-9.]*|pypy[0-9.]*|bash|sh|dash|zsh|ksh|node|ruby|perl|php|Rscript|uv|poetry)$"
)
_SHELLS = re.compile(r"^(bash|sh|dash|zsh|ksh)$")
_PREFIXES = frozenset(
    {"nice", "ionice", "nohup", "time", "exec", "env", "sudo", "chronic", "flock", "timeout"}
)
_SKIPPED = frozenset({"cd", "test", "[", "sleep", "true", ":", "source", ".", "export", "set", "umask"})
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
FALLBACK_NAME = "cron_job"


@dataclass(frozen=True)
class Entry:
    """One line of the crontab and what wrapping made of it."""

    number: int  # 1-based
    original: str
    wrapped: str  # the line as it is written out (the original when it is not an entry)
    schedule: str | None = None  # the cron expression of an entry
    job: str | None = None  # the job an entry runs as (also of an entry already wrapped)
    status: str = "kept"  # kept, wrapped, already wrapped, reboot


def _segments(command: str) -> list[list[str]]:
    """The simple commands of a shell command line, as words, without redirections."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: words as they stand
        tokens = command.split()
    segments: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in ("&&", "||", ";", "|", "&", "(", ")", ";;", "|&"):
            segments.append([])
        elif token and set(token) <= set("<>&"):
            skip_next = True  # a redirection and its target
            if segments[-1] and segments[-1][-1].isdigit():
                segments[-1].pop()  # the 2 of 2>&1
        else:
            segments[-1].append(token)
    return [words for words in segments if words]


def job_name(command: str) -> str:
    """The name a command's job gets: its script's base name without the extension."""
    for words in _segments(_until_percent(command)):
        words = [w for w in words if not _VARIABLE.match(w)]
        while words and (words[0] in _PREFIXES or words[0].startswith("-") or words[0].isdigit()):
            words = words[1:]
        if not words or PurePosixPath(words[0]).name in _SKIPPED:
            continue
        program = PurePosixPath(words[0]).name
        if _INTERPRETERS.match(program):
            rest = words[1:]
            if program in ("uv", "poetry") and rest[:1] == ["run"]:
                rest = rest[1:]
            if "-m" in rest and rest.index("-m") + 1 < len(rest):
                return clean_name(rest[rest.index("-m") + 1])
            inline = [w for w in rest if re.match(r"^-[a-z]*c[a-z]*$", w)]
            if inline and _SHELLS.match(program):  # sh -c 'CMD': the name of CMD
                after = rest[rest.index(inline[0]) + 1 :]
                return job_name(after[0]) if after else clean_name(program)
            if inline:
                return clean_name(program)
            script = next((w for w in rest if not w.startswith("-")), None)
            if script is not None:
                return clean_name(_stem(script))
        return clean_name(_stem(words[0]))
    return FALLBACK_NAME


def _stem(path: str) -> str:
    name = PurePosixPath(path).name
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


def clean_name(name: str) -> str:
    """A job name of letters, digits and _ . - only (anything else becomes _)."""
    cleaned = _NAME_CHARS.sub("_", name).strip("_.-")
    return cleaned[:100] or FALLBACK_NAME


def _until_percent(command: str) -> str:
    """The command part of a cron command: up to its first % that is not escaped (after it comes stdin)."""
    return re.split(r"(?<!\\)%", command, maxsplit=1)[0]


def wrapped_name(command: str, jobdeck: str) -> str | None:
    """The job of a command already wrapped in `jobdeck run --job NAME`, else None."""
    try:
        words = shlex.split(_until_percent(command))
    except ValueError:
        return None
    if len(words) < 2 or PurePosixPath(words[0]).name not in ("jobdeck", PurePosixPath(jobdeck).name):
        return None
    if words[1] != "run":
        return None
    for i, word in enumerate(words[2:], start=2):
        if word == "--":
            break
        if word == "--job" and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--job="):
            return word.split("=", 1)[1]
    return FALLBACK_NAME


def wrap_command(command: str, job: str, schedule: str, timezone: str | None, jobdeck: str) -> str:
    """`command` run by `jobdeck run`: as it is when it is a plain command and its arguments, else through
    `sh -c '…'` (pipes, redirections, `&&` and variables keep working); cron's stdin after an unescaped %
    stays after it."""
    parts = re.split(r"(?<!\\)%", command, maxsplit=1)
    head = parts[0].rstrip()
    words = head.split()
    if words and all(_SIMPLE.match(w) for w in words) and not _SHELL_SPECIAL.search(head):
        target = head
    else:
        target = "sh -c " + shlex.quote(head)
    options = [shlex.quote(jobdeck), "run", "--job", shlex.quote(job), "--schedule", shlex.quote(schedule)]
    if timezone:
        options += ["--timezone", shlex.quote(timezone)]
    line = " ".join(options) + " -- " + target
    return line + (f"%{parts[1]}" if len(parts) > 1 else "")


def wrap(
    text: str,
    jobdeck: str,
    names: dict[str, str] | None = None,
    timezone: str | None = None,
) -> list[Entry]:
    """Every line of a crontab, entries wrapped. `names` gives jobs their names by line number ("3")
    or by the name they would get ("backup"); `timezone` is the zone cron runs in (CRON_TZ wins)."""
    names = names or {}
    entries: list[Entry] = []
    used: dict[str, int] = {}
    zone = timezone
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            entries.append(Entry(number, line, line))
            continue
        if _VARIABLE.match(line):
            variable, value = (part.strip() for part in line.split("=", 1))
            if variable in ("CRON_TZ", "TZ"):
                zone = value.strip("'\"") or timezone
            entries.append(Entry(number, line, line))
            continue
        nickname = _NICKNAME.match(line)
        if nickname and nickname[1] == "@reboot":
            entries.append(Entry(number, line, line, status="reboot"))
            continue
        if nickname and nickname[1] in NICKNAMES:
            when, schedule, command = nickname[1], NICKNAMES[nickname[1]], nickname[2]
        else:
            fields = _FIVE_FIELDS.match(line)
            if fields is None:  # not a line cron takes: left as it is
                entries.append(Entry(number, line, line))
                continue
            when, command = fields[1], fields[2]
            schedule = " ".join(when.split())
        already = wrapped_name(command, jobdeck)
        if already is not None:
            used[already] = used.get(already, 0) + 1
            entries.append(Entry(number, line, line, schedule, already, "already wrapped"))
            continue
        derived = job_name(command)
        job = names.get(str(number)) or names.get(derived) or derived
        count = used.get(job, 0) + 1
        used[job] = count
        if count > 1:
            job = f"{job}_{count}"
            used[job] = used.get(job, 0) + 1
        new = f"{when} {wrap_command(command, job, schedule, zone, jobdeck)}"
        entries.append(Entry(number, line, new, schedule, job, "wrapped"))
    return entries


def text_of(entries: list[Entry], original: str) -> str:
    """The wrapped crontab's text (ending in a newline, as cron wants its last line to)."""
    lines = [entry.wrapped for entry in entries]
    return "\n".join(lines) + "\n" if lines or original else ""


def local_timezone() -> str | None:
    """The machine's IANA time zone (cron's, unless CRON_TZ says otherwise), when it can be told."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None
