"""The server's background loops: `Periodic` (a step repeated on a timer in a thread) and the loops built
on it, retention cleanup and the SQLite WAL checkpoint. Their SQL stays in `store/`; `services.py` says
how the app starts and stops them."""
