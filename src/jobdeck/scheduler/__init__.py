"""Scheduling: triggers (when a schedule fires), the loop that fires schedules exactly once, and the
safety sweep that marks runs lost. The executors that run what fires live in their own package."""
