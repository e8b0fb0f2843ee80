"""Run a schedule's Python target: `python -m jobdeck.scheduler.call pkg.mod:fn '{"args": [], "kwargs": {}}'`.

The local executor starts this in a subprocess and records the run (exit 0 is success; an exception's
traceback goes to stderr, whose tail becomes the run's error). What the callable returns is printed
as JSON on stdout when it can be.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any


def resolve(target: str) -> Any:
    """The object `pkg.mod:attr.path` names."""
    module_name, _, path = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in path.split("."):
        found = getattr(found, part)
    return found


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(
            'usage: python -m jobdeck.scheduler.call pkg.mod:fn \'{"args": [], "kwargs": {}}\'\n'
        )
        return 2
    call = json.loads(argv[1])
    function = resolve(argv[0])
    result = function(*call.get("args", []), **call.get("kwargs", {}))
    try:
        sys.stdout.write(json.dumps(result) + "\n")
    except (TypeError, ValueError):
        sys.stdout.write(repr(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
