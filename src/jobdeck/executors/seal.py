"""A local command's seal: proof that a jobdeck process of this user recorded the command.

Runs reach jobdeck as events, and anyone who can reach the server can post events. So a command read
back from a run is not run again on its word alone: the local executor (in `jobdeck serve` and in
`jobdeck run`) seals every command it starts with an HMAC under a key only this user can read, and
runs a recorded command again only when its seal checks out.

The key is a file: $JOBDECK_CONTROL_KEY_FILE, else $XDG_CONFIG_HOME/jobdeck/control.key (by default
~/.config/jobdeck/control.key), made on first use, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

LABEL = "jobdeck.seal"


def key_path() -> Path:
    configured = os.environ.get("JOBDECK_CONTROL_KEY_FILE", "").strip()
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or Path.home() / ".config"
    return Path(base) / "jobdeck" / "control.key"


def load_key(path: Path | None = None) -> bytes:
    """The key, made (mode 0600) when there is none yet; raises OSError when it cannot be read or made."""
    path = path or key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under another name, then linked into place: a process reading the key file
    # never sees it empty, and of two processes making it at once the second takes the first's.
    key = secrets.token_bytes(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key.hex() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    finally:
        draft.unlink(missing_ok=True)
    return key


def seal(key: bytes, job: str, host: str, args: Any, cwd: Any) -> str:
    """The seal of running `args` in `cwd` as `job` on `host`."""
    message = json.dumps([job, host, args, cwd], separators=(",", ":"), sort_keys=True, default=str)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, found: str | None, job: str, host: str, args: Any, cwd: Any) -> bool:
    return found is not None and hmac.compare_digest(found, seal(key, job, host, args, cwd))
