"""The demo: a synthetic but realistic workload of eight jobs, backfilled and then streamed live.

`workload` is pure and seedable (profiles + seed + time range → events); `live` records those events
through a Recorder, a week at once and then as the clock passes them.
"""
