-- Partitioned history (issue 23): tasks becomes a table partitioned by when its rows finished, so
-- that the hot queue is one small partition and retention drops whole days of history.
--
--   tasks_queue      FROM ('infinity') TO (MAXVALUE): every unfinished task (finished_at IS NULL)
--   tasks_YYYYMMDD   one per UTC day of finished_at, made ahead by HistoryPartitions
--   tasks_unplaced   DEFAULT: finished rows whose day has no partition (normally empty)
--   tasks_legacy     the table as it was, finished rows only, FROM (MINVALUE) TO (this migration)
--
-- Readers and most writers still address tasks; a finishing UPDATE moves its row to its day's
-- partition and a retry moves it back. The queue is a range partition, not the default, so making
-- a day's partition checks only the (empty) default, never the queue.
--
-- A partitioned table has no unique index without its partition key: ids are unique per
-- partition (each has its own primary key) and across partitions because they are UUIDv7 made by
-- TaskIds. Idempotency keys move to task_keys, filled by the enqueue's statement.
--
-- Upgrade cost: one pass over the old history to copy its idempotency keys (through the old
-- partial index), one to move its unfinished rows out (through the claim and running indexes), and
-- one scan by ATTACH PARTITION to check that the old table holds only rows finished before this
-- migration (a CHECK constraint added first would cost the same scan). The old indexes that match
-- the new partitioned ones are attached, not rebuilt.

LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE;

CREATE TABLE task_keys (
    idempotency_owner text        NOT NULL,
    idempotency_key   text        NOT NULL,
    task_id           uuid        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (idempotency_owner, idempotency_key)
);
CREATE INDEX task_keys_by_age ON task_keys (created_at);

INSERT INTO task_keys (idempotency_owner, idempotency_key, task_id, created_at)
SELECT idempotency_owner, idempotency_key, id, created_at FROM tasks WHERE idempotency_key IS NOT NULL;

DROP INDEX tasks_idempotency;

ALTER TABLE tasks RENAME TO tasks_legacy;
ALTER TABLE tasks_legacy RENAME CONSTRAINT tasks_pkey TO tasks_legacy_pkey;
ALTER INDEX tasks_claimable RENAME TO tasks_legacy_claimable;
ALTER INDEX tasks_finished RENAME TO tasks_legacy_finished;
ALTER INDEX tasks_finished_by_agent RENAME TO tasks_legacy_finished_by_agent;
ALTER INDEX tasks_finished_by_key RENAME TO tasks_legacy_finished_by_key;
ALTER INDEX tasks_finished_by_schedule RENAME TO tasks_legacy_finished_by_schedule;
ALTER INDEX tasks_key_backlog RENAME TO tasks_legacy_key_backlog;
ALTER INDEX tasks_running_by_agent RENAME TO tasks_legacy_running_by_agent;
ALTER INDEX tasks_unfinished_by_schedule RENAME TO tasks_legacy_unfinished_by_schedule;

CREATE TABLE tasks (LIKE tasks_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
    PARTITION BY RANGE ((COALESCE(finished_at, 'infinity'::timestamptz)));

-- The queue keeps V7's vacuum settings: it is the table every claim and completion churns.
CREATE TABLE tasks_queue PARTITION OF tasks FOR VALUES FROM ('infinity') TO (MAXVALUE)
    WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
          autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02,
          autovacuum_vacuum_cost_delay = 1);
ALTER TABLE tasks_queue ADD PRIMARY KEY (id);
CREATE TABLE tasks_unplaced PARTITION OF tasks DEFAULT;
ALTER TABLE tasks_unplaced ADD PRIMARY KEY (id);

-- The queue's own indexes, named so that plans say which they read; the partitioned indexes below
-- adopt them.
CREATE INDEX tasks_queue_claimable ON tasks_queue (priority, virtual_start, run_at, id) WHERE state IN ('scheduled', 'queued');
CREATE INDEX tasks_queue_key_backlog ON tasks_queue (concurrency_key, virtual_start, run_at)
    WHERE state IN ('scheduled', 'queued') AND concurrency_key IS NOT NULL;
