// Burn-down of N no-op jobs on pg-boss 10.4.2, measured as `pulse bench burn-down` measures:
// the workers are running and the clock started before the first job is inserted; the clock
// stops when every job has run and is recorded completed. Usage: node pg-boss.mjs DATABASE_URL TASKS
// Settings: 4 workers, each fetching up to 2,000 jobs at a time, polling every 0.5 s (pg-boss's
// minimum), jobs inserted with insert() 1,000 per call. On a job table never analysed, pg-boss's
// complete() plans a nested loop over every row of the queue for each batch (17 s per 2,000 jobs
// seen here), which a live system, analysed by autovacuum, never meets: so before the clock starts,
// 2,000 jobs run untimed and the job table is analysed, as autovacuum would have done.
import PgBoss from "pg-boss";
import pg from "pg";

const [connectionString, tasksArg] = process.argv.slice(2);
const tasks = Number(tasksArg);
const queue = "noop";

const boss = new PgBoss({ connectionString });
boss.on("error", (e) => console.error(e.message));
await boss.start();
await boss.createQueue(queue);
let ran = 0;
for (let w = 0; w < 4; w++) {
  await boss.work(queue, { batchSize: 2000, pollingIntervalSeconds: 0.5 }, async (jobs) => { ran += jobs.length; });
}
const check = new pg.Client({ connectionString });
await check.connect();
const drained = async (n) => {
  for (;;) {
    if (ran >= n) {
      const { rows } = await check.query(
        "select exists (select 1 from pgboss.job where name = $1 and state < 'completed') as left", [queue]);
      if (!rows[0].left) return;
    }
    await new Promise((r) => setTimeout(r, ran >= n ? 2 : 10));
  }
};
await boss.insert(Array.from({ length: 2000 }, () => ({ name: queue, data: {} })));
await drained(2000);
await check.query("analyze pgboss.job");
ran = 0;
await new Promise((r) => setTimeout(r, 1000));
console.log("ready");

const start = process.hrtime.bigint();
console.log("clock: start");
const inFlight = [];
for (let from = 0; from < tasks; from += 1000) {
  const jobs = [];
  for (let i = from; i < Math.min(tasks, from + 1000); i++) jobs.push({ name: queue, data: {} });
  inFlight.push(boss.insert(jobs));
  if (inFlight.length >= 4) await inFlight.shift();
}
await Promise.all(inFlight);
const enqueue = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`enqueue: ${tasks} tasks in ${enqueue.toFixed(2)} s = ${(tasks / enqueue).toFixed(0)} tasks/s`);
await drained(tasks);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`burn-down: ${tasks} tasks in ${seconds.toFixed(2)} s = ${(tasks / seconds).toFixed(0)} tasks/s`);
await check.end();
await boss.stop({ graceful: false, wait: false });
process.exit(0);
