"""RQ queues, their registries and workers, read with the rq library itself (the `rq` extra) so the
counts are RQ's own; RQ jobs as runs, read from their Redis hashes without unpickling anything; a
failed job requeued through RQ's FailedJobRegistry. `jobdeck serve --rq redis://host:6379/0`
(repeatable). Tested with rq 3.0.0 (the pinned dev dependency)."""
