#!/usr/bin/env bash
# burn-down.sh <jar> <database> <tasks>: one `pulse bench burn-down` on a database of the local
# PostgreSQL server, printing tasks/s, the node's CPU per task (the bench's own figure) and the
# database's: the postmaster's CPU with its reaped children (the bench's backends, once they have
# exited), less that of the two full counts the bench runs outside its timed part (run again here
# and measured). Linux only (/proc); run it as a user who may read the postmaster's /proc entry.
# docs/benchmarks.md, "Partitioned history".
set -euo pipefail
jar=$1; db=$2; n=$3
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
pm=$(pgrep -o -x postgres)
cpu() { sleep 1; awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"; }
before=$(cpu)
out=$(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$jar" bench burn-down --tasks "$n" \
  --database-url "postgresql://$PGUSER@$PGHOST:$PGPORT/$db" 2>&1)
after=$(cpu)
c0=$(cpu)
psql -d "$db" -Atc "SELECT count(*) FROM tasks WHERE state = 'succeeded'" \
  -c "SELECT count(*) FROM tasks WHERE state = 'succeeded'" >/dev/null
c1=$(cpu)
tps=$(echo "$out" | grep 'burn-down:' | grep -oE '[0-9.]+ tasks/s' | tail -1)
node=$(echo "$out" | grep -oE '= [0-9]+ µs per task' | head -1)
ticks=$(getconf CLK_TCK)
echo "$(date -u +%T) db=$db $tps node $node database $(( (after - before - (c1 - c0)) * 1000000 / ticks / n )) µs per task load=$(cut -d' ' -f1 /proc/loadavg)"
