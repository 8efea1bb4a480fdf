#!/usr/bin/env bash
# fill.sh <database> [tasks]: fills a database that a Pulse node has migrated (V23 or later) with a
# finished history (default 10,000,000 tasks: HistoryMeasurement's, 7 days ending 10 minutes ago)
# in the day partitions it belongs to, then VACUUM ANALYZE. docs/benchmarks.md, "Partitioned
# history". Connection: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres).
set -euo pipefail
db=$1; n=${2:-10000000}; step=$(( n < 500000 ? n : 500000 ))
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
# The history's days get their own partitions first (a new database's legacy partition is empty
# and covers them), as HistoryPartitions makes them: a plain table attached to tasks. Today's
# partition begins when V23 ran; the part of today before it gets one of its own.
psql -d "$db" -v ON_ERROR_STOP=1 -q <<'SQL'
DROP TABLE IF EXISTS tasks_legacy;
DO $$
DECLARE day date; part text; today_from timestamptz;
BEGIN
    day := CAST(now() AT TIME ZONE 'UTC' AS date);
    SELECT CAST(substring(pg_get_expr(p.relpartbound, p.oid) FROM 'FROM \(''([^'']+)''\)') AS timestamptz)
      INTO today_from FROM pg_class p WHERE p.relname = 'tasks_' || to_char(day, 'YYYYMMDD');
    part := 'tasks_' || to_char(day, 'YYYYMMDD') || '_before';
    IF today_from > day::timestamp AT TIME ZONE 'UTC' AND to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I (LIKE tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', part);
        EXECUTE format('ALTER TABLE tasks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part,
                       day::timestamp AT TIME ZONE 'UTC', today_from);
    END IF;
    FOR i IN 1..8 LOOP
        day := CAST(now() AT TIME ZONE 'UTC' AS date) - i;
        part := 'tasks_' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass(part) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', part);
        EXECUTE format('ALTER TABLE tasks ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part,
                       day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END
$$;
SQL
for ((lo = 0; lo < n; lo += step)); do
  psql -d "$db" -v ON_ERROR_STOP=1 -q -v n="$n" -v lo="$lo" -v hi=$((lo + step)) \
    -f "$root/server/src/test/resources/measure/history-fill.sql"
  echo "$(date -u +%T) filled to $((lo + step))"
done
psql -d "$db" -q -c "VACUUM ANALYZE"
