#!/usr/bin/env bash
# Side-by-side burn-down of Pulse and other PostgreSQL job queues on one PostgreSQL server:
# graphile-worker 0.17.3 and pg-boss 10.4.2 (npm), db-scheduler 16.12.0 (Maven Central), and
# `pulse bench burn-down --database-url`. Each run gets a fresh database; the queues take turns
# (round 1: every queue, round 2: every queue, ...), so a change in the machine's load hits all of
# them alike. Every runner measures as `pulse bench burn-down` does: workers running and the clock
# started before the first task is enqueued, stopped when every task has run. Prints a table of
# tasks/s per run, the median, and CPU per task of the queue's own process and of the PostgreSQL
# backends serving its database (bench/peers/measure.mjs says how). docs/benchmarks.md shows
# figures it made.
#
# Needs: Node.js >= 20 with npm (the npm registry reachable on the first run), Java 17 and Maven
# (Maven Central reachable on the first run), psql, Linux (/proc), and a PostgreSQL server on which
# the user may create databases, on the same machine (its backends' CPU is read from /proc).
# Connection: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), PGPASSWORD (none).
#
# Usage: scripts/bench-peers.sh [--tasks 20000,100000] [--rounds 3] [--warmup 0]
#                               [--queues graphile-worker,pg-boss,pulse,db-scheduler] [--out DIR]
# (--queues also takes pulse-2-nodes, pulse-3-nodes: that many claiming nodes in one process)
# --warmup N: graphile-worker and Pulse first burn down N tasks untimed in the same process, so the
# timed run meets a warmed-up runtime (a long-running server's state); pg-boss always runs its
# 2,000 (below), db-scheduler none. The default, 0, measures from a cold start, as the issue did.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="$root/bench/peers"
sizes="20000,100000"
rounds=3
queues="graphile-worker,pg-boss,pulse,db-scheduler"
warmup=0
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) sizes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --queues) queues="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-peers: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null || { echo "bench-peers: needs $1 ($2)" >&2; exit 1; }; }
need node "Node.js >= 20"
need npm "npm, with Node.js"
need java "Java 17"
need mvn "Maven 3"
need psql "the PostgreSQL client"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || { echo "bench-peers: needs Node.js >= 20, found $(node --version)" >&2; exit 1; }
[[ -r /proc/self/stat ]] || { echo "bench-peers: needs Linux's /proc to measure CPU" >&2; exit 1; }

host="${PGHOST:-127.0.0.1}"; port="${PGPORT:-5432}"; user="${PGUSER:-postgres}"
auth="$user${PGPASSWORD:+:$PGPASSWORD}"
url() { echo "postgres://$auth@$host:$port/$1"; }
jdbc() { echo "jdbc:postgresql://$host:$port/$1?user=$user${PGPASSWORD:+&password=$PGPASSWORD}"; }
admin="$(url postgres)"
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
psql "$admin" -qAtc 'select 1' >/dev/null || { echo "bench-peers: cannot connect to $host:$port as $user" >&2; exit 1; }

# Build what is missing: Pulse's jar, the npm runners (pinned by package-lock.json), the
# db-scheduler runner (its pom pins every version).
if [[ ! -f "$root/server/target/pulse.jar" ]]; then
  echo "bench-peers: building Pulse (mvn -B -q package -DskipTests) ..." >&2
  (cd "$root" && mvn -B -q package -DskipTests) >&2
fi
if [[ ! -d "$peers/node_modules/graphile-worker" || ! -d "$peers/node_modules/pg-boss" ]]; then
  echo "bench-peers: installing graphile-worker and pg-boss (npm ci) ..." >&2
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
if [[ ! -f "$peers/db-scheduler/target/classes/bench/DbSchedulerBurnDown.class" ]]; then
  echo "bench-peers: building the db-scheduler runner (mvn -B -q package) ..." >&2
  (cd "$peers/db-scheduler" && mvn -B -q package) >&2
fi

out="${out:-$(mktemp -d /tmp/bench-peers.XXXXXX)}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
echo "bench-peers: logs and results in $out" >&2
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpu: $(nproc) × $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "postgresql: $(psql "$admin" -qAtc 'show server_version')"
  echo "node: $(node --version), java: $(java -version 2>&1 | head -1)"
  echo "pulse: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "warm-up: $warmup tasks (graphile-worker, Pulse)"
} | tee "$out/machine.txt" >&2

command_for() { # queue database tasks
  case "$1" in
    graphile-worker) echo node "$peers/graphile-worker.mjs" "$(url "$2")" "$3" "$warmup" ;;
    pg-boss) echo node "$peers/pg-boss.mjs" "$(url "$2")" "$3" ;;
    db-scheduler) echo java -cp "$peers/db-scheduler/target/classes:$peers/db-scheduler/target/lib/*" \
        bench.DbSchedulerBurnDown "$(jdbc "$2")" "$3" ;;
    pulse) echo "$root/pulse" bench burn-down --tasks "$3" --warmup "$warmup" --database-url "$(url "$2")" ;;
    pulse-[0-9]-nodes) # several claiming nodes in one process, for docs/deployment.md's sizing
      n="${1#pulse-}"; echo "$root/pulse" bench burn-down --tasks "$3" --warmup "$warmup" --nodes "${n%-nodes}" --database-url "$(url "$2")" ;;
    *) echo "bench-peers: unknown queue $1" >&2; exit 2 ;;
  esac
}

IFS=, read -ra size_list <<< "$sizes"
IFS=, read -ra queue_list <<< "$queues"
for size in "${size_list[@]}"; do
  for ((round = 1; round <= rounds; round++)); do
    for queue in "${queue_list[@]}"; do
      db="bench_peers_${queue//-/_}_${size}_$round"
      psql "$admin" -qAtc "drop database if exists $db" -c "create database $db"
      load="$(cut -d' ' -f1 /proc/loadavg)"
      log="$out/$queue-$size-$round.log"
      echo "bench-peers: $queue, $size tasks, round $round (load average $load)" >&2
      # shellcheck disable=SC2046  # command_for prints one word per argument, none with spaces
      if node "$peers/measure.mjs" --label "$queue" --database "$db" --admin-url "$admin" \
          -- $(command_for "$queue" "$db" "$size") > "$log" 2>&1; then
        grep '^measure: ' "$log" | sed 's/^measure: //' \
          | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);
              r.round=+process.argv[1];r.load=+process.argv[2];console.log(JSON.stringify(r))})' "$round" "$load" \
          >> "$results"
        grep '^burn-down: ' "$log" >&2
      else
        echo "bench-peers: $queue failed, see $log" >&2
      fi
      psql "$admin" -qAtc "drop database if exists $db"
    done
  done
done
node "$peers/table.mjs" "$results" | tee "$out/table.md"
