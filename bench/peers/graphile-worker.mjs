// Burn-down of N no-op jobs on graphile-worker 0.17.3, measured as `pulse bench burn-down`
// measures: the workers are running and the clock started before the first job is added; the
// clock stops when every job has run and its row is gone (graphile-worker deletes a finished
// job). Usage: node graphile-worker.mjs DATABASE_URL TASKS [WARMUP]
// WARMUP jobs (default 0) are added and run first, untimed, as `pulse bench burn-down --warmup`
// does, so that the timed run meets a warmed-up process.
// Settings: the maintainers' performance setup (worker.graphile.org/docs/performance):
// concurrentJobs 24, maxPoolSize 25, a local queue of 500 refetched after 10 ms, batched
// completion and failure (delay 0), jobs added with addJobs 1,000 per call.
import { run, makeWorkerUtils, Logger } from "graphile-worker";
import pg from "pg";

const [connectionString, tasksArg, warmupArg] = process.argv.slice(2);
const tasks = Number(tasksArg);
const warmup = Number(warmupArg ?? 0);
const quiet = new Logger(() => (level, message) => {
  if (level === "error") console.error(message);
});
const preset = {
  worker: {
    connectionString,
    concurrentJobs: 24,
    maxPoolSize: 25,
    localQueue: { size: 500, refetchDelay: { durationMs: 10 } },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};

let ran = 0;
const runner = await run({ preset, logger: quiet, taskList: { noop: async () => { ran++; } } });
const utils = await makeWorkerUtils({ connectionString, logger: quiet });
const check = new pg.Client({ connectionString });
await check.connect();
await new Promise((r) => setTimeout(r, 1000));
console.log("ready");

// Adds n jobs, 1,000 per call, 4 calls in flight, and waits until every one ran and is gone.
const burnDown = async (n) => {
  ran = 0;
  const inFlight = [];
  for (let from = 0; from < n; from += 1000) {
    const specs = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) specs.push({ identifier: "noop", payload: {} });
    inFlight.push(utils.addJobs(specs));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const added = process.hrtime.bigint();
  for (;;) {
    if (ran >= n) {
      const { rows } = await check.query("select exists (select 1 from graphile_worker._private_jobs) as left");
      if (!rows[0].left) break;
    }
    await new Promise((r) => setTimeout(r, ran >= n ? 2 : 10));
  }
  return added;
};
if (warmup > 0) {
  await burnDown(warmup);
  console.log(`warm-up: ${warmup} jobs, not timed`);
}

const start = process.hrtime.bigint();
console.log("clock: start");
const added = await burnDown(tasks);
const enqueue = Number(added - start) / 1e9;
console.log(`enqueue: ${tasks} tasks in ${enqueue.toFixed(2)} s = ${(tasks / enqueue).toFixed(0)} tasks/s`);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`burn-down: ${tasks} tasks in ${seconds.toFixed(2)} s = ${(tasks / seconds).toFixed(0)} tasks/s`);
await check.end();
await utils.release();
await runner.stop();
process.exit(0);
