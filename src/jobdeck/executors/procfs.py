"""What Linux's /proc says about another process: its environment and its parent. Before jobdeck
signals a process named only by a recorded pid, it checks that the process really is that run's."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def available() -> bool:
    return (PROC / "self" / "environ").exists()


def environ_of(pid: int) -> dict[str, str]:
    """The environment process `pid` started with. Raises ProcessLookupError when there is no such
    process, PermissionError when it belongs to another user."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


def parent_of(pid: int) -> int:
    """The parent process id of `pid`; ProcessLookupError when there is no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    # "pid (comm) state ppid …": the command name may hold spaces and parentheses.
    return int(stat.rpartition(")")[2].split()[1])


def peak_rss_kb(pid: int) -> int | None:
    """The peak resident memory (VmHWM, KiB) of process `pid` since it last exec'd; None when unknown."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
