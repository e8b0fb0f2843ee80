"""BullMQ queues read straight from Redis with BullMQ's key layout (no Node needed): counts exactly as
`Queue.getJobCounts` reports them, paused state, job schedulers, failed jobs; jobs as runs; a failed
job retried or removed the way BullMQ's own scripts do it.

`jobdeck serve --bullmq redis://host:6379/0#prefix` (repeatable; the prefix defaults to "bull").
Tested against BullMQ 6.7.6 and 5.81.5 from npm (tests/bullmq/package.json, tests/bullmq/v5/), whose
layout under `{prefix}:{queue}:` is:
`wait`, `paused`, `active` (lists), `prioritized`, `delayed`, `completed`, `failed`,
`waiting-children` (sorted sets), `meta` (hash: `paused`, `concurrency`, `opts.maxLenEvents`),
`events` (stream), `repeat` (sorted set of job scheduler ids by next run) with a hash
`repeat:{id}` per scheduler, `marker`, `pc` (priority counter) and a hash per job, `{id}`.
"""
