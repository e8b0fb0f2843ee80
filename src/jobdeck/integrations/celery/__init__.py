"""Celery: its event stream and signals recorded as runs, its workers and queues shown, its tasks acted on.

Needs the `celery` extra (`pip install 'jobdeck[celery]'`); nothing here is imported unless a Celery
broker is configured or `instrument(app)` is called.
"""
