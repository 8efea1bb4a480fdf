-- Partitioned history, stage 2 (issue 23): task_attempts and callback_deliveries become tables
-- partitioned by the UUIDv7 that says when their rows' day began, so that retention drops whole
-- days of them as it does of tasks (V23) instead of deleting their rows task by task.
--
--   task_attempts         PARTITION BY RANGE (task_id): an attempt lives in the day its task was
--                         created; the primary key (task_id, attempt) stays, so every
--                         ON CONFLICT (task_id, attempt) keeps working
--   callback_deliveries   PARTITION BY RANGE (id): a delivery lives in the day it was created
--
--   <table>_YYYYMMDD      one per UTC day: from the smallest UUIDv7 of the day's first millisecond
--                         (TaskIds.floor: millis << 16 | 0x7000, then 0x8000000000000000) to the
--                         next day's; made ahead by HistoryPartitions
--   <table>_unplaced      DEFAULT: ids whose day has no partition (normally none)
--   <table>_legacy        the table as it was, FROM (MINVALUE) TO (the floor id of this migration)
--
-- Ids are UUIDv7 made by TaskIds on the nodes (first 48 bits: unix millis), so an id says its day.
-- A node whose clock runs ahead may have made ids past this migration's instant: those rows move to
-- the new partitions before the old table is attached below the bound.
--
-- Upgrade cost, with both tables locked against writes (the queue's claims and heartbeats go on;
-- finishing attempts and callbacks wait): a read of each old table's primary key from the bound on
-- (normally no rows) to move the rows above it, and one sequential scan of each old table by ATTACH
-- PARTITION to check that every row lies below the bound (a CHECK constraint added first would cost
-- the same scan): 0.4 s on 1,000,000 attempts and 1,000,000 deliveries (750 MB, in cache) on a
-- 2-vCPU machine's PostgreSQL 15. No copy of the history; the old indexes are attached to the new
-- partitioned ones, not rebuilt. ended_attempts (V25) is made again: a view keeps the table it was
-- made on, which is now the legacy partition.

LOCK TABLE task_attempts, callback_deliveries IN ACCESS EXCLUSIVE MODE;

ALTER TABLE task_attempts RENAME TO task_attempts_legacy;
ALTER TABLE task_attempts_legacy RENAME CONSTRAINT task_attempts_pkey TO task_attempts_legacy_pkey;

CREATE TABLE task_attempts (LIKE task_attempts_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
    PARTITION BY RANGE (task_id);
ALTER TABLE task_attempts ADD PRIMARY KEY (task_id, attempt);

-- Each partition keeps V7's settings (a partitioned table has no storage of its own to set them on).
CREATE TABLE task_attempts_unplaced PARTITION OF task_attempts DEFAULT
    WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05,
          autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 1);

ALTER TABLE callback_deliveries RENAME TO callback_deliveries_legacy;
ALTER TABLE callback_deliveries_legacy RENAME CONSTRAINT callback_deliveries_pkey TO callback_deliveries_legacy_pkey;
ALTER INDEX callback_deliveries_due RENAME TO callback_deliveries_legacy_due;
ALTER INDEX callback_deliveries_by_task RENAME TO callback_deliveries_legacy_by_task;
ALTER INDEX callback_deliveries_dead RENAME TO callback_deliveries_legacy_dead;

CREATE TABLE callback_deliveries (LIKE callback_deliveries_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
    PARTITION BY RANGE (id);
ALTER TABLE callback_deliveries ADD PRIMARY KEY (id);
-- V1's and V6's indexes, now partitioned: the dispatcher's claim reads the due one of every
-- partition (each holds its day's pending rows only, normally none but today's).
CREATE INDEX callback_deliveries_due ON callback_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX callback_deliveries_by_task ON callback_deliveries (task_id);
CREATE INDEX callback_deliveries_dead ON callback_deliveries (created_at) WHERE state = 'dead';

CREATE TABLE callback_deliveries_unplaced PARTITION OF callback_deliveries DEFAULT
    WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05,
          autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 1);

