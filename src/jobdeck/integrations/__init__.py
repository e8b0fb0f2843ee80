"""The job systems people already run, read by jobdeck: Celery, cron pings, a jobs table, BullMQ, RQ.

One package each; what they share (queues and broker health in one shape) is in `queues.py`.
"""