CREATE INDEX tasks_queue_running_by_agent ON tasks_queue (agent) WHERE state = 'running';
CREATE INDEX tasks_queue_unfinished_by_schedule ON tasks_queue (schedule_name, id)
    WHERE state IN ('scheduled', 'queued', 'running') AND schedule_name IS NOT NULL;

-- The indexes of V1..V22, now partitioned: the claim's and the running ones are partial on
-- unfinished states, so they are empty on every history partition; the finished lists' (V22) are
-- empty on the queue.
CREATE INDEX tasks_claimable ON tasks (priority, virtual_start, run_at, id) WHERE state IN ('scheduled', 'queued');
CREATE INDEX tasks_key_backlog ON tasks (concurrency_key, virtual_start, run_at)
    WHERE state IN ('scheduled', 'queued') AND concurrency_key IS NOT NULL;
CREATE INDEX tasks_running_by_agent ON tasks (agent) WHERE state = 'running';
CREATE INDEX tasks_unfinished_by_schedule ON tasks (schedule_name, id)
    WHERE state IN ('scheduled', 'queued', 'running') AND schedule_name IS NOT NULL;
CREATE INDEX tasks_finished ON tasks (state, id) WHERE state IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX tasks_finished_by_agent ON tasks (agent, state, id) WHERE state IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX tasks_finished_by_schedule ON tasks (schedule_name, state, id)
    WHERE state IN ('succeeded', 'failed', 'cancelled') AND schedule_name IS NOT NULL;
CREATE INDEX tasks_finished_by_key ON tasks (concurrency_key, state, id)
    WHERE state IN ('succeeded', 'failed', 'cancelled') AND concurrency_key IS NOT NULL;

INSERT INTO tasks_queue SELECT * FROM tasks_legacy WHERE state IN ('scheduled', 'queued', 'running');
DELETE FROM tasks_legacy WHERE state IN ('scheduled', 'queued', 'running');

-- The old table becomes the partition of everything finished before now; the day partitions
-- start where it ends (today's at this instant, the next three at midnight UTC). clock_timestamp():
-- taken with the table locked, so no row finished after it.
DO $$
DECLARE
    cut timestamptz := clock_timestamp();
    today date := (cut AT TIME ZONE 'UTC')::date;
    day date;
    part text;
BEGIN
    EXECUTE format('ALTER TABLE tasks ATTACH PARTITION tasks_legacy FOR VALUES FROM (MINVALUE) TO (%L)', cut);
    FOR i IN 0..3 LOOP
        day := today + i;
        part := 'tasks_' || to_char(day, 'YYYYMMDD');
        EXECUTE format('CREATE TABLE %I PARTITION OF tasks FOR VALUES FROM (%L) TO (%L)',
                       part,
                       CASE WHEN i = 0 THEN cut ELSE (day::timestamp AT TIME ZONE 'UTC') END,
                       ((day + 1)::timestamp AT TIME ZONE 'UTC'));
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id)', part);
    END LOOP;
END
$$;

-- V20's count of a key's running tasks, on the queue's partition alone (a function's query is
-- planned without the claim's parameters, so it names the partition rather than relying on pruning).
CREATE OR REPLACE FUNCTION pulse_lock_keys(agents text[], keys text[])
    RETURNS TABLE (locked_agent text, locked_key text, running bigint)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    held_agents text[];
    held_keys   text[];
BEGIN
    SELECT array_agg(u.a), array_agg(u.k)
      INTO held_agents, held_keys
      FROM (SELECT DISTINCT a, k FROM unnest(agents, keys) AS p (a, k) WHERE k IS NOT NULL) u
     WHERE pg_try_advisory_xact_lock(1886743659, pulse_key_lock(u.a, u.k));
    -- A new query: a new snapshot, taken with the locks held.
    RETURN QUERY
        SELECT h.a, h.k, COALESCE(r.n, 0)
          FROM unnest(held_agents, held_keys) AS h (a, k)
          LEFT JOIN (SELECT t.agent, t.concurrency_key, count(*) AS n
                       FROM tasks_queue t
                      WHERE t.state = 'running' AND t.agent = ANY(held_agents)
                        AND t.concurrency_key = ANY(held_keys)
                      GROUP BY t.agent, t.concurrency_key) r
            ON r.agent = h.a AND r.concurrency_key = h.k;
END
$$;
