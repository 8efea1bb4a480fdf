// Prints the side-by-side table from the `measure:` lines that scripts/bench-peers.sh collected:
//   node table.mjs RESULTS.jsonl
// Each line: {"label", "tasks", "round", "load", ...measure.mjs's fields}. Each median is of one
// figure on its own (tasks/s, each CPU share) over the runs of one queue at one size: three runs
// are too few to pick one "median run" for all figures.
import { readFileSync } from "node:fs";

const rows = readFileSync(process.argv[2], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString("en-US");
const sizes = [...new Set(rows.map((r) => r.tasks))].sort((a, b) => a - b);
const labels = [...new Set(rows.map((r) => r.label))];
for (const size of sizes) {
  console.log(`\n${fmt(size)} no-op tasks:\n`);
  console.log("| queue | tasks/s, each run | median tasks/s | vs pulse | CPU µs per task: queue's process + PostgreSQL backends (medians) | peak RSS of the queue's process |");
  console.log("|---|---|---|---|---|---|");
  const pulse = rows.filter((r) => r.tasks === size && r.label === "pulse").map((r) => r.tasksPerSecond);
  const pulseMedian = pulse.length ? median(pulse) : null;
  for (const label of labels) {
    const runs = rows.filter((r) => r.tasks === size && r.label === label).sort((a, b) => a.round - b.round);
    if (!runs.length) continue;
    const m = median(runs.map((r) => r.tasksPerSecond));
    const peer = median(runs.map((r) => r.peerMicrosPerTask));
    const db = median(runs.map((r) => r.postgresMicrosPerTask));
    const rss = Math.max(...runs.map((r) => r.peerPeakRssMiB ?? 0));
    const ratio = pulseMedian ? `${(m / pulseMedian).toFixed(2)}×` : "";
    console.log(
      `| ${label} | ${runs.map((r) => fmt(r.tasksPerSecond)).join(" · ")} | ${fmt(m)} | ${ratio} | ${peer} + ${db} = ${peer + db} | ${rss} MiB |`);
  }
}
const loads = rows.map((r) => r.load).filter((l) => l !== undefined);
if (loads.length) {
  console.log(`\n1-minute load average at the start of the runs: ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (median ${median(loads).toFixed(2)}).`);
}
