"""Pings, the way Healthchecks users know them: `/ping/{job}`, `/start`, `/fail`, `/log`, `/{exit_code}`.

`signals.py` turns one ping (its kind, body and `rid`) into events, `routes.py` serves them.
"""
