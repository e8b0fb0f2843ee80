// Fills Redis with BullMQ queues for jobdeck's tests, and prints what BullMQ itself says of them.
// BullMQ comes from npm into this folder (package.json: 6.x) or, with BULLMQ_DIR=v5, from v5/ (5.x).
//   node fill.mjs redis://127.0.0.1:6379/7 [prefix]          fill, then report
//   node fill.mjs redis://127.0.0.1:6379/7 [prefix] --report  report only
//   … --report --pause NAME                                    pause queue NAME, then report
//   … --report --add NAME                                      add a job "late" to queue NAME, then report
// The report (JSON on stdout): per queue getJobCounts() of every state, isPaused(), the job schedulers
// with their next run, and failed jobs' reasons and attemptsMade; plus the BullMQ version.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

// BULLMQ_DIR: a folder whose node_modules holds another BullMQ (tests/bullmq/v5); default: this one's.
const here = new URL(".", import.meta.url).pathname;
const dir = process.env.BULLMQ_DIR || here;
const pkg = JSON.parse(readFileSync(join(dir, "node_modules/bullmq/package.json")));
const { Queue, Worker } = createRequire(join(dir, "package.json"))("bullmq");

const [url = "redis://127.0.0.1:6379/7", prefixArg] = process.argv.slice(2);
const prefix = prefixArg && !prefixArg.startsWith("--") ? prefixArg : "bull";
const reportOnly = process.argv.includes("--report");
const parsed = new URL(url);
const connection = {
  host: parsed.hostname,
  port: Number(parsed.port || 6379),
  db: Number((parsed.pathname || "/0").slice(1) || 0),
  maxRetriesPerRequest: null,
};
const STATES = ["waiting", "active", "completed", "failed", "delayed", "paused", "prioritized", "waiting-children"];
const NAMES = ["orders", "emails", "reports"];

async function fill() {
  // orders: jobs a real worker completes or fails (one with retries left waits in delayed), then more waiting.
  const orders = new Queue("orders", { connection, prefix });
  await orders.addBulk([
    { name: "resize", data: { n: 1 } },
    { name: "resize", data: { n: 2 } },
    { name: "resize", data: { n: 3 } },
    { name: "boom", data: { why: "bad input" }, opts: { attempts: 1 } },
    { name: "boom", data: { why: "again" }, opts: { attempts: 1 } },
    { name: "boom", data: { why: "a third time" }, opts: { attempts: 1 } },
    { name: "flaky", data: {}, opts: { attempts: 3, backoff: { type: "fixed", delay: 3600000 } } },
  ]);
  let left = 7;
  let settle;
  const done = new Promise((resolve) => { settle = () => { if (--left === 0) resolve(); }; });
  const worker = new Worker("orders", async (job) => {
    if (job.name === "boom") throw new TypeError(`cannot process ${job.data.why}`);
    if (job.name === "flaky") throw new Error("flaky: try later");
    return { resized: job.data.n };
  }, { connection, prefix });
  worker.on("completed", () => settle());
  worker.on("failed", () => settle());
  await done;
  await worker.close();
  await orders.add("resize", { n: 4 });
  await orders.add("resize", { n: 5 });

  // emails: waiting, delayed and prioritized jobs, never processed.
  const emails = new Queue("emails", { connection, prefix });
  await emails.add("welcome", { to: "a@example.com" });
  await emails.add("welcome", { to: "b@example.com" }, { lifo: true });
  await emails.add("digest", { to: "c@example.com" }, { delay: 3600000 });
  await emails.add("digest", { to: "d@example.com" }, { delay: 7200000 });
  await emails.add("urgent", { to: "e@example.com" }, { priority: 1 });
  await emails.add("urgent", { to: "f@example.com" }, { priority: 5 });
  await emails.add("urgent", { to: "g@example.com" }, { priority: 5 });

  // reports: paused, with two job schedulers (a cron pattern and an interval).
  const reports = new Queue("reports", { connection, prefix });
  await reports.upsertJobScheduler("nightly", { pattern: "0 3 * * *" }, { name: "nightly-report", data: {} });
  await reports.upsertJobScheduler("every-minute", { every: 60000 }, { name: "heartbeat", data: {} });
  await reports.pause();
  for (const q of [orders, emails, reports]) await q.close();
}

async function report() {
  const out = { version: pkg.version, queues: {} };
  for (const name of NAMES) {
    const q = new Queue(name, { connection, prefix });
    const failed = await q.getFailed(0, 50);
    out.queues[name] = {
      counts: await q.getJobCounts(...STATES),
      default_counts: await q.getJobCounts(),
      paused: await q.isPaused(),
      schedulers: (await q.getJobSchedulers(0, -1, true)).map((s) => ({
        key: s.key, name: s.name, pattern: s.pattern ?? null, every: s.every ?? null, next: s.next ?? null,
      })),
      failed: failed.map((j) => ({ id: j.id, name: j.name, failedReason: j.failedReason, attemptsMade: j.attemptsMade })),
      states: Object.fromEntries(await Promise.all((await q.getJobs(STATES, 0, 200)).map(async (j) => [j.id, await j.getState()]))),
    };
    await q.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

if (!reportOnly) await fill();
const add = process.argv.indexOf("--add");
if (add > 0) {
  const q = new Queue(process.argv[add + 1], { connection, prefix });
  await q.add("late", { added: true });
  await q.close();
}
const pause = process.argv.indexOf("--pause");
if (pause > 0) {
  const q = new Queue(process.argv[pause + 1], { connection, prefix });
  await q.pause();
  await q.close();
}
await report();
process.exit(0);
