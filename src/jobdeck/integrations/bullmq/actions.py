"""Retrying and removing a failed BullMQ job as BullMQ's own Lua scripts do, in one atomic script each.

Retry is `Job.retry('failed')` (BullMQ's reprocessJob script) with its defaults: the job leaves the
failed set, loses finishedOn/processedOn/failedReason, keeps attemptsMade (`atm`) and attemptsStarted,
and goes back to `wait` (LPUSH, RPUSH for a lifo job) or, with a priority, into `prioritized` with
BullMQ's priority score. BullMQ 5 (told by the queue's meta `version`) puts it in `paused` while the
queue is paused, else in `wait`, whatever its priority, as its own script does. The worker marker is
set unless the queue is paused or at its concurrency; a `waiting` event goes on the queue's stream.

Remove is `Job.remove()` (removeJob) for a failed job: out of the failed set, the job's keys deleted,
its deduplication key freed if it still holds it, and a `removed` event. Jobs in a flow (with a
parent or children) are refused: BullMQ moves their dependencies too, which is for BullMQ to do.
"""

from __future__ import annotations

import redis

from jobdeck.integrations import redis_broker
from jobdeck.integrations.bullmq.keys import QueueKeys

# KEYS: job, events, failed, wait, meta, active, marker, prioritized, pc, paused
# ARGV: job id
RETRY = """
local rcall = redis.call
local jobKey = KEYS[1]
local jobId = ARGV[1]
if rcall("EXISTS", jobKey) == 0 then return -1 end
if rcall("HEXISTS", jobKey, "parentKey") == 1 or rcall("EXISTS", jobKey .. ":dependencies") == 1 then
  return -5
end
if rcall("ZREM", KEYS[3], jobId) ~= 1 then return -3 end
rcall("HDEL", jobKey, "finishedOn", "processedOn", "failedReason")
local meta = rcall("HMGET", KEYS[5], "paused", "concurrency")
local pausedOrMaxed = false
if meta[1] then
  pausedOrMaxed = true
elseif meta[2] then
  pausedOrMaxed = rcall("LLEN", KEYS[6]) >= tonumber(meta[2])
end
local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0
local push = "LPUSH"
local opts = rcall("HGET", jobKey, "opts")
if opts then
  local ok, decoded = pcall(cjson.decode, opts)
  if ok and type(decoded) == "table" and decoded["lifo"] then push = "RPUSH" end
end
local major = tonumber(string.match(rcall("HGET", KEYS[5], "version") or "", "^bullmq:(%d+)") or "6")
if major < 6 then
  -- BullMQ 5: back to `paused` while the queue is paused, else `wait`; the priority is not looked at.
  if meta[1] then rcall(push, KEYS[10], jobId) else rcall(push, KEYS[4], jobId) end
elseif priority == 0 then
  rcall(push, KEYS[4], jobId)
else
  local counter = rcall("INCR", KEYS[9])
  rcall("ZADD", KEYS[8], priority * 0x100000000 + counter % 0x100000000, jobId)
end
if not pausedOrMaxed then rcall("ZADD", KEYS[7], 0, "0") end
local maxEvents = rcall("HGET", KEYS[5], "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[5], "opts.maxLenEvents", maxEvents)
end
rcall("XADD", KEYS[2], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId, "prev", "failed")
return 1
"""

# KEYS: job, events, failed, meta
# ARGV: job id, queue base ("bull:emails:")
REMOVE = """
local rcall = redis.call
local jobKey = KEYS[1]
local jobId = ARGV[1]
if rcall("EXISTS", jobKey) == 0 then return -1 end
if rcall("HEXISTS", jobKey, "parentKey") == 1 or rcall("EXISTS", jobKey .. ":dependencies") == 1 then
  return -5
end
if rcall("EXISTS", jobKey .. ":lock") == 1 then return 0 end
if rcall("ZREM", KEYS[3], jobId) ~= 1 then return -3 end
local deid = rcall("HGET", jobKey, "deid")
if deid then
  local dedupKey = ARGV[2] .. "de:" .. deid
  if rcall("GET", dedupKey) == jobId then
    rcall("DEL", dedupKey, ARGV[2] .. "dn:" .. deid)
  end
end
rcall("DEL", jobKey, jobKey .. ":logs", jobKey .. ":dependencies", jobKey .. ":processed",
  jobKey .. ":failed", jobKey .. ":unsuccessful")
local maxEvents = rcall("HGET", KEYS[4], "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[4], "opts.maxLenEvents", maxEvents)
end
rcall("XADD", KEYS[2], "MAXLEN", "~", maxEvents, "*", "event", "removed", "jobId", jobId, "prev", "failed")
return 1
"""


def _refusal(code: int, keys: QueueKeys, job_id: str) -> str:
    where = f"job {job_id} of BullMQ queue {keys.queue}"
    if code == -1:
        raise LookupError(f"no {where}")
    if code == -3:
        raise ValueError(f"{where} is not failed: only failed jobs can be retried or removed here")
    if code == -5:
        raise ValueError(f"{where} is part of a flow (it has a parent or children): act on it with BullMQ")
    if code == 0:
        raise ValueError(f"{where} is locked by a worker")
    raise ValueError(f"{where}: BullMQ script answered {code}")


def retry_failed(client: redis.Redis, broker: str, keys: QueueKeys, job_id: str) -> str:
    names = ("events", "failed", "wait", "meta", "active", "marker", "prioritized", "pc", "paused")
    with redis_broker.talking(broker):
        code = int(client.eval(RETRY, 10, keys.job(job_id), *(keys(n) for n in names), job_id))  # type: ignore[arg-type]
    if code != 1:
        _refusal(code, keys, job_id)
    return f"job {job_id} of {keys.queue} moved from failed back to waiting"


def remove_failed(client: redis.Redis, broker: str, keys: QueueKeys, job_id: str) -> str:
    names = ("events", "failed", "meta")
    with redis_broker.talking(broker):
        code = int(client.eval(REMOVE, 4, keys.job(job_id), *(keys(n) for n in names), job_id, keys.base))  # type: ignore[arg-type]
    if code != 1:
        _refusal(code, keys, job_id)
    return f"failed job {job_id} of {keys.queue} removed"
