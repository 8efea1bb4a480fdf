// Runs one burn-down runner and measures it from outside, the same way for every queue:
//   node measure.mjs --label NAME --database DB -- COMMAND ARGS...
// The runner prints `burn-down: N tasks in S s = X tasks/s` when done (Pulse's bench prints the
// same line); runners that can also print `clock: start` the moment their clock starts.
//
// CPU is read from /proc/<pid>/stat (utime + stime, all threads; clock ticks of 10 ms) every
// 100 ms and at the `clock: start` and `burn-down:` lines:
// - the runner's process (the queue's own process: its workers and its enqueuer alike);
// - PostgreSQL: every backend whose pg_stat_activity.datname is the run's own database (client
//   connections and autovacuum workers on it). Cluster-wide processes (WAL writer, checkpointer,
//   background writer) are not counted: they serve every database on the server, and the
//   machine's other users share them. This process's own sampling connection is to the
//   `postgres` database, so it is not counted either.
// A process's CPU at the clock's start is interpolated between the samples around it (for Pulse,
// whose bench prints no start line, the start is the end minus the S seconds it printed). A
// backend that exits between samples loses at most its last 100 ms.
// Prints `measure: {...}` (one JSON line) at the end; the runner's own output passes through.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import pg from "pg";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
const opts = Object.fromEntries(
  args.slice(0, sep).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const [cmd, ...cmdArgs] = args.slice(sep + 1);
const TICK = 100; // USER_HZ on Linux

const ticks = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
};
const peakRssMiB = (pid) => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
};

const sampler = new pg.Client({ connectionString: opts["admin-url"] });
await sampler.connect();
const series = new Map(); // key -> [[ms, ticks]]
let backendPids = [];
let peak = null;
const now = () => performance.now();

const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "inherit"] });
const record = (key, pid, t) => {
  const v = ticks(pid);
  if (v === null) return;
  if (!series.has(key)) series.set(key, []);
  series.get(key).push([t, v]);
};
let sampling = Promise.resolve();
const sample = () => {
  sampling = sampling.then(async () => {
    try {
      const { rows } = await sampler.query("select pid from pg_stat_activity where datname = $1", [opts.database]);
      backendPids = rows.map((r) => r.pid);
    } catch {}
    const t = now();
    record("peer", child.pid, t);
    for (const pid of backendPids) record(`pg:${pid}`, pid, t);
    const p = peakRssMiB(child.pid);
    if (p !== null) peak = p;
  });
  return sampling;
};
const timer = setInterval(sample, 100);

let start = null;
let end = null;
let result = null;
let buffered = "";
child.stdout.on("data", async (chunk) => {
  process.stdout.write(chunk);
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (/^clock: start/.test(line)) {
      start = now();
      sample();
    }
    const m = /^burn-down: (\d+) tasks in ([\d.]+) s = (\d+) tasks\/s/.exec(line);
    if (m) {
      end = now();
      result = { tasks: Number(m[1]), seconds: Number(m[2]), tasksPerSecond: Number(m[3]) };
      if (start === null) start = end - result.seconds * 1000;
      sample();
    }
  }
});

// Value of a series at time t: interpolated between samples; 0 before a process was first seen
// (a backend that connected during the run used all of its CPU in it).
const at = (s, t) => {
  if (t <= s[0][0]) return s === series.get("peer") ? s[0][1] : 0;
  for (let i = 1; i < s.length; i++) {
    if (s[i][0] >= t) {
      const [t0, v0] = s[i - 1];
      const [t1, v1] = s[i];
      return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
    }
  }
  return s[s.length - 1][1];
};

const code = await new Promise((r) => child.on("exit", (c) => r(c)));
clearInterval(timer);
await sampling;
await sampler.end();
if (!result) {
  console.error(`measure: ${opts.label} ended (exit ${code}) without a burn-down line`);
  process.exit(1);
}
let peerTicks = 0;
let pgTicks = 0;
let backends = 0;
for (const [key, s] of series) {
  const used = at(s, end) - at(s, start);
  if (key === "peer") peerTicks = used;
  else if (used > 0) {
    pgTicks += used;
    backends++;
  }
}
const perTask = (t) => Math.round(((t / TICK) * 1e6) / result.tasks);
console.log(
  "measure: " +
    JSON.stringify({
      label: opts.label,
      ...result,
      peerCpuSeconds: +(peerTicks / TICK).toFixed(2),
      postgresCpuSeconds: +(pgTicks / TICK).toFixed(2),
      peerMicrosPerTask: perTask(peerTicks),
      postgresMicrosPerTask: perTask(pgTicks),
      busyBackends: backends,
      peerPeakRssMiB: peak === null ? null : Math.round(peak),
    }));
process.exit(code ?? 0);
