-- Fills a migrated Pulse database with 1,000,000 finished tasks, as a node that ran them two days
-- ago would have left them: state 'succeeded', UUIDv7 ids of their creation time (as Pulse makes
-- them), one attempt row each, then VACUUM ANALYZE as autovacuum would have done by now. Used for
-- the "burn-down with 1,000,000 finished tasks" figure in docs/benchmarks.md:
--   createdb pulse_history && PULSE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse_history ./pulse migrate
--   psql -d pulse_history -f bench/history-1m.sql
-- then copy it per run (CREATE DATABASE run TEMPLATE pulse_history) and burn down on the copy.
CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid AS $$
  -- the 48-bit Unix time in ms over a random (version 4) UUID, its version nibble set to 7
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                        PLACING substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3)
                                        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$ LANGUAGE sql VOLATILE;

INSERT INTO tasks (id, agent, state, priority, input, metadata, result, attempts, max_attempts,
                   timeout_seconds, run_at, created_at, started_at, finished_at, updated_at,
                   attempt_started_at, virtual_start)
SELECT pg_temp.uuid7(t), 'echo', 'succeeded', 0, '{}', '{}', jsonb_build_object('echo', g), 1, 3,
       300, t, t, t + interval '1 ms', t + interval '2 ms', t + interval '2 ms',
       t + interval '1 ms', t
  FROM generate_series(1, 1000000) g,
       LATERAL (SELECT now() - interval '2 days' + g * interval '1 ms' AS t) x;

INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome)
SELECT id, 1, 'history-node', gen_random_uuid(), started_at, finished_at, 'succeeded'
  FROM tasks WHERE state = 'succeeded' AND agent = 'echo';

VACUUM ANALYZE tasks;
VACUUM ANALYZE task_attempts;