-- The day partitions from today (from this instant) to today + 3, the rows above the bound moved
-- into them, and the old tables attached below it. clock_timestamp(): taken with the tables
-- locked.
DO $$
DECLARE
    cut     timestamptz := clock_timestamp();
    today   date := (cut AT TIME ZONE 'UTC')::date;
    day     date;
    bound   uuid;
    attempts_options    text := 'fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02, '
        || 'autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05, '
        || 'autovacuum_vacuum_cost_delay = 1';
    deliveries_options  text := 'autovacuum_vacuum_scale_factor = 0.02, '
        || 'autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.05, '
        || 'autovacuum_vacuum_cost_delay = 1';
BEGIN
    -- TaskIds.floor: the smallest UUIDv7 of an instant's millisecond
    CREATE FUNCTION pg_temp.floor_id(at timestamptz) RETURNS uuid LANGUAGE sql IMMUTABLE AS
        'SELECT CAST(lpad(to_hex((CAST(floor(extract(epoch FROM at) * 1000) AS bigint) << 16) | 28672), 16, ''0'')
                     || ''8000000000000000'' AS uuid)';
    bound := pg_temp.floor_id(cut);
    FOR i IN 0..3 LOOP
        day := today + i;
        EXECUTE format('CREATE TABLE %I PARTITION OF task_attempts FOR VALUES FROM (%L) TO (%L) WITH (%s)',
                       'task_attempts_' || to_char(day, 'YYYYMMDD'),
                       CASE WHEN i = 0 THEN bound ELSE pg_temp.floor_id(day::timestamp AT TIME ZONE 'UTC') END,
                       pg_temp.floor_id((day + 1)::timestamp AT TIME ZONE 'UTC'), attempts_options);
        EXECUTE format('CREATE TABLE %I PARTITION OF callback_deliveries FOR VALUES FROM (%L) TO (%L) WITH (%s)',
                       'callback_deliveries_' || to_char(day, 'YYYYMMDD'),
                       CASE WHEN i = 0 THEN bound ELSE pg_temp.floor_id(day::timestamp AT TIME ZONE 'UTC') END,
                       pg_temp.floor_id((day + 1)::timestamp AT TIME ZONE 'UTC'), deliveries_options);
    END LOOP;
    -- Rows at or above the bound (made by a node whose clock ran ahead, or with an id that is no
    -- UUIDv7) go where the partitioned table puts them; read through the primary key.
    INSERT INTO task_attempts SELECT * FROM task_attempts_legacy WHERE task_id >= bound;
    DELETE FROM task_attempts_legacy WHERE task_id >= bound;
    INSERT INTO callback_deliveries SELECT * FROM callback_deliveries_legacy WHERE id >= bound;
    DELETE FROM callback_deliveries_legacy WHERE id >= bound;
    EXECUTE format('ALTER TABLE task_attempts ATTACH PARTITION task_attempts_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                   bound);
    EXECUTE format('ALTER TABLE callback_deliveries ATTACH PARTITION callback_deliveries_legacy'
                   || ' FOR VALUES FROM (MINVALUE) TO (%L)', bound);
    DROP FUNCTION pg_temp.floor_id(timestamptz);
END
$$;

-- V25's view, on the partitioned table.
CREATE OR REPLACE VIEW ended_attempts AS
SELECT task_id, attempt, node, lease_token, started_at, finished_at, outcome, error, logs
  FROM task_attempts
UNION ALL
SELECT t.id, t.attempts, t.lease_owner, NULL, t.attempt_started_at, t.finished_at, t.state,
       CASE WHEN t.state = 'failed' THEN t.error END, NULL
  FROM tasks t
 WHERE t.state IN ('succeeded', 'failed', 'cancelled')
   AND t.attempts > 0 AND t.attempt_started_at IS NOT NULL AND t.lease_owner IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.attempt = t.attempts);
